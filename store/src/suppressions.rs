//! Suppressions: a rule an admin has decided not to count for one project
//! (a `native/binary` finding on a project that is a C extension by
//! design), with the reason. A suppressed finding is still stored and
//! still shown, collapsed with the reason, but it leaves the release's max
//! severity and risk score, and so its rank in the queue. Creating and
//! removing one rescores the project's releases and lands in the audit log.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::ProjectName;
use crate::error::{StoreError, StoreResult};
use crate::files::risk_score;
use crate::now_ms;
use crate::schema::{files, findings, projects, releases, suppressions};
use airlock_inspect::Severity;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = suppressions)]
pub struct Suppression {
    pub id: i64,
    pub project: String,
    pub rule: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
}

/// Longest reason kept, in characters.
pub const MAX_REASON: usize = 1000;

/// Every suppression, by project then rule.
pub fn list(conn: &mut AnyConnection) -> StoreResult<Vec<Suppression>> {
    Ok(suppressions::table.order((suppressions::project, suppressions::rule)).select(Suppression::as_select()).load(conn)?)
}

/// The suppressions of one project (normalized name).
pub fn of_project(conn: &mut AnyConnection, project: &str) -> StoreResult<Vec<Suppression>> {
    Ok(suppressions::table.filter(suppressions::project.eq(project)).order(suppressions::rule).select(Suppression::as_select()).load(conn)?)
}

/// Suppress `rule` for `project`, rescore its releases and log it. The
/// rule must be one the engine knows (`known_rule`), the reason is required.
pub fn create(
    conn: &mut AnyConnection,
    project: &ProjectName,
    rule: &str,
    reason: &str,
    actor: &str,
    known_rule: impl Fn(&str) -> bool,
) -> StoreResult<Suppression> {
    let (rule, reason) = (rule.trim(), reason.trim());
    if !known_rule(rule) {
        return Err(StoreError::Invalid(format!("no rule {rule:?} (see /docs/rules)")));
    }
    if reason.is_empty() {
        return Err(StoreError::Invalid("a suppression needs a reason".into()));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(StoreError::Invalid(format!("a reason is at most {MAX_REASON} characters")));
    }
    conn.transaction(|conn| {
        let exists: i64 =
            suppressions::table.filter(suppressions::project.eq(project.as_str())).filter(suppressions::rule.eq(rule)).count().get_result(conn)?;
        if exists > 0 {
            return Err(StoreError::Conflict(format!("{rule} is already suppressed for {project}")));
        }
        let row: Suppression = diesel::insert_into(suppressions::table)
            .values((
                suppressions::project.eq(project.as_str()),
                suppressions::rule.eq(rule),
                suppressions::reason.eq(reason),
                suppressions::created_by.eq(actor),
                suppressions::created_at.eq(now_ms()),
            ))
            .returning(suppressions::all_columns)
            .get_result(conn)?;
        crate::audit::record(conn, Some(actor), "suppression.create", project.as_str(), &format!("{rule}: {reason}"))?;
        rescore_project(conn, project.as_str())?;
        Ok(row)
    })
}

/// Remove a suppression, rescore the project's releases and log it.
pub fn remove(conn: &mut AnyConnection, id: i64, actor: &str) -> StoreResult<Suppression> {
    conn.transaction(|conn| {
        let row: Suppression = suppressions::table
            .find(id)
            .select(Suppression::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("suppression {id}")))?;
        diesel::delete(suppressions::table.find(id)).execute(conn)?;
        crate::audit::record(conn, Some(actor), "suppression.remove", &row.project, &format!("{}: {}", row.rule, row.reason))?;
        rescore_project(conn, &row.project)?;
        Ok(row)
    })
}

/// Score a release from its findings, leaving out the rules suppressed for
/// its project: max severity (`none` without findings) and risk score (see
/// [`risk_score`]: a rule once per file and severity).
pub fn rescore_release(conn: &mut AnyConnection, release_id: i64) -> StoreResult<(Severity, i64)> {
    let project: String = releases::table.inner_join(projects::table).filter(releases::id.eq(release_id)).select(projects::name).first(conn)?;
    let suppressed: Vec<String> = suppressions::table.filter(suppressions::project.eq(&project)).select(suppressions::rule).load(conn)?;
    let rows: Vec<(i64, String, Severity)> = findings::table
        .inner_join(files::table)
        .filter(files::release_id.eq(release_id))
        .select((findings::file_id, findings::rule, findings::severity))
        .load(conn)?;
    let counted: Vec<(i64, &str, Severity)> =
        rows.iter().filter(|(_, rule, _)| !suppressed.contains(rule)).map(|(file, rule, s)| (*file, rule.as_str(), *s)).collect();
    let score = risk_score(counted.iter().copied());
    let max = counted.iter().map(|(_, _, s)| *s).max().unwrap_or_default();
    diesel::update(releases::table.find(release_id)).set((releases::risk_score.eq(score), releases::max_severity.eq(max.as_str()))).execute(conn)?;
    Ok((max, score))
}

fn rescore_project(conn: &mut AnyConnection, project: &str) -> StoreResult<()> {
    let ids: Vec<i64> = releases::table.inner_join(projects::table).filter(projects::name.eq(project)).select(releases::id).load(conn)?;
    for id in ids {
        rescore_release(conn, id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
