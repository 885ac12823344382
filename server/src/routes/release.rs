//! The release page (`GET /releases/<name>/<version>`): metadata, files,
//! findings and decisions; and the auditor's decision form (`POST …/decision`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::decisions::{self, Verdict};
use airlock_store::domain::{ReleaseStatus, Role};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Auditor, FormPost, Page, Viewer};
use crate::error::AppError;
use crate::release_detail::{self, ReleaseDetail};
use crate::state::AppState;
use crate::views::{format_time, Nav};

pub struct FileView {
    filename: String,
    dist_kind: String,
    size: i64,
    sha256: String,
    max_severity: String,
    yanked: Option<String>,
}

pub struct FindingView {
    severity: String,
    rule: String,
    filename: String,
    path: Option<String>,
    line: Option<i64>,
    message: String,
    snippet: Option<String>,
}

pub struct DecisionRow {
    user: String,
    decision: String,
    comment: String,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "release.html")]
pub struct ReleasePage {
    nav: Option<Nav>,
    project: String,
    version: String,
    status: String,
    error: Option<String>,
    max_severity: String,
    risk_score: i64,
    metadata: Vec<(String, String)>,
    requires_dist: Vec<String>,
    capabilities: Vec<String>,
    files: Vec<FileView>,
    findings: Vec<FindingView>,
    decisions: Vec<DecisionRow>,
    can_decide: bool,
}

const METADATA_FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("version", "Version"),
    ("summary", "Summary"),
    ("author", "Author"),
    ("author_email", "Author email"),
    ("home_page", "Home page"),
    ("license", "License"),
    ("requires_python", "Requires-Python"),
];

fn metadata_rows(detail: &ReleaseDetail) -> (Vec<(String, String)>, Vec<String>) {
    let Some(meta) = detail.core_metadata() else { return (Vec::new(), Vec::new()) };
    let rows = METADATA_FIELDS
        .iter()
        .filter_map(|(key, label)| {
            let v = meta.get(*key)?.as_str()?.trim();
            (!v.is_empty()).then(|| (label.to_string(), v.chars().take(500).collect()))
        })
        .collect();
    let deps = meta
        .get("requires_dist")
        .and_then(|d| d.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    (rows, deps)
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<ReleasePage, AppError> {
    let (name, version) = path.into_inner();
    let detail = release_detail::load(&state, &name, &version).await?;
    let (metadata, requires_dist) = metadata_rows(&detail);
    let can_decide = auth.user.role >= Role::Auditor && detail.release.status == ReleaseStatus::AwaitingReview.as_str();
    Ok(ReleasePage {
        nav: Nav::new(&auth.user, &auth.csrf),
        metadata,
        requires_dist,
        capabilities: detail.capabilities(),
        can_decide,
        files: detail
            .files
            .iter()
            .map(|f| FileView {
                filename: f.filename.clone(),
                dist_kind: f.dist_kind.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                max_severity: f.max_severity.clone(),
                yanked: f.yanked.clone(),
            })
            .collect(),
        findings: detail
            .findings
            .iter()
            .map(|(f, filename)| FindingView {
                severity: f.severity.clone(),
                rule: f.rule.clone(),
                filename: filename.clone(),
                path: f.path.clone(),
                line: f.line,
                message: f.message.clone(),
                snippet: f.snippet.clone(),
            })
            .collect(),
        decisions: detail
            .decisions
            .iter()
            .map(|d| DecisionRow { user: d.user.clone(), decision: d.decision.clone(), comment: d.comment.clone(), when: format_time(d.created_at) })
            .collect(),
        project: detail.project.name,
        version: detail.release.version,
        status: detail.release.status,
        error: detail.release.error,
        max_severity: detail.release.max_severity,
        risk_score: detail.release.risk_score,
    })
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
    comment: String,
}

pub async fn decide(
    post: FormPost<Auditor, DecisionForm>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let verdict = Verdict::parse(&post.form.decision)?;
    let detail = release_detail::load(&state, &name, &version).await?;
    let (release_id, user, comment) = (detail.release.id, post.user.clone(), post.form.comment.clone());
    let release = state.db(move |c| decisions::decide(c, release_id, &user, verdict, &comment)).await?;
    let location = format!("/releases/{}/{}", detail.project.name, release.version);
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}
