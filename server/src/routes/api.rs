//! The JSON API under `/api/v1/`, for scripts, tests and the CLI. Bearer
//! tokens only (no cookies), so it needs no CSRF token.

use actix_web::{web, HttpResponse};
use airlock_store::decisions::{self, Verdict};
use airlock_store::domain::{PinnedRequirement, ProjectName};
use airlock_store::index;
use airlock_store::releases;
use airlock_store::unmirrored;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Api, ApiPost, Auditor, Viewer};
use crate::error::{ApiError, AppError};
use crate::release_detail;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct RequestBody {
    requirement: String,
}

/// `POST /api/v1/requests` `{"requirement": "name==version"}`.
pub async fn request(post: ApiPost<Viewer, RequestBody>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let req = PinnedRequirement::parse(&post.body.requirement).map_err(AppError::from)?;
    let user = post.user.name.clone();
    let attempts = state.config.job_max_attempts;
    let out = state.db(move |c| releases::request_release(c, &req, Some(&user), attempts)).await?;
    Ok(HttpResponse::Accepted().json(out))
}

/// `GET /api/v1/releases/<name>/<version>`: status, files, files left out
/// (`not_mirrored`, with the reason) and those added but not yet approved
/// (`awaiting_approval`), findings, decisions, and the review's size: `audit_lines` (lines to read, null while
/// not inspected) and `audit_base` (the approved version the delta is taken
/// from, or null when every line must be read).
pub async fn release(_auth: Api<Viewer>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let d = release_detail::load(&state, &name, &version).await?;
    let (release_id, reader) = (d.release.id, state.reader());
    // The release's data must come back even when an archive cannot be read.
    let audit = state
        .db(move |c| {
            Ok(crate::review::audit_size(c, &reader, release_id).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot measure the audit size");
                None
            }))
        })
        .await?;
    let findings: Vec<_> = d
        .findings
        .iter()
        .map(|(f, filename)| {
            json!({
                "distribution": filename, "rule": f.rule, "severity": f.severity, "file": f.path,
                "line": f.line, "message": f.message, "snippet": f.snippet,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "project": d.project.name,
        "version": d.release.version,
        "status": d.release.status,
        "error": d.release.error,
        "max_severity": d.release.max_severity,
        "risk_score": d.release.risk_score,
        "audit_lines": audit.as_ref().map(|a| a.lines),
        "audit_base": audit.as_ref().and_then(|a| a.base.clone()),
        "requested_by": d.release.requested_by,
        "metadata": d.core_metadata(),
        "capabilities": d.capabilities(),
        "file_capabilities": d.files.iter().map(|f| (f.filename.clone(), f.capability_names())).collect::<std::collections::BTreeMap<_, _>>(),
        "files": d.files,
        "not_mirrored": d.not_mirrored,
        "awaiting_approval": d.awaiting_approval().iter().map(|f| f.filename.as_str()).collect::<Vec<_>>(),
        "target_gap": d.target_gap(&state.config.targets),
        "findings": findings,
        "decisions": d.decisions,
    })))
}

#[derive(Deserialize)]
pub struct AddFileBody {
    filename: String,
}

/// `POST /api/v1/releases/<name>/<version>/files` `{"filename": "…"}`: mirror
/// a file the targets left out. It is inspected, and served only once an
/// auditor approves it.
pub async fn add_file(post: ApiPost<Viewer, AddFileBody>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let d = release_detail::load(&state, &name, &version).await?;
    let (release_id, user, filename) = (d.release.id, post.user.name.clone(), post.body.filename);
    let attempts = state.config.job_max_attempts;
    let out = state.db(move |c| unmirrored::request_add(c, release_id, &filename, &user, attempts)).await?;
    Ok(HttpResponse::Accepted().json(out))
}

#[derive(Deserialize)]
pub struct DecisionBody {
    decision: String,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/releases/<name>/<version>/decision` (auditors).
pub async fn decide(post: ApiPost<Auditor, DecisionBody>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let verdict = Verdict::parse(&post.body.decision).map_err(AppError::from)?;
    let d = release_detail::load(&state, &name, &version).await?;
    let (release_id, user, comment) = (d.release.id, post.user, post.body.comment);
    let policy = state.review_policy();
    let (release, outcome) = state.db(move |c| decisions::decide(c, release_id, &user, verdict, &comment, &policy, None)).await?;
    // This process shows the change at once; the others within a feed poll.
    state.index.evict_project(&d.project.name);
    Ok(HttpResponse::Ok().json(json!({ "project": d.project.name, "version": release.version, "status": release.status, "outcome": outcome })))
}

#[derive(Deserialize)]
pub struct YankBody {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/releases/<name>/<version>/yank` `{"reason": "…"}` (auditors):
/// PEP 592, installers skip the release unless it is pinned.
pub async fn yank(post: ApiPost<Auditor, YankBody>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let name = ProjectName::parse(&name).map_err(AppError::from)?;
    let (user, reason, project) = (post.user, post.body.reason, name.clone());
    state.db(move |c| index::yank(c, &user, &project, &version, &reason)).await?;
    state.index.evict_project(name.as_str());
    Ok(HttpResponse::Ok().json(json!({ "project": name, "yanked": true })))
}

/// `DELETE /api/v1/releases/<name>/<version>/yank` (auditors): take a yank back.
pub async fn unyank(auth: Api<Auditor>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let name = ProjectName::parse(&name).map_err(AppError::from)?;
    let (user, project) = (auth.user.clone(), name.clone());
    let was = state.db(move |c| index::unyank(c, &user, &project, &version)).await?;
    state.index.evict_project(name.as_str());
    Ok(HttpResponse::Ok().json(json!({ "project": name, "yanked": false, "was_yanked": was })))
}
