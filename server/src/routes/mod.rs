//! The routes, one module per page or API area. Handlers stay thin: parse,
//! call the store, render.

pub mod api;
pub mod audit;
pub mod health;
pub mod login;
pub mod queue;
pub mod release;
pub mod simple;

use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/static/airlock.css", web::get().to(stylesheet))
        .route("/", web::get().to(queue::home))
        .route("/login", web::get().to(login::form))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::post().to(login::logout))
        .route("/queue", web::get().to(queue::page))
        .route("/requests", web::post().to(queue::request))
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

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/airlock.css"))
}
