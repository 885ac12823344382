//! Projects and watches. `GET /projects/<name>`: every release of a
//! project in Airlock with its state, and for a watched project its
//! specifier, last and next sync, the newest upstream and newest approved
//! versions, how far behind Airlock is, and a release the cooldown holds
//! back with when it will be requested. `GET /projects` lists the watched
//! projects. Auditors watch and unwatch (forms and `POST`/`DELETE
//! /api/v1/projects/<name>/watch`). Names and versions here come from the
//! upstream: the templates escape them.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::domain::{ProjectName, ReleaseStatus, Version};
use airlock_store::watches::{self, Standing, Watch};
use airlock_store::{releases, StoreError};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Api, ApiPost, Auditor, FormPost, Page, Viewer};
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::views::{format_time, url_part, Nav};

pub struct ReleaseRow {
    version: String,
    status: ReleaseStatus,
    href: String,
    requested_by: Option<String>,
    base_revoked: Option<String>,
}

pub struct WatchView {
    specifier: String,
    created_by: Option<String>,
    last_checked: Option<String>,
    last_outcome: Option<String>,
    next_check: String,
    newest_upstream: Option<String>,
    /// The release the cooldown holds back, and when it will be requested.
    cooldown: Option<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "project.html")]
pub struct ProjectPage {
    nav: Option<Nav>,
    project: String,
    href: String,
    releases: Vec<ReleaseRow>,
    watch: Option<WatchView>,
    standing: Standing,
    can_watch: bool,
    cooldown_days: u64,
}

/// A project's releases, watch and standing, in one database call.
struct Loaded {
    releases: Vec<releases::Release>,
    watch: Option<Watch>,
    standing: Standing,
    base_revoked: std::collections::HashMap<i64, airlock_store::reading::BaseRevoked>,
}

async fn load(state: &AppState, name: ProjectName) -> Result<Loaded, AppError> {
    state
        .db(move |c| {
            let releases = releases::project_releases(c, &name)?;
            let watch = watches::get(c, &name)?;
            if releases.is_empty() && watch.is_none() {
                return Err(StoreError::NotFound(format!("project {name}")));
            }
            let approved: Vec<Version> =
                releases.iter().filter(|r| r.status == ReleaseStatus::Approved).filter_map(|r| Version::parse(&r.version).ok()).collect();
            let standing = match &watch {
                Some(w) => watches::standing(w, &approved),
                None => Standing { newest_approved: approved.iter().max_by(|a, b| a.pep440().cmp(b.pep440())).map(|v| v.to_string()), behind: 0 },
            };
            let ids: Vec<i64> = releases.iter().map(|r| r.id).collect();
            let base_revoked = airlock_store::reading::base_revoked(c, Some(&ids))?;
            Ok(Loaded { releases, watch, standing, base_revoked })
        })
        .await
}

fn parse_name(name: &str) -> Result<ProjectName, AppError> {
    ProjectName::parse(name).map_err(|_| AppError::NotFound("no such project".into()))
}

/// `GET /projects/<name>`.
pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, path: web::Path<String>) -> Result<ProjectPage, AppError> {
    let name = parse_name(&path.into_inner())?;
    let loaded = load(&state, name.clone()).await?;
    let mut releases = loaded.releases;
    releases.sort_by(|a, b| match (Version::parse(&b.version), Version::parse(&a.version)) {
        (Ok(x), Ok(y)) => x.pep440().cmp(y.pep440()),
        _ => b.version.cmp(&a.version),
    });
    Ok(ProjectPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        href: format!("/projects/{}", url_part(name.as_str())),
        releases: releases
            .into_iter()
            .map(|r| ReleaseRow {
                href: format!("/releases/{}/{}", url_part(name.as_str()), url_part(&r.version)),
                base_revoked: loaded.base_revoked.get(&r.id).map(|b| b.base.clone()),
                version: r.version,
                status: r.status,
                requested_by: r.requested_by,
            })
            .collect(),
        watch: loaded.watch.map(|w| WatchView {
            specifier: w.specifier,
            created_by: w.created_by,
            last_checked: w.last_checked_at.map(format_time),
            last_outcome: w.last_outcome,
            next_check: format_time(w.next_check_at),
            newest_upstream: w.newest_upstream,
            cooldown: w.cooldown_version.zip(w.cooldown_until.map(format_time)),
        }),
        standing: loaded.standing,
        can_watch: auth.user.role >= airlock_store::domain::Role::Auditor,
        cooldown_days: state.config.watch_cooldown.as_secs() / 86_400,
        project: name.to_string(),
    })
}

/// `GET /projects`: the watched projects.
pub async fn list(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<ProjectsPage, AppError> {
    let list = state.db(watches::list).await?;
    Ok(ProjectsPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        watches: list
            .into_iter()
            .map(|w| WatchRow {
                href: format!("/projects/{}", url_part(&w.project)),
                last_checked: w.last_checked_at.map(format_time),
                next_check: format_time(w.next_check_at),
                project: w.project,
                specifier: w.specifier,
                newest_upstream: w.newest_upstream,
                last_outcome: w.last_outcome,
            })
            .collect(),
    })
}

pub struct WatchRow {
    project: String,
    href: String,
    specifier: String,
    newest_upstream: Option<String>,
    last_checked: Option<String>,
    next_check: String,
    last_outcome: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "projects.html")]
pub struct ProjectsPage {
    nav: Option<Nav>,
    watches: Vec<WatchRow>,
}

#[derive(Deserialize)]
pub struct WatchForm {
    #[serde(default)]
    specifier: String,
    #[serde(default)]
    backfill: Option<String>,
}

#[derive(Deserialize)]
pub struct Empty {}

fn back_to(name: &ProjectName) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/projects/{}", url_part(name.as_str())))).finish()
}

/// `POST /projects/<name>/watch` (auditors): watch, or change the specifier.
pub async fn watch_form(post: FormPost<Auditor, WatchForm>, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = ProjectName::parse(&path.into_inner())?;
    let backfill = match post.form.backfill.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.parse::<u32>().map_err(|_| StoreError::Invalid(format!("backfill must be a number of releases, got {b:?}")))?,
        None => 0,
    };
    let (project, specifier, user, names) = (name.clone(), post.form.specifier.clone(), post.user.name.clone(), state.names.clone());
    state.db(move |c| watches::watch(c, &project, &specifier, backfill, Some(&user), &names)).await?;
    Ok(back_to(&name))
}

/// `POST /projects/<name>/unwatch` (auditors).
pub async fn unwatch_form(post: FormPost<Auditor, Empty>, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = ProjectName::parse(&path.into_inner())?;
    let (project, user) = (name.clone(), post.user.name.clone());
    state.db(move |c| watches::unwatch(c, &project, Some(&user))).await?;
    Ok(back_to(&name))
}

#[derive(Deserialize)]
pub struct WatchBody {
    #[serde(default)]
    specifier: String,
    #[serde(default)]
    backfill: u32,
}

/// `POST /api/v1/projects/<name>/watch` `{"specifier": ">=2,<3", "backfill": 0}`
/// (auditors): `200` with the watch; `400` for a bad specifier, `409` for a reserved name.
pub async fn watch_api(post: ApiPost<Auditor, WatchBody>, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = ProjectName::parse(&path.into_inner()).map_err(AppError::from)?;
    let (user, names, body) = (post.user.name.clone(), state.names.clone(), post.body);
    let w = state.db(move |c| watches::watch(c, &name, &body.specifier, body.backfill, Some(&user), &names)).await?;
    Ok(HttpResponse::Ok().json(w))
}

/// `DELETE /api/v1/projects/<name>/watch` (auditors): stop watching.
pub async fn unwatch_api(auth: Api<Auditor>, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = ProjectName::parse(&path.into_inner()).map_err(AppError::from)?;
    let (project, user) = (name.clone(), auth.user.name.clone());
    let was = state.db(move |c| watches::unwatch(c, &project, Some(&user))).await?;
    Ok(HttpResponse::Ok().json(json!({ "project": name, "was_watched": was })))
}

/// `GET /api/v1/projects/<name>/watch`: the watch and how far behind the project is.
pub async fn watch_state(_auth: Api<Viewer>, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = parse_name(&path.into_inner())?;
    let loaded = load(&state, name.clone()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "project": name,
        "watch": loaded.watch,
        "newest_approved": loaded.standing.newest_approved,
        "behind": loaded.standing.behind,
        "releases": loaded.releases.iter().map(|r| json!({
            "version": r.version, "status": r.status, "requested_by": r.requested_by,
            "base_revoked": loaded.base_revoked.get(&r.id).map(|b| b.base.clone()),
        })).collect::<Vec<_>>(),
    })))
}
