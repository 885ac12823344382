//! Advisories: OSV records for the PyPI ecosystem, kept per advisory and
//! project, matched against the releases Airlock holds (approved, and
//! pending review or on their way to it), and acted on:
//!
//! - every new match is recorded and logged (`advisory.match`); a match
//!   the advisory no longer makes (withdrawn, or its ranges corrected) is
//!   dropped unless it already rejected or revoked something;
//! - an OSV `MAL-` record (malware) rejects a release awaiting review and
//!   revokes an approved one, by the policy `advisory`, with the record in
//!   the decision's comment and the audit log;
//! - `advisory_revoke_severity` revokes approved releases matched by an
//!   advisory at or above it;
//! - `advisory_block_severity` refuses approvals of releases matched by an
//!   advisory at or above it ([`blocking`], checked by `decide_for`).
//!
//! Parsing and version matching are pure, in [`osv`]; this module only
//! stores and acts.

pub mod osv;

use std::collections::HashMap;
use std::str::FromStr;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::decisions::{decide_for, ReviewPolicy, Verdict};
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::schema::{advisories, advisory_matches, projects, releases};
use crate::{audit, now_ms};
use airlock_inspect::Severity;

pub use osv::{Advisory, Affected};

/// The policy name advisory decisions are made by.
pub const ADVISORY_POLICY: &str = "advisory";

/// What advisories may do beyond flagging (from the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryPolicy {
    /// Approvals of a release matched at or above this severity are refused.
    pub block_severity: Option<Severity>,
    /// Approved releases matched at or above this severity are revoked.
    pub revoke_severity: Option<Severity>,
}

/// What an import stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Advisory-project pairs read.
    pub advisories: usize,
    /// Documents that could not be read, with why.
    pub errors: Vec<String>,
    /// New matches against releases, as `OSV-ID project version (action)`.
    pub matches: Vec<String>,
}

/// One stored advisory of one project.
#[derive(Debug, Clone, Serialize)]
pub struct StoredAdvisory {
    pub osv_id: String,
    pub project: String,
    pub summary: String,
    pub severity: String,
    pub malicious: bool,
    pub fixed: Vec<String>,
}

/// One advisory matched to one release, as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct MatchView {
    pub osv_id: String,
    pub release_id: i64,
    pub project: String,
    pub version: String,
    pub status: String,
    pub summary: String,
    pub severity: String,
    pub malicious: bool,
    pub fixed: Vec<String>,
    pub matched_at: i64,
    /// `flagged`, `blocked`, `rejected` or `revoked`.
    pub action: String,
}

impl MatchView {
    /// The advisory's severity on Airlock's scale (an `unknown` one lowest).
    pub fn rank(&self) -> Severity {
        Severity::parse(&self.severity).unwrap_or_default()
    }
}

/// Store `found` (read from `source`): each advisory-project pair replaces
/// the one stored under the same id. Documents that failed to parse are
/// passed in `errors` and reported back. Then match the affected projects'
/// releases and act (see the module doc).
pub fn import(
    conn: &mut AnyConnection,
    source: &str,
    found: &[Advisory],
    errors: Vec<String>,
    policy: &AdvisoryPolicy,
    review: &ReviewPolicy,
) -> StoreResult<ImportReport> {
    let now = now_ms();
    crate::db::write_transaction(conn, |conn| {
        for a in found {
            diesel::delete(advisories::table.filter(advisories::osv_id.eq(&a.osv_id)).filter(advisories::project.eq(&a.project))).execute(conn)?;
            if a.withdrawn {
                continue;
            }
            diesel::insert_into(advisories::table)
                .values((
                    advisories::osv_id.eq(&a.osv_id),
                    advisories::project.eq(&a.project),
                    advisories::summary.eq(&a.summary),
                    advisories::severity.eq(&a.severity),
                    advisories::malicious.eq(a.malicious),
                    advisories::affected.eq(serde_json::to_string(&a.affected).unwrap_or_default()),
                    advisories::fixed.eq(serde_json::to_string(&a.affected.fixed()).unwrap_or_default()),
                    advisories::modified.eq(None::<String>),
                    advisories::source.eq(source),
                    advisories::imported_at.eq(now),
                ))
                .execute(conn)?;
        }
        let detail = format!("{} advisory records from {source}; {} unreadable", found.len(), errors.len());
        audit::record(conn, None, "advisories.import", source, &detail)
    })?;
    let mut affected: Vec<&str> = found.iter().map(|a| a.project.as_str()).collect();
    affected.sort_unstable();
    affected.dedup();
    // Only the affected projects Airlock holds are matched: an export
    // names thousands, a mirror holds a few of them.
    let mut held: Vec<String> = Vec::new();
    for chunk in affected.chunks(500) {
        held.extend(projects::table.filter(projects::name.eq_any(chunk)).select(projects::name).load::<String>(conn)?);
    }
    held.sort_unstable();
    let mut matches = Vec::new();
    for project in &held {
        matches.extend(match_project(conn, project, policy, review)?);
    }
    Ok(ImportReport { advisories: found.len(), errors, matches })
}

/// The releases of `project` Airlock holds that may still be served or
/// reviewed: pending or approved.
const MATCHED_STATUSES: [ReleaseStatus; 5] =
    [ReleaseStatus::Requested, ReleaseStatus::Mirroring, ReleaseStatus::Inspecting, ReleaseStatus::AwaitingReview, ReleaseStatus::Approved];

/// Match the stored advisories of `project` against its releases, record
/// new matches, and act on every release matched (see [`act`]). Returns the
/// new matches, described.
pub fn match_project(conn: &mut AnyConnection, project: &str, policy: &AdvisoryPolicy, review: &ReviewPolicy) -> StoreResult<Vec<String>> {
    let stored: Vec<(String, String)> =
        advisories::table.filter(advisories::project.eq(project)).select((advisories::osv_id, advisories::affected)).load(conn)?;
    let statuses: Vec<&str> = MATCHED_STATUSES.iter().map(|s| s.as_str()).collect();
    let held: Vec<(i64, String)> = releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq(project))
        .filter(releases::status.eq_any(statuses))
        .select((releases::id, releases::version))
        .load(conn)?;
    let mut out = Vec::new();
    let mut touched = Vec::new();
    let stored: Vec<(String, Affected)> = stored.into_iter().map(|(id, a)| (id, serde_json::from_str(&a).unwrap_or_default())).collect();
    for (release_id, version) in held {
        let Ok(parsed) = pep440_rs::Version::from_str(&version) else { continue };
        let covering: Vec<&str> = stored.iter().filter(|(_, a)| a.covers(&parsed)).map(|(id, _)| id.as_str()).collect();
        // A match the advisory no longer makes (withdrawn, or its ranges
        // corrected) goes, unless it already decided something.
        diesel::delete(
            advisory_matches::table
                .filter(advisory_matches::release_id.eq(release_id))
                .filter(advisory_matches::osv_id.ne_all(covering.clone()))
                .filter(advisory_matches::action.eq_any(["flagged", "blocked"])),
        )
        .execute(conn)?;
        for osv_id in covering {
            if record_match(conn, osv_id, release_id, project, &version)? {
                out.push(format!("{osv_id} {project} {version}"));
            }
            touched.push(release_id);
        }
    }
    touched.dedup();
    for release_id in touched {
        act(conn, release_id, policy, review)?;
    }
    Ok(out)
}

/// Match one release against its project's advisories (a release entering
/// review is checked at once) and act. Returns the new matches.
pub fn check_release(conn: &mut AnyConnection, release_id: i64, policy: &AdvisoryPolicy, review: &ReviewPolicy) -> StoreResult<Vec<String>> {
    let (project, _) = crate::releases::release_by_id(conn, release_id)?;
    match_project(conn, &project.name, policy, review)
}

/// Record that `osv_id` matches the release; false when it was known.
fn record_match(conn: &mut AnyConnection, osv_id: &str, release_id: i64, project: &str, version: &str) -> StoreResult<bool> {
    let known = advisory_matches::table
        .filter(advisory_matches::osv_id.eq(osv_id))
        .filter(advisory_matches::release_id.eq(release_id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if known {
        return Ok(false);
    }
    let inserted = crate::db::write_transaction(conn, |conn| {
        diesel::insert_into(advisory_matches::table)
            .values((
                advisory_matches::osv_id.eq(osv_id),
                advisory_matches::release_id.eq(release_id),
                advisory_matches::matched_at.eq(now_ms()),
                advisory_matches::action.eq("flagged"),
            ))
            .execute(conn)?;
        audit::record(conn, None, "advisory.match", &format!("{project} {version}"), &format!("{osv_id} covers this version"))?;
        crate::notify::record(
            conn,
            crate::notify::Kind::AdvisoryMatched,
            &format!("{osv_id} matches {project} {version}"),
            serde_json::json!({ "advisory": osv_id, "project": project, "version": version }),
        )
    });
    match inserted {
        // Another process recorded it first.
        Err(e) if e.is_unique_violation() => Ok(false),
        other => other.map(|_| true),
    }
}

/// The advisories matched to one release, worst first.
pub fn of_release(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<MatchView>> {
    Ok(matches(conn, Some(&[release_id]), 1000)?.remove(&release_id).unwrap_or_default())
}

/// Matched advisories per release (all releases when `ids` is None),
/// worst first, at most `limit` rows.
pub fn matches(conn: &mut AnyConnection, ids: Option<&[i64]>, limit: i64) -> StoreResult<HashMap<i64, Vec<MatchView>>> {
    type Row = (String, i64, i64, String, String, String, String);
    let mut query = advisory_matches::table
        .inner_join(releases::table.inner_join(projects::table))
        .select((
            advisory_matches::osv_id,
            advisory_matches::release_id,
            advisory_matches::matched_at,
            advisory_matches::action,
            projects::name,
            releases::version,
            releases::status,
        ))
        .order(advisory_matches::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(ids) = ids {
        query = query.filter(advisory_matches::release_id.eq_any(ids.to_vec()));
    }
    let rows: Vec<Row> = query.load(conn)?;
    // The advisories those rows name, in one query per 500 ids.
    let mut ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stored: HashMap<(String, String), (String, String, bool, String)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(String, String, String, String, bool, String)> = advisories::table
            .filter(advisories::osv_id.eq_any(chunk))
            .select((advisories::osv_id, advisories::project, advisories::summary, advisories::severity, advisories::malicious, advisories::fixed))
            .load(conn)?;
        stored.extend(found.into_iter().map(|(id, project, summary, severity, malicious, fixed)| ((id, project), (summary, severity, malicious, fixed))));
    }
    let mut out: HashMap<i64, Vec<MatchView>> = HashMap::new();
    for (osv_id, release_id, matched_at, action, project, version, status) in rows {
        let (summary, severity, malicious, fixed) = stored.get(&(osv_id.clone(), project.clone())).cloned().unwrap_or_default();
        out.entry(release_id).or_default().push(MatchView {
            osv_id,
            release_id,
            project,
            version,
            status,
            summary,
            severity,
            malicious,
            fixed: serde_json::from_str(&fixed).unwrap_or_default(),
            matched_at,
            action,
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| b.malicious.cmp(&a.malicious).then(b.rank().cmp(&a.rank())));
    }
    Ok(out)
}

/// The advisory that refuses an approval of this release under
/// `block_severity` (any malware record does), if one does.
pub fn blocking(conn: &mut AnyConnection, release_id: i64, block_severity: Option<Severity>) -> StoreResult<Option<String>> {
    let found = of_release(conn, release_id)?;
    Ok(found
        .into_iter()
        .find(|m| m.malicious || block_severity.is_some_and(|b| m.rank() >= b))
        .map(|m| format!("{} ({}): {}", m.osv_id, if m.malicious { "malicious" } else { m.severity.as_str() }, m.summary)))
}

/// Act on a matched release: a malware record rejects it (awaiting review)
/// or revokes it (approved); `revoke_severity` revokes an approved one.
/// Releases still on their way to review are acted on when they get there.
pub fn act(conn: &mut AnyConnection, release_id: i64, policy: &AdvisoryPolicy, review: &ReviewPolicy) -> StoreResult<()> {
    let found = of_release(conn, release_id)?;
    let (_, release) = crate::releases::release_by_id(conn, release_id)?;
    let status = release.status;
    let worst = found.first();
    let Some(worst) = worst else { return Ok(()) };
    let revoke_at = |m: &MatchView| policy.revoke_severity.is_some_and(|r| m.rank() >= r);
    let block_at = |m: &MatchView| policy.block_severity.is_some_and(|b| m.rank() >= b);
    let (verdict, action) = match status {
        ReleaseStatus::AwaitingReview if worst.malicious => (Some(Verdict::Reject), "rejected"),
        ReleaseStatus::Approved if worst.malicious || revoke_at(worst) => (Some(Verdict::Revoke), "revoked"),
        _ if block_at(worst) => (None, "blocked"),
        _ => (None, "flagged"),
    };
    if let Some(verdict) = verdict {
        let why = if worst.malicious { "malicious package" } else { "advisory at or above advisory_revoke_severity" };
        let comment = format!("{why}: OSV {} ({}): {}", worst.osv_id, worst.severity, worst.summary);
        let user = crate::policy::policy_user(conn, ADVISORY_POLICY)?;
        decide_for(conn, release_id, &user, verdict, &comment, review, None, None, Some(ADVISORY_POLICY))?;
    }
    diesel::update(advisory_matches::table.filter(advisory_matches::release_id.eq(release_id)).filter(advisory_matches::osv_id.eq(&worst.osv_id)))
        .set(advisory_matches::action.eq(action))
        .execute(conn)?;
    Ok(())
}

/// How many advisory-project records are stored (for the overview).
pub fn count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(advisories::table.count().get_result(conn)?)
}

#[cfg(test)]
mod tests;
