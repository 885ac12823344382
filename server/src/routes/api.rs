//! The JSON API under `/api/v1/`, for scripts, tests and the CLI. Bearer
//! tokens only (no cookies), so it needs no CSRF token.

use actix_web::{web, HttpResponse};
use airlock_store::decisions::{self, Verdict};
use airlock_store::domain::{PinnedRequirement, ProjectName, Version};
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
    /// Resolve and request its dependencies too, recursively.
    #[serde(default)]
    with_dependencies: bool,
}

/// `POST /api/v1/requests` `{"requirement": "name[extras]==version",
/// "with_dependencies": bool}`: `202` with the outcome
/// (`possible_typosquat_of` names the project the name resembles, or is
/// null), `409` for a reserved name.
pub async fn request(post: ApiPost<Viewer, RequestBody>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let req = PinnedRequirement::parse(&post.body.requirement).map_err(AppError::from)?;
    let extras = PinnedRequirement::extras_of(&post.body.requirement).map_err(AppError::from)?;
    let user = post.user.name.clone();
    let (attempts, names) = (state.config.job_max_attempts, state.names.clone());
    let with_dependencies = post.body.with_dependencies;
    let out = state
        .db(move |c| {
            let opts = releases::RequestOptions { requested_by: Some(&user), with_dependencies, extras: &extras, ..releases::RequestOptions::default() };
            releases::request_release_with(c, &req, &opts, attempts, &names)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(out))
}

#[derive(Deserialize)]
pub struct WhyQuery {
    version: Option<String>,
}

/// `GET /api/v1/why/<name>[?version=V]` (also `<name>==<version>`): why an
/// install of the name fails or succeeds, and the next step.
pub async fn why(_auth: Api<Viewer>, state: web::Data<AppState>, path: web::Path<String>, q: web::Query<WhyQuery>) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let (name, version) = match raw.split_once("==") {
        Some((name, version)) => (name.to_string(), Some(version.to_string())),
        None => (raw, q.into_inner().version.filter(|v| !v.trim().is_empty())),
    };
    let name = ProjectName::parse(&name).map_err(AppError::from)?;
    let version = version.map(|v| Version::parse(&v)).transpose().map_err(AppError::from)?;
    let reserved = state.names.reserved.clone();
    let why = state.db(move |c| airlock_store::why::why(c, &name, version.as_ref(), &reserved)).await?;
    Ok(HttpResponse::Ok().json(why))
}

/// `GET /api/v1/releases/<name>/<version>`: status, files, files left out
/// (`not_mirrored`, with the reason) and those added but not yet approved
/// (`awaiting_approval`), findings (each with its `id` and the auditor's
/// verdict in force, `review`, or null), decisions, and the review's size: `audit_lines` (lines of code to read; `audit_data_lines`, of data; null while
/// not inspected) and `audit_base` (the approved version the delta is taken
/// from, or null when every line must be read).
pub async fn release(_auth: Api<Viewer>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let d = release_detail::load(&state, &name, &version).await?;
    let (release_id, project_id, targets) = (d.release.id, d.project.id, state.config.targets.clone());
    let (status, project, version) = (d.release.status, d.project.name.clone(), d.release.version.clone());
    // The release's data must come back even when an archive cannot be read.
    let (audit, closure, reviews, policy_declined) = state
        .db(move |c| {
            let audit = crate::review::audit_size(c, release_id)?;
            let reviews = airlock_store::finding_reviews::in_force(c, project_id, release_id)?;
            let declined = release_detail::policy_declined(c, status, &project, &version)?;
            Ok((audit, crate::closure_view::load(c, release_id, &targets)?, reviews, declined))
        })
        .await?;
    let kinds = crate::findings_view::dist_kinds(&d.files);
    let findings: Vec<_> = d
        .findings
        .iter()
        .map(|(f, filename)| {
            // An auditor's verdict in force on this finding: given on this
            // release, or carried from an earlier one while the line is unchanged.
            let review = reviews.get(&crate::findings_view::finding_key(&kinds, f, filename));
            json!({
                "id": f.id, "distribution": filename, "rule": f.rule, "severity": f.severity, "file": f.path,
                "line": f.line, "message": f.message, "snippet": f.snippet,
                "review": review.map(|n| json!({ "verdict": n.verdict, "comment": n.comment, "by": n.user, "version": n.version, "at": n.created_at })),
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
        "audit_data_lines": audit.as_ref().map(|a| a.data_lines),
        "audit_base": audit.as_ref().and_then(|a| a.base.clone()),
        // What the approval in force was read against (`full`: the whole release).
        "approval": decisions::hashes_in_force(&d.decisions).and_then(|_| d.decisions.iter().rev().find(|x| x.in_force)).map(|x| json!({
            "audit_base": x.audit_base, "audit_lines": x.audit_lines, "criteria": x.criteria, "by": x.user,
        })),
        // Set when that base was revoked since: `audit_lines`/`audit_base` above are the new smallest path to re-review.
        "base_revoked": d.base_revoked.as_ref().map(|b| json!({ "base": b.base, "rereview_lines": audit.as_ref().map(|a| a.lines), "rereview_base": audit.as_ref().and_then(|a| a.base.clone()) })),
        // OSV advisories matching this release, worst first (see `airlock advisories import`).
        "advisories": d.advisories.iter().map(|a| json!({ "id": a.osv_id, "severity": a.severity, "malicious": a.malicious, "summary": a.summary, "fixed": a.fixed, "action": a.action })).collect::<Vec<_>>(),
        // Distinct auditors this release needs (`approvals_required`, the four-eyes rule).
        "approvals_required": state.review_policy().approvals_needed(d.release.max_severity),
        // While it awaits review: why an auto-approval policy left it for a person (`policy`, `reason`, `at` in ms).
        "policy_declined": policy_declined,
        "requested_by": d.release.requested_by,
        // How it was asked for: request, import, miss, watch or dependency.
        "request_source": d.release.request_source,
        "possible_typosquat_of": d.release.possible_typosquat_of,
        "metadata": d.core_metadata(),
        "capabilities": d.capabilities(),
        "file_capabilities": d.files.iter().map(|f| (f.filename.clone(), f.capability_names())).collect::<std::collections::BTreeMap<_, _>>(),
        "files": d.files,
        "not_mirrored": d.not_mirrored,
        "awaiting_approval": d.awaiting_approval().iter().map(|f| f.filename.as_str()).collect::<Vec<_>>(),
        "target_gap": d.target_gap(&state.config.targets),
        "findings": findings,
        "decisions": d.decisions,
        "closure": closure_json(&closure, &state.config.targets),
    })))
}

/// The dependency closure: whether it is installable, its members with
/// where each is needed, the tree, and what blocks an install.
fn closure_json(view: &crate::closure_view::ClosureView, targets: &airlock_resolve::Targets) -> serde_json::Value {
    let a = &view.analysis;
    let members: Vec<_> = a
        .members
        .iter()
        .filter_map(|id| view.nodes.get(id))
        .map(|n| {
            let needed = a.needed_on.get(&n.id).copied().unwrap_or(0);
            json!({
                "project": n.project, "version": n.version, "status": n.status, "max_severity": n.max_severity,
                "dependencies_resolved": n.dependencies_at.is_some(),
                "needed_on": airlock_resolve::requirement::target_labels(needed, targets).split(',').filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "requested": view.requested,
        "installable": a.installable,
        "complete": a.complete,
        "unresolved": a.unresolved,
        "unapproved": a.unapproved,
        "members": members,
        "conflicts": a.conflicts,
        "cycles": a.cycles,
        "gaps": a.gaps,
        "blockers": view.blockers(),
        "tree": view.rows(),
    })
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
    /// `safe-to-run`, `safe-to-deploy` or another configured name (default: `default_criteria`).
    #[serde(default)]
    criteria: Option<String>,
}

/// `POST /api/v1/releases/<name>/<version>/decision` (auditors).
pub async fn decide(post: ApiPost<Auditor, DecisionBody>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let verdict = Verdict::parse(&post.body.decision).map_err(AppError::from)?;
    let d = release_detail::load(&state, &name, &version).await?;
    let (release_id, user, comment) = (d.release.id, post.user, post.body.comment);
    let policy = state.review_policy();
    let criteria = crate::review::criteria(&state.config, post.body.criteria.as_deref()).map_err(AppError::from)?;
    let (release, outcome) = state.db(move |c| crate::review::measured_decide(c, release_id, &user, verdict, &comment, &policy, None, &criteria)).await?;
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
