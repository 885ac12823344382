//! The review queue (`GET /queue`): releases ranked by risk, filtered by
//! status, severity and name, each with the lines an auditor must read, its
//! four-eyes progress and who asked for it how, in pages of [`PAGE_ROWS`];
//! the table alone (`GET /queue/rows`, same query) and the pipeline's live
//! progress (`GET /queue/progress`), fragments the page's script refreshes;
//! requesting a release (`POST /requests`) and retrying a failed one
//! (`POST /releases/<name>/<version>/retry`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_inspect::Severity;
use airlock_store::domain::{PinnedRequirement, ReleaseStatus, RequestSource};
use airlock_store::queue::{self as review_queue, FailedJob, QueueFilter, QueueItem, IN_FLIGHT};
use airlock_store::{jobs, releases};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{FormPost, Page, Viewer};
use crate::error::AppError;
use crate::review::AuditSummary;
use crate::state::AppState;
use crate::views::{format_age, format_count, format_time, url_part, Nav};

/// Rows on one page of the queue.
pub const PAGE_ROWS: i64 = 500;

pub async fn home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/queue")).finish()
}

pub struct QueueRow {
    href: String,
    project: String,
    version: String,
    status: ReleaseStatus,
    /// The status in words.
    status_label: &'static str,
    error: Option<String>,
    max_severity: Severity,
    risk_score: i64,
    files: i64,
    files_inspected: i64,
    files_awaiting_approval: bool,
    findings: i64,
    /// How long it has waited for review; None when it is not waiting.
    waiting: Option<String>,
    requested: String,
    /// How it was asked for, in words, and by whom (`request by alice`, `index miss`).
    requested_how: String,
    /// Approvals so far and approvals needed, when more than one is needed.
    approvals: Option<(usize, usize)>,
    /// Lines to read, or None while not yet measured.
    audit_lines: Option<i64>,
    audit_base: Option<String>,
    possible_typosquat_of: Option<String>,
    /// The revoked version this approved release was read against.
    base_revoked: Option<String>,
    /// Why it ranks where it does: its top one or two behaviours.
    why: Vec<String>,
    /// Matching advisories (OSV ids) and whether one says malware.
    advisories: Vec<String>,
    malicious: bool,
}

/// Each release's "why" (the inspection engine's summary of its worst
/// findings), from the findings the store kept.
fn whys(rows: Vec<(i64, airlock_store::files::FindingRow)>) -> HashMap<i64, Vec<String>> {
    let mut by_release: HashMap<i64, Vec<airlock_inspect::Finding>> = HashMap::new();
    for (release_id, f) in rows {
        by_release.entry(release_id).or_default().push(airlock_inspect::Finding {
            rule: f.rule,
            severity: f.severity,
            file: f.path,
            line: f.line.and_then(|l| u32::try_from(l).ok()),
            message: f.message,
            snippet: None,
            also: Vec::new(),
        });
    }
    by_release.into_iter().map(|(id, findings)| (id, airlock_inspect::finding::why(&findings))).collect()
}

/// How a release was asked for, in words: the source, and the person when one did.
fn requested_how(source: &str, by: Option<&str>) -> String {
    let source = RequestSource::of_stored(source);
    match (source, by) {
        (RequestSource::Miss | RequestSource::Watch, _) | (_, None) => source.label().to_string(),
        (_, Some(who)) => format!("{} by {who}", source.label()),
    }
}

impl QueueRow {
    fn new(i: QueueItem, size: Option<&AuditSummary>, now: i64, why: Vec<String>) -> Self {
        let waiting = i.status == ReleaseStatus::AwaitingReview || i.files_awaiting_approval || i.base_revoked.is_some();
        QueueRow {
            why,
            href: format!("/releases/{}/{}", url_part(&i.project), url_part(&i.version)),
            waiting: waiting.then(|| format_age(i.created_at, now)),
            requested: format_time(i.created_at),
            requested_how: requested_how(&i.request_source, i.requested_by.as_deref()),
            approvals: None,
            audit_lines: size.map(|s| s.lines),
            audit_base: size.and_then(|s| s.base.clone()),
            possible_typosquat_of: i.possible_typosquat_of,
            base_revoked: i.base_revoked,
            advisories: i.advisories,
            malicious: i.malicious,
            project: i.project,
            version: i.version,
            status_label: i.status.label(),
            status: i.status,
            error: i.error,
            max_severity: i.max_severity,
            risk_score: i.risk_score,
            files: i.files,
            files_inspected: i.files_inspected,
            files_awaiting_approval: i.files_awaiting_approval,
            findings: i.findings,
        }
    }
}

/// The progress section alone.
#[derive(Template)]
#[template(path = "queue_progress.html")]
pub struct ProgressFragment {
    progress: Progress,
}

/// The pipeline's progress: releases in flight, failures, job counts.
pub struct Progress {
    csrf: String,
    in_flight: Vec<QueueRow>,
    failed: Vec<QueueRow>,
    jobs: Vec<(String, i64)>,
    /// Every job parked as failed (the count in `jobs`), newest first.
    failed_jobs: Vec<FailedJobRow>,
    /// Failed jobs past those listed.
    failed_jobs_more: i64,
}

/// A failed job as the pipeline card lists it.
pub struct FailedJobRow {
    kind: String,
    subject: String,
    href: Option<String>,
    error: String,
    attempts: i64,
    when: String,
}

impl FailedJobRow {
    fn new(j: FailedJob) -> Self {
        FailedJobRow {
            href: j.release.as_ref().map(|(p, v)| format!("/releases/{}/{}", url_part(p), url_part(v))),
            kind: j.kind.replace('_', " "),
            subject: j.subject,
            error: j.error.unwrap_or_else(|| "unknown error".into()),
            attempts: j.attempts,
            when: format_time(j.updated_at),
        }
    }
}

/// Failed jobs listed on the pipeline card.
const FAILED_JOBS_SHOWN: i64 = 200;

/// The queue's table: one page of rows and the links to the others.
pub struct QueueTable {
    heading: String,
    items: Vec<QueueRow>,
    /// `rows 501–1,000 of 1,234`, or None when one page holds them all.
    range: Option<String>,
    prev_href: Option<String>,
    next_href: Option<String>,
    /// The fragment's URL, for the page's script.
    refresh_href: String,
    /// What an empty table means: nothing requested or waiting yet (with what to do next), or filters that match nothing.
    empty: EmptyQueue,
}

/// Why the table is empty, for a message that says what to do next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EmptyQueue {
    NothingWaiting,
    NothingRequested,
    NoMatch,
}

/// The queue's table alone, for the page's script.
#[derive(Template)]
#[template(path = "queue_rows.html")]
pub struct RowsFragment {
    table: QueueTable,
}

#[derive(Template, WebTemplate)]
#[template(path = "queue.html")]
pub struct QueuePage {
    nav: Option<Nav>,
    counts: Vec<(&'static str, ReleaseStatus, i64)>,
    table: QueueTable,
    message: Option<String>,
    head: Head,
    /// Each status and its label, for the filter.
    statuses: Vec<(&'static str, &'static str)>,
    progress: Progress,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    severity: Option<String>,
    q: Option<String>,
    requested: Option<String>,
    /// Set with `requested` when the name resembles another project.
    typosquat_of: Option<String>,
    /// The page of rows, from 1.
    page: Option<String>,
    /// Set by the redirect after a decision when nothing else waits.
    decided: Option<String>,
}

impl QueueQuery {
    /// The filters as a query string (without the page), for links.
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [("status", &self.status), ("severity", &self.severity), ("q", &self.q)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{key}={}", url_part(v)));
            }
        }
        parts.join("&")
    }

    /// The page asked for (1 when none); a bad one is a clear error.
    fn page_number(&self) -> Result<i64, AppError> {
        Ok(crate::views::page_number(self.page.as_deref(), 1_000_000)? as i64)
    }
}

fn with_page(path: &str, filters: &str, page: i64) -> String {
    match (filters.is_empty(), page) {
        (true, 1) => path.to_string(),
        (true, n) => format!("{path}?page={n}"),
        (false, 1) => format!("{path}?{filters}"),
        (false, n) => format!("{path}?{filters}&page={n}"),
    }
}

async fn load_progress(state: &AppState, csrf: &str) -> Result<Progress, AppError> {
    let (in_flight, failed, mut job_counts, failed_jobs) = state
        .db(|c| {
            let in_flight = review_queue::queue(c, &QueueFilter { statuses: IN_FLIGHT.to_vec(), ..QueueFilter::default() }, 200)?;
            let failed = review_queue::queue(c, &QueueFilter { statuses: vec![ReleaseStatus::Failed], ..QueueFilter::default() }, 200)?;
            Ok((in_flight, failed, jobs::counts(c)?, review_queue::failed_jobs(c, FAILED_JOBS_SHOWN)?))
        })
        .await?;
    let failed_jobs: Vec<FailedJobRow> = failed_jobs.into_iter().map(FailedJobRow::new).collect();
    let failed_total = job_counts.iter().find(|(s, _)| s == jobs::FAILED).map_or(0, |(_, n)| *n);
    let now = airlock_store::now_ms();
    job_counts.sort_by_key(|(s, _)| [jobs::RUNNING, jobs::QUEUED, jobs::FAILED, jobs::DONE].iter().position(|x| x == s));
    Ok(Progress {
        csrf: csrf.to_string(),
        in_flight: in_flight.into_iter().map(|i| QueueRow::new(i, None, now, Vec::new())).collect(),
        failed: failed.into_iter().map(|i| QueueRow::new(i, None, now, Vec::new())).collect(),
        jobs: job_counts,
        failed_jobs_more: (failed_total - failed_jobs.len() as i64).max(0),
        failed_jobs,
    })
}

/// The backlog's figures and the filters, for the page's head.
pub struct Head {
    backlog_releases: i64,
    backlog_lines: i64,
    backlog_unmeasured: i64,
    filter_status: String,
    filter_severity: String,
    filter_q: String,
}

/// The queue's table and the page's head, as the page and its fragment show them.
struct Loaded {
    table: QueueTable,
    counts: Vec<(ReleaseStatus, i64)>,
    head: Head,
}

async fn load(state: &AppState, q: &QueueQuery, rows_path: &str) -> Result<Loaded, AppError> {
    let filter_status = q.status.clone().unwrap_or_default();
    let (heading, statuses) = match filter_status.as_str() {
        "" => ("Awaiting review".to_string(), vec![ReleaseStatus::AwaitingReview]),
        "all" => ("All releases".to_string(), Vec::new()),
        s => {
            let status: ReleaseStatus = s.parse().map_err(|_| AppError::BadRequest(format!("unknown status {s:?}")))?;
            (format!("Releases {}", status.label()), vec![status])
        }
    };
    let min_severity = match q.severity.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Severity::parse(s).filter(|s| *s != Severity::None).ok_or_else(|| AppError::BadRequest(format!("unknown severity {s:?}")))?),
    };
    let page = q.page_number()?;
    let search = q.q.clone().map(|s| s.trim().chars().take(100).collect::<String>()).filter(|s| !s.is_empty());
    // The default view also holds approved releases with files added since their approval.
    let filter = QueueFilter {
        statuses,
        min_severity,
        search: search.clone(),
        with_added_files: filter_status.is_empty(),
        with_base_revoked: filter_status.is_empty(),
        approvals: state.review_policy(),
    };
    let offset = (page - 1) * PAGE_ROWS;
    let (counts, shown, backlog, sizes, whys) = state
        .db(move |c| {
            let shown = review_queue::queue_page(c, &filter, offset, PAGE_ROWS)?;
            let ids: Vec<i64> = shown.items.iter().map(|i| i.release_id).collect();
            let whys = whys(airlock_store::files::serious_findings_of(c, &ids)?);
            let backlog = review_queue::queue(c, &QueueFilter { statuses: vec![ReleaseStatus::AwaitingReview], ..QueueFilter::default() }, 5000)?;
            // Shown rows first, then the rest of the backlog for the header's total.
            let mut ids = ids;
            ids.extend(backlog.iter().map(|i| i.release_id).filter(|id| !ids.contains(id)).collect::<Vec<_>>());
            let sizes = airlock_store::audit_size::summaries(c, &ids)?;
            Ok((releases::status_counts(c)?, shown, backlog, sizes, whys))
        })
        .await?;
    let mut counts: Vec<(ReleaseStatus, i64)> = counts;
    counts.sort_by_key(|(s, _)| ReleaseStatus::ALL.iter().position(|a| a == s));
    let backlog_lines = backlog.iter().filter_map(|i| sizes.get(&i.release_id)).map(|s| s.lines).sum();
    let backlog_unmeasured = backlog.iter().filter(|i| !sizes.contains_key(&i.release_id)).count() as i64;
    let now = airlock_store::now_ms();
    let sizes: HashMap<i64, AuditSummary> = sizes;
    let (total, first) = (shown.total, offset + 1);
    let last = offset + shown.items.len() as i64;
    let filters = q.filters();
    let items = shown
        .items
        .into_iter()
        .map(|i| {
            // The store weighed each row under the filter's review policy.
            let (have, needed) = (i.approvals_recorded, i.approvals_required);
            let s = sizes.get(&i.release_id);
            let why = whys.get(&i.release_id).cloned().unwrap_or_default();
            let mut row = QueueRow::new(i, s, now, why);
            if needed > 1 && row.waiting.is_some() {
                row.approvals = Some((have, needed));
            }
            row
        })
        .collect();
    let table = QueueTable {
        heading,
        items,
        range: (total > PAGE_ROWS || page > 1).then(|| {
            if last >= first {
                format!("rows {}–{} of {}", format_count(first), format_count(last), format_count(total))
            } else {
                format!("no rows on page {page} of {}", format_count(total))
            }
        }),
        prev_href: (page > 1).then(|| with_page("/queue", &filters, page - 1)),
        next_href: (last < total).then(|| with_page("/queue", &filters, page + 1)),
        refresh_href: with_page(rows_path, &filters, page),
        empty: if search.is_some() || min_severity.is_some() || !(filter_status.is_empty() || filter_status == "all") {
            EmptyQueue::NoMatch
        } else if filter_status.is_empty() {
            EmptyQueue::NothingWaiting
        } else {
            EmptyQueue::NothingRequested
        },
    };
    Ok(Loaded {
        table,
        counts,
        head: Head {
            backlog_releases: backlog.len() as i64,
            backlog_lines,
            backlog_unmeasured,
            filter_status,
            filter_severity: min_severity.map(|s| s.to_string()).unwrap_or_default(),
            filter_q: search.unwrap_or_default(),
        },
    })
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<QueueQuery>) -> Result<QueuePage, AppError> {
    let loaded = load(&state, &q, "/queue/rows").await?;
    Ok(QueuePage {
        progress: load_progress(&state, &auth.csrf).await?,
        nav: Nav::new(&auth.user, &auth.csrf),
        counts: loaded.counts.into_iter().map(|(s, n)| (s.label(), s, n)).collect(),
        table: loaded.table,
        message: q
            .requested
            .as_ref()
            .map(|r| match &q.typosquat_of {
                Some(like) => format!("Requested {r}. Possible typosquat of {like}: check that you meant this name; the auditor sees the mark too."),
                None => format!("Requested {r}."),
            })
            .or_else(|| q.decided.as_ref().map(|d| format!("Decided: {}. Nothing else waits for review.", d.chars().take(300).collect::<String>()))),
        head: loaded.head,
        statuses: ReleaseStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
    })
}

/// `GET /queue/rows`: the queue's table alone (same query as the page), for the page's script.
pub async fn rows(_auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<QueueQuery>) -> Result<HttpResponse, AppError> {
    let loaded = load(&state, &q, "/queue/rows").await?;
    let body = RowsFragment { table: loaded.table }.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(body))
}

/// `GET /queue/progress`: the progress section alone, for the page's script.
pub async fn progress(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let body = ProgressFragment { progress: load_progress(&state, &auth.csrf).await? }.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(body))
}

#[derive(Deserialize)]
pub struct RequestForm {
    requirement: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    with_dependencies: Option<String>,
}

pub async fn request(post: FormPost<Viewer, RequestForm>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let req = PinnedRequirement::parse(&post.form.requirement)?;
    let extras = PinnedRequirement::extras_of(&post.form.requirement)?;
    let with_dependencies = post.form.with_dependencies.is_some();
    let user = post.user.name.clone();
    let (attempts, names) = (state.config.job_max_attempts, state.names.clone());
    let out = state
        .db(move |c| {
            let opts = releases::RequestOptions { requested_by: Some(&user), with_dependencies, extras: &extras, ..releases::RequestOptions::default() };
            releases::request_release_with(c, &req, &opts, attempts, &names)
        })
        .await?;
    let shown = format!("{}=={}", out.project, out.version);
    let mut location = format!("/queue?requested={}", url_part(&shown));
    if let Some(like) = &out.possible_typosquat_of {
        location.push_str(&format!("&typosquat_of={}", url_part(like)));
    }
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

#[derive(Deserialize)]
pub struct Empty {}

/// Retry a failed release: mirror and inspect it again from the start.
pub async fn retry(post: FormPost<Viewer, Empty>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let req = PinnedRequirement::parse(&format!("{name}=={version}"))?;
    let user = post.user.name.clone();
    let (attempts, names) = (state.config.job_max_attempts, state.names.clone());
    let out = state.db(move |c| releases::request_release(c, &req, Some(&user), attempts, &names)).await?;
    if !out.queued {
        return Err(AppError::Conflict(format!("{} {} is {}, not failed", out.project, out.version, out.status)));
    }
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/queue")).finish())
}
