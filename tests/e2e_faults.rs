//! A misbehaving upstream, on purpose: server errors, 429 with Retry-After,
//! a stall past the client's timeout and a body cut short mid-download are
//! retried with backoff until the file arrives whole; a body cut short every
//! time and a redirect loop fail the release with a reason an auditor can
//! read, as does a page whose body is not what its content type says. A
//! 429's Retry-After is honoured. Never is a file stored whose bytes are not
//! the upstream's hash.

mod support;

use std::time::Duration;

use support::airlock::Airlock;
use support::{sha256_hex, Fault, LocalUpstream, Package, UpstreamFile};

#[tokio::test(flavor = "multi_thread")]
async fn transient_upstream_faults_are_retried_and_bad_ones_fail_with_their_reason() {
    let steady = Package::new("steady", "1.0").with_module("steady/data.py", format!("X = {:?}\n", "s".repeat(50_000)));
    let broken = Package::new("broken", "1.0");
    let looping = Package::new("looping", "1.0");
    let garbled = Package::new("garbled", "1.0");
    let (steady_wheel, broken_sdist, looping_wheel) = (steady.wheel(), broken.sdist(), looping.wheel());
    let files = vec![
        UpstreamFile::new("steady", steady_wheel.clone()),
        UpstreamFile::new("broken", broken_sdist.clone()),
        UpstreamFile::new("looping", looping_wheel.clone()),
        UpstreamFile::new("garbled", garbled.wheel()),
    ];
    let upstream = LocalUpstream::start(files);
    upstream.inject("/simple/steady/", &[Fault::Status(503)]);
    let wheel_path = format!("/files/{}", steady_wheel.0);
    upstream.inject(&wheel_path, &[Fault::Status(500), Fault::TooMany(1), Fault::CutShort, Fault::Stall(Duration::from_secs(4))]);
    upstream.inject(&format!("/files/{}", broken_sdist.0), &[Fault::CutShort; 10]);
    upstream.inject(&format!("/files/{}", looping_wheel.0), &[Fault::RedirectLoop; 100]);
    upstream.inject("/simple/garbled/", &[Fault::WrongBody]);

    let mut airlock = Airlock::new();
    airlock.set_config(&[("job_max_attempts", "8"), ("upstream_timeout_secs", "2")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    for req in ["steady==1.0", "broken==1.0", "looping==1.0", "garbled==1.0"] {
        assert_eq!(airlock.request(&auditor, req).await.status(), 202);
    }

    // Five faults in a row, then the file arrives whole, with the upstream's hash.
    let r = airlock.wait_for(&auditor, "steady", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    assert_eq!(r["files"][0]["sha256"], sha256_hex(&steady_wheel.1), "{r}");
    let statuses: Vec<u16> = upstream.served().iter().filter(|s| s.path == wheel_path).map(|s| s.status).collect();
    assert_eq!(&statuses[..3], [500, 429, 200], "{statuses:?}");
    // (The stalled answer is logged when the upstream gives it, after the client gave up.)
    assert!(statuses.len() >= 4, "every fault was met by a retry: {statuses:?}");
    let log = airlock.log();
    assert!(log.contains("timed out"), "the stall was not cut by the read timeout, or the reason does not say so: {log}");
    // The 429 asked for 1 s; the backoff alone would have retried sooner.
    assert!(log.lines().any(|l| l.contains("Retry-After: 1 s") && l.contains("retry_in_ms=1000")), "Retry-After was not honoured: {log}");

    // Cut short on every attempt: failed, saying why.
    let r = airlock.wait_for(&auditor, "broken", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "failed", "{r}");
    let reason = r["error"].as_str().unwrap();
    assert!(reason.contains(&broken_sdist.0), "the reason names the file: {reason}");
    assert!(r["files"].as_array().unwrap().is_empty(), "a file cut short was recorded: {r}");

    // A redirect loop is refused, not followed for ever.
    let r = airlock.wait_for(&auditor, "looping", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["error"].as_str().unwrap().to_lowercase().contains("redirect"), "{r}");
    let hops = upstream.requests().iter().filter(|p| p.contains(&looping_wheel.0)).count();
    assert!(hops <= 8 * 6, "the loop was followed {hops} times");

    // A page that says it is JSON and is not: failed, saying so.
    let r = airlock.wait_for(&auditor, "garbled", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["error"].as_str().unwrap().contains("malformed"), "{r}");

    // Nothing half-written or wrong in the store.
    airlock.kill_hard();
    let report: serde_json::Value = serde_json::from_str(&airlock.run_cli(&["fsck", "--verify", "--json"], None)).unwrap();
    assert_eq!(report["bad"], serde_json::json!([]), "{report}");
    assert_eq!(report["file_rows"], 1, "{report}");
}
