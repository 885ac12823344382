//! Figures for the overview page: review throughput over time, findings by
//! rule, and the requests that have waited longest. Read-only.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use airlock_inspect::Severity;

use crate::db::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::schema::{decisions, files, findings, projects, releases};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Decisions taken on one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// Midnight UTC of the day, in Unix milliseconds.
    pub day: i64,
    pub approve: i64,
    pub reject: i64,
    pub revoke: i64,
}

/// Decisions per day over the `days` days up to and including `now`'s day,
/// oldest first, with a row for every day (zero when nothing was decided).
pub fn decisions_per_day(conn: &mut AnyConnection, days: i64, now: i64) -> StoreResult<Vec<DayCount>> {
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let first = today - (days - 1) * DAY_MS;
    let rows: Vec<(i64, String)> = decisions::table.filter(decisions::created_at.ge(first)).select((decisions::created_at, decisions::decision)).load(conn)?;
    let mut by_day: BTreeMap<i64, DayCount> = (0..days).map(|i| (first + i * DAY_MS, DayCount { day: first + i * DAY_MS, ..DayCount::default() })).collect();
    for (at, decision) in rows {
        if let Some(d) = by_day.get_mut(&(at.div_euclid(DAY_MS) * DAY_MS)) {
            match decision.as_str() {
                "approve" => d.approve += 1,
                "reject" => d.reject += 1,
                "revoke" => d.revoke += 1,
                _ => {}
            }
        }
    }
    Ok(by_day.into_values().collect())
}

/// How often a rule fired, and how many releases it fired in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    pub rule: String,
    pub severity: Severity,
    pub findings: i64,
    pub releases: i64,
}

/// The rules that fired most, over every inspected release, most first.
pub fn findings_by_rule(conn: &mut AnyConnection, limit: usize) -> StoreResult<Vec<RuleCount>> {
    let rows: Vec<(String, Severity, i64)> =
        findings::table.inner_join(files::table).select((findings::rule, findings::severity, files::release_id)).load(conn)?;
    let mut by_rule: BTreeMap<String, (Severity, i64, std::collections::BTreeSet<i64>)> = BTreeMap::new();
    for (rule, severity, release_id) in rows {
        let e = by_rule.entry(rule).or_insert_with(|| (severity, 0, Default::default()));
        e.0 = e.0.max(severity);
        e.1 += 1;
        e.2.insert(release_id);
    }
    let mut out: Vec<RuleCount> =
        by_rule.into_iter().map(|(rule, (severity, n, releases))| RuleCount { rule, severity, findings: n, releases: releases.len() as i64 }).collect();
    out.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.rule.cmp(&b.rule)));
    out.truncate(limit);
    Ok(out)
}

/// A release waiting for review, and since when.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub project: String,
    pub version: String,
    pub max_severity: Severity,
    pub requested_at: i64,
    pub requested_by: Option<String>,
}

/// The releases awaiting review that were requested longest ago.
pub fn oldest_waiting(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<Waiting>> {
    let rows: Vec<(String, String, Severity, i64, Option<String>)> = releases::table
        .inner_join(projects::table)
        .filter(releases::status.eq(ReleaseStatus::AwaitingReview))
        .order((releases::created_at.asc(), releases::id.asc()))
        .limit(limit)
        .select((projects::name, releases::version, releases::max_severity, releases::created_at, releases::requested_by))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(project, version, max_severity, requested_at, requested_by)| Waiting { project, version, max_severity, requested_at, requested_by })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::each_backend;

    #[test]
    fn throughput_has_a_row_for_every_day_even_quiet_ones() {
        each_backend(|conn| {
            let now = 10 * DAY_MS + 5000;
            let days = decisions_per_day(conn, 7, now).unwrap();
            assert_eq!(days.len(), 7);
            assert_eq!(days[6].day, 10 * DAY_MS);
            assert!(days.iter().all(|d| d.approve == 0 && d.reject == 0));
        });
    }
}
