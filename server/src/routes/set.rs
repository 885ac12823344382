//! "Review the set" (`GET /releases/<name>/<version>/set`): the release's
//! dependency closure as one piece of work. Its members riskiest first,
//! with their audit sizes and the total; and one action
//! (`POST …/set/approve`, and the same under `/api/v1/`) that approves the
//! members whose worst finding is below `bulk_approve_below`, each by an
//! ordinary decision, leaving the others for individual review.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_inspect::Severity;
use airlock_store::domain::ReleaseStatus;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{ApiPost, Auditor, FormPost, Page, Viewer};
use crate::closure_view::{self, BulkOutcome, ClosureView};
use crate::error::{ApiError, AppError};
use crate::release_detail;
use crate::routes::release::release_base;
use crate::state::AppState;
use crate::views::{format_count, Nav};
use airlock_store::dependencies::NodeRow;

pub struct MemberRow {
    project: String,
    version: String,
    href: String,
    status: ReleaseStatus,
    max_severity: Severity,
    risk_score: i64,
    lines: Option<String>,
    base: Option<String>,
    /// The bulk approval would take it.
    bulk: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "set.html")]
pub struct SetPage {
    nav: Option<Nav>,
    base_href: String,
    project: String,
    version: String,
    root_status: ReleaseStatus,
    root_severity: Severity,
    root_lines: Option<String>,
    members: Vec<MemberRow>,
    total_lines: String,
    unmeasured: usize,
    installable: bool,
    blockers: Vec<String>,
    below: Severity,
    bulk_count: usize,
    can_decide: bool,
    result: Option<String>,
}

#[derive(Deserialize)]
pub struct SetQuery {
    #[serde(default)]
    result: Option<String>,
}

async fn load(state: &AppState, name: &str, version: &str) -> Result<(release_detail::ReleaseDetail, ClosureView), AppError> {
    let detail = release_detail::load(state, name, version).await?;
    let (release_id, targets) = (detail.release.id, state.config.targets.clone());
    let view = state.db(move |c| closure_view::load(c, release_id, &targets)).await?;
    Ok((detail, view))
}

fn in_bulk(status: ReleaseStatus, severity: Severity, below: Severity) -> bool {
    matches!(status, ReleaseStatus::AwaitingReview | ReleaseStatus::Revoked) && severity < below
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, path: web::Path<(String, String)>, query: web::Query<SetQuery>) -> Result<SetPage, AppError> {
    let (name, version) = path.into_inner();
    let (detail, view) = load(&state, &name, &version).await?;
    let below = state.config.bulk_approve_below;
    let ids = view.analysis.members.clone();
    let sizes = state.db(move |c| airlock_store::audit_size::summaries(c, &ids)).await?;
    let root_id = detail.release.id;
    let members: Vec<MemberRow> = view
        .members_by_risk()
        .into_iter()
        .map(|n| MemberRow {
            href: release_base(&n.project, &n.version),
            project: n.project.clone(),
            version: n.version.clone(),
            status: n.status,
            max_severity: n.max_severity,
            risk_score: n.risk_score,
            lines: sizes.get(&n.id).map(|s| format_count(s.lines)),
            base: sizes.get(&n.id).and_then(|s| s.base.clone()),
            bulk: in_bulk(n.status, n.max_severity, below),
        })
        .collect();
    let lines_of = |id: i64| sizes.get(&id).map(|s| s.lines);
    let root_lines = lines_of(root_id);
    let unapproved_lines = |status: ReleaseStatus| status != ReleaseStatus::Approved;
    let member_lines: i64 = view.members_by_risk().iter().filter(|n| unapproved_lines(n.status)).filter_map(|n| lines_of(n.id)).sum();
    let total_lines = root_lines.filter(|_| unapproved_lines(detail.release.status)).unwrap_or(0) + member_lines;
    let unmeasured = members.iter().filter(|m| unapproved_lines(m.status) && m.lines.is_none()).count()
        + usize::from(unapproved_lines(detail.release.status) && root_lines.is_none());
    let bulk_count = members.iter().filter(|m| m.bulk).count() + usize::from(in_bulk(detail.release.status, detail.release.max_severity, below));
    Ok(SetPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        base_href: release_base(&detail.project.name, &detail.release.version),
        project: detail.project.name,
        version: detail.release.version,
        root_status: detail.release.status,
        root_severity: detail.release.max_severity,
        root_lines: root_lines.map(format_count),
        members,
        total_lines: format_count(total_lines),
        unmeasured,
        installable: view.analysis.installable,
        blockers: view.blockers(),
        below,
        bulk_count,
        can_decide: auth.user.role >= airlock_store::domain::Role::Auditor,
        result: query.into_inner().result.map(|r| r.chars().take(2000).collect()),
    })
}

#[derive(Deserialize)]
pub struct BulkForm {
    comment: String,
}

async fn approve(state: &AppState, user: airlock_store::auth::User, name: &str, version: &str, comment: String) -> Result<(String, BulkOutcome), AppError> {
    let (detail, view) = load(state, name, version).await?;
    let root = format!("{} {}", detail.project.name, detail.release.version);
    let members: Vec<NodeRow> = view.members().into_iter().cloned().collect();
    let outcome = closure_view::bulk_approve(state, user, "set.approve", root.clone(), format!("set of {root}"), comment, move |_| Ok(members)).await?;
    Ok((detail.project.name, outcome))
}

/// `POST /releases/<name>/<version>/set/approve` (auditors).
pub async fn approve_form(post: FormPost<Auditor, BulkForm>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let (project, out) = approve(&state, post.user, &name, &version, post.form.comment).await?;
    let summary = format!("approved {}; left for individual review {}", out.approved.len(), out.left.len());
    let location = format!("{}/set?result={}", release_base(&project, &version), crate::views::url_part(&summary));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

/// `POST /api/v1/releases/<name>/<version>/set/approve` `{"comment": …}` (auditors).
pub async fn approve_api(post: ApiPost<Auditor, BulkForm>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let (_, out) = approve(&state, post.user, &name, &version, post.body.comment).await?;
    Ok(HttpResponse::Ok().json(out))
}
