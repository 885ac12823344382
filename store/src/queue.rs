//! The review queue and the pipeline's progress, as the dashboard shows
//! them: releases filtered by status, severity and name and ranked by risk;
//! how far each release in flight has got; what failed and why.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use airlock_inspect::Severity;

use crate::db::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::releases::{Project, Release};
use crate::schema::{decisions, files, findings, projects, releases};

/// Which releases the queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only these states (all when empty).
    pub statuses: Vec<ReleaseStatus>,
    /// Only releases whose worst finding is at least this severe.
    pub min_severity: Option<Severity>,
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
    pub status: ReleaseStatus,
    pub error: Option<String>,
    pub max_severity: Severity,
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
    /// Who asked for it: a user, or a system requester.
    pub requested_by: Option<String>,
    /// How it was asked for (see [`crate::domain::RequestSource`]).
    pub request_source: String,
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
/// then the longest waiting. At most `limit`, the riskiest.
pub fn queue(conn: &mut AnyConnection, filter: &QueueFilter, limit: i64) -> StoreResult<Vec<QueueItem>> {
    Ok(queue_page(conn, filter, 0, limit)?.items)
}

/// One page of the queue: the rows in ranked order from `offset`, and how
/// many match in all.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub total: i64,
}

/// Rows `offset..offset + limit` of the releases matching `filter`, in the
/// queue's order (see [`queue`]). The whole match is ranked (a few columns
/// a row), and only the page's rows are loaded whole.
pub fn queue_page(conn: &mut AnyConnection, filter: &QueueFilter, offset: i64, limit: i64) -> StoreResult<QueuePage> {
    let mut added = if filter.with_added_files { with_added_files(conn)? } else { Vec::new() };
    let base_revoked = if filter.with_base_revoked { crate::reading::base_revoked(conn, None)? } else { HashMap::new() };
    let reread: Vec<i64> = base_revoked.keys().copied().collect();
    let mut waiting = added.clone();
    waiting.extend(reread);
    let mut query =
        releases::table.inner_join(projects::table).select((releases::id, releases::max_severity, releases::risk_score, releases::created_at)).into_boxed();
    if !filter.statuses.is_empty() {
        query = query.filter(releases::status.eq_any(&filter.statuses).or(releases::id.eq_any(waiting)));
    }
    if let Some(min) = filter.min_severity {
        let names: Vec<&'static str> = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info]
            .into_iter()
            .filter(|s| *s >= min)
            .map(|s| s.as_str())
            .collect();
        query = query.filter(releases::max_severity.eq_any(names));
    }
    if let Some(text) = filter.search.as_deref().map(crate::domain::normalize).filter(|t| !t.is_empty()) {
        // LIKE's wildcards in the search text match themselves.
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(projects::name.like(format!("%{escaped}%")).escape('\\'));
    }
    let mut ranked: Vec<(i64, Severity, i64, i64)> = query.load(conn)?;
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.3.cmp(&b.3)).then(a.0.cmp(&b.0)));
    let total = ranked.len() as i64;
    let ids: Vec<i64> = ranked.iter().skip(offset.max(0) as usize).take(limit.max(0) as usize).map(|r| r.0).collect();
    let rows: Vec<(Project, Release)> =
        releases::table.inner_join(projects::table).filter(releases::id.eq_any(&ids)).select((Project::as_select(), Release::as_select())).load(conn)?;
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
    let mut by_id: HashMap<i64, QueueItem> = rows
        .into_iter()
        .map(|(project, release)| {
            let (files, files_inspected) = file_counts.get(&release.id).copied().unwrap_or_default();
            let approvals_required = filter.approvals.approvals_needed(release.max_severity);
            let item = QueueItem {
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
                files_awaiting_approval: added.binary_search(&release.id).is_ok(),
                findings: finding_counts.get(&release.id).copied().unwrap_or_default(),
                created_at: release.created_at,
                updated_at: release.updated_at,
                possible_typosquat_of: release.possible_typosquat_of,
                base_revoked: base_revoked.get(&release.id).map(|b| b.base.clone()),
                requested_by: release.requested_by,
                request_source: release.request_source,
                approvals_required,
                approvals_recorded: recorded.get(&release.id).copied().unwrap_or(0),
                advisories: advisories.get(&release.id).map(|m| m.iter().map(|a| a.osv_id.clone()).collect()).unwrap_or_default(),
                malicious: advisories.get(&release.id).is_some_and(|m| m.iter().any(|a| a.malicious)),
            };
            (release.id, item)
        })
        .collect();
    let items = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(QueuePage { items, total })
}

/// The auditors (user ids) whose approvals of each release count toward
/// its four-eyes round: approvals recorded but not yet in force, after the
/// last decision in force.
pub fn approvals_this_round(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64, String, bool)> = decisions::table
        .filter(decisions::release_id.eq_any(release_ids))
        .order(decisions::id)
        .select((decisions::release_id, decisions::user_id, decisions::decision, decisions::in_force))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for (release_id, user_id, decision, in_force) in rows {
        let round = out.entry(release_id).or_default();
        if in_force || decision != "approve" {
            // A decision in force (or a rejection) closes the round.
            round.clear();
        } else if !round.contains(&user_id) {
            round.push(user_id);
        }
    }
    out.retain(|_, users| !users.is_empty());
    Ok(out)
}

/// Of `release_ids`, those `user_id` approved in their current round.
pub fn approved_this_round_by(conn: &mut AnyConnection, release_ids: &[i64], user_id: i64) -> StoreResult<Vec<i64>> {
    Ok(approvals_this_round(conn, release_ids)?.into_iter().filter(|(_, users)| users.contains(&user_id)).map(|(id, _)| id).collect())
}

/// Approved releases with a file whose hash the approval in force does not
/// cover (a file added on request since): they need a new approval.
pub fn with_added_files(conn: &mut AnyConnection) -> StoreResult<Vec<i64>> {
    let decided: Vec<(i64, String, String)> = decisions::table
        .inner_join(releases::table)
        .filter(releases::status.eq(ReleaseStatus::Approved))
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

/// A job parked as failed, with what it was about in words.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJob {
    pub id: i64,
    pub kind: String,
    /// What it worked on: `demo 1.0`, `demo 1.0: demo-1.0.tar.gz`, `project demo`.
    pub subject: String,
    /// The release it belongs to, `(project, version)`, when it has one.
    pub release: Option<(String, String)>,
    pub error: Option<String>,
    pub attempts: i64,
    pub updated_at: i64,
}

/// The jobs parked as failed, newest first, at most `limit`, with what each
/// was about: every failure the pipeline counts (a failed lookup of an
/// index miss has no release, but is listed too).
pub fn failed_jobs(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<FailedJob>> {
    #[derive(serde::Deserialize, Default)]
    struct Payload {
        release_id: Option<i64>,
        file_id: Option<i64>,
        project: Option<String>,
        filename: Option<String>,
        line_id: Option<i64>,
    }
    let jobs = crate::jobs::list_in_state(conn, crate::jobs::FAILED, limit)?;
    let payloads: Vec<Payload> = jobs.iter().map(|j| serde_json::from_str(&j.payload).unwrap_or_default()).collect();
    let file_ids: Vec<i64> = payloads.iter().filter_map(|p| p.file_id).collect();
    let file_rows: Vec<(i64, i64, String)> =
        files::table.filter(files::id.eq_any(&file_ids)).select((files::id, files::release_id, files::filename)).load(conn)?;
    let files_by_id: HashMap<i64, (i64, String)> = file_rows.into_iter().map(|(id, release, name)| (id, (release, name))).collect();
    let mut release_ids: Vec<i64> = payloads.iter().filter_map(|p| p.release_id).collect();
    release_ids.extend(files_by_id.values().map(|(r, _)| *r));
    let names: HashMap<i64, (String, String)> = releases::table
        .inner_join(projects::table)
        .filter(releases::id.eq_any(&release_ids))
        .select((releases::id, projects::name, releases::version))
        .load::<(i64, String, String)>(conn)?
        .into_iter()
        .map(|(id, p, v)| (id, (p, v)))
        .collect();
    Ok(jobs
        .into_iter()
        .zip(payloads)
        .map(|(job, p)| {
            let file = p.file_id.and_then(|id| files_by_id.get(&id));
            let release = p.release_id.or(file.map(|(r, _)| *r)).and_then(|id| names.get(&id)).cloned();
            let subject = match (&release, file, &p.filename, &p.project) {
                (Some((name, version)), Some((_, filename)), _, _) | (Some((name, version)), None, Some(filename), _) => {
                    format!("{name} {version}: {filename}")
                }
                (Some((name, version)), None, None, _) => format!("{name} {version}"),
                (None, _, _, Some(project)) => format!("project {project}"),
                _ => match p.line_id {
                    Some(line) => format!("import line #{line}"),
                    None => format!("job #{}", job.id),
                },
            };
            FailedJob { id: job.id, kind: job.kind, subject, release, error: job.last_error, attempts: job.attempts, updated_at: job.updated_at }
        })
        .collect())
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
    fn the_queue_pages_over_the_whole_ranking_with_a_total() {
        each_backend(|conn| {
            // Created lowest risk first: a page cut by creation order would show the wrong rows.
            for i in 0..7 {
                release(conn, &format!("p{i}"), "awaiting_review", "low", i);
            }
            let filter = QueueFilter { statuses: vec![ReleaseStatus::AwaitingReview], ..QueueFilter::default() };
            let first = queue_page(conn, &filter, 0, 3).unwrap();
            assert_eq!((names(&first.items), first.total), (vec!["p6", "p5", "p4"], 7));
            let last = queue_page(conn, &filter, 6, 3).unwrap();
            assert_eq!((names(&last.items), last.total), (vec!["p0"], 7));
            assert!(queue_page(conn, &filter, 9, 3).unwrap().items.is_empty());
        });
    }

    #[test]
    fn the_four_eyes_round_counts_approvals_not_yet_in_force() {
        each_backend(|conn| {
            use crate::decisions::{decide, ReviewPolicy, Verdict};
            let alice = crate::auth::create_user(conn, "alice", crate::domain::Role::Auditor, "password1").unwrap();
            let bob = crate::auth::create_user(conn, "bob", crate::domain::Role::Auditor, "password1").unwrap();
            let policy = ReviewPolicy { four_eyes_severity: Some(airlock_inspect::Severity::High), ..ReviewPolicy::default() };
            let risky = crate::decisions::tests::awaiting(conn, "risky", "1.0", "critical");
            assert!(approvals_this_round(conn, &[risky]).unwrap().is_empty());
            decide(conn, risky, &alice, Verdict::Approve, "first look", &policy, None).unwrap();
            assert_eq!(approvals_this_round(conn, &[risky]).unwrap()[&risky], vec![alice.id]);
            assert_eq!(approved_this_round_by(conn, &[risky], alice.id).unwrap(), vec![risky]);
            assert!(approved_this_round_by(conn, &[risky], bob.id).unwrap().is_empty());
            decide(conn, risky, &bob, Verdict::Approve, "second look", &policy, None).unwrap();
            assert!(approvals_this_round(conn, &[risky]).unwrap().is_empty(), "approved: the round is over");
        });
    }

    #[test]
    fn every_failed_job_is_listed_with_what_it_was_about() {
        each_backend(|conn| {
            release(conn, "broken", "failed", "none", 0);
            let (_, r) = find_release(conn, &ProjectName::parse("broken").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
            let fail = |conn: &mut AnyConnection, kind: &str, payload: String| {
                let id = crate::jobs::enqueue(conn, kind, &payload, None, 1).unwrap().unwrap();
                let job = crate::jobs::find(conn, id).unwrap().unwrap();
                crate::jobs::fail(conn, &job, &format!("{kind} went wrong"), true, std::time::Duration::from_millis(1)).unwrap();
            };
            fail(conn, "mirror_release", format!("{{\"release_id\":{}}}", r.id));
            fail(conn, "request_latest", "{\"project\":\"no-such-thing\",\"requested_by\":\"index miss\"}".to_string());
            let failed = failed_jobs(conn, 10).unwrap();
            let subjects: Vec<&str> = failed.iter().map(|j| j.subject.as_str()).collect();
            assert_eq!(subjects, ["project no-such-thing", "broken 1.0"], "newest first, a miss's lookup included");
            assert_eq!(failed[1].release, Some(("broken".to_string(), "1.0".to_string())));
            assert_eq!(failed[0].error.as_deref(), Some("request_latest went wrong"));
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
            let severe = QueueFilter { min_severity: Some(airlock_inspect::Severity::High), ..QueueFilter::default() };
            assert_eq!(names(&queue(conn, &severe, 100).unwrap()), ["evil-pkg", "requests"]);
            let failed = QueueFilter { statuses: vec![ReleaseStatus::Failed], ..QueueFilter::default() };
            assert_eq!(names(&queue(conn, &failed, 100).unwrap()), ["six"]);
            // LIKE wildcards are taken literally.
            let wild = QueueFilter { search: Some("%".into()), ..QueueFilter::default() };
            assert!(queue(conn, &wild, 100).unwrap().is_empty());
        });
    }
}
