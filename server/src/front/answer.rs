//! The requests the front answers itself, and their answers.
//!
//! Only a `GET` over HTTP/1.1 with no body, no query string, no escaped
//! character in its path and no `Connection` option but keep-alive, from a
//! client allowed to read the index without a database query (the index is
//! anonymous, or its token was verified a moment ago), for:
//! - `/simple/` and `/simple/<normalized name>/` when the page is cached,
//!   with the same negotiation (Accept, Accept-Encoding) and the same `304`
//!   for a matching If-None-Match as `routes::simple`;
//! - `/files/<sha256>/<filename>` (and its `.metadata`) when the file is
//!   approved and cached in the index, with no Range, If-Range or
//!   If-None-Match (those go to the handler): from memory when its verified
//!   bytes are there, else from disk ([`DiskFile`]) when the blob's on-disk
//!   identity is one the handler verified.
//!
//! Anything else, or anything these cannot decide, is `None`: the handler
//! answers it.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Instant;

use actix_web::http::header::HeaderValue;
use airlock_store::config::IndexAccess;
use airlock_store::domain::{ProjectName, Sha256};
use bytes::Bytes;

use super::{date, micros_since, Front};
use crate::access_log::{RouteKind, Served};
use crate::index_render::PageFormat;
use crate::negotiate::{self, IndexFormat};
use crate::{file_serving, index_access, metrics};

/// What the front answers.
pub enum Answered {
    /// The head is in the output buffer; this body follows it.
    Ready(Bytes),
    /// A large approved file: answered from disk if its on-disk identity is
    /// one whose bytes were verified (else the handler verifies it).
    Disk(Box<DiskFile>),
}

/// A file to send from disk, and what its head and log line need.
pub struct DiskFile {
    pub blob: Sha256,
    /// Its verified bytes and ETag when they are in memory too: sent from
    /// there if the file on disk is not in a verified identity.
    pub memory: Option<(Bytes, HeaderValue)>,
    filename: String,
    target: String,
    client: Option<std::net::IpAddr>,
    user_agent: Option<Vec<u8>>,
    started: Instant,
}

impl DiskFile {
    /// Write the head for `len` bytes of this file to `out` (with `etag`,
    /// or one made of the blob's digest), and record it.
    pub fn head(&self, front: &Front, len: u64, etag: Option<&HeaderValue>, out: &mut Vec<u8>) {
        match etag {
            Some(etag) => file_head(out, &self.filename, etag.as_bytes(), len),
            None => file_head(out, &self.filename, format!("\"{}\"", self.blob).as_bytes(), len),
        }
        record(front, RouteKind::File, &self.target, self.client, 200, len, self.user_agent.as_deref(), self.started);
    }
}

/// The request headers the index reads, as `HeaderValue::to_str` would
/// give them (a value with other than visible ASCII is absent), first
/// line of each name only, as a header map's `get` would.
#[derive(Default)]
struct Headers<'a> {
    accept: Option<&'a str>,
    accept_encoding: Option<&'a str>,
    if_none_match: Option<&'a str>,
    authorization: Option<&'a str>,
    user_agent: Option<&'a [u8]>,
    /// Range, If-Range: the file handler's.
    ranged: bool,
}

fn text(value: &[u8]) -> Option<&str> {
    if value.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// The headers, or None when one of them makes the request the handler's.
fn read_headers<'a>(lines: &[httparse::Header<'a>]) -> Option<Headers<'a>> {
    let mut h = Headers::default();
    let first = |slot: &mut Option<&'a str>, value: &'a [u8]| {
        if slot.is_none() {
            *slot = text(value);
        }
    };
    for line in lines {
        let (name, value) = (line.name, line.value);
        if name.eq_ignore_ascii_case("accept") {
            first(&mut h.accept, value);
        } else if name.eq_ignore_ascii_case("accept-encoding") {
            first(&mut h.accept_encoding, value);
        } else if name.eq_ignore_ascii_case("if-none-match") {
            first(&mut h.if_none_match, value);
        } else if name.eq_ignore_ascii_case("authorization") {
            first(&mut h.authorization, value);
        } else if name.eq_ignore_ascii_case("user-agent") {
            h.user_agent.get_or_insert(value);
        } else if name.eq_ignore_ascii_case("range") || name.eq_ignore_ascii_case("if-range") {
            h.ranged = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            if value.trim_ascii() != b"0" {
                return None;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if !value.trim_ascii().eq_ignore_ascii_case(b"keep-alive") {
                return None;
            }
        } else if ["transfer-encoding", "expect", "upgrade"].iter().any(|n| name.eq_ignore_ascii_case(n)) {
            return None;
        }
    }
    Some(h)
}

/// True when this request may read the index without asking the database.
fn may_read(front: &Front, headers: &Headers) -> bool {
    match front.state.config.index_access {
        IndexAccess::Anonymous => true,
        _ => headers.authorization.and_then(index_access::token_in).is_some_and(|token| front.state.tokens.knows_valid(&token)),
    }
}

/// The headers every response carries (`crate::SECURITY_HEADERS`), as lines.
static SECURITY_LINES: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut lines = Vec::new();
    for (name, value) in crate::SECURITY_HEADERS {
        lines.extend_from_slice(name.to_ascii_lowercase().as_bytes());
        lines.extend_from_slice(b": ");
        lines.extend_from_slice(value.as_bytes());
        lines.extend_from_slice(b"\r\n");
    }
    lines
});

fn line(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn status_line(out: &mut Vec<u8>, status: u16, len: Option<usize>) {
    out.extend_from_slice(match status {
        304 => b"HTTP/1.1 304 Not Modified\r\n".as_slice(),
        _ => b"HTTP/1.1 200 OK\r\n".as_slice(),
    });
    if let Some(len) = len {
        line(out, "content-length", len.to_string().as_bytes());
    }
}

fn end_head(out: &mut Vec<u8>) {
    out.extend_from_slice(&SECURITY_LINES);
    date::push_line(out);
    out.extend_from_slice(b"\r\n");
}

/// The answer to `req`, its head written to `out`; None when the handler must answer.
pub fn answer(front: &Front, req: &httparse::Request, peer: Option<SocketAddr>, out: &mut Vec<u8>) -> Option<Answered> {
    let started = Instant::now();
    if req.method != Some("GET") || req.version != Some(1) {
        return None;
    }
    let path = req.path?;
    if path.bytes().any(|b| matches!(b, b'?' | b'%' | b'#')) {
        return None;
    }
    let kind = RouteKind::of(path);
    if kind == RouteKind::Other {
        return None;
    }
    let headers = read_headers(req.headers)?;
    if !may_read(front, &headers) {
        return None;
    }
    let (status, body) = match kind {
        RouteKind::Index => index_page(front, path, &headers, out)?,
        _ => match file(front, path, &headers, out)? {
            FileAnswer::Memory(bytes) => (200, bytes),
            FileAnswer::Disk(blob, filename, memory) => {
                let (target, client, user_agent) = (path.to_string(), peer.map(|a| a.ip()), headers.user_agent.map(<[u8]>::to_vec));
                return Some(Answered::Disk(Box::new(DiskFile { blob, memory, filename: filename.to_string(), target, client, user_agent, started })));
            }
        },
    };
    record(front, kind, path, peer.map(|a| a.ip()), status, body.len() as u64, headers.user_agent, started);
    Some(Answered::Ready(body))
}

/// Count and log an answer as `request_span` does the handlers'.
#[allow(clippy::too_many_arguments)]
fn record(
    front: &Front,
    kind: RouteKind,
    target: &str,
    client: Option<std::net::IpAddr>,
    status: u16,
    bytes: u64,
    user_agent: Option<&[u8]>,
    started: Instant,
) {
    metrics::observe(metrics::hot_route(kind, target), started.elapsed());
    let micros = micros_since(started);
    tracing::debug!(status, us = micros, path = target, "served");
    let served = Served { client, method: "GET", target, version: "HTTP/1.1", status, bytes: Some(bytes), micros, user_agent };
    front.access.record(kind, &served);
}

/// A cached index page, as `routes::simple::send` answers it.
fn index_page(front: &Front, path: &str, headers: &Headers, out: &mut Vec<u8>) -> Option<(u16, Bytes)> {
    let page = if path == "/simple/" {
        front.state.index.root()?
    } else {
        let name = path.strip_prefix("/simple/")?.strip_suffix('/')?;
        if name.contains('/') || ProjectName::parse(name).ok()?.as_str() != name {
            return None;
        }
        front.state.index.project(name)?
    };
    let format = negotiate::choose(headers.accept, None)?;
    let body = page
        .body(match format {
            IndexFormat::Json => PageFormat::Json,
            IndexFormat::HtmlV1 | IndexFormat::HtmlLegacy => PageFormat::Html,
        })
        .ok()?;
    let encoding = negotiate::choose_encoding(headers.accept_encoding)?;
    let (bytes, encoding) = body.encoded(encoding);
    let etag = body.etag(encoding);
    let unchanged = negotiate::none_match(headers.if_none_match, etag.to_str().unwrap_or_default());
    let status = if unchanged { 304 } else { 200 };
    status_line(out, status, (!unchanged).then_some(bytes.len()));
    line(out, "content-type", format.content_type().as_bytes());
    line(out, "etag", etag.as_bytes());
    line(out, "vary", b"Accept, Accept-Encoding, Authorization");
    line(out, "cache-control", b"no-cache");
    if let Some(coding) = encoding.header() {
        line(out, "content-encoding", coding.as_bytes());
    }
    end_head(out);
    Some((status, if unchanged { Bytes::new() } else { bytes }))
}

/// How the front answers an approved file.
enum FileAnswer<'a> {
    /// A small file whose verified bytes are in memory (the head is written).
    Memory(Bytes),
    /// This blob, sent as this file name, from disk (with its bytes in
    /// memory, if they are, to fall back on).
    Disk(Sha256, &'a str, Option<(Bytes, HeaderValue)>),
}

/// From this size on, a file goes out with `sendfile` from its verified
/// blob rather than with `writev` from memory: the kernel then sends page
/// cache pages instead of copying the body into the socket, which from
/// about this size costs more than opening the file (measured: a 75 KB
/// wheel at 21.6–23.4 µs of CPU per request by `sendfile`, 28–32 µs from
/// memory; a 10 KB one at 9.8 µs from memory).
const SENDFILE_MIN: usize = 32 * 1024;

/// An approved file, as `file_serving::serve` answers a plain `GET` of it.
fn file<'a>(front: &Front, path: &'a str, headers: &Headers, out: &mut Vec<u8>) -> Option<FileAnswer<'a>> {
    if headers.ranged || headers.if_none_match.is_some() {
        return None;
    }
    let (sha, filename) = path.strip_prefix("/files/")?.split_once('/')?;
    if filename.is_empty() || filename.contains('/') {
        return None;
    }
    let sha = Sha256::parse(sha).ok()?;
    let (dist_name, want_metadata) = match filename.strip_suffix(".metadata") {
        Some(dist) => (dist, true),
        None => (filename, false),
    };
    let servable = front.state.index.file(sha.as_str(), dist_name)?;
    let blob = if want_metadata { Sha256::parse(servable.file.metadata_sha256.as_deref()?).ok()? } else { sha };
    match front.state.files.in_memory(blob.as_str()) {
        Some((bytes, etag)) if bytes.len() < SENDFILE_MIN => {
            file_head(out, filename, etag.as_bytes(), bytes.len() as u64);
            Some(FileAnswer::Memory(bytes))
        }
        memory => Some(FileAnswer::Disk(blob, filename, memory)),
    }
}

fn file_head(out: &mut Vec<u8>, filename: &str, etag: &[u8], len: u64) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    line(out, "content-length", len.to_string().as_bytes());
    line(out, "content-type", file_serving::content_type(filename).as_bytes());
    line(out, "etag", etag);
    line(out, "accept-ranges", b"bytes");
    line(out, "cache-control", file_serving::CACHE_CONTROL.as_bytes());
    end_head(out);
}
