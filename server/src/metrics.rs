//! `GET /metrics` (Prometheus text format) and the request latency it shows.
//!
//! Latency is a histogram per route pattern of the route table, found
//! without touching the router again: index and file requests (the hot
//! path) are told apart by their path's prefix, the rest by the pattern
//! actix matched. Each histogram is a row of atomics, built once at start;
//! recording a request takes no lock and allocates nothing on the hot path.
//! What every process shares (the job queue) is read from the database at
//! scrape time; what this process counted comes from
//! [`airlock_store::metrics::PROCESS`].

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use airlock_store::metrics::{self, Histogram, REQUEST_BUCKETS};

use crate::access_log::RouteKind;
use crate::error::AppError;
use crate::routes::ROUTES;
use crate::state::AppState;

/// Label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// One latency histogram per distinct route path.
struct RouteLatency {
    paths: Vec<&'static str>,
    by_path: HashMap<&'static str, usize>,
    histograms: Vec<Histogram<14>>,
}

fn latency() -> &'static RouteLatency {
    static LATENCY: OnceLock<RouteLatency> = OnceLock::new();
    LATENCY.get_or_init(|| {
        let mut paths: Vec<&'static str> = Vec::new();
        for route in ROUTES {
            if !paths.contains(&route.path) {
                paths.push(route.path);
            }
        }
        paths.push(UNMATCHED);
        let by_path = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let histograms = paths.iter().map(|_| Histogram::new(&REQUEST_BUCKETS)).collect();
        RouteLatency { paths, by_path, histograms }
    })
}

/// The route pattern of a request on the hot path, from its path alone;
/// None for the rest (the caller asks actix for the matched pattern).
pub fn hot_route(kind: RouteKind, path: &str) -> Option<&'static str> {
    match kind {
        RouteKind::Index if path == "/simple/" => Some("/simple/"),
        RouteKind::Index if path.len() > 9 && path.ends_with('/') && path[8..].find('/') == Some(path.len() - 9) => Some("/simple/{project}/"),
        RouteKind::File if path.matches('/').count() == 3 => Some("/files/{sha256}/{filename}"),
        _ => None,
    }
}

/// Record one request's latency under its route pattern.
pub fn observe(pattern: Option<&str>, took: Duration) {
    let l = latency();
    let i = pattern.and_then(|p| l.by_path.get(p).copied()).unwrap_or(l.paths.len() - 1);
    l.histograms[i].observe(took);
}

/// Everything `/metrics` shows, for any process: the queue (read from the
/// database), this process's request latencies and its counters.
pub fn render(queue: &airlock_store::jobs::QueueStats) -> String {
    let mut out = String::with_capacity(16 * 1024);
    metrics::header(&mut out, "airlock_jobs", "gauge", "Jobs in the queue table, by kind and state.");
    for (kind, state, n) in &queue.by_kind_state {
        let _ = writeln!(out, "airlock_jobs{{kind=\"{}\",state=\"{}\"}} {n}", metrics::label_value(kind), metrics::label_value(state));
    }
    metrics::header(&mut out, "airlock_queue_ready_jobs", "gauge", "Queued jobs whose time has come, waiting for a worker.");
    let _ = writeln!(out, "airlock_queue_ready_jobs {}", queue.ready);
    metrics::header(&mut out, "airlock_queue_oldest_ready_seconds", "gauge", "How long the oldest ready job has waited.");
    let _ = writeln!(out, "airlock_queue_oldest_ready_seconds {}", queue.oldest_ready_ms as f64 / 1000.0);
    let l = latency();
    metrics::header(&mut out, "airlock_http_request_duration_seconds", "histogram", "Time to answer a request, by route pattern.");
    for (path, histogram) in l.paths.iter().zip(&l.histograms) {
        if histogram.count() > 0 {
            histogram.render(&mut out, "airlock_http_request_duration_seconds", &format!("route=\"{}\"", metrics::label_value(path)));
        }
    }
    metrics::PROCESS.render(&mut out);
    out
}

/// `GET /metrics`.
pub async fn metrics_page(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let queue = state.db(airlock_store::jobs::queue_stats).await?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(render(&queue)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_paths_find_their_route_without_the_router() {
        assert_eq!(hot_route(RouteKind::Index, "/simple/"), Some("/simple/"));
        assert_eq!(hot_route(RouteKind::Index, "/simple/demo/"), Some("/simple/{project}/"));
        assert_eq!(hot_route(RouteKind::Index, "/simple/demo"), None);
        assert_eq!(hot_route(RouteKind::Index, "/simple/a/b/"), None);
        assert_eq!(hot_route(RouteKind::File, "/files/abc/demo-1.0.tar.gz"), Some("/files/{sha256}/{filename}"));
        assert_eq!(hot_route(RouteKind::File, "/files/abc/x/y"), None);
        assert_eq!(hot_route(RouteKind::Other, "/queue"), None);
        for pattern in ["/simple/", "/simple/{project}/", "/files/{sha256}/{filename}"] {
            assert!(ROUTES.iter().any(|r| r.path == pattern), "{pattern} is not in the route table");
        }
    }

    #[test]
    fn requests_are_counted_under_their_route_and_shown_with_the_queue() {
        observe(Some("/queue"), Duration::from_millis(3));
        observe(Some("/no/such/route"), Duration::from_millis(1));
        let queue = airlock_store::jobs::QueueStats { by_kind_state: vec![("mirror_release".into(), "queued".into(), 2)], ready: 2, oldest_ready_ms: 1500 };
        let text = render(&queue);
        assert!(text.contains("airlock_jobs{kind=\"mirror_release\",state=\"queued\"} 2"), "{text}");
        assert!(text.contains("airlock_queue_oldest_ready_seconds 1.5"), "{text}");
        assert!(text.contains("airlock_http_request_duration_seconds_bucket{route=\"/queue\",le=\"0.005\"} "), "{text}");
        assert!(text.contains("airlock_http_request_duration_seconds_count{route=\"unmatched\"} "), "{text}");
        assert!(text.contains("airlock_upstream_errors_total{kind=\"timeout\"} "), "{text}");
        assert!(text.contains("# TYPE airlock_inspection_duration_seconds histogram"), "{text}");
    }
}
