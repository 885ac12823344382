//! Auditors' decisions. A decision covers the exact file hashes that were
//! reviewed; the simple index serves a file only while the release's latest
//! decision approves it and lists its hash.

use diesel::prelude::*;
use serde::Serialize;

use crate::audit;
use crate::auth::User;
use crate::db::AnyConnection;
use crate::domain::{ReleaseStatus, Role};
use crate::error::{StoreError, StoreResult};
use crate::files::files_of_release;
use crate::now_ms;
use crate::releases::{release_by_id, Release};
use crate::schema::{decisions, releases, users};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> StoreResult<Verdict> {
        match s {
            "approve" => Ok(Verdict::Approve),
            "reject" => Ok(Verdict::Reject),
            other => Err(StoreError::Invalid(format!("decision must be approve or reject, got {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub user: String,
    pub decision: String,
    pub comment: String,
    pub sha256s: Vec<String>,
    pub created_at: i64,
}

/// Approve or reject a release awaiting review. Needs an auditor and a
/// non-empty comment; records the reviewed hashes and an audit event.
pub fn decide(conn: &mut AnyConnection, release_id: i64, user: &User, verdict: Verdict, comment: &str) -> StoreResult<Release> {
    if user.role < Role::Auditor {
        return Err(StoreError::Invalid(format!("user {} is a {} and cannot decide", user.name, user.role.as_str())));
    }
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(StoreError::Invalid("a decision needs a comment".into()));
    }
    if comment.len() > 10_000 {
        return Err(StoreError::Invalid("comment is longer than 10000 bytes".into()));
    }
    crate::db::write_transaction(conn, |conn| {
        let (project, release) = release_by_id(conn, release_id)?;
        if release.status()? != ReleaseStatus::AwaitingReview {
            return Err(StoreError::Conflict(format!(
                "{} {} is {}, not awaiting review",
                project.name, release.version, release.status
            )));
        }
        let hashes: Vec<String> = files_of_release(conn, release_id)?.into_iter().map(|f| f.sha256).collect();
        if hashes.is_empty() {
            return Err(StoreError::Conflict("a release without files cannot be decided".into()));
        }
        let now = now_ms();
        diesel::insert_into(decisions::table)
            .values((
                decisions::release_id.eq(release_id),
                decisions::user_id.eq(user.id),
                decisions::decision.eq(verdict.as_str()),
                decisions::comment.eq(comment),
                decisions::sha256s.eq(serde_json::to_string(&hashes).unwrap_or_default()),
                decisions::created_at.eq(now),
            ))
            .execute(conn)?;
        let status = match verdict {
            Verdict::Approve => ReleaseStatus::Approved,
            Verdict::Reject => ReleaseStatus::Rejected,
        };
        let release: Release = diesel::update(releases::table.find(release_id))
            .set((releases::status.eq(status.as_str()), releases::updated_at.eq(now)))
            .returning(releases::all_columns)
            .get_result(conn)?;
        let target = format!("{} {}", project.name, release.version);
        let detail = format!("{comment} [files: {}]", hashes.join(", "));
        audit::record(conn, Some(&user.name), &format!("release.{}", verdict.as_str()), &target, &detail)?;
        Ok(release)
    })
}

/// A release's decisions, oldest first.
pub fn decisions_of(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<DecisionView>> {
    let rows: Vec<(String, String, String, String, i64)> = decisions::table
        .inner_join(users::table)
        .filter(decisions::release_id.eq(release_id))
        .order(decisions::id)
        .select((users::name, decisions::decision, decisions::comment, decisions::sha256s, decisions::created_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, decision, comment, sha256s, created_at)| DecisionView {
            user,
            decision,
            comment,
            sha256s: serde_json::from_str(&sha256s).unwrap_or_default(),
            created_at,
        })
        .collect())
}
