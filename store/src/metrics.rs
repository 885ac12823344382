//! Process-wide counters and histograms, and their Prometheus text format.
//!
//! Everything here is a plain atomic, updated with `Relaxed` ordering: the
//! index's hot path adds to a counter and never takes a lock. What is shared
//! by every process (jobs by kind and state, the queue's depth and age) is
//! read from the database when `/metrics` is scraped (see
//! [`crate::jobs::queue_stats`]); what one process saw (bytes it mirrored,
//! its inspections, its upstream errors, its index cache) lives here, and
//! each process exposes its own: `serve` on its `/metrics`, a separate
//! `worker` on `--metrics-listen`. This module never records names of
//! packages or users: labels are fixed sets.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Bucket bounds of request latency, in seconds.
pub const REQUEST_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Bucket bounds of an inspection's duration, in seconds.
pub const INSPECTION_BUCKETS: [f64; 12] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A histogram with fixed bounds: one counter per bucket (not cumulative
/// until rendered), the sum in microseconds and the count.
pub struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    /// `N` bounded buckets and the `+Inf` one.
    buckets: [AtomicU64; 16],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    /// At most 15 bounds.
    pub const fn new(bounds: &'static [f64; N]) -> Self {
        assert!(N < 16, "a histogram has at most 15 bounds");
        Histogram { bounds, buckets: [const { AtomicU64::new(0) }; 16], sum_micros: AtomicU64::new(0), count: AtomicU64::new(0) }
    }

    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = self.bounds.iter().position(|b| secs <= *b).unwrap_or(N);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(took.as_micros() as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` with `labels`
    /// (`key="value"` pairs, comma-separated, or empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[N].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Why a request to the upstream failed: a fixed set, the metric's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// Connecting or reading timed out.
    Timeout,
    /// The connection failed or broke.
    Connect,
    /// The egress rule refused the URL, a redirect hop or a DNS answer.
    Refused,
    /// 429, or 503 (the upstream asks to slow down).
    Throttled,
    /// Another 5xx.
    ServerError,
    /// 404: the project or file does not exist.
    NotFound,
    /// Another 4xx.
    ClientError,
    /// A downloaded file did not hash to the advertised sha256.
    HashMismatch,
    /// A page that does not parse.
    Malformed,
    /// Anything else (a file too large, a body that broke off).
    Other,
}

impl UpstreamErrorKind {
    pub const ALL: [UpstreamErrorKind; 10] = [
        UpstreamErrorKind::Timeout,
        UpstreamErrorKind::Connect,
        UpstreamErrorKind::Refused,
        UpstreamErrorKind::Throttled,
        UpstreamErrorKind::ServerError,
        UpstreamErrorKind::NotFound,
        UpstreamErrorKind::ClientError,
        UpstreamErrorKind::HashMismatch,
        UpstreamErrorKind::Malformed,
        UpstreamErrorKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamErrorKind::Timeout => "timeout",
            UpstreamErrorKind::Connect => "connect",
            UpstreamErrorKind::Refused => "refused",
            UpstreamErrorKind::Throttled => "throttled",
            UpstreamErrorKind::ServerError => "server_error",
            UpstreamErrorKind::NotFound => "not_found",
            UpstreamErrorKind::ClientError => "client_error",
            UpstreamErrorKind::HashMismatch => "hash_mismatch",
            UpstreamErrorKind::Malformed => "malformed",
            UpstreamErrorKind::Other => "other",
        }
    }

    /// The kind of an HTTP status the upstream answered.
    pub fn of_status(status: u16) -> UpstreamErrorKind {
        match status {
            429 | 503 => UpstreamErrorKind::Throttled,
            404 | 410 => UpstreamErrorKind::NotFound,
            500..=599 => UpstreamErrorKind::ServerError,
            400..=499 => UpstreamErrorKind::ClientError,
            _ => UpstreamErrorKind::Other,
        }
    }
}

/// What this process counted since it started.
pub struct ProcessMetrics {
    /// Bytes downloaded from the upstream and stored (verified).
    pub bytes_mirrored: AtomicU64,
    /// Files downloaded from the upstream and stored.
    pub files_mirrored: AtomicU64,
    upstream_errors: [AtomicU64; UpstreamErrorKind::ALL.len()],
    /// How long inspecting one file took.
    pub inspection_seconds: Histogram<12>,
    /// Index pages and files answered from the in-memory cache, or not.
    pub index_cache_hits: AtomicU64,
    pub index_cache_misses: AtomicU64,
    /// Jobs handed back to the queue at shutdown, unfinished.
    pub jobs_released: AtomicU64,
}

/// The process's one set of counters.
pub static PROCESS: ProcessMetrics = ProcessMetrics {
    bytes_mirrored: AtomicU64::new(0),
    files_mirrored: AtomicU64::new(0),
    upstream_errors: [const { AtomicU64::new(0) }; UpstreamErrorKind::ALL.len()],
    inspection_seconds: Histogram::new(&INSPECTION_BUCKETS),
    index_cache_hits: AtomicU64::new(0),
    index_cache_misses: AtomicU64::new(0),
    jobs_released: AtomicU64::new(0),
};

impl ProcessMetrics {
    pub fn upstream_error(&self, kind: UpstreamErrorKind) {
        self.upstream_errors[kind as usize].fetch_add(1, Relaxed);
    }

    pub fn upstream_errors(&self, kind: UpstreamErrorKind) -> u64 {
        self.upstream_errors[kind as usize].load(Relaxed)
    }

    pub fn mirrored(&self, bytes: u64) {
        self.bytes_mirrored.fetch_add(bytes, Relaxed);
        self.files_mirrored.fetch_add(1, Relaxed);
    }

    pub fn index_cache(&self, hit: bool) {
        if hit {
            self.index_cache_hits.fetch_add(1, Relaxed);
        } else {
            self.index_cache_misses.fetch_add(1, Relaxed);
        }
    }

    /// This process's counters in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        counter(out, "airlock_mirrored_bytes_total", "Bytes downloaded from the upstream and stored, verified.", self.bytes_mirrored.load(Relaxed));
        counter(out, "airlock_mirrored_files_total", "Files downloaded from the upstream and stored, verified.", self.files_mirrored.load(Relaxed));
        header(out, "airlock_upstream_errors_total", "counter", "Failed upstream requests, by kind.");
        for kind in UpstreamErrorKind::ALL {
            let _ = writeln!(out, "airlock_upstream_errors_total{{kind=\"{}\"}} {}", kind.as_str(), self.upstream_errors(kind));
        }
        header(out, "airlock_inspection_duration_seconds", "histogram", "How long inspecting one file took.");
        self.inspection_seconds.render(out, "airlock_inspection_duration_seconds", "");
        header(out, "airlock_index_cache_requests_total", "counter", "Index pages and files looked up in the in-memory cache, by result.");
        let _ = writeln!(out, "airlock_index_cache_requests_total{{result=\"hit\"}} {}", self.index_cache_hits.load(Relaxed));
        let _ = writeln!(out, "airlock_index_cache_requests_total{{result=\"miss\"}} {}", self.index_cache_misses.load(Relaxed));
        counter(
            out,
            "airlock_jobs_released_total",
            "Jobs this process's workers handed back to the queue unfinished at shutdown.",
            self.jobs_released.load(Relaxed),
        );
    }
}

/// The `# HELP` and `# TYPE` lines of a metric.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value with `\`, `"` and newlines escaped, as the text format wants.
pub fn label_value(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        static H: Histogram<3> = Histogram::new(&[0.1, 1.0, 10.0]);
        H.observe(Duration::from_millis(50));
        H.observe(Duration::from_millis(500));
        H.observe(Duration::from_millis(700));
        H.observe(Duration::from_secs(60));
        let mut out = String::new();
        H.render(&mut out, "t_seconds", "route=\"/x\"");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "t_seconds_bucket{route=\"/x\",le=\"0.1\"} 1",
                "t_seconds_bucket{route=\"/x\",le=\"1\"} 3",
                "t_seconds_bucket{route=\"/x\",le=\"10\"} 3",
                "t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4",
                "t_seconds_sum{route=\"/x\"} 61.25",
                "t_seconds_count{route=\"/x\"} 4",
            ]
        );
        assert_eq!(H.count(), 4);
    }

    #[test]
    fn statuses_map_to_error_kinds_and_labels_are_escaped() {
        assert_eq!(UpstreamErrorKind::of_status(429), UpstreamErrorKind::Throttled);
        assert_eq!(UpstreamErrorKind::of_status(502), UpstreamErrorKind::ServerError);
        assert_eq!(UpstreamErrorKind::of_status(404), UpstreamErrorKind::NotFound);
        assert_eq!(UpstreamErrorKind::of_status(403), UpstreamErrorKind::ClientError);
        for (i, kind) in UpstreamErrorKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "ALL is in declaration order");
        }
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
