//! The front (server/src/front) against the real binary: for every request
//! it answers itself, its answer equals the one actix-web's handlers give
//! (same status, headers and body; only `date` may differ), requests on one
//! connection are answered in order across the hand-over (pipelined too),
//! and what it answers is in the access log.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::airlock::Airlock;
use support::{sha256_hex, LocalUpstream, Package, UpstreamFile};

const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

#[derive(PartialEq)]
struct Reply {
    status: u16,
    /// Lower-case names; repeated names joined with ", ".
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = format!("{} bytes, sha256 {}", self.body.len(), sha256_hex(&self.body));
        f.debug_struct("Reply").field("status", &self.status).field("headers", &self.headers).field("body", &body).finish()
    }
}

/// Read one response off `stream`, `buf` holding what was read past the last one.
fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Reply {
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 65536];
        let n = stream.read(&mut chunk).expect("read a response head");
        assert!(n > 0, "the connection closed before a response: {:?}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').expect("a header line");
        headers.entry(name.to_ascii_lowercase()).and_modify(|v: &mut String| *v = format!("{v}, {}", value.trim())).or_insert_with(|| value.trim().to_string());
    }
    let len: usize = headers.get("content-length").map_or(0, |v| v.parse().unwrap());
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 65536];
        let n = stream.read(&mut chunk).expect("read a body");
        assert!(n > 0, "the connection closed inside a body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Reply { status, headers, body }
}

fn connect(base: &str) -> TcpStream {
    let stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

/// Send `raw` on a new connection and read `count` responses.
fn exchange(base: &str, raw: &str, count: usize) -> Vec<Reply> {
    let mut stream = connect(base);
    stream.write_all(raw.as_bytes()).unwrap();
    let mut buf = Vec::new();
    (0..count).map(|_| read_reply(&mut stream, &mut buf)).collect()
}

fn get(path: &str, headers: &[(&str, &str)]) -> String {
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: airlock\r\nUser-Agent: front-test\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw + "\r\n"
}

/// The same request answered by actix-web: after a request only it
/// answers, on the same connection.
fn by_the_handlers(base: &str, request: &str) -> Reply {
    let mut replies = exchange(base, &(get("/healthz", &[]) + request), 2);
    assert_eq!(replies[0].status, 200, "healthz");
    replies.pop().unwrap()
}

fn without_date(mut reply: Reply) -> Reply {
    assert!(reply.headers.remove("date").is_some(), "every response carries a date: {reply:?}");
    reply
}

#[tokio::test(flavor = "multi_thread")]
async fn the_front_answers_as_the_handlers_do() {
    answers_as_the_handlers_do(&[]).await;
}

/// With no memory for files, every file is sent from disk (`sendfile`).
#[tokio::test(flavor = "multi_thread")]
async fn the_front_answers_files_from_disk_as_the_handlers_do() {
    answers_as_the_handlers_do(&[("file_cache_mb", "0")]).await;
}

/// 96 KB that do not compress: the wheel is over the front's `sendfile` size.
fn incompressible() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..96 * 1024)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

async fn answers_as_the_handlers_do(config: &[(&str, &str)]) {
    let demo = Package::new("front-demo", "1.0").with_wheel_file("front_demo/table.bin", incompressible());
    let (wheel_name, wheel) = demo.wheel();
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("front-demo", (wheel_name.clone(), wheel.clone()))]);
    let mut airlock = Airlock::new();
    let access_log = airlock.data_path().join("access.log");
    let access_log_setting = format!("{:?}", access_log.display().to_string());
    airlock.set_config(&[config, &[("access_log", access_log_setting.as_str())]].concat());
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&auditor, "front-demo==1.0").await.status(), 202);
    let r = airlock.wait_for(&auditor, "front-demo", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    assert_eq!(airlock.decide(&auditor, "front-demo", "1.0", "approve", "ok").await.status(), 200);
    let base = airlock.base.clone();

    let file = format!("/files/{}/{wheel_name}", sha256_hex(&wheel));
    let page = "/simple/front-demo/";
    // The first request of each fills the caches (the handlers answer it).
    for (path, headers) in [("/simple/", vec![]), (page, vec![]), (page, vec![("Accept", PIP_ACCEPT)]), (file.as_str(), vec![])] {
        let reply = exchange(&base, &get(path, &headers), 1).pop().unwrap();
        assert_eq!(reply.status, 200, "{path}");
    }
    let etag = exchange(&base, &get(page, &[("Accept", PIP_ACCEPT)]), 1).pop().unwrap().headers["etag"].clone();
    let metadata = format!("{file}.metadata");
    assert_eq!(exchange(&base, &get(&metadata, &[]), 1).pop().unwrap().status, 200);

    let requests = [
        get("/simple/", &[]),
        get(page, &[]),
        get(page, &[("Accept", PIP_ACCEPT)]),
        get(page, &[("Accept", "application/vnd.pypi.simple.v1+html")]),
        get(page, &[("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate, br")]),
        get(page, &[("Accept", PIP_ACCEPT), ("If-None-Match", &etag)]),
        get(page, &[("Connection", "keep-alive")]),
        get(&file, &[]),
        get(&metadata, &[]),
    ];
    for request in &requests {
        let front = without_date(exchange(&base, request, 1).pop().unwrap());
        let handlers = without_date(by_the_handlers(&base, request));
        assert_eq!(front, handlers, "{request}");
        assert!(matches!(front.status, 200 | 304), "{request}: {front:?}");
    }
    assert!(wheel.len() > 64 * 1024, "{} bytes", wheel.len());
    let wheel_reply = exchange(&base, &get(&file, &[]), 1).pop().unwrap();
    assert_eq!(wheel_reply.body, wheel, "the approved bytes");

    // One write, three requests: answered in order across the hand-over,
    // and the connection stays usable after it.
    let pipelined = get(page, &[]) + &get("/healthz", &[]) + &get(&file, &[]);
    let mut stream = connect(&base);
    stream.write_all(pipelined.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let replies: Vec<Reply> = (0..3).map(|_| read_reply(&mut stream, &mut buf)).collect();
    assert!(String::from_utf8_lossy(&replies[0].body).contains(&wheel_name));
    assert_eq!(replies[1].status, 200);
    assert_eq!(replies[2].body, wheel);
    stream.write_all(get(page, &[]).as_bytes()).unwrap();
    assert_eq!(read_reply(&mut stream, &mut buf).body, replies[0].body);

    // A request that asks to close is answered, and then the server closes.
    let mut stream = connect(&base);
    stream.write_all(get(page, &[("Connection", "close")]).as_bytes()).unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_reply(&mut stream, &mut buf).status, 200);
    assert_eq!(stream.read(&mut [0u8; 16]).unwrap(), 0, "closed after Connection: close");

    // A head split across writes is still one request.
    let mut stream = connect(&base);
    let request = get(page, &[("Accept", PIP_ACCEPT)]);
    let (first, rest) = request.split_at(20);
    stream.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    stream.write_all(rest.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let reply = read_reply(&mut stream, &mut buf);
    assert_eq!(reply.headers["content-type"], "application/vnd.pypi.simple.v1+json");

    // Bytes changed on disk after they were verified are never sent: with
    // the file in memory, the verified bytes go out; without, the handler
    // refuses it.
    let sha = sha256_hex(&wheel);
    let blob = airlock.data_path().join("blobs").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    let mut tampered = wheel.clone();
    tampered[100] ^= 0xff;
    std::fs::write(&blob, &tampered).unwrap();
    let reply = exchange(&base, &get(&file, &[]), 1).pop().unwrap();
    match config.iter().any(|(k, v)| *k == "file_cache_mb" && *v == "0") {
        false => assert_eq!(reply.body, wheel, "from memory"),
        true => assert_eq!((reply.status, reply.body.is_empty() || reply.body != tampered), (404, true), "refused"),
    }
    std::fs::write(&blob, &wheel).unwrap();

    // What the front answered is in the access log, as the handlers' are.
    let deadline = Instant::now() + Duration::from_secs(10);
    let wheel_line = format!("\"GET {file} HTTP/1.1\" 200 {} ", wheel.len());
    loop {
        let log = std::fs::read_to_string(&access_log).unwrap_or_default();
        let lines = log.lines().filter(|l| l.contains(&wheel_line) && l.ends_with("\"front-test\"")).count();
        // The wheel: once to fill the cache, twice compared, once for its
        // bytes, once pipelined; every one of them logged.
        if lines >= 5 {
            assert!(log.contains(&format!("\"GET {page} HTTP/1.1\" 304 0 ")), "{log}");
            break;
        }
        assert!(Instant::now() < deadline, "{lines} wheel lines in the access log: {log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client that sends its head a byte at a time holds a connection for
/// the head's deadline (5 s), not for as long as it keeps sending.
#[test]
fn a_client_that_trickles_its_head_is_cut_off() {
    let mut airlock = Airlock::new();
    airlock.serve(None);
    let mut stream = connect(&airlock.base);
    let head = format!("GET /simple/ HTTP/1.1\r\nX-Padding: {}", "a".repeat(1000));
    let started = Instant::now();
    let mut cut_off = None;
    for byte in head.bytes() {
        if stream.write_all(&[byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let cut_off = cut_off.expect("the server kept a trickling connection for 200 s");
    assert!(cut_off < Duration::from_secs(10), "cut off after {cut_off:?}");
    // The server still answers everyone else.
    assert_eq!(exchange(&airlock.base, &get("/healthz", &[]), 1)[0].status, 200);
}
