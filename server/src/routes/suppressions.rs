//! Suppressions, for admins (`/admin/suppressions`): a rule not counted
//! for a project, with the reason. Listed, created and removed here; each
//! change is audited and rescores the project's releases (see
//! [`airlock_store::suppressions`]).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::domain::ProjectName;
use airlock_store::suppressions;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Admin, FormPost, Page};
use crate::error::AppError;
use crate::findings_view::rule_doc_href;
use crate::state::AppState;
use crate::views::{format_time, url_part, Nav};

pub struct SuppressionRow {
    id: i64,
    project: String,
    project_href: String,
    rule: String,
    rule_href: String,
    reason: String,
    by: String,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_suppressions.html")]
pub struct SuppressionsPage {
    nav: Option<Nav>,
    csrf: String,
    rows: Vec<SuppressionRow>,
    /// Every rule id the engine knows, for the form.
    rules: Vec<&'static str>,
}

pub async fn page(auth: Page<Admin>, state: web::Data<AppState>) -> Result<SuppressionsPage, AppError> {
    let rows = state.db(suppressions::list).await?;
    Ok(SuppressionsPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        csrf: auth.csrf,
        rows: rows
            .into_iter()
            .map(|s| SuppressionRow {
                id: s.id,
                project_href: format!("/projects/{}", url_part(&s.project)),
                rule_href: rule_doc_href(&s.rule),
                project: s.project,
                rule: s.rule,
                reason: s.reason,
                by: s.created_by,
                when: format_time(s.created_at),
            })
            .collect(),
        rules: airlock_inspect::rules::RULES.iter().map(|r| r.id).collect(),
    })
}

#[derive(Deserialize)]
pub struct NewSuppression {
    project: String,
    rule: String,
    reason: String,
}

pub async fn create(post: FormPost<Admin, NewSuppression>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let project = ProjectName::parse(post.form.project.trim())?;
    let (rule, reason, actor) = (post.form.rule.clone(), post.form.reason.clone(), post.user.name.clone());
    let made = state.db(move |c| suppressions::create(c, &project, &rule, &reason, &actor, |r| airlock_inspect::rules::rule(r).is_some())).await?;
    tracing::info!(project = %made.project, rule = %made.rule, "rule suppressed");
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin/suppressions")).finish())
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn remove(post: FormPost<Admin, Empty>, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, actor) = (path.into_inner(), post.user.name.clone());
    let gone = state.db(move |c| suppressions::remove(c, id, &actor)).await?;
    tracing::info!(project = %gone.project, rule = %gone.rule, "suppression removed");
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin/suppressions")).finish())
}
