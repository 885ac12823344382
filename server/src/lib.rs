//! airlock-server: the web half of Airlock. The auditors' dashboard, the
//! JSON API and the simple index, on actix-web with askama templates (which
//! escape everything: package contents are attacker-controlled).

pub mod access_log;
pub mod archives;
pub mod auth;
pub mod closure_view;
pub mod csv;
pub mod error;
pub mod file_serving;
pub mod file_tree;
pub mod findings_view;
pub mod front;
pub mod highlight;
pub mod index_access;
pub mod index_cache;
pub mod index_feed;
pub mod index_render;
pub mod memory;
pub mod metrics;
pub mod negotiate;
pub mod release_detail;
pub mod review;
pub mod routes;
pub mod state;
pub mod views;

use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, ServiceFactory, ServiceFactoryExt};
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{AppConfig, Server, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{self, DefaultHeaders, Next};
use actix_web::{web, App, HttpServer};
use tokio::net::TcpStream;
use tracing::Instrument;

use access_log::{AccessLog, RouteKind, Served};
pub use state::AppState;

/// The headers every response carries. No page runs inline script (the one
/// script comes from /static), and nothing may frame the dashboard.
pub const SECURITY_HEADERS: [(&str, &str); 7] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
];

fn security_headers() -> DefaultHeaders {
    SECURITY_HEADERS.iter().fold(DefaultHeaders::new(), |headers, header| headers.add(*header))
}

/// One tracing span per request, the access log's line and the counts.
///
/// Index and file requests are the hot path (tens of thousands a second):
/// their span is at DEBUG, so at the default level it is never built (its
/// fields, the request id included, are not even computed). Other requests
/// get an INFO span with a request id, so that what a handler logs names
/// its request. The "served" event is at INFO for requests that change
/// something (a decision, a release request, a sign-in: few, and each one
/// worth a line), at WARN for a server error, and at DEBUG for every read.
/// Errors and job events are logged where they happen, at INFO and above.
async fn request_span(
    access: Arc<AccessLog>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let kind = RouteKind::of(req.path());
    let mutating = kind == RouteKind::Other && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let request_id = || hex::encode(rand::random::<[u8; 6]>());
    let span = match kind {
        RouteKind::Index | RouteKind::File => tracing::debug_span!("request", request_id = %request_id(), method = %req.method(), path = %req.path()),
        RouteKind::Other => tracing::info_span!("request", request_id = %request_id(), method = %req.method(), path = %req.path()),
    };
    // What the access log needs of the request, kept only when it is on.
    let line = access.is_on().then(|| {
        let target = req.uri().path_and_query().map_or_else(|| req.path().to_string(), |pq| pq.as_str().to_string());
        let user_agent = req.headers().get(header::USER_AGENT).map(|v| v.as_bytes().to_vec());
        (req.peer_addr().map(|a| a.ip()), req.method().clone(), target, req.version(), user_agent)
    });
    let hot_route = metrics::hot_route(kind, req.path());
    let started = std::time::Instant::now();
    async move {
        let res = next.call(req).await;
        let took = started.elapsed();
        let micros = took.as_micros() as u64;
        match hot_route {
            Some(route) => metrics::observe(Some(route), took),
            None => metrics::observe(res.as_ref().ok().and_then(|r| r.request().match_pattern()).as_deref(), took),
        }
        let (status, bytes) = match &res {
            Ok(r) => (
                r.status().as_u16(),
                match r.response().body().size() {
                    BodySize::Sized(n) => Some(n),
                    BodySize::None => Some(0),
                    BodySize::Stream => None,
                },
            ),
            Err(e) => (e.as_response_error().status_code().as_u16(), None),
        };
        match &res {
            Ok(_) if status >= 500 => tracing::warn!(status, us = micros, "served a server error"),
            Ok(_) if mutating => tracing::info!(status, ms = micros / 1000, "served"),
            Ok(_) => tracing::debug!(status, us = micros, "served"),
            Err(e) => tracing::warn!(error = %e, "request failed"),
        }
        let (client, method, target, version, user_agent) = match &line {
            Some((client, method, target, version, ua)) => (*client, method.as_str(), target.as_str(), *version, ua.as_deref()),
            None => (None, "", "", actix_web::http::Version::HTTP_11, None),
        };
        let version = match version {
            actix_web::http::Version::HTTP_10 => "HTTP/1.0",
            actix_web::http::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        access.record(kind, &Served { client, method, target, version, status, bytes, micros, user_agent });
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

/// Start the HTTP server on `listener`, the task that follows the index
/// change feed and the one that writes the per-minute request summary (call
/// from within a tokio runtime). Fails when the access log cannot be opened.
/// The caller handles signals: stop it with [`Server::handle`]'s
/// `stop(true)`, which drains the requests in flight (up to 10 s).
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let access = Arc::new(AccessLog::open(&state.config.access_log)?);
    tokio::spawn(index_feed::follow(state.clone()));
    tokio::spawn(access_log::summarize_every_interval(access.clone()));
    let addr = listener.local_addr()?;
    let front = Arc::new(front::Front { state: state.clone(), access: access.clone() });
    let app = move || {
        let access = access.clone();
        App::new()
            .wrap(security_headers())
            .wrap(middleware::from_fn(move |req, next| request_span(access.clone(), req, next)))
            .configure(configure(state.clone()))
    };
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    // Per worker thread: actix-web's HTTP/1 service as `HttpServer` builds
    // it, behind the front (see `front`), which takes every connection first.
    let server = builder
        .listen("airlock", listener, move || {
            let (front, shutdown) = (front.clone(), shutdown.clone());
            let signal = shutdown.clone();
            let app = app().into_factory().map_err(|e| e.error_response());
            let http1 = HttpService::build()
                .keep_alive(KeepAlive::Timeout(front::IDLE))
                .client_request_timeout(front::IDLE)
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(addr)
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                // The listening address is the host name when a request has no
                // Host header, as `HttpServer` sets it (its constructor is public
                // only under this name; the lock file pins the version).
                .h1(map_config(app, move |_| AppConfig::__priv_test_new(false, addr.to_string(), addr)));
            fn_factory(move || {
                let started = http1.new_service(());
                let (front, shutdown) = (front.clone(), shutdown.clone());
                async move {
                    let http1 = Rc::new(started.await?);
                    Ok::<_, ()>(fn_service(move |stream: TcpStream| front::connection(stream, front.clone(), http1.clone(), shutdown.clone())))
                }
            })
        })?
        .shutdown_timeout(10)
        .disable_signals()
        .run();
    Ok(server)
}

/// A `worker` process's probes on `listener`: `/metrics` (the queue, and
/// this process's counters), `/healthz` and `/readyz`; nothing else.
pub fn run_probes(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/metrics", web::get().to(metrics::metrics_page))
            .route("/healthz", web::get().to(routes::health::healthz))
            .route("/readyz", web::get().to(routes::health::readyz))
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .run();
    Ok(server)
}
