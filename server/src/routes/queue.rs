//! The review queue (`GET /queue`): releases ranked by risk, filtered by
//! status, severity and name, each with the lines an auditor must read; the
//! pipeline's live progress (`GET /queue/progress`, a fragment the page's
//! script refreshes); requesting a release (`POST /requests`) and retrying
//! a failed one (`POST /releases/<name>/<version>/retry`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::domain::{PinnedRequirement, ReleaseStatus};
use airlock_store::queue::{self as review_queue, QueueFilter, QueueItem, IN_FLIGHT};
use airlock_store::{jobs, releases};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{FormPost, Page, Viewer};
use crate::error::AppError;
use crate::review::AuditSummary;
use crate::state::AppState;
use crate::views::{format_age, format_time, url_part, Nav};

pub async fn home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/queue")).finish()
}

pub struct QueueRow {
    href: String,
    project: String,
    version: String,
    status: String,
    error: Option<String>,
    max_severity: String,
    risk_score: i64,
    files: i64,
    files_inspected: i64,
    files_awaiting_approval: bool,
    findings: i64,
    waiting: String,
    requested: String,
    /// Lines to read, or None while not yet measured.
    audit_lines: Option<i64>,
    audit_base: Option<String>,
    possible_typosquat_of: Option<String>,
    /// The revoked version this approved release was read against.
    base_revoked: Option<String>,
    /// Why it ranks where it does: its top one or two behaviours.
    why: Vec<String>,
}

/// Each release's "why" (the inspection engine's summary of its worst
/// findings), from the findings the store kept.
fn whys(rows: Vec<(i64, airlock_store::files::FindingRow)>) -> HashMap<i64, Vec<String>> {
    let mut by_release: HashMap<i64, Vec<airlock_inspect::Finding>> = HashMap::new();
    for (release_id, f) in rows {
        let Some(severity) = airlock_inspect::Severity::parse(&f.severity) else { continue };
        by_release.entry(release_id).or_default().push(airlock_inspect::Finding {
            rule: f.rule,
            severity,
            file: f.path,
            line: f.line.and_then(|l| u32::try_from(l).ok()),
            message: f.message,
            snippet: None,
            also: Vec::new(),
        });
    }
    by_release.into_iter().map(|(id, findings)| (id, airlock_inspect::finding::why(&findings))).collect()
}

impl QueueRow {
    fn new(i: QueueItem, size: Option<&AuditSummary>, now: i64, why: Vec<String>) -> Self {
        QueueRow {
            why,
            href: format!("/releases/{}/{}", url_part(&i.project), url_part(&i.version)),
            waiting: format_age(i.created_at, now),
            requested: format_time(i.created_at),
            audit_lines: size.map(|s| s.lines),
            audit_base: size.and_then(|s| s.base.clone()),
            possible_typosquat_of: i.possible_typosquat_of,
            base_revoked: i.base_revoked,
            project: i.project,
            version: i.version,
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
}

#[derive(Template, WebTemplate)]
#[template(path = "queue.html")]
pub struct QueuePage {
    nav: Option<Nav>,
    heading: String,
    counts: Vec<(String, i64)>,
    items: Vec<QueueRow>,
    message: Option<String>,
    backlog_releases: i64,
    backlog_lines: i64,
    backlog_unmeasured: i64,
    filter_status: String,
    filter_severity: String,
    filter_q: String,
    statuses: Vec<&'static str>,
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
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

async fn load_progress(state: &AppState, csrf: &str) -> Result<Progress, AppError> {
    let (in_flight, failed, mut job_counts) = state
        .db(|c| {
            let in_flight = review_queue::queue(c, &QueueFilter { statuses: IN_FLIGHT.to_vec(), ..QueueFilter::default() }, 200)?;
            let failed = review_queue::queue(c, &QueueFilter { statuses: vec![ReleaseStatus::Failed], ..QueueFilter::default() }, 200)?;
            Ok((in_flight, failed, jobs::counts(c)?))
        })
        .await?;
    let now = airlock_store::now_ms();
    job_counts.sort_by_key(|(s, _)| [jobs::RUNNING, jobs::QUEUED, jobs::FAILED, jobs::DONE].iter().position(|x| x == s));
    Ok(Progress {
        csrf: csrf.to_string(),
        in_flight: in_flight.into_iter().map(|i| QueueRow::new(i, None, now, Vec::new())).collect(),
        failed: failed.into_iter().map(|i| QueueRow::new(i, None, now, Vec::new())).collect(),
        jobs: job_counts,
    })
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<QueueQuery>) -> Result<QueuePage, AppError> {
    let filter_status = q.status.clone().unwrap_or_default();
    let (heading, statuses) = match filter_status.as_str() {
        "" => ("Awaiting review".to_string(), vec![ReleaseStatus::AwaitingReview]),
        "all" => ("All releases".to_string(), Vec::new()),
        s => {
            let status: ReleaseStatus = s.parse().map_err(|_| AppError::BadRequest(format!("unknown status {s:?}")))?;
            (format!("Releases {status}"), vec![status])
        }
    };
    let min_severity = q.severity.clone().filter(|s| !s.is_empty());
    if let Some(s) = &min_severity {
        if !SEVERITIES.contains(&s.as_str()) {
            return Err(AppError::BadRequest(format!("unknown severity {s:?}")));
        }
    }
    let search = q.q.clone().map(|s| s.trim().chars().take(100).collect::<String>()).filter(|s| !s.is_empty());
    // The default view also holds approved releases with files added since their approval.
    let filter = QueueFilter {
        statuses,
        min_severity: min_severity.clone(),
        search: search.clone(),
        with_added_files: filter_status.is_empty(),
        with_base_revoked: filter_status.is_empty(),
    };
    let (counts, items, backlog, sizes, whys) = state
        .db(move |c| {
            let items = review_queue::queue(c, &filter, 500)?;
            let shown: Vec<i64> = items.iter().map(|i| i.release_id).collect();
            let whys = whys(airlock_store::files::serious_findings_of(c, &shown)?);
            let backlog = review_queue::queue(c, &QueueFilter { statuses: vec![ReleaseStatus::AwaitingReview], ..QueueFilter::default() }, 5000)?;
            // Shown rows first, then the rest of the backlog for the header's total.
            let mut ids: Vec<i64> = items.iter().map(|i| i.release_id).collect();
            ids.extend(backlog.iter().map(|i| i.release_id).filter(|id| !ids.contains(id)).collect::<Vec<_>>());
            let sizes = airlock_store::audit_size::summaries(c, &ids)?;
            Ok((releases::status_counts(c)?, items, backlog, sizes, whys))
        })
        .await?;
    let mut counts: Vec<(String, i64)> = counts;
    counts.sort_by_key(|(s, _)| ReleaseStatus::ALL.iter().position(|a| a.as_str() == s));
    let backlog_lines = backlog.iter().filter_map(|i| sizes.get(&i.release_id)).map(|s| s.lines).sum();
    let backlog_unmeasured = backlog.iter().filter(|i| !sizes.contains_key(&i.release_id)).count() as i64;
    let now = airlock_store::now_ms();
    let sizes: HashMap<i64, AuditSummary> = sizes;
    Ok(QueuePage {
        progress: load_progress(&state, &auth.csrf).await?,
        nav: Nav::new(&auth.user, &auth.csrf),
        heading,
        counts,
        items: items
            .into_iter()
            .map(|i| {
                let s = sizes.get(&i.release_id);
                let why = whys.get(&i.release_id).cloned().unwrap_or_default();
                QueueRow::new(i, s, now, why)
            })
            .collect(),
        message: q.requested.as_ref().map(|r| match &q.typosquat_of {
            Some(like) => format!("Requested {r}. Possible typosquat of {like}: check that you meant this name; the auditor sees the mark too."),
            None => format!("Requested {r}."),
        }),
        backlog_releases: backlog.len() as i64,
        backlog_lines,
        backlog_unmeasured,
        filter_status,
        filter_severity: min_severity.unwrap_or_default(),
        filter_q: search.unwrap_or_default(),
        statuses: ReleaseStatus::ALL.iter().map(|s| s.as_str()).collect(),
    })
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
            let opts = releases::RequestOptions { requested_by: Some(&user), with_dependencies, extras: &extras };
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
