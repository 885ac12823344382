//! An auditor's verdict on one finding: acknowledged (real, and accepted)
//! or a false positive, with a comment. Verdicts are append-only (a
//! trigger refuses UPDATE and DELETE; the latest verdict on a finding is
//! the one in force) and each is also an audit-log event.
//!
//! A verdict cites code, not a database row: it is keyed by the rule, the
//! path inside the package and the cited line's text ([`FindingKey`]). So
//! the second auditor sees it on the same release (four-eyes), and the next
//! version's review shows it as carried over while that code is unchanged;
//! once the line changes, the finding is new and needs a new verdict.

use diesel::prelude::*;
use serde::Serialize;

use airlock_inspect::DistKind;

use crate::db::AnyConnection;
use crate::error::{StoreError, StoreResult};
use crate::files::FindingRow;
use crate::now_ms;
use crate::schema::{files, finding_reviews, findings, releases};

/// What an auditor says about a finding (`acknowledged`, `false_positive` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Acknowledged,
    FalsePositive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Acknowledged => "acknowledged",
            Verdict::FalsePositive => "false_positive",
        }
    }

    /// As people read it: "acknowledged", "false positive".
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Acknowledged => "acknowledged",
            Verdict::FalsePositive => "false positive",
        }
    }
}

impl std::str::FromStr for Verdict {
    type Err = StoreError;
    fn from_str(s: &str) -> StoreResult<Verdict> {
        match s {
            "acknowledged" => Ok(Verdict::Acknowledged),
            "false_positive" => Ok(Verdict::FalsePositive),
            other => Err(StoreError::Invalid(format!("a verdict is acknowledged or false_positive, got {other:?}"))),
        }
    }
}

/// The path of a distribution's member inside the package, the same for a
/// wheel and an sdist of any version: an sdist's top folder
/// (`name-1.0/`) and a `src/` layout folder are left out.
pub fn package_path(dist_kind: DistKind, path: &str) -> String {
    let inner = if dist_kind == DistKind::Sdist { path.split_once('/').map_or(path, |(_, rest)| rest) } else { path };
    inner.strip_prefix("src/").unwrap_or(inner).to_string()
}

/// What a verdict is keyed by: the code a finding cites.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub rule: String,
    /// [`package_path`] of the finding's file; '' for the archive itself.
    pub place: String,
    /// The cited line's text, or the message when the finding cites no line.
    pub cited: String,
}

impl FindingKey {
    pub fn of(finding: &FindingRow, dist_kind: DistKind) -> FindingKey {
        FindingKey {
            rule: finding.rule.clone(),
            place: finding.path.as_deref().map(|p| package_path(dist_kind, p)).unwrap_or_default(),
            cited: finding.snippet.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| finding.message.clone()),
        }
    }
}

/// A verdict as shown: by whom, on which version, why.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewNote {
    pub release_id: i64,
    pub version: String,
    pub verdict: Verdict,
    pub comment: String,
    pub user: String,
    pub created_at: i64,
}

/// Longest comment kept, in characters.
pub const MAX_COMMENT: usize = 2000;

/// Record a verdict on findings of a release (all of them, when several
/// places are reviewed at once), and one audit event. The findings must be
/// of this release; the comment is required.
pub fn record(conn: &mut AnyConnection, release_id: i64, finding_ids: &[i64], verdict: Verdict, comment: &str, user: &str) -> StoreResult<usize> {
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(StoreError::Invalid("a verdict on a finding needs a comment".into()));
    }
    if comment.chars().count() > MAX_COMMENT {
        return Err(StoreError::Invalid(format!("a comment is at most {MAX_COMMENT} characters")));
    }
    if finding_ids.is_empty() {
        return Err(StoreError::Invalid("no finding named".into()));
    }
    conn.transaction(|conn| {
        let (project, release) = crate::releases::release_by_id(conn, release_id)?;
        let rows: Vec<(FindingRow, DistKind)> = findings::table
            .inner_join(files::table)
            .filter(files::release_id.eq(release_id))
            .filter(findings::id.eq_any(finding_ids))
            .select((FindingRow::as_select(), files::dist_kind))
            .load(conn)?;
        if rows.len() != finding_ids.iter().collect::<std::collections::HashSet<_>>().len() {
            return Err(StoreError::NotFound(format!("finding of {} {}", project.name, release.version)));
        }
        let mut keys: Vec<FindingKey> = rows.iter().map(|(f, kind)| FindingKey::of(f, *kind)).collect();
        keys.sort();
        keys.dedup();
        let now = now_ms();
        for key in &keys {
            diesel::insert_into(finding_reviews::table)
                .values((
                    finding_reviews::project_id.eq(project.id),
                    finding_reviews::release_id.eq(release_id),
                    finding_reviews::rule.eq(&key.rule),
                    finding_reviews::place.eq(&key.place),
                    finding_reviews::cited.eq(&key.cited),
                    finding_reviews::verdict.eq(verdict.as_str()),
                    finding_reviews::comment.eq(comment),
                    finding_reviews::user_name.eq(user),
                    finding_reviews::created_at.eq(now),
                ))
                .execute(conn)?;
        }
        let rules: std::collections::BTreeSet<&str> = keys.iter().map(|k| k.rule.as_str()).collect();
        let places: Vec<&str> = keys.iter().map(|k| if k.place.is_empty() { "the archive" } else { k.place.as_str() }).take(5).collect();
        let more = if keys.len() > places.len() { format!(" and {} more", keys.len() - places.len()) } else { String::new() };
        let detail = format!("{} {} at {}{more}: {comment}", verdict.label(), rules.into_iter().collect::<Vec<_>>().join(", "), places.join(", "));
        crate::audit::record(conn, Some(user), "finding.review", &format!("{} {}", project.name, release.version), &detail)?;
        Ok(keys.len())
    })
}

/// The verdicts in force on a project's findings, by key: for each key the
/// latest verdict given on `release_id` itself, else the latest given on
/// another release of the project (carried over).
pub fn in_force(conn: &mut AnyConnection, project_id: i64, release_id: i64) -> StoreResult<std::collections::HashMap<FindingKey, ReviewNote>> {
    type Row = (i64, String, String, String, String, String, String, i64, String);
    let rows: Vec<Row> = finding_reviews::table
        .inner_join(releases::table)
        .filter(finding_reviews::project_id.eq(project_id))
        .order(finding_reviews::id.asc())
        .select((
            finding_reviews::release_id,
            finding_reviews::rule,
            finding_reviews::place,
            finding_reviews::cited,
            finding_reviews::verdict,
            finding_reviews::comment,
            finding_reviews::user_name,
            finding_reviews::created_at,
            releases::version,
        ))
        .load(conn)?;
    let mut out: std::collections::HashMap<FindingKey, ReviewNote> = std::collections::HashMap::new();
    for (rid, rule, place, cited, verdict, comment, user, created_at, version) in rows {
        let Ok(verdict) = verdict.parse() else { continue };
        let key = FindingKey { rule, place, cited };
        let note = ReviewNote { release_id: rid, version, verdict, comment, user, created_at };
        // Rows come oldest first: a later verdict replaces an earlier one,
        // except that one on another release never hides this release's own.
        match out.get(&key) {
            Some(old) if old.release_id == release_id && rid != release_id => {}
            _ => {
                out.insert(key, note);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests;
