//! The review queue and the pipeline's progress, as the dashboard shows
//! them: releases filtered by status, severity and name and ranked by risk;
//! how far each release in flight has got; what failed and why.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::releases::{severity_rank, Project, Release};
use crate::schema::{decisions, files, findings, projects, releases};

/// Which releases the queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only these states (all when empty).
    pub statuses: Vec<ReleaseStatus>,
    /// Only releases whose worst finding is at least this severe.
    pub min_severity: Option<String>,
    /// Only projects whose normalized name contains this text.
    pub search: Option<String>,
    /// Also approved releases with files added since their approval that no
    /// approval covers yet: they wait for review too.
    pub with_added_files: bool,
    /// Also approved releases whose audit base was revoked since (see
    /// [`crate::reading`]): they wait for a new review.
    pub with_base_revoked: bool,
    /// How many approvals each row needs (`approvals_required`, the
    /// four-eyes rule): fills [`QueueItem::approvals_required`].
    pub approvals: crate::decisions::ReviewPolicy,
}

/// One row of the review queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub release_id: i64,
    pub project_id: i64,
    pub project: String,
    pub version: String,
    pub status: String,
    pub error: Option<String>,
    pub max_severity: String,
    pub risk_score: i64,
    pub files: i64,
    pub files_inspected: i64,
    /// Files no approval in force covers, in an approved release (added on request).
    pub files_awaiting_approval: bool,
    pub findings: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The project the name resembles (see [`crate::names`]).
    pub possible_typosquat_of: Option<String>,
    /// The revoked version this approved release's approval was read against.
    pub base_revoked: Option<String>,
    /// Distinct auditors this release needs under the filter's review
    /// policy (`approvals_required`, four-eyes): 1 unless configured.
    pub approvals_required: usize,
    /// Approvals recorded toward it so far (0 when none is pending).
    pub approvals_recorded: usize,
    /// Advisories matching it (OSV ids, worst first; see [`crate::advisories`]).
    pub advisories: Vec<String>,
    /// One of them is a malware (`MAL-`) record.
    pub malicious: bool,
}

/// Releases matching `filter`, riskiest first: max severity, then score,
/// then the longest waiting.
pub fn queue(conn: &mut AnyConnection, filter: &QueueFilter, limit: i64) -> StoreResult<Vec<QueueItem>> {
    let mut added = if filter.with_added_files { with_added_files(conn)? } else { Vec::new() };
    let base_revoked = if filter.with_base_revoked { crate::reading::base_revoked(conn, None)? } else { HashMap::new() };
    let reread: Vec<i64> = base_revoked.keys().copied().collect();
    let mut waiting = added.clone();
    waiting.extend(reread);
    let mut query = releases::table.inner_join(projects::table).select((Project::as_select(), Release::as_select())).into_boxed();
    if !filter.statuses.is_empty() {
        let names: Vec<&'static str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(releases::status.eq_any(names).or(releases::id.eq_any(waiting)));
    }
    if let Some(min) = &filter.min_severity {
        let names: Vec<&'static str> = ["critical", "high", "medium", "low", "info"].into_iter().filter(|s| severity_rank(s) >= severity_rank(min)).collect();
        query = query.filter(releases::max_severity.eq_any(names));
    }
    if let Some(text) = filter.search.as_deref().map(crate::domain::normalize).filter(|t| !t.is_empty()) {
        // LIKE's wildcards in the search text match themselves.
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(projects::name.like(format!("%{escaped}%")).escape('\\'));
    }
    let rows: Vec<(Project, Release)> = query.order(releases::id.asc()).limit(limit).load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|(_, r)| r.id).collect();
    let mut base_revoked = base_revoked;
    if !filter.with_base_revoked {
        base_revoked = crate::reading::base_revoked(conn, Some(&ids))?;
    }
    added.sort_unstable();
    let file_rows: Vec<(i64, bool)> = files::table.filter(files::release_id.eq_any(&ids)).select((files::release_id, files::inspected)).load(conn)?;
    let mut file_counts: HashMap<i64, (i64, i64)> = HashMap::new();
    for (release_id, inspected) in file_rows {
        let e = file_counts.entry(release_id).or_default();
        e.0 += 1;
        e.1 += i64::from(inspected);
    }
    let finding_rows: Vec<i64> = findings::table.inner_join(files::table).filter(files::release_id.eq_any(&ids)).select(files::release_id).load(conn)?;
    let mut finding_counts: HashMap<i64, i64> = HashMap::new();
    for release_id in finding_rows {
        *finding_counts.entry(release_id).or_default() += 1;
    }
    let recorded = crate::decisions::approvals_recorded(conn, &ids)?;
    let advisories = crate::advisories::matches(conn, Some(&ids), 10_000)?;
    let mut items: Vec<QueueItem> = rows
        .into_iter()
        .map(|(project, release)| {
            let (files, files_inspected) = file_counts.get(&release.id).copied().unwrap_or_default();
            let approvals_required = filter.approvals.approvals_needed(&release.max_severity);
            QueueItem {
                release_id: release.id,
                project_id: project.id,
                project: project.name,
                version: release.version,
                status: release.status,
                error: release.error,
                max_severity: release.max_severity,
                risk_score: release.risk_score,
                files,
                files_inspected,
                files_awaiting_approval: added.contains(&release.id),
                findings: finding_counts.get(&release.id).copied().unwrap_or_default(),
                created_at: release.created_at,
                updated_at: release.updated_at,
                possible_typosquat_of: release.possible_typosquat_of,
                base_revoked: base_revoked.get(&release.id).map(|b| b.base.clone()),
                approvals_required,
                approvals_recorded: recorded.get(&release.id).copied().unwrap_or(0),
                advisories: advisories.get(&release.id).map(|m| m.iter().map(|a| a.osv_id.clone()).collect()).unwrap_or_default(),
                malicious: advisories.get(&release.id).is_some_and(|m| m.iter().any(|a| a.malicious)),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        severity_rank(&b.max_severity).cmp(&severity_rank(&a.max_severity)).then(b.risk_score.cmp(&a.risk_score)).then(a.created_at.cmp(&b.created_at))
    });
    Ok(items)
}

/// Approved releases with a file whose hash the approval in force does not
/// cover (a file added on request since): they need a new approval.
pub fn with_added_files(conn: &mut AnyConnection) -> StoreResult<Vec<i64>> {
    let decided: Vec<(i64, String, String)> = decisions::table
        .inner_join(releases::table)
        .filter(releases::status.eq(ReleaseStatus::Approved.as_str()))
        .filter(decisions::in_force.eq(true))
        .order(decisions::id)
        .select((decisions::release_id, decisions::decision, decisions::sha256s))
        .load(conn)?;
    let approved = crate::index::latest_approvals(decided);
    let ids: Vec<i64> = approved.keys().copied().collect();
    let hashes: Vec<(i64, String)> = files::table.filter(files::release_id.eq_any(&ids)).select((files::release_id, files::sha256)).load(conn)?;
    let mut out: Vec<i64> = hashes.into_iter().filter(|(id, sha)| approved.get(id).is_some_and(|h| !h.contains(sha))).map(|(id, _)| id).collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The states a release passes through before review, in order.
pub const IN_FLIGHT: [ReleaseStatus; 3] = [ReleaseStatus::Requested, ReleaseStatus::Mirroring, ReleaseStatus::Inspecting];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PinnedRequirement, ProjectName, Version};
    use crate::releases::{find_release, request_release};
    use crate::testdb::each_backend;

    fn release(conn: &mut AnyConnection, name: &str, status: &str, sev: &str, score: i64) {
        request_release(conn, &PinnedRequirement::parse(&format!("{name}==1.0")).unwrap(), None, 3, &Default::default()).unwrap();
        let (_, r) = find_release(conn, &ProjectName::parse(name).unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
        diesel::update(releases::table.find(r.id))
            .set((releases::status.eq(status), releases::max_severity.eq(sev), releases::risk_score.eq(score)))
            .execute(conn)
            .unwrap();
    }

    fn names(items: &[QueueItem]) -> Vec<&str> {
        items.iter().map(|i| i.project.as_str()).collect()
    }

    #[test]
    fn the_queue_ranks_riskiest_first() {
        each_backend(|conn| {
            for (name, sev, score) in [("low-one", "low", 3), ("crit-one", "critical", 100), ("high-one", "high", 40), ("high-two", "high", 80)] {
                release(conn, name, "awaiting_review", sev, score);
            }
            let filter = QueueFilter { statuses: vec![ReleaseStatus::AwaitingReview], ..QueueFilter::default() };
            assert_eq!(names(&queue(conn, &filter, 100).unwrap()), ["crit-one", "high-two", "high-one", "low-one"]);
        });
    }

    #[test]
    fn the_queue_filters_by_status_severity_and_name() {
        each_backend(|conn| {
            release(conn, "requests-toolbelt", "awaiting_review", "medium", 10);
            release(conn, "requests", "approved", "high", 40);
            release(conn, "evil_pkg", "awaiting_review", "critical", 100);
            release(conn, "six", "failed", "none", 0);
            let by_name = QueueFilter { search: Some("Requests".into()), ..QueueFilter::default() };
            assert_eq!(names(&queue(conn, &by_name, 100).unwrap()), ["requests", "requests-toolbelt"]);
            let severe = QueueFilter { min_severity: Some("high".into()), ..QueueFilter::default() };
            assert_eq!(names(&queue(conn, &severe, 100).unwrap()), ["evil-pkg", "requests"]);
            let failed = QueueFilter { statuses: vec![ReleaseStatus::Failed], ..QueueFilter::default() };
            assert_eq!(names(&queue(conn, &failed, 100).unwrap()), ["six"]);
            // LIKE wildcards are taken literally.
            let wild = QueueFilter { search: Some("%".into()), ..QueueFilter::default() };
            assert!(queue(conn, &wild, 100).unwrap().is_empty());
        });
    }
}
