//! The review queue (`GET /queue`), riskiest first, and requesting a release
//! from the dashboard (`POST /requests`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::domain::{PinnedRequirement, ReleaseStatus};
use airlock_store::releases::{self, QueueItem};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{FormPost, Page, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{format_time, Nav};

pub async fn home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/queue")).finish()
}

pub struct QueueRow {
    project: String,
    version: String,
    status: String,
    error: Option<String>,
    max_severity: String,
    risk_score: i64,
    files: i64,
    findings: i64,
    updated: String,
}

impl From<QueueItem> for QueueRow {
    fn from(i: QueueItem) -> Self {
        QueueRow {
            updated: format_time(i.updated_at),
            project: i.project,
            version: i.version,
            status: i.status,
            error: i.error,
            max_severity: i.max_severity,
            risk_score: i.risk_score,
            files: i.files,
            findings: i.findings,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "queue.html")]
pub struct QueuePage {
    nav: Option<Nav>,
    heading: String,
    counts: Vec<(String, i64)>,
    items: Vec<QueueRow>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    requested: Option<String>,
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<QueueQuery>) -> Result<QueuePage, AppError> {
    let (heading, statuses) = match q.status.as_deref() {
        None | Some("") => (
            "Awaiting review and in progress".to_string(),
            vec![ReleaseStatus::AwaitingReview, ReleaseStatus::Requested, ReleaseStatus::Mirroring, ReleaseStatus::Inspecting, ReleaseStatus::Failed],
        ),
        Some(s) => {
            let status: ReleaseStatus = s.parse().map_err(|_| AppError::BadRequest(format!("unknown status {s:?}")))?;
            (format!("Releases {status}"), vec![status])
        }
    };
    let (counts, items) = state
        .db(move |c| Ok((releases::status_counts(c)?, releases::queue(c, &statuses, 500)?)))
        .await?;
    let mut counts: Vec<(String, i64)> = counts;
    counts.sort_by_key(|(s, _)| ReleaseStatus::ALL.iter().position(|a| a.as_str() == s));
    Ok(QueuePage {
        nav: Nav::new(&auth.user, &auth.csrf),
        heading,
        counts,
        items: items.into_iter().map(QueueRow::from).collect(),
        message: q.requested.as_ref().map(|r| format!("Requested {r}.")),
    })
}

#[derive(Deserialize)]
pub struct RequestForm {
    requirement: String,
}

pub async fn request(post: FormPost<Viewer, RequestForm>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let req = PinnedRequirement::parse(&post.form.requirement)?;
    let user = post.user.name.clone();
    let attempts = state.config.job_max_attempts;
    let out = state.db(move |c| releases::request_release(c, &req, Some(&user), attempts)).await?;
    let shown = format!("{}=={}", out.project, out.version);
    let location = format!("/queue?requested={}", percent_encoding::utf8_percent_encode(&shown, percent_encoding::NON_ALPHANUMERIC));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}
