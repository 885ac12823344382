//! The cache of audit sizes: how many lines an auditor must read to review
//! a release, against a base release (the delta) or against nothing (every
//! text line). Computing one means reading two archives, so results are
//! kept; archives are immutable, so a cached size never goes stale.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::error::StoreResult;
use crate::now_ms;
use crate::schema::audit_sizes;

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
pub fn put(conn: &mut AnyConnection, release_id: i64, base: Option<i64>, lines: i64, added: i64, removed: i64, changed: i64) -> StoreResult<AuditSize> {
    let row = AuditSize {
        release_id,
        base_release_id: base.unwrap_or(NO_BASE),
        lines,
        files_added: added,
        files_removed: removed,
        files_changed: changed,
        computed_at: now_ms(),
    };
    let inserted = diesel::insert_into(audit_sizes::table)
        .values((
            audit_sizes::release_id.eq(row.release_id),
            audit_sizes::base_release_id.eq(row.base_release_id),
            audit_sizes::lines.eq(row.lines),
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
