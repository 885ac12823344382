//! Auditors' decisions. A decision covers the exact file hashes that were
//! reviewed; the simple index serves a file only while the release's latest
//! decision approves it and lists its hash.

use diesel::prelude::*;
use serde::Serialize;

use crate::audit;
use crate::audit_size;
use crate::auth::User;
use airlock_inspect::Severity;

use crate::db::AnyConnection;
use crate::domain::{ReleaseStatus, Role};
use crate::error::{StoreError, StoreResult};
use crate::files::files_of_release;
use crate::now_ms;
use crate::reading;
use crate::releases::{release_by_id, Release};
use crate::schema::{decisions, releases, users};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
    /// Withdraw an approval: the release's files leave the index at once.
    Revoke,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
            Verdict::Revoke => "revoke",
        }
    }

    pub fn parse(s: &str) -> StoreResult<Verdict> {
        match s {
            "approve" => Ok(Verdict::Approve),
            "reject" => Ok(Verdict::Reject),
            "revoke" => Ok(Verdict::Revoke),
            other => Err(StoreError::Invalid(format!("decision must be approve, reject or revoke, got {other:?}"))),
        }
    }
}

/// How many approvals a release needs: the four-eyes rule, generalised
/// to a count per severity (`approvals_required`).
#[derive(Debug, Clone, Default)]
pub struct ReviewPolicy {
    /// Releases whose worst finding is at least this severe need two
    /// different auditors; None turns the rule off. A shorthand for
    /// `approvals_required = { SEVERITY = 2 }`; both may be set, and the
    /// larger count wins.
    pub four_eyes_severity: Option<Severity>,
    /// `base_revoked_policy = "withhold"`: revoking a release also revokes
    /// the releases approved after reading their delta from it, until they
    /// are reviewed again. Off (the default): they stay served, flagged.
    pub withhold_on_base_revoked: bool,
    /// `approvals_required`: distinct auditors needed for a release whose
    /// worst finding is at least this severe, per severity. A release
    /// needs the largest count among the severities it reaches, and never
    /// fewer than one.
    pub approvals_required: Vec<(Severity, usize)>,
    /// `advisory_block_severity`: approvals of a release matched by an
    /// advisory at or above it are refused (a malware record always is).
    pub advisory_block_severity: Option<Severity>,
}

impl ReviewPolicy {
    /// Distinct auditors who must approve a release of this max severity.
    pub fn approvals_needed(&self, max_severity: Severity) -> usize {
        let four_eyes = self.four_eyes_severity.iter().filter(|t| max_severity >= **t).map(|_| 2);
        let counted = self.approvals_required.iter().filter(|(sev, _)| max_severity >= *sev).map(|(_, n)| *n);
        four_eyes.chain(counted).max().unwrap_or(1).max(1)
    }
}

/// What a decision did to its release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Approved,
    Rejected,
    Revoked,
    /// An approval was recorded; the release waits for more (four-eyes rule).
    ApprovalRecorded {
        have: usize,
        needed: usize,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub user: String,
    pub decision: String,
    pub comment: String,
    pub sha256s: Vec<String>,
    pub created_at: i64,
    /// False for an approval waiting for another auditor: it serves nothing yet.
    pub in_force: bool,
    /// What was read (see [`crate::reading`]): the approved version the
    /// delta was read against, or `full`; None when not recorded.
    pub audit_base: Option<String>,
    pub audit_base_release_id: Option<i64>,
    pub audit_lines: Option<i64>,
    /// `safe-to-run`, `safe-to-deploy` or a configured name.
    pub criteria: Option<String>,
    /// The policy that made the decision; None when a person did.
    pub policy: Option<String>,
}

fn check_comment(comment: &str) -> StoreResult<&str> {
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(StoreError::Invalid("a decision needs a comment".into()));
    }
    if comment.len() > 10_000 {
        return Err(StoreError::Invalid("comment is longer than 10000 bytes".into()));
    }
    Ok(comment)
}

/// One recorded decision, as `decide` weighs it.
struct Decided {
    user_id: i64,
    decision: String,
    hashes: Vec<String>,
    in_force: bool,
}

/// The users whose approvals count toward approving `hashes` now: those
/// after the release's last decision that was not an approval, and of
/// exactly these files (an approval of fewer files, before some were
/// added, does not count for the added ones).
fn approvals_this_round(decided: &[Decided], hashes: &[String]) -> Vec<i64> {
    let start = decided.iter().rposition(|d| d.decision != "approve").map_or(0, |i| i + 1);
    decided[start..].iter().filter(|d| d.hashes == hashes).map(|d| d.user_id).collect()
}

/// The hashes the approval in force covers, if the decision in force is one.
fn in_force_approval(decided: &[Decided]) -> Option<&[String]> {
    decided.iter().rev().find(|d| d.in_force).filter(|d| d.decision == "approve").map(|d| d.hashes.as_slice())
}

/// Decide on a release, as `user` (an auditor) with a required comment:
///
/// - approve or reject a release awaiting review. `reviewed`, when given, is
///   the set of file hashes the auditor saw; the decision is refused if the
///   release's files differ. Under the four-eyes rule, a release at or above
///   the policy's severity stays awaiting review until a second, different
///   auditor approves.
/// - approve an approved release to which files were added since (on
///   request): the new approval covers every file. Until it is in force the
///   index keeps serving exactly what the earlier approval covered; an
///   approval that waits for a second auditor is recorded as not in force.
/// - revoke an approved release: it becomes `revoked` and leaves the index.
///
/// Every decision records the exact file hashes it covered and an audit event.
pub fn decide(
    conn: &mut AnyConnection,
    release_id: i64,
    user: &User,
    verdict: Verdict,
    comment: &str,
    policy: &ReviewPolicy,
    reviewed: Option<&[String]>,
) -> StoreResult<(Release, Outcome)> {
    decide_for(conn, release_id, user, verdict, comment, policy, reviewed, None, None)
}

/// [`decide`] for `criteria` (None: [`reading::DEFAULT_CRITERIA`]). The
/// decision also records what reviewing the release reads now, from the
/// audit-size cache (see [`reading::what_is_read`]): measure first. An
/// approved release whose base was revoked may be approved again, after a
/// new review against another base. `by_policy` names the policy that
/// decided (see [`crate::policy`]); its user is the policy's own.
#[allow(clippy::too_many_arguments)]
pub fn decide_for(
    conn: &mut AnyConnection,
    release_id: i64,
    user: &User,
    verdict: Verdict,
    comment: &str,
    policy: &ReviewPolicy,
    reviewed: Option<&[String]>,
    criteria: Option<&str>,
    by_policy: Option<&str>,
) -> StoreResult<(Release, Outcome)> {
    let criteria = criteria.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(reading::DEFAULT_CRITERIA).to_string();
    if user.role < Role::Auditor {
        return Err(StoreError::Invalid(format!("user {} is a {} and cannot decide", user.name, user.role.as_str())));
    }
    let comment = check_comment(comment)?;
    crate::db::write_transaction(conn, |conn| {
        let (project, release) = release_by_id(conn, release_id)?;
        let status = release.status;
        let decided: Vec<Decided> = decisions::table
            .filter(decisions::release_id.eq(release_id))
            .order(decisions::id)
            .select((decisions::user_id, decisions::decision, decisions::sha256s, decisions::in_force))
            .load::<(i64, String, String, bool)>(conn)?
            .into_iter()
            .map(|(user_id, decision, h, in_force)| {
                let mut hashes: Vec<String> = serde_json::from_str(&h).unwrap_or_default();
                hashes.sort();
                Decided { user_id, decision, hashes, in_force }
            })
            .collect();
        let files = files_of_release(conn, release_id)?;
        let mut current: Vec<String> = files.iter().map(|f| f.sha256.clone()).collect();
        current.sort();
        // Files added to an approved release since its approval wait for one.
        let added_since_approval = status == ReleaseStatus::Approved && in_force_approval(&decided) != Some(current.as_slice());
        // An approval read against a base since revoked is reviewed again.
        let rereview = status == ReleaseStatus::Approved && reading::base_revoked(conn, Some(&[release_id]))?.contains_key(&release_id);
        // A revoked release may be reviewed again (revoked by mistake, or
        // cleared by an investigation): a new round of approvals starts.
        let decidable = match verdict {
            Verdict::Approve => matches!(status, ReleaseStatus::AwaitingReview | ReleaseStatus::Revoked) || added_since_approval || rereview,
            Verdict::Reject => matches!(status, ReleaseStatus::AwaitingReview | ReleaseStatus::Revoked),
            Verdict::Revoke => status == ReleaseStatus::Approved,
        };
        if !decidable {
            let what = match verdict {
                Verdict::Revoke => "approved",
                Verdict::Reject if status == ReleaseStatus::Approved => "approved: revoke it instead (a file added to it is never served unless approved)",
                _ => "awaiting review or revoked",
            };
            return Err(StoreError::Conflict(format!("{} {} is {}, not {what}", project.name, release.version, release.status)));
        }
        // Awaiting review means every file is inspected; an approved or
        // revoked release keeps its status while a file added to it is.
        if verdict == Verdict::Approve && matches!(status, ReleaseStatus::Approved | ReleaseStatus::Revoked) {
            if let Some(f) = files.iter().find(|f| !f.inspected) {
                return Err(StoreError::Conflict(format!("{} is still being inspected; approve once it is", f.filename)));
            }
        }
        let hashes: Vec<String> = match verdict {
            // A revocation covers exactly what the approval in force covered.
            Verdict::Revoke => in_force_approval(&decided).map(<[String]>::to_vec).unwrap_or_default(),
            _ => current,
        };
        if hashes.is_empty() {
            return Err(StoreError::Conflict("a release without files cannot be decided".into()));
        }
        if let Some(seen) = reviewed {
            let mut seen: Vec<String> = seen.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
            seen.sort();
            if verdict != Verdict::Revoke && seen != hashes {
                return Err(StoreError::Conflict(format!("the files of {} {} are not the ones you reviewed; reload the page", project.name, release.version)));
            }
        }
        let round = if rereview {
            // A new round: the approvals since the one in force.
            let start = decided.iter().rposition(|d| d.in_force).map_or(0, |i| i + 1);
            approvals_this_round(&decided[start..], &hashes)
        } else {
            approvals_this_round(&decided, &hashes)
        };
        let needed = policy.approvals_needed(release.max_severity);
        if verdict == Verdict::Approve {
            if let Some(advisory) = crate::advisories::blocking(conn, release_id, policy.advisory_block_severity)? {
                return Err(StoreError::Conflict(format!("{} {} cannot be approved: advisory {advisory}", project.name, release.version)));
            }
        }
        if verdict == Verdict::Approve && round.contains(&user.id) {
            return Err(StoreError::Conflict(format!("you already approved {} {}; it needs {needed} different auditors", project.name, release.version)));
        }
        let (outcome, new_status) = match verdict {
            Verdict::Approve if round.len() + 1 < needed => (Outcome::ApprovalRecorded { have: round.len() + 1, needed }, None),
            Verdict::Approve => (Outcome::Approved, Some(ReleaseStatus::Approved)),
            Verdict::Reject => (Outcome::Rejected, Some(ReleaseStatus::Rejected)),
            Verdict::Revoke => (Outcome::Revoked, Some(ReleaseStatus::Revoked)),
        };
        let now = now_ms();
        let read = reading::what_is_read(conn, project.id, release_id, &release.version)?;
        diesel::insert_into(decisions::table)
            .values((
                decisions::release_id.eq(release_id),
                decisions::user_id.eq(user.id),
                decisions::decision.eq(verdict.as_str()),
                decisions::comment.eq(comment),
                decisions::sha256s.eq(serde_json::to_string(&hashes).unwrap_or_default()),
                decisions::created_at.eq(now),
                decisions::in_force.eq(!matches!(outcome, Outcome::ApprovalRecorded { .. })),
                decisions::audit_base.eq(&read.base),
                decisions::audit_base_release_id.eq(read.base_release_id),
                decisions::audit_lines.eq(read.lines),
                decisions::criteria.eq(&criteria),
                decisions::policy.eq(by_policy),
            ))
            .execute(conn)?;
        let release: Release = match new_status {
            Some(status) => diesel::update(releases::table.find(release_id))
                .set((releases::status.eq(status.as_str()), releases::updated_at.eq(now)))
                .returning(releases::all_columns)
                .get_result(conn)?,
            None => release,
        };
        let target = format!("{} {}", project.name, release.version);
        let step = match outcome {
            Outcome::ApprovalRecorded { have, needed } => format!(" (approval {have} of {needed}; waiting for another auditor)"),
            _ if needed > 1 && verdict == Verdict::Approve => format!(" (approval {needed} of {needed})"),
            _ => String::new(),
        };
        let added = if added_since_approval && verdict == Verdict::Approve { " (covers files added after the earlier approval)" } else { "" };
        let rereviewed = if rereview && verdict == Verdict::Approve { " (re-reviewed: its audit base was revoked)" } else { "" };
        let base = match (&read.base, read.lines) {
            (Some(b), Some(lines)) if b == reading::FULL => format!(" [read: whole release, {lines} lines; {criteria}]"),
            (Some(b), Some(lines)) => format!(" [read: delta from {b}, {lines} lines; {criteria}]"),
            _ => format!(" [read: not measured; {criteria}]"),
        };
        let by = by_policy.map(|p| format!("by policy {p}: ")).unwrap_or_default();
        let detail = format!("{by}{comment}{step}{added}{rereviewed}{base} [files: {}]", hashes.join(", "));
        audit::record(conn, Some(&user.name), &format!("release.{}", verdict.as_str()), &target, &detail)?;
        // A new approved version (or one fewer) changes the project's audit
        // bases: the worker measures its releases awaiting review again.
        if matches!(new_status, Some(ReleaseStatus::Approved | ReleaseStatus::Revoked)) {
            audit_size::enqueue_project(conn, project.id, audit_size::MEASURE_ATTEMPTS)?;
        }
        if let Some(by) = by_policy {
            let summary = format!("policy {by}: {} {target}", verdict.as_str());
            let payload =
                serde_json::json!({ "policy": by, "decision": verdict.as_str(), "project": project.name, "version": release.version, "comment": comment });
            crate::notify::record(conn, crate::notify::Kind::PolicyDecision, &summary, payload)?;
        }
        if verdict == Verdict::Revoke {
            let dependents: Vec<reading::BaseRevoked> = reading::base_revoked(conn, None)?.into_values().filter(|b| b.base_release_id == release_id).collect();
            for dependent in &dependents {
                if policy.withhold_on_base_revoked {
                    reading::withhold(conn, dependent.release_id, user, &target, now)?;
                }
            }
            if !dependents.is_empty() {
                let ids: Vec<i64> = dependents.iter().map(|d| d.release_id).collect();
                let summary = format!("{target} was revoked: {} approval(s) read against it need a new review", ids.len());
                let payload = serde_json::json!({ "revoked": target, "dependent_release_ids": ids, "withheld": policy.withhold_on_base_revoked });
                crate::notify::record(conn, crate::notify::Kind::BaseRevoked, &summary, payload)?;
            }
        }
        Ok((release, outcome))
    })
}

/// Approvals recorded toward the next approval of each release (distinct
/// auditors since its last decision in force or refusal), for those with
/// any: what a queue row shows as "1 of 2 approvals".
pub fn approvals_recorded(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<std::collections::HashMap<i64, usize>> {
    // One reading of a four-eyes round: the queue's, counted.
    Ok(crate::queue::approvals_this_round(conn, release_ids)?.into_iter().map(|(id, users)| (id, users.len())).collect())
}

/// The hashes the approval in force covers, from a release's decisions
/// (oldest first); None when the decision in force is not an approval.
pub fn hashes_in_force(decisions: &[DecisionView]) -> Option<&[String]> {
    decisions.iter().rev().find(|d| d.in_force).filter(|d| d.decision == "approve").map(|d| d.sha256s.as_slice())
}

/// A release's decisions, oldest first.
pub fn decisions_of(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<DecisionView>> {
    type Row = (String, String, String, String, i64, bool, Option<String>, Option<i64>, Option<i64>, Option<String>, Option<String>);
    let rows: Vec<Row> = decisions::table
        .inner_join(users::table)
        .filter(decisions::release_id.eq(release_id))
        .order(decisions::id)
        .select((
            users::name,
            decisions::decision,
            decisions::comment,
            decisions::sha256s,
            decisions::created_at,
            decisions::in_force,
            decisions::audit_base,
            decisions::audit_base_release_id,
            decisions::audit_lines,
            decisions::criteria,
            decisions::policy,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user, decision, comment, sha256s, created_at, in_force, audit_base, audit_base_release_id, audit_lines, criteria, policy)| DecisionView {
            user,
            decision,
            comment,
            sha256s: serde_json::from_str(&sha256s).unwrap_or_default(),
            created_at,
            in_force,
            audit_base,
            audit_base_release_id,
            audit_lines,
            criteria,
            policy,
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests;
