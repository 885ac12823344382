//! The cache of audit sizes: how many lines an auditor must read to review
//! a release, against a base release (the delta) or against nothing (every
//! text line). Computing one means reading two archives, so results are
//! kept; archives are immutable, so a cached size never goes stale.
//!
//! The worker measures (the `measure_audit` job, queued when a release's
//! inspection finishes and when a project gets a new approved version);
//! everything else only reads what it stored, through [`summary`].

use diesel::prelude::*;
use serde::Serialize;

use std::collections::{HashMap, HashSet};

use crate::db::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::now_ms;
use crate::releases::{nearest_approved, release_by_id, Release};
use crate::schema::{audit_sizes, releases};
use crate::tasks;

/// The base id stored for "no base: every text line".
pub const NO_BASE: i64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_sizes)]
pub struct AuditSize {
    pub release_id: i64,
    pub base_release_id: i64,
    pub lines: i64,
    pub files_added: i64,
    pub files_removed: i64,
    pub files_changed: i64,
    pub computed_at: i64,
    /// Lines of data (translations, docs, images, plain text), apart from `lines` of code.
    pub data_lines: i64,
}

/// What one measurement of a release against one base found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measurement {
    /// Lines of code to read.
    pub lines: i64,
    /// Lines of data to look over (see `airlock_inspect::delta::is_data`).
    pub data_lines: i64,
    pub files_added: i64,
    pub files_removed: i64,
    pub files_changed: i64,
}

/// The size of a review, and the base it is measured from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditSummary {
    pub lines: i64,
    pub data_lines: i64,
    /// The approved version the delta is taken from; None: every line.
    pub base: Option<String>,
    #[serde(skip)]
    pub base_release_id: Option<i64>,
    pub files_added: i64,
    pub files_removed: i64,
    pub files_changed: i64,
}

/// True once every file of a release is inspected, so it can be measured.
pub fn measurable(release: &Release) -> bool {
    !matches!(release.status, ReleaseStatus::Requested | ReleaseStatus::Mirroring | ReleaseStatus::Inspecting | ReleaseStatus::Failed)
}

/// What a release is measured against: each of the nearest approved
/// versions, or nothing (every line) when the project has none.
pub fn bases(conn: &mut AnyConnection, project_id: i64, version: &str) -> StoreResult<Vec<Option<Release>>> {
    let candidates = nearest_approved(conn, project_id, version)?;
    Ok(if candidates.is_empty() { vec![None] } else { candidates.into_iter().map(Some).collect() })
}

/// The audit size of a release as the worker measured it: the smallest
/// delta from one of its bases (see [`bases`]) that is measured. None
/// while none is, or while the release is still mirrored or inspected.
pub fn summary(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Option<AuditSummary>> {
    let (project, release) = release_by_id(conn, release_id)?;
    if !measurable(&release) {
        return Ok(None);
    }
    let best = best(conn, project.id, release_id, &release.version)?;
    Ok(best.map(|(size, base)| AuditSummary {
        lines: size.lines,
        data_lines: size.data_lines,
        base_release_id: base.as_ref().map(|b| b.id),
        base: base.map(|b| b.version),
        files_added: size.files_added,
        files_removed: size.files_removed,
        files_changed: size.files_changed,
    }))
}

/// The smallest measured delta of `release_id` (of `project_id`, at
/// `version`) from one of its bases, with that base (None: every line).
pub fn best(conn: &mut AnyConnection, project_id: i64, release_id: i64, version: &str) -> StoreResult<Option<(AuditSize, Option<Release>)>> {
    let sizes = of_releases(conn, &[release_id])?;
    if sizes.is_empty() {
        return Ok(None);
    }
    Ok(bases(conn, project_id, version)?
        .into_iter()
        .filter_map(|base| {
            let base_id = base.as_ref().map_or(NO_BASE, |b| b.id);
            sizes.iter().find(|s| s.base_release_id == base_id).map(|s| (*s, base))
        })
        .min_by_key(|(s, _)| s.lines))
}

/// [`summary`] of several releases; those not measured yet are absent.
pub fn summaries(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<HashMap<i64, AuditSummary>> {
    let measured: HashSet<i64> = of_releases(conn, release_ids)?.into_iter().map(|s| s.release_id).collect();
    let mut out = HashMap::new();
    for &id in release_ids.iter().filter(|id| measured.contains(id)) {
        if let Some(size) = summary(conn, id)? {
            out.insert(id, size);
        }
    }
    Ok(out)
}

/// Attempts of a measuring job queued by the store itself (on a decision).
pub const MEASURE_ATTEMPTS: i64 = 3;

/// Ask the worker to measure `release_id` (a no-op while such a job is live).
pub fn enqueue_measure(conn: &mut AnyConnection, release_id: i64, max_attempts: i64) -> StoreResult<()> {
    tasks::enqueue(conn, &tasks::MeasureAudit { release_id }, max_attempts).map(drop)
}

/// Releases awaiting review with no size measured at all: after an
/// upgrade, or when a measuring job was lost.
pub fn unmeasured(conn: &mut AnyConnection) -> StoreResult<Vec<i64>> {
    use diesel::dsl::{exists, not};
    Ok(releases::table
        .filter(releases::status.eq(ReleaseStatus::AwaitingReview))
        .filter(not(exists(audit_sizes::table.filter(audit_sizes::release_id.eq(releases::id)))))
        .select(releases::id)
        .load(conn)?)
}

/// A project got a new approved version, or lost one: each of its releases
/// awaiting review (or approved, to be reviewed again when its base is
/// revoked) may now have other bases, so the worker measures them again
/// (sizes already cached are kept; only the new pairs are computed).
pub fn enqueue_project(conn: &mut AnyConnection, project_id: i64, max_attempts: i64) -> StoreResult<()> {
    let awaiting: Vec<i64> = releases::table
        .filter(releases::project_id.eq(project_id))
        .filter(releases::status.eq_any([ReleaseStatus::AwaitingReview, ReleaseStatus::Approved, ReleaseStatus::Revoked]))
        .select(releases::id)
        .load(conn)?;
    for id in awaiting {
        enqueue_measure(conn, id, max_attempts)?;
    }
    Ok(())
}

/// The cached size of `release_id` against `base` (None: no base).
pub fn get(conn: &mut AnyConnection, release_id: i64, base: Option<i64>) -> StoreResult<Option<AuditSize>> {
    Ok(audit_sizes::table.find((release_id, base.unwrap_or(NO_BASE))).select(AuditSize::as_select()).first(conn).optional()?)
}

/// Every cached size of these releases.
pub fn of_releases(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<Vec<AuditSize>> {
    Ok(audit_sizes::table.filter(audit_sizes::release_id.eq_any(release_ids)).select(AuditSize::as_select()).load(conn)?)
}

/// Keep a computed size. Two computations racing store the same numbers,
/// so the loser's duplicate is simply dropped.
pub fn put(conn: &mut AnyConnection, release_id: i64, base: Option<i64>, m: Measurement) -> StoreResult<AuditSize> {
    let row = AuditSize {
        release_id,
        base_release_id: base.unwrap_or(NO_BASE),
        lines: m.lines,
        files_added: m.files_added,
        files_removed: m.files_removed,
        files_changed: m.files_changed,
        computed_at: now_ms(),
        data_lines: m.data_lines,
    };
    let inserted = diesel::insert_into(audit_sizes::table)
        .values((
            audit_sizes::release_id.eq(row.release_id),
            audit_sizes::base_release_id.eq(row.base_release_id),
            audit_sizes::lines.eq(row.lines),
            audit_sizes::data_lines.eq(row.data_lines),
            audit_sizes::files_added.eq(row.files_added),
            audit_sizes::files_removed.eq(row.files_removed),
            audit_sizes::files_changed.eq(row.files_changed),
            audit_sizes::computed_at.eq(row.computed_at),
        ))
        .execute(conn)
        .map_err(crate::StoreError::from);
    match inserted {
        Err(e) if !e.is_unique_violation() => Err(e),
        _ => Ok(row),
    }
}
