//! What the front answers itself and what it leaves to the handlers.
//! (That its answers equal the handlers' is `tests/e2e_front.rs`'s.)

use std::sync::Arc;

use airlock_store::config::{Config, IndexAccess, Settings};
use airlock_store::domain::ProjectName;
use airlock_store::index::IndexFile;
use airlock_store::Store;
use bytes::Bytes;

use super::answer::{answer, Answered, DiskFile};
use super::Front;
use crate::access_log::AccessLog;
use crate::index_cache::CachedPage;
use crate::index_render::PageSource;
use crate::state::AppState;

const WHEEL_SHA: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const WHEEL: &str = "demo-1.0-py3-none-any.whl";

struct Setup {
    front: Front,
    _dir: tempfile::TempDir,
    wheel: Bytes,
}

/// A state whose caches hold `demo`'s page, its wheel's entry and bytes.
fn setup(access: IndexAccess) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::resolve(Settings { data_dir: Some(dir.path().to_path_buf()), ..Settings::default() }).unwrap();
    let mut state = AppState::new(Store::open(&config, 1).unwrap(), config);
    state.config.index_access = access;
    let file = IndexFile {
        release_id: 1,
        version: "1.0".into(),
        filename: WHEEL.into(),
        sha256: WHEEL_SHA.into(),
        size: 5,
        requires_python: None,
        yanked: None,
        upload_time: None,
        metadata_sha256: None,
    };
    let name = ProjectName::parse("demo").unwrap();
    let page = Arc::new(CachedPage::new(PageSource::Project(name, vec![file])));
    state.index.store_project(state.index.ticket(), "demo", page);
    let wheel = Bytes::from_static(b"PK\x03\x04 not really a wheel");
    state.files.put(WHEEL_SHA, wheel.clone());
    let access = Arc::new(AccessLog::open(&airlock_store::config::AccessLogTarget::Off).unwrap());
    Setup { front: Front { state, access }, _dir: dir, wheel }
}

/// The front's answer to `raw`: its head and body, or None (the handler's).
fn ask(s: &Setup, raw: &str) -> Option<(String, Vec<u8>)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    assert!(req.parse(raw.as_bytes()).unwrap().is_complete(), "{raw}");
    let mut out = Vec::new();
    match answer(&s.front, &req, None, &mut out)? {
        Answered::Ready(body) => Some((String::from_utf8(out).unwrap(), body.to_vec())),
        Answered::Disk(file) => panic!("{raw:?} goes to disk for {}", file.blob),
    }
}

/// The front's answer to `raw` when it is a file sent from disk; no head is
/// written before the file is open and verified.
fn ask_disk(s: &Setup, raw: &str) -> Box<DiskFile> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    assert!(req.parse(raw.as_bytes()).unwrap().is_complete(), "{raw}");
    let mut out = Vec::new();
    let Some(Answered::Disk(file)) = answer(&s.front, &req, None, &mut out) else { panic!("{raw:?} is not a disk answer") };
    assert!(out.is_empty(), "no head before the file is open and verified");
    file
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| l.split_once(": ").filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

#[test]
fn a_cached_page_is_answered_in_the_negotiated_format() {
    let s = setup(IndexAccess::Anonymous);
    let (head, body) = ask(&s, "GET /simple/demo/ HTTP/1.1\r\nHost: x\r\n\r\n").expect("answered");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(header(&head, "content-length"), Some(body.len().to_string().as_str()));
    assert_eq!(header(&head, "cache-control"), Some("no-cache"));
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    assert!(header(&head, "date").is_some_and(|d| d.ends_with(" GMT")), "{head}");
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains(WHEEL) && html.contains(WHEEL_SHA), "{html}");

    let pip = format!("GET /simple/demo/ HTTP/1.1\r\nHost: x\r\nAccept: {}\r\n\r\n", crate::negotiate::PIP_ACCEPT);
    let (head, body) = ask(&s, &pip).expect("answered");
    assert_eq!(header(&head, "content-type"), Some(crate::negotiate::JSON_V1));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["files"][0]["filename"], WHEEL);

    // The ETag it sent makes the next request a 304 with no body.
    let etag = header(&head, "etag").unwrap().to_string();
    let again = format!("GET /simple/demo/ HTTP/1.1\r\nAccept: {}\r\nIf-None-Match: {etag}\r\n\r\n", crate::negotiate::JSON_V1);
    let (head, body) = ask(&s, &again).expect("answered");
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert_eq!(header(&head, "content-length"), None);
    assert!(body.is_empty());
}

#[test]
fn a_file_in_memory_is_answered_with_its_bytes() {
    let s = setup(IndexAccess::Anonymous);
    let (head, body) = ask(&s, &format!("GET /files/{WHEEL_SHA}/{WHEEL} HTTP/1.1\r\nUser-Agent: pip/25\r\n\r\n")).expect("answered");
    assert_eq!(body, s.wheel.to_vec());
    assert_eq!(header(&head, "content-type"), Some("application/zip"));
    assert_eq!(header(&head, "etag"), Some(format!("\"{WHEEL_SHA}\"").as_str()));
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&head, "content-length"), Some(s.wheel.len().to_string().as_str()));
}

#[test]
fn a_file_not_in_memory_is_looked_for_on_disk() {
    let s = setup(IndexAccess::Anonymous);
    s.front.state.files.clear_memory();
    let file = ask_disk(&s, &format!("GET /files/{WHEEL_SHA}/{WHEEL} HTTP/1.1\r\n\r\n"));
    assert_eq!(file.blob.as_str(), WHEEL_SHA);
    // Never hashed in this identity (nor present): the handler's.
    assert!(crate::file_serving::open_verified_on_disk(&s.front.state, &airlock_store::domain::Sha256::parse(WHEEL_SHA).unwrap()).is_none());
}

#[test]
fn a_large_file_in_memory_goes_to_disk_with_its_bytes_to_fall_back_on() {
    let s = setup(IndexAccess::Anonymous);
    s.front.state.files.clear_memory();
    let large = Bytes::from(vec![7u8; 40 * 1024]);
    s.front.state.files.put(WHEEL_SHA, large.clone());
    let file = ask_disk(&s, &format!("GET /files/{WHEEL_SHA}/{WHEEL} HTTP/1.1\r\n\r\n"));
    assert_eq!(file.memory.map(|(bytes, _)| bytes), Some(large));
}

#[test]
fn everything_else_is_left_to_the_handlers() {
    let s = setup(IndexAccess::Anonymous);
    let file = format!("/files/{WHEEL_SHA}/{WHEEL}");
    for raw in [
        "HEAD /simple/demo/ HTTP/1.1\r\n\r\n".to_string(),
        "POST /simple/demo/ HTTP/1.1\r\n\r\n".into(),
        "GET /simple/demo/ HTTP/1.0\r\n\r\n".into(),
        "GET /simple/demo/?format=json HTTP/1.1\r\n\r\n".into(),
        "GET /simple/d%65mo/ HTTP/1.1\r\n\r\n".into(),
        // Not the normal name (a redirect), not cached (a miss), not a page.
        "GET /simple/Demo/ HTTP/1.1\r\n\r\n".into(),
        "GET /simple/other/ HTTP/1.1\r\n\r\n".into(),
        "GET /simple/demo HTTP/1.1\r\n\r\n".into(),
        "GET /simple/demo/x/ HTTP/1.1\r\n\r\n".into(),
        // The root page was never rendered.
        "GET /simple/ HTTP/1.1\r\n\r\n".into(),
        // Not acceptable: the handler says what is.
        "GET /simple/demo/ HTTP/1.1\r\nAccept: application/xml\r\n\r\n".into(),
        "GET /simple/demo/ HTTP/1.1\r\nAccept-Encoding: identity;q=0\r\n\r\n".into(),
        // A body, or a connection option other than keep-alive.
        "GET /simple/demo/ HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".into(),
        "GET /simple/demo/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(),
        "GET /simple/demo/ HTTP/1.1\r\nConnection: close\r\n\r\n".into(),
        "GET /simple/demo/ HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".into(),
        // Ranges and revalidation of files are the file handler's.
        format!("GET {file} HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n"),
        format!("GET {file} HTTP/1.1\r\nIf-None-Match: \"{WHEEL_SHA}\"\r\n\r\n"),
        // A metadata file the release has not, another name, another hash.
        format!("GET {file}.metadata HTTP/1.1\r\n\r\n"),
        format!("GET /files/{WHEEL_SHA}/other-1.0.tar.gz HTTP/1.1\r\n\r\n"),
        format!("GET /files/{}/{WHEEL} HTTP/1.1\r\n\r\n", "2".repeat(64)),
        format!("GET /files/{WHEEL_SHA}/ HTTP/1.1\r\n\r\n"),
        "GET /files/abc/x.whl HTTP/1.1\r\n\r\n".into(),
        // The dashboard.
        "GET / HTTP/1.1\r\n\r\n".into(),
        "GET /healthz HTTP/1.1\r\n\r\n".into(),
    ] {
        assert!(ask(&s, &raw).is_none(), "the front answered {raw:?}");
    }
    // Keep-alive spelled out is still the front's.
    assert!(ask(&s, "GET /simple/demo/ HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").is_some());
    assert!(ask(&s, "GET /simple/demo/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_some());
}

#[test]
fn a_token_index_is_answered_only_for_a_token_verified_a_moment_ago() {
    let s = setup(IndexAccess::Token);
    let page = |auth: &str| format!("GET /simple/demo/ HTTP/1.1\r\n{auth}\r\n");
    assert!(ask(&s, &page("")).is_none(), "no token: the handler's 401");
    assert!(ask(&s, &page("Authorization: Bearer airlock_new\r\n")).is_none(), "unknown: the handler asks the database");
    s.front.state.tokens.remember("airlock_good", Some("alice".into()));
    s.front.state.tokens.remember("airlock_bad", None);
    assert!(ask(&s, &page("Authorization: Bearer airlock_good\r\n")).is_some());
    assert!(ask(&s, &page("Authorization: Basic X190b2tlbl9fOmFpcmxvY2tfZ29vZA==\r\n")).is_some(), "__token__:airlock_good");
    assert!(ask(&s, &page("Authorization: Bearer airlock_bad\r\n")).is_none(), "a refused token: the handler's 401");
    s.front.state.tokens.clear();
    assert!(ask(&s, &page("Authorization: Bearer airlock_good\r\n")).is_none(), "forgotten after a revocation");
}
