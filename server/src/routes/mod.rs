//! The routes, one module per page or API area. Handlers stay thin: parse,
//! call the store, render.

pub mod admin;
pub mod api;
pub mod audit;
pub mod browse;
pub mod diff;
pub mod health;
pub mod login;
pub mod overview;
pub mod queue;
pub mod release;
pub mod simple;

use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/static/airlock.css", web::get().to(stylesheet))
        .route("/static/airlock.js", web::get().to(script))
        .route("/", web::get().to(queue::home))
        .route("/login", web::get().to(login::form))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::post().to(login::logout))
        .route("/queue", web::get().to(queue::page))
        .route("/requests", web::post().to(queue::request))
        .route("/queue/progress", web::get().to(queue::progress))
        .route("/overview", web::get().to(overview::page))
        .route("/releases/{name}/{version}/retry", web::post().to(queue::retry))
        .route("/releases/{name}/{version}/diff", web::get().to(diff::page))
        .route("/releases/{name}/{version}/files/{filename}", web::get().to(browse::page))
        .route("/admin", web::get().to(admin_home))
        .route("/admin/users", web::get().to(admin::users))
        .route("/admin/users", web::post().to(admin::create_user))
        .route("/admin/users/{id}/role", web::post().to(admin::set_role))
        .route("/admin/users/{id}/disabled", web::post().to(admin::set_disabled))
        .route("/admin/roles", web::get().to(admin::roles))
        .route("/admin/tokens", web::get().to(admin::tokens))
        .route("/admin/tokens", web::post().to(admin::create_token))
        .route("/admin/tokens/{id}/revoke", web::post().to(admin::revoke_token))
        .route("/releases/{name}/{version}", web::get().to(release::page))
        .route("/releases/{name}/{version}/decision", web::post().to(release::decide))
        .route("/audit", web::get().to(audit::page))
        .route("/api/v1/requests", web::post().to(api::request))
        .route("/api/v1/releases/{name}/{version}", web::get().to(api::release))
        .route("/api/v1/releases/{name}/{version}/decision", web::post().to(api::decide))
        .route("/api/v1/releases/{name}/{version}/yank", web::post().to(api::yank))
        .route("/api/v1/releases/{name}/{version}/yank", web::delete().to(api::unyank))
        .route("/api/v1/projects/{name}", web::get().to(simple::availability))
        .route("/simple", web::get().to(simple::root_redirect))
        .route("/simple/", web::get().to(simple::root))
        .route("/simple/", web::head().to(simple::root))
        .route("/simple/{project}", web::get().to(simple::project_redirect))
        .route("/simple/{project}/", web::get().to(simple::project))
        .route("/simple/{project}/", web::head().to(simple::project))
        .route("/files/{sha256}/{filename}", web::get().to(simple::file))
        .route("/files/{sha256}/{filename}", web::head().to(simple::file));
}

async fn admin_home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, "/admin/users")).finish()
}

/// The dashboard's one script: keyboard review, dialogs, live progress.
async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/airlock.js"))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/airlock.css"))
}
