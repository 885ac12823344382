//! Keeping the approved set current, as an auditor lives it: a watched
//! project's new upstream release is requested by the sync, reviewed
//! against the approved version it grew from, approved and installed with
//! pip; an unchanged project costs one 304; an upstream yank carries over;
//! revoking the base marks the release read against it; and a release
//! younger than the cooldown waits.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::airlock::{pip_install, Airlock};
use support::browser::{hidden_csrf, Browser};
use support::{LocalUpstream, Package, UpstreamFile};

const PAGE: &str = "/simple/watched-demo/";

fn release(version: &str, body: &str) -> UpstreamFile {
    UpstreamFile::new("watched-demo", Package::new("watched-demo", version).with_module("watched_demo/__init__.py", body).wheel())
}

/// One `airlock sync` pass over every watched project, as JSON.
fn sync(airlock: &Airlock, upstream: &LocalUpstream) -> Value {
    serde_json::from_str(&airlock.run_cli(&["sync", "--upstream", &upstream.base_url], None)).expect("sync report")
}

async fn get_json(airlock: &Airlock, token: &str, path: &str) -> Value {
    let resp = airlock.http.get(airlock.url(path)).bearer_auth(token).send().await.expect("get");
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.expect("json")
}

async fn simple_json(airlock: &Airlock) -> Value {
    let resp = airlock.http.get(airlock.url(PAGE)).header("Accept", "application/vnd.pypi.simple.v1+json").send().await.expect("index page");
    resp.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_project_brings_its_new_release_to_review_with_its_delta() {
    let upstream = LocalUpstream::start(vec![release("1.0", "VALUE = 1\n")]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("watch_sync_secs", "0")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    let viewer = airlock.user_with_token("vic", "viewer");
    airlock.serve(Some(&upstream.base_url));

    // 1.0 is read whole and approved for what ships.
    assert_eq!(airlock.request(&auditor, "watched-demo==1.0").await.status(), 202);
    airlock.wait_for(&auditor, "watched-demo", "1.0", &["awaiting_review"]).await;
    airlock.measured(&auditor, "watched-demo", "1.0").await;
    assert_eq!(airlock.decide(&auditor, "watched-demo", "1.0", "approve", "read it all").await.status(), 200);
    let one = airlock.release(&auditor, "watched-demo", "1.0").await;
    assert_eq!(one["decisions"][0]["audit_base"], "full", "{one}");
    assert_eq!(one["decisions"][0]["criteria"], "safe-to-deploy");

    // Only auditors watch; a bad specifier is refused.
    let watch =
        |token: &str, body: Value| airlock.http.post(airlock.url("/api/v1/projects/watched-demo/watch")).bearer_auth(token.to_string()).json(&body).send();
    assert_eq!(watch(&viewer, serde_json::json!({ "specifier": ">=1" })).await.unwrap().status(), 403);
    assert_eq!(watch(&auditor, serde_json::json!({ "specifier": "=>1" })).await.unwrap().status(), 400);
    let resp = watch(&auditor, serde_json::json!({ "specifier": ">=1,<2" })).await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // The first sync notes what the upstream has; nothing old is requested.
    let first = sync(&airlock, &upstream);
    assert_eq!((first["listed"].as_u64(), first["requested"].as_array().map(Vec::len)), (Some(1), Some(0)), "{first}");

    // The maintainers publish 1.1 (and 2.0, outside the specifier).
    upstream.publish(release("1.1", "VALUE = 2\n\ndef helper():\n    return VALUE\n"));
    upstream.publish(release("2.0", "VALUE = 3\n"));
    let second = sync(&airlock, &upstream);
    assert_eq!(second["requested"], serde_json::json!(["watched-demo==1.1"]), "{second}");
    let r = airlock.wait_for(&auditor, "watched-demo", "1.1", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    let r = airlock.measured(&auditor, "watched-demo", "1.1").await;
    assert_eq!((r["requested_by"].as_str(), r["audit_base"].as_str()), (Some("watch"), Some("1.0")), "queued with its delta from 1.0: {r}");
    let delta = r["audit_lines"].as_i64().unwrap();
    assert!(delta > 0, "{r}");

    // Approved as a build tool only, after reading the delta; pip installs it.
    let resp = airlock
        .http
        .post(airlock.url("/api/v1/releases/watched-demo/1.1/decision"))
        .bearer_auth(&auditor)
        .json(&serde_json::json!({ "decision": "approve", "comment": "read the delta", "criteria": "safe-to-run" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let r = airlock.release(&auditor, "watched-demo", "1.1").await;
    assert_eq!(
        (r["approval"]["audit_base"].as_str(), r["approval"]["audit_lines"].as_i64(), r["approval"]["criteria"].as_str()),
        (Some("1.0"), Some(delta), Some("safe-to-run")),
        "{r}"
    );
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&airlock.simple_url(), target.path(), &["watched-demo==1.1"]);
    assert!(run.success, "{}", run.output);

    // A wheel for another platform and the sdist appear later for 1.1: the
    // wheel is requested (served once approved), the sdist is not needed.
    let late = Package::new("watched-demo", "1.1").with_module("watched_demo/__init__.py", "VALUE = 2\n\ndef helper():\n    return VALUE\n");
    let late_wheel = late.padded_wheel("cp312-cp312-manylinux_2_17_x86_64", 1, 16);
    let late_name = late_wheel.0.clone();
    upstream.publish(UpstreamFile::new("watched-demo", late_wheel));
    upstream.publish(UpstreamFile::new("watched-demo", late.sdist()));
    let report = sync(&airlock, &upstream);
    assert_eq!(report["late_files"], serde_json::json!([late_name]), "{report}");
    let started = Instant::now();
    loop {
        let r = airlock.release(&auditor, "watched-demo", "1.1").await;
        let inspected = r["files"].as_array().unwrap().iter().all(|f| f["inspected"] == true);
        if inspected && r["awaiting_approval"] == serde_json::json!([late_name]) {
            assert!(r["not_mirrored"].as_array().unwrap().iter().any(|f| f["filename"] == late.sdist_filename()), "{r}");
            assert_eq!(r["status"], "approved", "the approved files stay served: {r}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the late wheel was not mirrored: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Nothing changed upstream: one conditional request, answered 304.
    let before = upstream.answered(PAGE, 304);
    let third = sync(&airlock, &upstream);
    assert_eq!((third["unchanged"].as_u64(), third["requested"].as_array().map(Vec::len)), (Some(1), Some(0)), "{third}");
    assert_eq!(upstream.answered(PAGE, 304), before + 1);

    // An upstream yank carries over to the index.
    upstream.yank(&Package::new("watched-demo", "1.1").wheel_filename(), "broken build");
    let fourth = sync(&airlock, &upstream);
    assert_eq!(fourth["listed"].as_u64(), Some(1), "a yank changes the page: {fourth}");
    let started = Instant::now();
    loop {
        let page = simple_json(&airlock).await;
        let yanked: Vec<Value> =
            page["files"].as_array().unwrap().iter().filter(|f| f["filename"].as_str().unwrap().contains("-1.1-")).map(|f| f["yanked"].clone()).collect();
        if yanked == [Value::String("broken build".into())] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the yank never reached the index: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The maintainers take 1.1's approved wheel down: it is marked, and stays served.
    let served_wheel = Package::new("watched-demo", "1.1").wheel_filename();
    upstream.unlist(&served_wheel);
    sync(&airlock, &upstream);
    let r = airlock.release(&auditor, "watched-demo", "1.1").await;
    let row = r["files"].as_array().unwrap().iter().find(|f| f["filename"] == served_wheel.as_str()).cloned().unwrap();
    assert!(row["upstream_removed_at"].is_i64(), "{r}");
    assert!(simple_json(&airlock).await["files"].as_array().unwrap().iter().any(|f| f["filename"] == served_wheel.as_str()), "still served");

    // 1.0 is revoked: 1.1, read against it, is marked, and stays served (flagged).
    assert_eq!(airlock.decide(&auditor, "watched-demo", "1.0", "revoke", "maintainer account compromised").await.status(), 200);
    let r = airlock.release(&auditor, "watched-demo", "1.1").await;
    assert_eq!(r["base_revoked"]["base"], "1.0", "{r}");
    assert_eq!(r["status"], "approved");
    assert_eq!(r["base_revoked"]["rereview_base"], Value::Null, "no other approved version: the whole release is the path: {r}");
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("alice", "correct horse battery").await, 303);
    let (_, page) = browser.get("/releases/watched-demo/1.1").await;
    assert!(page.contains("id=\"base-revoked\"") && page.contains("read: <span class=\"audit-read\">delta from 1.0"), "{page}");
    assert!(page.contains("no longer listed upstream since"), "{page}");
    let (_, queue) = browser.get("/queue").await;
    assert!(queue.contains("base revoked: read against 1.0"), "{queue}");
    let (_, project) = browser.get("/projects/watched-demo").await;
    assert!(project.contains("base revoked: read against 1.0") && project.contains("id=\"newest-upstream\">2.0"), "{project}");
    let state = get_json(&airlock, &viewer, "/api/v1/projects/watched-demo/watch").await;
    let row = state["releases"].as_array().unwrap().iter().find(|x| x["version"] == "1.1").cloned().unwrap();
    assert_eq!(row["base_revoked"], "1.0", "{state}");
    assert_eq!((state["watch"]["newest_upstream"].as_str(), state["newest_approved"].as_str()), (Some("2.0"), Some("1.1")), "{state}");

    // Re-reviewed whole, approved again: the mark goes.
    airlock.measured(&auditor, "watched-demo", "1.1").await;
    assert_eq!(airlock.decide(&auditor, "watched-demo", "1.1", "approve", "read it whole").await.status(), 200);
    let r = airlock.release(&auditor, "watched-demo", "1.1").await;
    assert_eq!((r["base_revoked"].clone(), r["approval"]["audit_base"].clone()), (Value::Null, Value::String("full".into())), "{r}");

    // Unwatching stops new requests; what is approved stays.
    let resp = airlock.http.delete(airlock.url("/api/v1/projects/watched-demo/watch")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    upstream.publish(release("1.2", "VALUE = 4\n"));
    assert_eq!(sync(&airlock, &upstream)["checked"].as_u64(), Some(0));
    assert!(pip_install(&airlock.simple_url(), tempfile::tempdir().unwrap().path(), &["watched-demo==1.1"]).success);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_younger_than_the_cooldown_waits() {
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("cool-demo", Package::new("cool-demo", "1.0").wheel())]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("watch_sync_secs", "0"), ("watch_cooldown_days", "3")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.run_cli(&["watch", "cool-demo", ">=1"], None);
    // The dashboard form changes the specifier.
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("alice", "correct horse battery").await, 303);
    let (_, page) = browser.get("/projects/cool-demo").await;
    let csrf = hidden_csrf(&page);
    assert_eq!(browser.post("/projects/cool-demo/watch", &[("csrf", &csrf), ("specifier", ">=1,<5"), ("backfill", "0")]).await.0, 303);
    assert_eq!(sync(&airlock, &upstream)["requested"].as_array().map(Vec::len), Some(0));

    // 1.1 was uploaded an hour ago; 1.0.1 long ago (published late to this upstream).
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    upstream.publish(UpstreamFile::new("cool-demo", Package::new("cool-demo", "1.1").wheel()).uploaded_at(&an_hour_ago));
    upstream.publish(UpstreamFile::new("cool-demo", Package::new("cool-demo", "1.0.1").wheel()).uploaded_at("2024-02-01T00:00:00Z"));
    let report = sync(&airlock, &upstream);
    assert_eq!(report["requested"], serde_json::json!(["cool-demo==1.0.1"]), "{report}");
    let resp = airlock.http.get(airlock.url("/api/v1/releases/cool-demo/1.1")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(resp.status(), 404, "1.1 is not requested inside the cooldown");
    let state = get_json(&airlock, &auditor, "/api/v1/projects/cool-demo/watch").await;
    assert_eq!(state["watch"]["cooldown_version"], "1.1", "{state}");
    let due = state["watch"]["cooldown_until"].as_i64().unwrap();
    let expected = chrono::Utc::now().timestamp_millis() + 3 * 86_400_000 - 3_600_000;
    assert!((due - expected).abs() < 120_000, "due three days after its upload: {state}");
    let (_, page) = browser.get("/projects/cool-demo").await;
    assert!(page.contains("id=\"cooldown\">1.1 is younger than the 3-day cooldown") && page.contains("&#62;=1,&#60;5"), "{page}");
    // A second pass still leaves it alone, and costs a 304.
    assert_eq!(sync(&airlock, &upstream)["unchanged"].as_u64(), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_periodic_sync_requests_a_new_release_without_anyone_asking() {
    let upstream = LocalUpstream::start(vec![release("1.0", "VALUE = 1\n")]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("watch_sync_secs", "1")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    let resp = airlock
        .http
        .post(airlock.url("/api/v1/projects/watched-demo/watch"))
        .bearer_auth(&auditor)
        .json(&serde_json::json!({ "backfill": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The backfill brings 1.0; then 1.1, once published.
    airlock.wait_for(&auditor, "watched-demo", "1.0", &["awaiting_review"]).await;
    upstream.publish(release("1.1", "VALUE = 2\n"));
    let r = airlock.wait_for(&auditor, "watched-demo", "1.1", &["awaiting_review"]).await;
    assert_eq!((&r["requested_by"], &r["request_source"]), (&serde_json::json!("watch"), &serde_json::json!("watch")), "{r}");
    // 1.2 adds a requirement: it is requested too, with the release.
    upstream.publish(UpstreamFile::new("watched-dep", Package::new("watched-dep", "1.0").wheel()));
    let needy = Package::new("watched-demo", "1.2").with_requires_dist("watched-dep>=1").with_module("watched_demo/__init__.py", "import watched_dep\n");
    upstream.publish(UpstreamFile::new("watched-demo", needy.wheel()));
    airlock.wait_for(&auditor, "watched-demo", "1.2", &["awaiting_review"]).await;
    let dep = airlock.wait_for(&auditor, "watched-dep", "1.0", &["awaiting_review"]).await;
    assert!(dep["requested_by"].is_string(), "{dep}");
    assert_eq!(dep["request_source"], "dependency", "{dep}");

    // With nothing new, the next checks are conditional and answered 304.
    let started = Instant::now();
    while upstream.answered(PAGE, 304) == 0 {
        assert!(started.elapsed() < Duration::from_secs(15), "no conditional check: {:?}", upstream.served());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_leaves_the_upstream_alone_for_the_rest_of_the_pass() {
    let files = vec![UpstreamFile::new("slow-a", Package::new("slow-a", "1.0").wheel()), UpstreamFile::new("slow-b", Package::new("slow-b", "1.0").wheel())];
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("watch_sync_secs", "0"), ("watch_concurrency", "1")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.run_cli(&["watch", "slow-a"], None);
    airlock.run_cli(&["watch", "slow-b"], None);
    for project in ["slow-a", "slow-b"] {
        upstream.inject(&format!("/simple/{project}/"), &[support::Fault::TooMany(120)]);
    }
    let before = upstream.served().len();
    let out = airlock.cli().args(["sync", "--upstream", &upstream.base_url]).output().unwrap();
    assert!(!out.status.success(), "a pass with failures exits 1");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"].as_u64(), Some(2), "{report}");
    assert_eq!(upstream.served().len() - before, 1, "after the 429 the other project is not asked: {:?}", upstream.served());
    // Both wait for the Retry-After before their next check.
    let now = chrono::Utc::now().timestamp_millis();
    for project in ["slow-a", "slow-b"] {
        let state = get_json(&airlock, &auditor, &format!("/api/v1/projects/{project}/watch")).await;
        let outcome = state["watch"]["last_outcome"].as_str().unwrap();
        assert!(outcome.contains("429") || outcome.contains("slow down"), "{state}");
        assert!(state["watch"]["next_check_at"].as_i64().unwrap() > now + 100_000, "{state}");
    }
}
