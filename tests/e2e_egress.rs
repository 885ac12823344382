//! End to end: the worker downloads only from the upstream's own origin and
//! the configured file hosts, never from an address off the Internet the
//! operator did not allow, whatever the upstream's pages or redirects say;
//! and a failure shows anonymous readers nothing of what came back.
//!
//! A second local server stands in for an internal service. It serves the
//! very bytes the upstream advertises, so a download that slipped through
//! would succeed: each refusal below is the rule's doing, and the internal
//! server's log proves it was never asked.

mod support;

use serde_json::Value;
use support::airlock::Airlock;
use support::fixtures::{sha256_hex, Package};
use support::upstream::{LocalUpstream, UpstreamFile, UpstreamOptions};

/// The wheel of `name` 1.0, and an "internal service" serving the same bytes.
fn wheel_and_internal_service(name: &str) -> ((String, Vec<u8>), LocalUpstream) {
    let wheel = Package::new(name, "1.0").wheel();
    let internal = LocalUpstream::start(vec![UpstreamFile::new(name, wheel.clone())]);
    (wheel, internal)
}

/// Request `name==1.0` and wait until it fails or awaits review.
async fn mirror(airlock: &Airlock, token: &str, name: &str) -> Value {
    airlock.request(token, &format!("{name}==1.0")).await;
    airlock.wait_for(token, name, "1.0", &["failed", "awaiting_review"]).await
}

fn error_of(release: &Value) -> String {
    release["error"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_listed_on_another_port_is_refused_and_never_requested() {
    let ((filename, bytes), internal) = wheel_and_internal_service("elsewhere");
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("elsewhere", (filename.clone(), bytes)).listed_at(&internal.file_url(&filename))]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    let release = mirror(&airlock, &token, "elsewhere").await;
    assert_eq!(release["status"], "failed", "{release}");
    let error = error_of(&release);
    assert!(error.contains("refused") && error.contains(&internal.origin) && error.contains("upstream_file_hosts"), "{error}");
    assert_eq!(internal.requests(), Vec::<String>::new(), "the internal service was asked");
    assert!(release["files"].as_array().unwrap().is_empty(), "{release}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_redirected_to_another_host_is_refused() {
    let ((filename, bytes), internal) = wheel_and_internal_service("redirected");
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("redirected", (filename.clone(), bytes)).redirected_to(&internal.file_url(&filename))]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    let release = mirror(&airlock, &token, "redirected").await;
    assert_eq!(release["status"], "failed", "{release}");
    let error = error_of(&release);
    assert!(error.contains("refused") && error.contains(&internal.origin), "{error}");
    assert!(upstream.requests().contains(&format!("/files/{filename}")), "the upstream was asked for the file first");
    assert_eq!(internal.requests(), Vec::<String>::new(), "the redirect was followed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_host_on_loopback_is_refused_unless_private_addresses_are_allowed() {
    // On 127.0.0.2: loopback, but not the upstream's host (127.0.0.1), which is exempt.
    let wheel = Package::new("loopback-files", "1.0").wheel();
    let internal = LocalUpstream::start_on("127.0.0.2", vec![UpstreamFile::new("loopback-files", wheel.clone())], UpstreamOptions::default());
    let (filename, bytes) = wheel;
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("loopback-files", (filename.clone(), bytes)).listed_at(&internal.file_url(&filename))]);
    let file_host = internal.origin.trim_start_matches("http://").to_string();

    // Configured as a file host, but on a loopback address.
    let mut strict = Airlock::new();
    strict.set_config(&[("upstream_file_hosts", &format!("[\"{file_host}\"]"))]);
    let token = strict.user_with_token("alice", "auditor");
    strict.serve(Some(&upstream.base_url));
    let release = mirror(&strict, &token, "loopback-files").await;
    assert_eq!(release["status"], "failed", "{release}");
    let error = error_of(&release);
    assert!(error.contains("loopback") && error.contains("upstream_allow_private"), "{error}");
    assert_eq!(internal.requests(), Vec::<String>::new());

    // The operator allows private addresses (flags this time): the file is mirrored.
    let mut relaxed = Airlock::new();
    let token = relaxed.user_with_token("alice", "auditor");
    relaxed.serve_with(Some(&upstream.base_url), &["--upstream-file-hosts", &file_host, "--upstream-allow-private", "true"]);
    let release = mirror(&relaxed, &token, "loopback-files").await;
    assert_eq!(release["status"], "awaiting_review", "{release}");
    assert_eq!(internal.downloads(&filename), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_host_name_resolving_to_loopback_is_refused() {
    let ((filename, bytes), internal) = wheel_and_internal_service("named-loopback");
    let port = internal.origin.rsplit(':').next().unwrap().to_string();
    let by_name = format!("http://localhost:{port}/files/{filename}");
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("named-loopback", (filename, bytes)).listed_at(&by_name)]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("upstream_file_hosts", &format!("[\"localhost:{port}\"]"))]);
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    let release = mirror(&airlock, &token, "named-loopback").await;
    assert_eq!(release["status"], "failed", "{release}");
    let error = error_of(&release);
    assert!(error.contains("localhost resolves to a loopback address"), "{error}");
    assert_eq!(internal.requests(), Vec::<String>::new(), "the name was connected to");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_mismatch_shows_anonymous_readers_no_digest_of_the_body() {
    let (filename, bytes) = Package::new("mismatched", "1.0").wheel();
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("mismatched", (filename, bytes.clone())).with_advertised_sha256(&"ab".repeat(32))]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    let release = mirror(&airlock, &token, "mismatched").await;
    assert_eq!(release["status"], "failed", "{release}");
    let body_sha = sha256_hex(&bytes);

    let anonymous = reqwest::Client::new();
    let api = anonymous.get(airlock.url("/api/v1/projects/mismatched")).send().await.unwrap();
    assert_eq!(api.status(), 200);
    let api = api.text().await.unwrap();
    assert!(api.contains("sha256 mismatch"), "the reason is still given: {api}");
    let index_404 =
        anonymous.get(airlock.url("/simple/mismatched/")).header("accept", "application/vnd.pypi.simple.v1+json").send().await.unwrap().text().await.unwrap();
    for (what, shown) in [("the API", &api), ("the index's 404", &index_404), ("the release", &release.to_string())] {
        assert!(!shown.contains(&body_sha), "{what} shows the downloaded body's sha256: {shown}");
    }
    assert!(error_of(&release).contains("does not match the upstream's published sha256"), "{release}");
    assert!(airlock.log().contains(&body_sha), "the server log keeps the detail for the operator");
}
