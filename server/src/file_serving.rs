//! Serving approved files (and their PEP 658 metadata files) from the blob
//! store: only bytes whose sha256 is the approved hash ever leave.
//!
//! Small files are read and hashed once, when first asked for, and then
//! served from a bounded in-memory cache: a download of a popular wheel is
//! a cache lookup (a read lock, no copy: the body shares the cached bytes)
//! with prebuilt headers, no disk read and no hashing. Larger files (and
//! small ones the cache cannot hold) are hashed once per on-disk identity
//! (device, inode, size, mtime, ctime: any rewrite changes the ctime) and
//! streamed from the very handle whose identity was checked. Single byte
//! ranges are honoured (`206`, `416`), with correct `Content-Length`,
//! `Content-Type`, a strong ETag (the sha256) and `304`s.
//!
//! Never: send bytes that were not hashed to the approved digest, since
//! they were last read from disk.
//!
//! Why not actix-files' `NamedFile` for the large ones: it reads the file in
//! chunks on the blocking pool and copies them into the response, as the
//! stream here does (actix-web has no `sendfile` path), and it would bring
//! its own ETag, range and content-type rules next to these.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek};
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use airlock_store::domain::Sha256;
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::AppError;
use crate::negotiate;
use crate::state::AppState;

/// Files up to this size are kept in memory once verified.
const MEMORY_MAX_FILE: u64 = 8 * 1024 * 1024;
const STREAM_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Fingerprint {
    fn of(m: &std::fs::Metadata) -> Fingerprint {
        Fingerprint {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        }
    }
}

/// A verified file in memory, with its ETag header ready.
pub(crate) struct Cached {
    bytes: Bytes,
    etag: HeaderValue,
    /// The cache's clock when last served (see [`FileCache::get`]).
    used: AtomicU64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<String, Arc<Cached>>,
    used: u64,
}

/// Verified bytes in memory, and verified identities of larger blobs.
pub struct FileCache {
    budget: u64,
    memory: RwLock<Lru>,
    /// Advanced by each insertion; a hit marks its entry as newer than every
    /// insertion so far. Hits write to their own entry only, and only when
    /// the mark changes, so parallel downloads do not contend on a counter.
    clock: AtomicU64,
    verified: Mutex<HashMap<String, Fingerprint>>,
    alerted: Mutex<HashSet<String>>,
}

impl FileCache {
    pub fn new(budget_bytes: u64) -> FileCache {
        FileCache { budget: budget_bytes, memory: RwLock::default(), clock: AtomicU64::new(0), verified: Mutex::default(), alerted: Mutex::default() }
    }

    fn get(&self, sha: &str) -> Option<Arc<Cached>> {
        let lru = self.memory.read().expect("file cache lock");
        let entry = lru.entries.get(sha)?;
        let mark = self.clock.load(Ordering::Relaxed) + 1;
        if entry.used.load(Ordering::Relaxed) != mark {
            entry.used.store(mark, Ordering::Relaxed);
        }
        Some(entry.clone())
    }

    /// True when a file of `size` bytes may be kept in memory.
    fn holds(&self, size: u64) -> bool {
        size <= MEMORY_MAX_FILE && size <= self.budget / 4
    }

    /// A verified file's bytes and ETag, when they are in memory.
    pub(crate) fn in_memory(&self, sha: &str) -> Option<(Bytes, HeaderValue)> {
        self.get(sha).map(|cached| (cached.bytes.clone(), cached.etag.clone()))
    }

    pub(crate) fn put(&self, sha: &str, bytes: Bytes) -> Arc<Cached> {
        let size = bytes.len() as u64;
        let entry = Arc::new(Cached { etag: etag_of(sha), bytes, used: AtomicU64::new(0) });
        if !self.holds(size) {
            return entry;
        }
        let mut lru = self.memory.write().expect("file cache lock");
        while lru.used + size > self.budget {
            let Some(oldest) = lru.entries.iter().min_by_key(|(_, e)| e.used.load(Ordering::Relaxed)).map(|(k, _)| k.clone()) else { break };
            if let Some(e) = lru.entries.remove(&oldest) {
                lru.used -= e.bytes.len() as u64;
            }
        }
        entry.used.store(self.clock.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
        if let Some(old) = lru.entries.insert(sha.to_string(), entry.clone()) {
            lru.used -= old.bytes.len() as u64;
        }
        lru.used += size;
        entry
    }

    /// Forget every file held in memory (for tests).
    #[cfg(test)]
    pub(crate) fn clear_memory(&self) {
        *self.memory.write().expect("file cache lock") = Lru::default();
    }

    /// Bytes held in memory, for tests and logs.
    pub fn memory_used(&self) -> u64 {
        self.memory.read().expect("file cache lock").used
    }

    /// True the first time a given blob fails its check (alert once, not per request).
    fn first_failure(&self, sha: &str) -> bool {
        self.alerted.lock().expect("alert lock").insert(sha.to_string())
    }
}

/// The response's media type, from the file name.
pub fn content_type(filename: &str) -> &'static str {
    let ends = |suffix: &str| filename.len() >= suffix.len() && filename.as_bytes()[filename.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes());
    if ends(".metadata") {
        "text/plain; charset=utf-8"
    } else if ends(".whl") || ends(".zip") || ends(".egg") {
        "application/zip"
    } else if ends(".tar.gz") || ends(".tgz") {
        "application/gzip"
    } else if ends(".tar.bz2") {
        "application/x-bzip2"
    } else {
        "application/octet-stream"
    }
}

/// A client's byte range, resolved against the length.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    Full,
    /// Inclusive start and end.
    Part(u64, u64),
    Unsatisfiable,
}

/// Parse a `Range` header. Anything but one `bytes=` range is answered
/// with the whole file, which RFC 9110 allows.
pub fn parse_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return ByteRange::Full };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else { return ByteRange::Full };
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.is_empty(), end.is_empty()) {
        (true, true) => return ByteRange::Full,
        // Suffix: the last N bytes.
        (true, false) => match end.parse::<u64>() {
            Ok(0) => return ByteRange::Unsatisfiable,
            Ok(n) => (len.saturating_sub(n), len.saturating_sub(1)),
            Err(_) => return ByteRange::Full,
        },
        (false, _) => {
            let Ok(s) = start.parse::<u64>() else { return ByteRange::Full };
            let e = if end.is_empty() { Ok(u64::MAX) } else { end.parse::<u64>() };
            match e {
                Ok(e) if e >= s => (s, e.min(len.saturating_sub(1))),
                _ => return ByteRange::Full,
            }
        }
    };
    if len == 0 || parsed.0 >= len {
        ByteRange::Unsatisfiable
    } else {
        ByteRange::Part(parsed.0, parsed.1)
    }
}

fn etag_of(sha: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{sha}\"")).expect("a hex digest is a valid header value")
}

/// The URL names the content's hash: it never changes. Private, since the
/// index may need a token.
pub const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// Headers every file response carries.
fn base(status: StatusCode, filename: &str, etag: &HeaderValue) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type(filename))))
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL)));
    b
}

/// Which part to send, or the early answer (304, 416; boxed, as it is rare).
fn plan(req: &HttpRequest, len: u64, etag: &HeaderValue, filename: &str) -> Result<ByteRange, Box<HttpResponse>> {
    let headers = req.headers();
    if headers.is_empty() {
        return Ok(ByteRange::Full);
    }
    let h = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let tag = etag.to_str().unwrap_or_default();
    if negotiate::none_match(h(header::IF_NONE_MATCH), tag) {
        return Err(Box::new(base(StatusCode::NOT_MODIFIED, filename, etag).finish()));
    }
    // If-Range with another validator: send the whole (current) file.
    if h(header::IF_RANGE).is_some_and(|v| v.trim() != tag) {
        return Ok(ByteRange::Full);
    }
    match parse_range(h(header::RANGE), len) {
        ByteRange::Unsatisfiable => {
            Err(Box::new(base(StatusCode::RANGE_NOT_SATISFIABLE, filename, etag).insert_header((header::CONTENT_RANGE, format!("bytes */{len}"))).finish()))
        }
        range => Ok(range),
    }
}

fn respond_bytes(req: &HttpRequest, cached: &Cached, filename: &str) -> HttpResponse {
    let bytes = &cached.bytes;
    let len = bytes.len() as u64;
    match plan(req, len, &cached.etag, filename) {
        Err(early) => *early,
        Ok(ByteRange::Part(s, e)) => base(StatusCode::PARTIAL_CONTENT, filename, &cached.etag)
            .insert_header((header::CONTENT_RANGE, format!("bytes {s}-{e}/{len}")))
            .body(bytes.slice(s as usize..=e as usize)),
        Ok(_) => base(StatusCode::OK, filename, &cached.etag).body(bytes.clone()),
    }
}

fn refuse(state: &AppState, filename: &str, sha: &Sha256, problem: &str) -> AppError {
    tracing::error!(alert = "blob-integrity", file = %filename, sha256 = %sha, problem, "refusing to serve a file whose stored bytes are not the approved bytes");
    if state.files.first_failure(sha.as_str()) {
        let (name, sha, problem) = (filename.to_string(), sha.to_string(), problem.to_string());
        let store = state.store.clone();
        // The audit log is where auditors look; record the alert there too.
        std::thread::spawn(move || {
            if let Ok(mut conn) = store.conn() {
                let _ = airlock_store::audit::record(&mut conn, None, "integrity.refused", &name, &format!("sha256 {sha}: {problem}"));
            }
        });
    }
    AppError::NotFound("this file failed its integrity check and is not served".into())
}

/// Outcome of reading a blob off the async executor.
enum Loaded {
    Memory(Arc<Cached>),
    /// Verified on disk: stream it from this handle, positioned at the start.
    Disk(std::fs::File, u64),
    Mismatch(String),
    /// The object store did not answer: nothing is known about the bytes.
    Unavailable(String),
}

fn load(state: &AppState, sha: &Sha256) -> Result<Loaded, String> {
    // With an object store, a blob this node has not cached yet streams into its cache first.
    let mut file = match state.store.blobs.open_blob(sha) {
        Ok(file) => file,
        Err(e @ airlock_store::blobs::BlobError::Remote { .. }) => return Ok(Loaded::Unavailable(e.to_string())),
        Err(e) => return Err(format!("cannot open the blob: {e}")),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let fingerprint = Fingerprint::of(&meta);
    if state.files.holds(meta.len()) {
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let actual = hex::encode(sha2::Sha256::digest(&bytes));
        if actual != sha.as_str() {
            return Ok(Loaded::Mismatch(format!("stored bytes hash to {actual}")));
        }
        // The identity read: the front may send this blob from disk (see `open_local_verified`).
        state.files.verified.lock().expect("verified lock").insert(sha.to_string(), fingerprint);
        return Ok(Loaded::Memory(state.files.put(sha.as_str(), Bytes::from(bytes))));
    }
    let known = state.files.verified.lock().expect("verified lock").get(sha.as_str()) == Some(&fingerprint);
    if !known {
        let actual = Sha256::of_reader(&mut file).map_err(|e| e.to_string())?;
        if &actual != sha {
            return Ok(Loaded::Mismatch(format!("stored bytes hash to {actual}")));
        }
        file.rewind().map_err(|e| e.to_string())?;
        state.files.verified.lock().expect("verified lock").insert(sha.to_string(), fingerprint);
    }
    Ok(Loaded::Disk(file, meta.len()))
}

/// The blob `sha` opened from disk, with its length, when the file opened
/// is in an identity whose bytes were hashed to `sha` (by [`load`]); None
/// otherwise, and for blobs kept in memory. Blocking: with an object store
/// it may fetch the blob into the local cache first.
pub fn open_verified_on_disk(state: &AppState, sha: &Sha256) -> Option<(std::fs::File, u64)> {
    let file = state.store.blobs.open_blob(sha).ok()?;
    let meta = file.metadata().ok()?;
    let known = state.files.verified.lock().expect("verified lock").get(sha.as_str()) == Some(&Fingerprint::of(&meta));
    known.then_some((file, meta.len()))
}

/// Like [`open_verified_on_disk`], but only a local `open` of the blob's
/// file: never a fetch from an object store. Cheap enough for the event
/// loop when the blob folder is on a local disk (nginx opens its files
/// there too).
pub fn open_local_verified(state: &AppState, sha: &Sha256) -> Option<(std::fs::File, u64)> {
    let file = std::fs::File::open(state.store.blobs.path_of(sha)).ok()?;
    let meta = file.metadata().ok()?;
    let known = state.files.verified.lock().expect("verified lock").get(sha.as_str()) == Some(&Fingerprint::of(&meta));
    known.then_some((file, meta.len()))
}

/// Send the blob `sha` as `filename`, only if its bytes hash to `sha`.
pub async fn serve(req: &HttpRequest, state: &AppState, sha: Sha256, filename: &str) -> Result<HttpResponse, AppError> {
    if let Some(cached) = state.files.get(sha.as_str()) {
        return Ok(respond_bytes(req, &cached, filename));
    }
    let loaded = {
        let (state, sha) = (state.clone(), sha.clone());
        actix_web::web::block(move || load(&state, &sha)).await?
    };
    let (file, len) = match loaded {
        Err(problem) | Ok(Loaded::Mismatch(problem)) => return Err(refuse(state, filename, &sha, &problem)),
        Ok(Loaded::Memory(cached)) => return Ok(respond_bytes(req, &cached, filename)),
        Ok(Loaded::Unavailable(problem)) => {
            tracing::warn!(%sha, %problem, "the blob store did not answer");
            return Err(AppError::Busy("the blob store did not answer; try again shortly".into()));
        }
        Ok(Loaded::Disk(file, len)) => (file, len),
    };
    let etag = etag_of(sha.as_str());
    let (status, start, count, range_header) = match plan(req, len, &etag, filename) {
        Err(early) => return Ok(*early),
        Ok(ByteRange::Part(s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1, Some(format!("bytes {s}-{e}/{len}"))),
        Ok(_) => (StatusCode::OK, 0, len, None),
    };
    let mut file = tokio::fs::File::from_std(file);
    file.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| AppError::Internal(e.to_string()))?;
    let stream = futures_util::stream::unfold((file, count), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let mut buf = vec![0u8; STREAM_CHUNK.min(left as usize)];
        match file.read(&mut buf).await {
            Ok(0) => Some((Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "blob shrank while streaming")), (file, 0))),
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    let mut resp = base(status, filename, &etag);
    if let Some(r) = range_header {
        resp.insert_header((header::CONTENT_RANGE, r));
    }
    Ok(resp.no_chunking(count).streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_length() {
        assert_eq!(parse_range(None, 10), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), ByteRange::Part(0, 3));
        assert_eq!(parse_range(Some("bytes=5-"), 10), ByteRange::Part(5, 9));
        assert_eq!(parse_range(Some("bytes=-4"), 10), ByteRange::Part(6, 9));
        assert_eq!(parse_range(Some("bytes=-40"), 10), ByteRange::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), ByteRange::Part(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), ByteRange::Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), ByteRange::Full);
    }

    #[test]
    fn content_types_follow_the_file_name() {
        assert_eq!(content_type("a-1.0-py3-none-any.whl"), "application/zip");
        assert_eq!(content_type("a-1.0.tar.gz"), "application/gzip");
        assert_eq!(content_type("a-1.0-py3-none-any.whl.metadata"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a-1.0.tar.bz2"), "application/x-bzip2");
        assert_eq!(content_type("a.exe"), "application/octet-stream");
    }

    #[test]
    fn the_memory_cache_stays_within_its_budget() {
        let cache = FileCache::new(90);
        cache.put("a", Bytes::from(vec![0; 20]));
        cache.put("b", Bytes::from(vec![0; 20]));
        assert!(cache.get("a").is_some()); // a is now newer than b
        cache.put("c", Bytes::from(vec![0; 20]));
        cache.put("d", Bytes::from(vec![0; 20]));
        cache.put("e", Bytes::from(vec![0; 20]));
        assert!(cache.memory_used() <= 90);
        assert!(cache.get("b").is_none(), "the least recently used goes first");
        assert!(cache.get("a").is_some() && cache.get("e").is_some());
        cache.put("huge", Bytes::from(vec![0; 30]));
        assert!(cache.get("huge").is_none(), "a file over a quarter of the budget is not kept");
    }
}
