//! airlock-server: the web half of Airlock. The auditors' dashboard, the
//! JSON API and the simple index, on actix-web with askama templates (which
//! escape everything: package contents are attacker-controlled).

pub mod archives;
pub mod auth;
pub mod closure_view;
pub mod error;
pub mod file_serving;
pub mod highlight;
pub mod index_access;
pub mod index_cache;
pub mod index_feed;
pub mod index_render;
pub mod memory;
pub mod negotiate;
pub mod release_detail;
pub mod review;
pub mod routes;
pub mod state;
pub mod views;

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, DefaultHeaders, Next};
use actix_web::{web, App, HttpServer};
use tracing::Instrument;

pub use state::AppState;

/// The headers every response carries. No page runs inline script (the one
/// script comes from /static), and nothing may frame the dashboard.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"))
}

/// One tracing span per request, with an id, the method, path and outcome.
/// Successful index page hits log at debug (they are the hot path, tens of
/// thousands a second); file downloads and everything else at info.
async fn request_span(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = hex::encode(rand::random::<[u8; 6]>());
    let quiet = req.path().starts_with("/simple/") || req.path().starts_with("/static/");
    let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %req.path());
    let started = std::time::Instant::now();
    async move {
        let res = next.call(req).await;
        match &res {
            Ok(r) if quiet && r.status().as_u16() < 400 => {
                tracing::debug!(status = r.status().as_u16(), us = started.elapsed().as_micros() as u64, "served")
            }
            Ok(r) => tracing::info!(status = r.status().as_u16(), ms = started.elapsed().as_millis() as u64, "served"),
            Err(e) => tracing::warn!(error = %e, "request failed"),
        }
        res
    }
    .instrument(span)
    .await
}

/// Register Airlock's routes and middleware on an app (used by `run` and by tests).
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .app_data(web::PayloadConfig::new(auth::BODY_LIMIT))
            .app_data(web::JsonConfig::default().limit(64 * 1024))
            .configure(routes::configure);
    }
}

/// Start the HTTP server on `listener`, and the task that follows the
/// index change feed (call from within a tokio runtime).
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    tokio::spawn(index_feed::follow(state.clone()));
    tokio::spawn(review::measure_backlog(state.clone()));
    let server = HttpServer::new(move || App::new().wrap(security_headers()).wrap(middleware::from_fn(request_span)).configure(configure(state.clone())))
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
    Ok(server)
}
