//! What the server says about the requests it serves, at a cost the index's
//! hot path can carry (tens of thousands of requests a second).
//!
//! - The access log (`access_log` setting): one line per request, off by
//!   default. When on, lines are formatted on the request's thread and
//!   handed to a writer thread (`tracing-appender`'s non-blocking writer,
//!   over a `BufWriter`), which writes them in batches: a slow disk or pipe
//!   never holds up a response. Past 128k lines waiting, new lines are
//!   dropped and counted, rather than slowing the server down.
//! - Always: counts per minute. Each request adds to per-thread counters
//!   (no lock, no shared cache line in the common case); once a minute a
//!   task writes one summary line to the log at INFO when anything was
//!   served. That is what the default configuration logs about traffic: a
//!   line a minute, whatever the request rate.
//!
//! This module never logs request headers other than the user agent, nor
//! anything from a request body.

use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use airlock_store::config::AccessLogTarget;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

/// How often the summary line is written.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);
/// Lines waiting for the writer thread before new ones are dropped.
const QUEUE_LINES: usize = 128 * 1024;

/// What kind of route a request hit, for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `/simple/…`: index pages.
    Index,
    /// `/files/…`: distribution and metadata downloads.
    File,
    /// The dashboard, the API, health checks and static assets.
    Other,
}

impl RouteKind {
    pub fn of(path: &str) -> RouteKind {
        if path.starts_with("/simple/") {
            RouteKind::Index
        } else if path.starts_with("/files/") {
            RouteKind::File
        } else {
            RouteKind::Other
        }
    }
}

/// One thread's counters, alone on its cache lines.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    index: AtomicU64,
    files: AtomicU64,
    other: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    bytes: AtomicU64,
}

const SHARDS: usize = 16;

fn shard_index() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static SHARD: usize = (NEXT.fetch_add(1, Ordering::Relaxed) as usize) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// Totals since the last summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub index: u64,
    pub files: u64,
    pub other: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub bytes: u64,
}

impl Counts {
    pub fn requests(&self) -> u64 {
        self.index + self.files + self.other
    }
}

/// A request as the access log records it.
pub struct Served<'a> {
    pub client: Option<std::net::IpAddr>,
    pub method: &'a str,
    /// Path and query, as the client sent them.
    pub target: &'a str,
    pub version: &'a str,
    pub status: u16,
    /// Body bytes, when known before streaming.
    pub bytes: Option<u64>,
    pub micros: u64,
    pub user_agent: Option<&'a [u8]>,
}

/// The access log and the per-minute counts.
pub struct AccessLog {
    writer: Option<(NonBlocking, ErrorCounter, WorkerGuard)>,
    shards: Box<[Shard; SHARDS]>,
    dropped_reported: AtomicU64,
}

impl AccessLog {
    /// Open the destination (a file is created if missing and appended to).
    pub fn open(target: &AccessLogTarget) -> std::io::Result<AccessLog> {
        let sink: Option<Box<dyn Write + Send>> = match target {
            AccessLogTarget::Off => None,
            AccessLogTarget::Stdout => Some(Box::new(std::io::stdout())),
            AccessLogTarget::Stderr => Some(Box::new(std::io::stderr())),
            AccessLogTarget::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("opening the access log {}: {e}", path.display())))?;
                Some(Box::new(file))
            }
        };
        let writer = sink.map(|sink| {
            let (writer, guard) = NonBlockingBuilder::default()
                .lossy(true)
                .buffered_lines_limit(QUEUE_LINES)
                .thread_name("airlock-access-log")
                .finish(BufWriter::with_capacity(64 * 1024, sink));
            let dropped = writer.error_counter();
            (writer, dropped, guard)
        });
        Ok(AccessLog { writer, shards: Box::default(), dropped_reported: AtomicU64::new(0) })
    }

    /// True when lines are written per request.
    pub fn is_on(&self) -> bool {
        self.writer.is_some()
    }

    /// Count a request, and write its line when the access log is on.
    pub fn record(&self, kind: RouteKind, served: &Served<'_>) {
        let shard = &self.shards[shard_index()];
        let counter = match kind {
            RouteKind::Index => &shard.index,
            RouteKind::File => &shard.files,
            RouteKind::Other => &shard.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match served.status {
            400..=499 => _ = shard.client_errors.fetch_add(1, Ordering::Relaxed),
            500.. => _ = shard.server_errors.fetch_add(1, Ordering::Relaxed),
            _ => {}
        }
        if let Some(bytes) = served.bytes {
            shard.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if let Some((writer, _, _)) = &self.writer {
            let mut line = Vec::with_capacity(160);
            format_line(&mut line, chrono::Utc::now(), served);
            // One write per line: the writer thread gets whole lines.
            let _ = writer.clone().write_all(&line);
        }
    }

    /// The counts since the last call, reset to zero.
    pub fn take_counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in self.shards.iter() {
            c.index += s.index.swap(0, Ordering::Relaxed);
            c.files += s.files.swap(0, Ordering::Relaxed);
            c.other += s.other.swap(0, Ordering::Relaxed);
            c.client_errors += s.client_errors.swap(0, Ordering::Relaxed);
            c.server_errors += s.server_errors.swap(0, Ordering::Relaxed);
            c.bytes += s.bytes.swap(0, Ordering::Relaxed);
        }
        c
    }

    /// Access-log lines dropped (queue full) since the last call.
    fn newly_dropped(&self) -> u64 {
        let Some((_, dropped, _)) = &self.writer else { return 0 };
        let total = dropped.dropped_lines() as u64;
        total - self.dropped_reported.swap(total, Ordering::Relaxed).min(total)
    }

    /// Write the summary line for the interval just ended (nothing when idle).
    pub fn summarize(&self, interval: Duration) {
        let c = self.take_counts();
        let dropped = self.newly_dropped();
        if c.requests() == 0 && dropped == 0 {
            return;
        }
        tracing::info!(
            index_pages = c.index,
            files = c.files,
            other = c.other,
            client_errors = c.client_errors,
            server_errors = c.server_errors,
            bytes = c.bytes,
            access_log_dropped = dropped,
            "served {} requests in the last {} s",
            c.requests(),
            interval.as_secs()
        );
    }
}

/// Write the summary every `SUMMARY_INTERVAL` until the process ends.
pub async fn summarize_every_interval(log: std::sync::Arc<AccessLog>) {
    let mut tick = tokio::time::interval(SUMMARY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        log.summarize(SUMMARY_INTERVAL);
    }
}

/// `2026-12-01T09:30:00.123Z 127.0.0.1 "GET /simple/six/ HTTP/1.1" 200 2210 183us "pip/24.0 …"`:
/// the common log format's fields in the order operators grep them, with
/// the duration added. Client-sent text is escaped: a quote, backslash,
/// control or non-ASCII byte becomes `\xNN`, so one request is one line
/// and cannot forge another.
pub fn format_line(out: &mut Vec<u8>, at: chrono::DateTime<chrono::Utc>, s: &Served<'_>) {
    let _ = write!(out, "{} ", at.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
    match s.client {
        Some(ip) => _ = write!(out, "{ip} "),
        None => out.extend_from_slice(b"- "),
    }
    out.push(b'"');
    escape_into(out, s.method.as_bytes());
    out.push(b' ');
    escape_into(out, s.target.as_bytes());
    let _ = write!(out, " {}\" {} ", s.version, s.status);
    match s.bytes {
        Some(n) => _ = write!(out, "{n} "),
        None => out.extend_from_slice(b"- "),
    }
    let _ = write!(out, "{}us \"", s.micros);
    escape_into(out, s.user_agent.unwrap_or(b"-"));
    out.extend_from_slice(b"\"\n");
}

fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(status: u16) -> Served<'static> {
        Served {
            client: Some("127.0.0.1".parse().unwrap()),
            method: "GET",
            target: "/simple/six/",
            version: "HTTP/1.1",
            status,
            bytes: Some(2210),
            micros: 183,
            user_agent: Some(b"pip/24.0"),
        }
    }

    #[test]
    fn a_line_has_the_request_and_its_outcome() {
        let mut line = Vec::new();
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:30:00.123Z").unwrap().to_utc();
        format_line(&mut line, at, &served(200));
        assert_eq!(String::from_utf8(line).unwrap(), "2026-12-01T09:30:00.123Z 127.0.0.1 \"GET /simple/six/ HTTP/1.1\" 200 2210 183us \"pip/24.0\"\n");
    }

    #[test]
    fn client_text_cannot_break_or_forge_a_line() {
        let mut line = Vec::new();
        let hostile = Served { user_agent: Some(b"x\" 200 1 1us \"y\n2026 forged"), target: "/a\"b\\c", ..served(404) };
        format_line(&mut line, chrono::Utc::now(), &hostile);
        let text = String::from_utf8(line).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with("\"x\\x22 200 1 1us \\x22y\\x0a2026 forged\"\n"), "{text}");
        assert!(text.contains("\"GET /a\\x22b\\x5cc HTTP/1.1\" 404"), "{text}");
    }

    #[test]
    fn counts_add_up_over_threads_and_reset_when_taken() {
        let log = std::sync::Arc::new(AccessLog::open(&AccessLogTarget::Off).unwrap());
        assert!(!log.is_on());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        log.record(RouteKind::Index, &served(200));
                    }
                    log.record(RouteKind::File, &served(404));
                    log.record(RouteKind::Other, &served(503));
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let c = log.take_counts();
        assert_eq!((c.index, c.files, c.other, c.client_errors, c.server_errors), (4000, 4, 4, 4, 4));
        assert_eq!(c.bytes, 4008 * 2210);
        assert_eq!(log.take_counts(), Counts::default());
    }

    #[test]
    fn a_file_access_log_gets_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&AccessLogTarget::File(path.clone())).unwrap();
        for _ in 0..500 {
            log.record(RouteKind::Index, &served(200));
        }
        drop(log); // the guard flushes what is queued
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 500);
        assert!(text.lines().all(|l| l.contains("\"GET /simple/six/ HTTP/1.1\" 200 2210")));
    }

    #[test]
    fn route_kinds() {
        assert_eq!(RouteKind::of("/simple/six/"), RouteKind::Index);
        assert_eq!(RouteKind::of("/files/ab/six.whl"), RouteKind::File);
        assert_eq!(RouteKind::of("/queue"), RouteKind::Other);
    }
}
