//! What the simple index may serve: approved files only, exactly as
//! approved. A file is servable when its release is `approved` and the
//! release's latest decision in force is an approval that lists the file's
//! sha256. (An approval waiting for a second auditor is not in force: a
//! file added to an approved release stays out until its round completes.)
//!
//! Also the index's change feed (`index_changes`, written by triggers) that
//! server processes poll to drop cached pages, auditors' yanks (PEP 592),
//! and why a project is missing from the index.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::audit;
use crate::auth::User;
use crate::db::AnyConnection;
use crate::decisions::Verdict;
use crate::domain::{ProjectName, ReleaseStatus, Role, Sha256};
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::schema::{decisions, files, index_changes, projects, release_yanks, releases};

/// An approved file, with only what the index shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub release_id: i64,
    pub version: String,
    pub filename: String,
    pub sha256: String,
    pub size: i64,
    pub requires_python: Option<String>,
    /// PEP 592: the reason (possibly empty) when yanked, by the upstream or by an auditor.
    pub yanked: Option<String>,
    pub upload_time: Option<String>,
    /// Digest of the wheel's core metadata file (PEP 658), stored as its own blob.
    pub metadata_sha256: Option<String>,
}

type IndexRow = (i64, String, String, String, i64, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

fn index_row_columns() -> (
    files::release_id,
    releases::version,
    files::filename,
    files::sha256,
    files::size,
    files::requires_python,
    files::yanked,
    files::upload_time,
    files::metadata_sha256,
    diesel::dsl::Nullable<release_yanks::reason>,
) {
    use diesel::NullableExpressionMethods;
    (
        files::release_id,
        releases::version,
        files::filename,
        files::sha256,
        files::size,
        files::requires_python,
        files::yanked,
        files::upload_time,
        files::metadata_sha256,
        release_yanks::reason.nullable(),
    )
}

fn into_index_file(row: IndexRow) -> IndexFile {
    let (release_id, version, filename, sha256, size, requires_python, upstream_yank, upload_time, metadata_sha256, auditor_yank) = row;
    IndexFile {
        release_id,
        version,
        filename,
        sha256,
        size,
        requires_python,
        // The auditor's reason wins: it is the one this organization gave.
        yanked: auditor_yank.or(upstream_yank),
        upload_time,
        metadata_sha256,
    }
}

/// Names of projects that have at least one approved release, sorted.
pub fn approved_projects(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    Ok(projects::table
        .inner_join(releases::table)
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .select(projects::name)
        .distinct()
        .order(projects::name)
        .load(conn)?)
}

/// The hashes each release's latest decision in force approved (absent
/// when that decision is not an approval).
fn approved_hashes(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String, String)> = decisions::table
        .filter(decisions::release_id.eq_any(release_ids))
        .filter(decisions::in_force.eq(true))
        .order(decisions::id)
        .select((decisions::release_id, decisions::decision, decisions::sha256s))
        .load(conn)?;
    Ok(latest_approvals(rows))
}

/// Like [`approved_hashes`] for every approved release of one project, in
/// one query without a parameter per release (a project may have thousands).
fn approved_hashes_of_project(conn: &mut AnyConnection, project: &ProjectName) -> StoreResult<HashMap<i64, Vec<String>>> {
    let approved_releases = releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq(project.as_str()))
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .select(releases::id);
    let rows: Vec<(i64, String, String)> = decisions::table
        .filter(decisions::release_id.eq_any(approved_releases))
        .filter(decisions::in_force.eq(true))
        .order(decisions::id)
        .select((decisions::release_id, decisions::decision, decisions::sha256s))
        .load(conn)?;
    Ok(latest_approvals(rows))
}

/// From decisions in id order, the hashes of each release whose latest decision approves.
pub(crate) fn latest_approvals(rows: Vec<(i64, String, String)>) -> HashMap<i64, Vec<String>> {
    let mut latest: HashMap<i64, (String, String)> = HashMap::new();
    for (release_id, decision, sha256s) in rows {
        latest.insert(release_id, (decision, sha256s));
    }
    latest
        .into_iter()
        .filter(|(_, (decision, _))| decision == "approve")
        .map(|(id, (_, sha256s))| (id, serde_json::from_str(&sha256s).unwrap_or_default()))
        .collect()
}

fn keep_approved(conn: &mut AnyConnection, rows: Vec<IndexRow>) -> StoreResult<Vec<IndexFile>> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let approved = approved_hashes(conn, &ids)?;
    Ok(only_covered(rows, &approved))
}

/// The rows whose hash their release's approving decision covered.
fn only_covered(rows: Vec<IndexRow>, approved: &HashMap<i64, Vec<String>>) -> Vec<IndexFile> {
    rows.into_iter().map(into_index_file).filter(|f| approved.get(&f.release_id).is_some_and(|h| h.contains(&f.sha256))).collect()
}

/// A project's servable files, sorted by file name.
pub fn approved_files(conn: &mut AnyConnection, project: &ProjectName) -> StoreResult<Vec<IndexFile>> {
    let rows: Vec<IndexRow> = files::table
        .inner_join(releases::table.inner_join(projects::table).left_join(release_yanks::table))
        .filter(projects::name.eq(project.as_str()))
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .select(index_row_columns())
        .load(conn)?;
    let approved = approved_hashes_of_project(conn, project)?;
    // Sorted here rather than by the database: cheaper than its temporary B-tree.
    let mut files = only_covered(rows, &approved);
    files.sort_unstable_by(|a, b| a.filename.cmp(&b.filename));
    Ok(files)
}

/// The servable file with this hash and name, if any, with its project's name.
pub fn approved_file(conn: &mut AnyConnection, sha256: &Sha256, filename: &str) -> StoreResult<Option<(String, IndexFile)>> {
    let rows: Vec<IndexRow> = files::table
        .inner_join(releases::table.left_join(release_yanks::table))
        .filter(files::sha256.eq(sha256.as_str()))
        .filter(files::filename.eq(filename))
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .select(index_row_columns())
        .load(conn)?;
    let Some(file) = keep_approved(conn, rows)?.into_iter().next() else { return Ok(None) };
    let project: String = releases::table.inner_join(projects::table).filter(releases::id.eq(file.release_id)).select(projects::name).first(conn)?;
    Ok(Some((project, file)))
}

/// The servable files of these releases (approved ones; others have
/// none), each with its project's name, in no particular order. Decided
/// exactly as for the index pages, so an export pins what the index serves.
pub fn approved_files_of_releases(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<Vec<(String, IndexFile)>> {
    let mut out = Vec::new();
    // A parameter per release: chunked under every backend's limit.
    for chunk in release_ids.chunks(500) {
        let rows: Vec<(String, IndexRow)> = files::table
            .inner_join(releases::table.inner_join(projects::table).left_join(release_yanks::table))
            .filter(releases::id.eq_any(chunk))
            .filter(releases::status.eq(ReleaseStatus::Approved))
            .select((projects::name, index_row_columns()))
            .load(conn)?;
        let project_of: HashMap<i64, String> = rows.iter().map(|(name, row)| (row.0, name.clone())).collect();
        let files = keep_approved(conn, rows.into_iter().map(|(_, row)| row).collect())?;
        out.extend(files.into_iter().filter_map(|f| project_of.get(&f.release_id).map(|name| (name.clone(), f))));
    }
    Ok(out)
}

/// Every approved release as `(release id, project, version)`.
pub fn approved_releases(conn: &mut AnyConnection) -> StoreResult<Vec<(i64, String, String)>> {
    Ok(releases::table
        .inner_join(projects::table)
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .select((releases::id, projects::name, releases::version))
        .load(conn)?)
}

/// Every approved file of every project, for warming a cache or a benchmark.
pub fn count_approved_files(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(files::table.inner_join(releases::table).filter(releases::status.eq(ReleaseStatus::Approved)).count().get_result(conn)?)
}

// ---- the change feed -------------------------------------------------------

/// One row of the change feed: `project`'s pages must be rendered again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChange {
    pub id: i64,
    pub project: String,
}

/// The newest change id (0 when there is none).
pub fn latest_change_id(conn: &mut AnyConnection) -> StoreResult<i64> {
    let max: Option<i64> = index_changes::table.select(diesel::dsl::max(index_changes::id)).first(conn)?;
    Ok(max.unwrap_or(0))
}

/// Changes with an id above `after`, oldest first, at most `limit`.
pub fn changes_after(conn: &mut AnyConnection, after: i64, limit: i64) -> StoreResult<Vec<IndexChange>> {
    let rows: Vec<(i64, String)> = index_changes::table
        .filter(index_changes::id.gt(after))
        .order(index_changes::id)
        .limit(limit)
        .select((index_changes::id, index_changes::project))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, project)| IndexChange { id, project }).collect())
}

/// Forget changes older than `max_age_ms`; every process has long seen them.
pub fn prune_changes(conn: &mut AnyConnection, max_age_ms: i64) -> StoreResult<usize> {
    let cutoff = now_ms() - max_age_ms;
    Ok(diesel::delete(index_changes::table.filter(index_changes::at.lt(cutoff))).execute(conn)?)
}

// ---- yanks (PEP 592) -------------------------------------------------------

fn release_of(conn: &mut AnyConnection, project: &ProjectName, version: &str) -> StoreResult<(i64, String)> {
    let row: Option<(i64, String)> = releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq(project.as_str()))
        .filter(releases::version.eq(version))
        .select((releases::id, releases::status))
        .first(conn)
        .optional()?;
    row.ok_or_else(|| StoreError::NotFound(format!("{project} {version} is not known to Airlock")))
}

/// Yank a release (PEP 592) with a reason: installers skip it unless pinned.
/// Needs an auditor; recorded in the audit log.
pub fn yank(conn: &mut AnyConnection, user: &User, project: &ProjectName, version: &str, reason: &str) -> StoreResult<()> {
    if user.role < Role::Auditor {
        return Err(StoreError::Invalid(format!("user {} is a {} and cannot yank", user.name, user.role.as_str())));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::Invalid("a yank needs a reason".into()));
    }
    if reason.len() > 2_000 {
        return Err(StoreError::Invalid("the reason is longer than 2000 bytes".into()));
    }
    crate::db::write_transaction(conn, |conn| {
        let (release_id, _) = release_of(conn, project, version)?;
        let now = now_ms();
        let existing = release_yanks::table.find(release_id).select(release_yanks::release_id).first::<i64>(conn).optional()?;
        if existing.is_some() {
            diesel::update(release_yanks::table.find(release_id))
                .set((release_yanks::reason.eq(reason), release_yanks::yanked_by.eq(&user.name), release_yanks::at.eq(now)))
                .execute(conn)?;
        } else {
            diesel::insert_into(release_yanks::table)
                .values((
                    release_yanks::release_id.eq(release_id),
                    release_yanks::reason.eq(reason),
                    release_yanks::yanked_by.eq(&user.name),
                    release_yanks::at.eq(now),
                ))
                .execute(conn)?;
        }
        audit::record(conn, Some(&user.name), "release.yank", &format!("{project} {version}"), reason)
    })
}

/// Take back an auditor's yank. Returns false when the release was not yanked.
pub fn unyank(conn: &mut AnyConnection, user: &User, project: &ProjectName, version: &str) -> StoreResult<bool> {
    if user.role < Role::Auditor {
        return Err(StoreError::Invalid(format!("user {} is a {} and cannot unyank", user.name, user.role.as_str())));
    }
    crate::db::write_transaction(conn, |conn| {
        let (release_id, _) = release_of(conn, project, version)?;
        let removed = diesel::delete(release_yanks::table.find(release_id)).execute(conn)?;
        if removed > 0 {
            audit::record(conn, Some(&user.name), "release.unyank", &format!("{project} {version}"), "")?;
        }
        Ok(removed > 0)
    })
}

/// An auditor's yank of a release, as the release page shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct YankView {
    pub reason: String,
    pub yanked_by: String,
    pub at: i64,
}

/// The auditor's yank of a release, if yanked: the reason, who and when.
pub fn yank_of(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Option<YankView>> {
    Ok(release_yanks::table
        .find(release_id)
        .select((release_yanks::reason, release_yanks::yanked_by, release_yanks::at))
        .first::<(String, String, i64)>(conn)
        .optional()?
        .map(|(reason, yanked_by, at)| YankView { reason, yanked_by, at }))
}

/// The auditor's yank reason for a release, if yanked.
pub fn yank_reason(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Option<String>> {
    Ok(release_yanks::table.find(release_id).select(release_yanks::reason).first(conn).optional()?)
}

// ---- why a project is missing ----------------------------------------------

/// What Airlock knows of a project that a client asked the index for.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Availability {
    pub project: String,
    /// `approved`, `pending`, `rejected`, `failed` or `never_requested`:
    /// the most hopeful state any of its releases is in.
    pub state: String,
    /// Each known release and its status, newest request first.
    pub releases: Vec<ReleaseState>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReleaseState {
    pub version: String,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    /// For a rejected or revoked release, the decision that made it so.
    pub decided: Option<Refusal>,
}

/// Who rejected or revoked a release, and when.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusal {
    /// The auditor's name.
    pub by: String,
    /// The policy that decided, when a policy did (in the auditor's name).
    pub policy: Option<String>,
    /// Milliseconds since the epoch.
    pub at: i64,
}

/// A project's state from its releases' statuses: the most hopeful one,
/// `approved`, `pending`, `rejected`, `failed` or (none) `never_requested`.
pub fn project_state(statuses: impl Iterator<Item = ReleaseStatus> + Clone) -> &'static str {
    use ReleaseStatus::*;
    let has = |s: &[ReleaseStatus]| statuses.clone().any(|status| s.contains(&status));
    if has(&[Approved]) {
        "approved"
    } else if has(&[Requested, Mirroring, Inspecting, AwaitingReview]) {
        "pending"
    } else if has(&[Rejected, Revoked]) {
        "rejected"
    } else if has(&[Failed]) {
        "failed"
    } else {
        "never_requested"
    }
}

/// Why `project` is (or is not) in the index.
pub fn availability(conn: &mut AnyConnection, project: &ProjectName) -> StoreResult<Availability> {
    let rows: Vec<(i64, String, ReleaseStatus, Option<String>)> = releases::table
        .inner_join(projects::table)
        .filter(projects::name.eq(project.as_str()))
        .order(releases::id.desc())
        .select((releases::id, releases::version, releases::status, releases::error))
        .load(conn)?;
    let state = project_state(rows.iter().map(|(_, _, status, _)| *status));
    let refused: Vec<i64> =
        rows.iter().filter(|(_, _, status, _)| matches!(status, ReleaseStatus::Rejected | ReleaseStatus::Revoked)).map(|(id, ..)| *id).collect();
    let mut refusals = refusals_of(conn, &refused)?;
    Ok(Availability {
        project: project.to_string(),
        state: state.to_string(),
        releases: rows.into_iter().map(|(id, version, status, error)| ReleaseState { version, status, error, decided: refusals.remove(&id) }).collect(),
    })
}

/// How a rejected or revoked release came to be so: `2.0 was approved,
/// then revoked by bob on 2026-12-01 11:20 UTC` (None in another state).
pub fn describe_refusal(version: &str, status: ReleaseStatus, decided: Option<&Refusal>) -> Option<String> {
    let verb = match status {
        ReleaseStatus::Revoked => "approved, then revoked",
        ReleaseStatus::Rejected => "rejected",
        _ => return None,
    };
    Some(match decided {
        Some(d) => {
            let who = d.policy.as_ref().map_or_else(|| d.by.clone(), |policy| format!("policy {policy}"));
            format!("{version} was {verb} by {who} on {}", crate::format_utc(d.at))
        }
        None => format!("{version} was {verb}"),
    })
}

/// The latest reject or revoke decision of each of these releases.
pub(crate) fn refusals_of(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<HashMap<i64, Refusal>> {
    if release_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, Option<String>, i64)> = decisions::table
        .inner_join(crate::schema::users::table)
        .filter(decisions::release_id.eq_any(release_ids))
        .filter(decisions::decision.eq_any([Verdict::Reject.as_str(), Verdict::Revoke.as_str()]))
        .order(decisions::id)
        .select((decisions::release_id, crate::schema::users::name, decisions::policy, decisions::created_at))
        .load(conn)?;
    // Oldest first: the latest decision of a release overwrites the earlier.
    Ok(rows.into_iter().map(|(release_id, by, policy, at)| (release_id, Refusal { by, policy, at })).collect())
}

#[cfg(test)]
mod tests;
