//! The simple index as installers see it: real pip and real uv install
//! through Airlock only (with dependencies, hash-pinned, resolving from the
//! PEP 658 metadata files without downloading wheels), yanked releases are
//! skipped unless pinned, and an approval made on one server process shows
//! on another.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::airlock::{pip, pip_install, uv_pip, Airlock};
use support::{eventually, sha256_hex, LocalUpstream, Package, UpstreamFile};

/// `airlock-app 1.0` needs `airlock-lib>=1.0`; the lib has 1.0 and 1.1.
/// Returns the upstream and every distribution as (filename, bytes).
fn app_and_lib_upstream() -> (LocalUpstream, Vec<(String, Vec<u8>)>) {
    let app = Package::new("airlock-app", "1.0").with_requires_dist("airlock-lib>=1.0");
    let lib10 = Package::new("airlock-lib", "1.0");
    let lib11 = Package::new("airlock-lib", "1.1");
    let mut files = Vec::new();
    let mut dists = Vec::new();
    for (project, pkg) in [("airlock-app", &app), ("airlock-lib", &lib10), ("airlock-lib", &lib11)] {
        for dist in [pkg.wheel(), pkg.sdist()] {
            files.push(UpstreamFile::new(project, dist.clone()));
            dists.push(dist);
        }
    }
    (LocalUpstream::start(files), dists)
}

/// Request, wait for review and approve each `name==version`.
async fn approve_all(airlock: &Airlock, auditor: &str, releases: &[(&str, &str)]) {
    for (name, version) in releases {
        let resp = airlock.request(auditor, &format!("{name}=={version}")).await;
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    }
    for (name, version) in releases {
        let r = airlock.wait_for(auditor, name, version, &["awaiting_review", "failed"]).await;
        assert_eq!(r["status"], "awaiting_review", "{r}");
        let resp = airlock.decide(auditor, name, version, "approve", "reviewed").await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
}

/// The version of an installed distribution in a `--target` folder.
fn installed_version(target: &std::path::Path, dist: &str) -> Option<String> {
    let prefix = format!("{}-", dist.replace('-', "_"));
    std::fs::read_dir(target).ok()?.filter_map(Result::ok).find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.strip_suffix(".dist-info").and_then(|s| s.strip_prefix(&prefix)).map(str::to_string)
    })
}

/// Downloads of wheels (not their `.metadata`) in a server log since
/// `from`, from the access log's lines (`--access-log stderr`).
fn wheel_downloads(log: &str, from: usize) -> Vec<String> {
    log[from..].lines().filter(|l| l.contains("\"GET /files/") && l.contains(".whl HTTP/")).map(str::to_string).collect()
}

/// Wait until the server's access log has caught up with every request
/// made so far: it is written in order, so once a marker request sent now
/// shows in it, so does everything before. A wheel download that is not
/// in the log then was never made.
async fn access_log_caught_up(airlock: &Airlock) {
    let marker = format!("/healthz?caught-up={}", airlock.log().len());
    reqwest::get(airlock.url(&marker)).await.expect("marker request");
    eventually("the access log never showed the marker request", Duration::from_secs(10), || std::future::ready(airlock.log().contains(&marker))).await;
}

/// A project's PEP 691 page from `base` (a server's origin), as JSON.
async fn json_page(base: &str, project: &str) -> Value {
    let resp = reqwest::Client::new().get(format!("{base}/simple/{project}/")).header("Accept", "application/vnd.pypi.simple.v1+json").send().await.unwrap();
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pip_and_uv_install_resolve_and_pin_through_airlock_only() {
    let (upstream, dists) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    // The access log (to the same log) shows which files pip and uv fetch.
    airlock.serve_with(Some(&upstream.base_url), &["--access-log", "stderr"]);
    approve_all(&airlock, &auditor, &[("airlock-app", "1.0"), ("airlock-lib", "1.0"), ("airlock-lib", "1.1")]).await;
    let index = airlock.simple_url();

    // Dependencies come through Airlock: the newest approved lib.
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["airlock-app"]);
    assert!(run.success, "pip: {}\n{}", run.output, airlock.log());
    assert_eq!(installed_version(target.path(), "airlock-app").as_deref(), Some("1.0"));
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"), "{}", run.output);

    let target = tempfile::tempdir().unwrap();
    let run = uv_pip(&index, &["install", "airlock-app", "--target", target.path().to_str().unwrap()]);
    assert!(run.success, "uv: {}\n{}", run.output, airlock.log());
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"), "{}", run.output);

    // Resolution reads the PEP 658 metadata files, not the wheels.
    access_log_caught_up(&airlock).await;
    assert!(!wheel_downloads(&airlock.log(), 0).is_empty(), "the installs' downloads are in the access log:\n{}", airlock.log());
    let mark = airlock.log().len();
    let report = tempfile::NamedTempFile::new().unwrap();
    let run = pip(&index, &["install", "--dry-run", "--ignore-installed", "--report", report.path().to_str().unwrap(), "airlock-app"]);
    assert!(run.success, "pip --dry-run: {}", run.output);
    let report: Value = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    let resolved: Vec<String> = report["install"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}=={}", i["metadata"]["name"].as_str().unwrap(), i["metadata"]["version"].as_str().unwrap()))
        .collect();
    assert!(resolved.contains(&"airlock-lib==1.1".to_string()) && resolved.len() == 2, "{resolved:?}");
    access_log_caught_up(&airlock).await;
    let downloads = wheel_downloads(&airlock.log(), mark);
    assert!(downloads.is_empty(), "pip's resolution downloaded wheels:\n{}\n{}", downloads.join("\n"), &airlock.log()[mark..]);
    let mark = airlock.log().len();
    let inputs = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(inputs.path(), "airlock-app\n").unwrap();
    let run = uv_pip(&index, &["compile", inputs.path().to_str().unwrap(), "--quiet"]);
    assert!(run.success && run.output.contains("airlock-lib==1.1"), "uv pip compile: {}", run.output);
    access_log_caught_up(&airlock).await;
    let log = airlock.log();
    assert!(log[mark..].contains(".whl.metadata"), "uv fetched no metadata file:\n{}", &log[mark..]);
    let downloads = wheel_downloads(&log, mark);
    assert!(downloads.is_empty(), "uv's resolution downloaded wheels:\n{}", downloads.join("\n"));

    // Hash-pinned installs with Airlock's hashes (the upstream's, verified).
    let sha = |name: &str| sha256_hex(&dists.iter().find(|(f, _)| f.contains(name)).unwrap().1);
    let reqs = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        reqs.path(),
        format!("airlock-app==1.0 --hash=sha256:{}\nairlock-lib==1.1 --hash=sha256:{}\n", sha("airlock_app-1.0-py3"), sha("airlock_lib-1.1-py3")),
    )
    .unwrap();
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["--require-hashes", "-r", reqs.path().to_str().unwrap()]);
    assert!(run.success, "pip --require-hashes: {}", run.output);
    let target = tempfile::tempdir().unwrap();
    let run = uv_pip(&index, &["install", "--require-hashes", "-r", reqs.path().to_str().unwrap(), "--target", target.path().to_str().unwrap()]);
    assert!(run.success, "uv --require-hashes: {}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"));
    // A wrong pin is refused by the client: Airlock serves only the approved bytes.
    std::fs::write(reqs.path(), format!("airlock-lib==1.1 --hash=sha256:{}\n", "0".repeat(64))).unwrap();
    let run = pip_install(&index, tempfile::tempdir().unwrap().path(), &["--require-hashes", "-r", reqs.path().to_str().unwrap()]);
    assert!(!run.success && run.output.contains("HASH"), "pip accepted a wrong hash: {}", run.output);

    // An auditor yanks lib 1.1: installers skip it unless it is pinned.
    let resp = airlock
        .http
        .post(airlock.url("/api/v1/releases/airlock-lib/1.1/yank"))
        .bearer_auth(&auditor)
        .json(&serde_json::json!({ "reason": "breaks on Python 3.13" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["airlock-app"]);
    assert!(run.success, "{}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.0"), "pip took the yanked 1.1: {}", run.output);
    let target = tempfile::tempdir().unwrap();
    let run = uv_pip(&index, &["install", "airlock-app", "--target", target.path().to_str().unwrap()]);
    assert!(run.success, "{}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.0"), "uv took the yanked 1.1: {}", run.output);
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["airlock-lib==1.1"]);
    assert!(run.success, "a pinned yanked release must still install: {}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"));
    assert!(run.output.contains("breaks on Python 3.13"), "pip shows the yank reason: {}", run.output);
    let target = tempfile::tempdir().unwrap();
    let run = uv_pip(&index, &["install", "airlock-lib==1.1", "--target", target.path().to_str().unwrap()]);
    assert!(run.success, "uv refused a pinned yanked release: {}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_miss_is_explained_and_becomes_a_request() {
    let (upstream, _) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    let run = pip_install(&airlock.simple_url(), tempfile::tempdir().unwrap().path(), &["airlock-lib"]);
    assert!(!run.success, "pip installed a project nobody approved: {}", run.output);
    // The newest release was requested for review, mirrored and inspected.
    let r = airlock.wait_for(&auditor, "airlock-lib", "1.1", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    assert!(airlock.log().contains("index miss: looking up the newest release"), "{}", airlock.log());

    // The miss now says why, in JSON for API clients.
    let resp = airlock.http.get(airlock.url("/simple/airlock-lib/")).header("Accept", "application/vnd.pypi.simple.v1+json").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["state"], "pending", "{body}");
    assert!(body["error"].as_str().unwrap().contains("not approved yet"), "{body}");
    assert_eq!(body["requested"], false, "already requested: no second request");

    // Once approved, the same install works.
    let resp = airlock.decide(&auditor, "airlock-lib", "1.1", "approve", "ok").await;
    assert_eq!(resp.status(), 200);
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&airlock.simple_url(), target.path(), &["airlock-lib"]);
    assert!(run.success, "{}", run.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_token_access_the_index_needs_a_token_and_pip_sends_it() {
    let (upstream, _) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    let reader = airlock.user_with_token("ci", "viewer");
    airlock.serve_with(Some(&upstream.base_url), &["--index-access", "token"]);
    approve_all(&airlock, &auditor, &[("airlock-lib", "1.0")]).await;

    let anonymous = airlock.http.get(airlock.url("/simple/airlock-lib/")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let wrong = airlock.http.get(airlock.url("/simple/")).basic_auth("__token__", Some("nope")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let bearer = airlock.http.get(airlock.url("/simple/airlock-lib/")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(bearer.status(), 200);

    let index = airlock.simple_url().replace("http://", &format!("http://__token__:{reader}@"));
    let run = pip_install(&index, tempfile::tempdir().unwrap().path(), &["airlock-lib"]);
    assert!(run.success, "pip with a token: {}", run.output);
    let run = pip_install(&airlock.simple_url(), tempfile::tempdir().unwrap().path(), &["airlock-lib"]);
    assert!(!run.success, "pip without a token installed: {}", run.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_on_one_server_process_shows_on_another() {
    let (upstream, _) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    let other = airlock.peer(Some(&upstream.base_url), &[]);
    approve_all(&airlock, &auditor, &[("airlock-lib", "1.0")]).await;
    let resp = airlock.request(&auditor, "airlock-lib==1.1").await;
    assert_eq!(resp.status(), 202);
    airlock.wait_for(&auditor, "airlock-lib", "1.1", &["awaiting_review"]).await;

    // The other process caches the page with 1.0 only.
    let page_on_other = || async {
        let resp = reqwest::get(format!("{other}/simple/airlock-lib/?format=application/vnd.pypi.simple.v1%2Bjson")).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.unwrap()["versions"].clone()
    };
    assert_eq!(page_on_other().await, serde_json::json!(["1.0"]));
    assert_eq!(page_on_other().await, serde_json::json!(["1.0"]));

    // Approved through the first process, the second sees it promptly.
    let resp = airlock.decide(&auditor, "airlock-lib", "1.1", "approve", "ok").await;
    assert_eq!(resp.status(), 200);
    // The target is one second.
    let took = eventually("the other process still serves the old page", Duration::from_secs(10), || async {
        page_on_other().await == serde_json::json!(["1.0", "1.1"])
    })
    .await;
    eprintln!("the other process served the new page {} ms after the approval", took.as_millis());
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_an_approval_removes_the_file_from_the_next_install() {
    let (upstream, dists) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    let other = airlock.peer(Some(&upstream.base_url), &[]);
    approve_all(&airlock, &auditor, &[("airlock-lib", "1.0"), ("airlock-lib", "1.1")]).await;
    let index = airlock.simple_url();

    // Both processes serve 1.1 and its wheel before the revocation.
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["airlock-lib"]);
    assert!(run.success, "{}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"));
    let (wheel_name, _) = dists.iter().find(|(n, _)| n.starts_with("airlock_lib-1.1-") && n.ends_with(".whl")).unwrap();
    let page = reqwest::get(format!("{other}/simple/airlock-lib/")).await.unwrap().text().await.unwrap();
    assert!(page.contains(wheel_name.as_str()), "{page}");
    let wheel_url = {
        let json = json_page(&airlock.base, "airlock-lib").await;
        let file = json["files"].as_array().unwrap().iter().find(|f| f["filename"] == wheel_name.as_str()).unwrap().clone();
        file["url"].as_str().unwrap().to_string()
    };
    let absolute = |base: &str| reqwest::Url::parse(base).unwrap().join(&wheel_url).unwrap();
    assert_eq!(reqwest::get(absolute(&index)).await.unwrap().status(), 200);

    let resp = airlock.decide(&auditor, "airlock-lib", "1.1", "revoke", "a maintainer account was taken over").await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let body: Value = airlock.release(&auditor, "airlock-lib", "1.1").await;
    assert_eq!(body["status"], "revoked", "{body}");

    // The next install through this process takes 1.0; a pin on 1.1 fails.
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["airlock-lib"]);
    assert!(run.success, "{}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.0"), "{}", run.output);
    let run = pip_install(&index, tempfile::tempdir().unwrap().path(), &["airlock-lib==1.1"]);
    assert!(!run.success, "pip installed a revoked release: {}", run.output);
    let run = uv_pip(&index, &["install", "airlock-lib==1.1", "--target", tempfile::tempdir().unwrap().path().to_str().unwrap()]);
    assert!(!run.success, "uv installed a revoked release: {}", run.output);
    // A direct download of the revoked wheel is refused, on both processes.
    assert_eq!(reqwest::get(absolute(&index)).await.unwrap().status(), 404);
    eventually("the other process still serves the revoked release", Duration::from_secs(10), || async {
        let page = reqwest::get(format!("{other}/simple/airlock-lib/")).await.unwrap().text().await.unwrap();
        let file = reqwest::get(absolute(&format!("{other}/simple/"))).await.unwrap().status();
        !page.contains(wheel_name.as_str()) && file == 404
    })
    .await;
    let run = pip_install(&format!("{other}/simple/"), tempfile::tempdir().unwrap().path(), &["airlock-lib==1.1"]);
    assert!(!run.success, "pip installed a revoked release from the other process: {}", run.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_index_token_stops_working_on_every_process_at_once() {
    let mut airlock = Airlock::new();
    let reader = airlock.user_with_token("ci", "viewer");
    airlock.serve_with(None, &["--index-access", "token"]);
    let other = airlock.peer(None, &["--index-access", "token"]);
    let status = |base: String| {
        let reader = reader.clone();
        async move { reqwest::Client::new().get(format!("{base}/simple/")).basic_auth("__token__", Some(&reader)).send().await.unwrap().status() }
    };
    // Both processes have verified (and remembered) the token.
    assert_eq!(status(airlock.base.clone()).await, 200);
    assert_eq!(status(other.clone()).await, 200);

    let listed = airlock.run_cli(&["token", "list"], None);
    let id = listed.lines().find(|l| l.contains("\tci\t")).and_then(|l| l.split('\t').next()).expect("the token is listed").to_string();
    assert!(!listed.contains(&reader), "the list never shows a token: {listed}");
    airlock.run_cli(&["token", "revoke", &id], None);
    assert!(airlock.run_cli(&["token", "list"], None).contains(&format!("{id}\tci\tcli\trevoked")));

    // Far below the 30 s a verified token is otherwise remembered.
    let took = eventually("a process still accepts the revoked token", Duration::from_secs(5), || async {
        status(airlock.base.clone()).await == 401 && status(other.clone()).await == 401
    })
    .await;
    eprintln!("the revoked token was refused everywhere {} ms after the revocation", took.as_millis());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_the_upstream_yanks_after_approval_is_yanked_in_airlock_too() {
    let (upstream, dists) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve_with(Some(&upstream.base_url), &["--upstream-sync-secs", "1"]);
    approve_all(&airlock, &auditor, &[("airlock-lib", "1.0"), ("airlock-lib", "1.1")]).await;
    let index = airlock.simple_url();
    let target = tempfile::tempdir().unwrap();
    assert!(pip_install(&index, target.path(), &["airlock-lib"]).success);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.1"));

    // The maintainers yank 1.1 upstream, after Airlock approved it.
    for (filename, _) in dists.iter().filter(|(n, _)| n.starts_with("airlock_lib-1.1") || n.starts_with("airlock-lib-1.1")) {
        upstream.yank(filename, "leaks credentials");
    }
    let yanked_of = |page: &Value, version: &str| -> Vec<Value> {
        let files = page["files"].as_array().unwrap();
        files.iter().filter(|f| f["filename"].as_str().unwrap().contains(&format!("-{version}"))).map(|f| f["yanked"].clone()).collect()
    };
    eventually("the upstream yank never reached the index", Duration::from_secs(30), || async {
        yanked_of(&json_page(&airlock.base, "airlock-lib").await, "1.1").iter().all(|y| y == "leaks credentials")
    })
    .await;
    let page = json_page(&airlock.base, "airlock-lib").await;
    assert!(yanked_of(&page, "1.0").iter().all(|y| y == false), "{page}");

    // Installers now skip 1.1 unless it is pinned.
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&index, target.path(), &["airlock-lib"]);
    assert!(run.success, "{}", run.output);
    assert_eq!(installed_version(target.path(), "airlock-lib").as_deref(), Some("1.0"), "{}", run.output);
    assert!(airlock.log().contains("upstream yank state synced"), "{}", airlock.log());
}

/// Send a request that the default log records (any POST is logged at
/// INFO) and wait until its line is written; returns where that line starts
/// and ends in the log. Everything logged before the request is in the log
/// then: a positive signal instead of a pause.
async fn log_marker(airlock: &Airlock, name: &str) -> (usize, usize) {
    let needle = format!("path=/log-marker/{name}");
    reqwest::Client::new().post(airlock.url(&format!("/log-marker/{name}"))).send().await.unwrap();
    eventually(&format!("the {name} marker was logged"), Duration::from_secs(10), || std::future::ready(airlock.log().contains(&needle))).await;
    let log = airlock.log();
    let at = log.find(&needle).unwrap();
    let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = log[at..].find('\n').map_or(log.len(), |i| at + i + 1);
    (start, end)
}

/// What uv sends for a project page.
const UV_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// A busy index must not fill the disk with log lines: by default an index
/// hit or a download writes nothing (a summary line a minute counts them),
/// while what changes state (a decision) and job events still log at INFO.
/// With `--access-log PATH`, every request gets its line in that file.
#[tokio::test(flavor = "multi_thread")]
async fn by_default_index_hits_write_no_log_line_while_decisions_do() {
    let (upstream, dists) = app_and_lib_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    approve_all(&airlock, &auditor, &[("airlock-lib", "1.0")]).await;
    let log = airlock.log();
    assert!(
        log.lines().any(|l| l.contains(" INFO ") && l.contains("path=/api/v1/releases/airlock-lib/1.0/decision") && l.contains("status=200")),
        "the decision is not in the log at INFO:\n{log}"
    );
    assert!(log.lines().any(|l| l.contains(" INFO ") && l.contains("airlock_worker")), "job events are not in the log at INFO:\n{log}");

    let (wheel, _) = dists.iter().find(|(f, _)| f.starts_with("airlock_lib-1.0-") && f.ends_with(".whl")).unwrap();
    let page = json_page(&airlock.base, "airlock-lib").await;
    let url = page["files"].as_array().unwrap().iter().find(|f| f["filename"] == wheel.as_str()).unwrap()["url"].as_str().unwrap().to_string();
    let file_url = reqwest::Url::parse(&airlock.simple_url()).unwrap().join(&url).unwrap();
    let client = reqwest::Client::new();
    let hits = |base: String, file_url: reqwest::Url| {
        let client = client.clone();
        async move {
            for _ in 0..50 {
                let html = client.get(format!("{base}/simple/airlock-lib/")).send().await.unwrap();
                assert_eq!(html.status(), 200);
                let json = client.get(format!("{base}/simple/airlock-lib/")).header("Accept", UV_ACCEPT).send().await.unwrap();
                assert_eq!(json.status(), 200);
                let file = client.get(file_url.clone()).send().await.unwrap();
                assert_eq!(file.status(), 200);
                let _ = file.bytes().await.unwrap();
                let metadata = client.get(format!("{file_url}.metadata")).send().await.unwrap();
                assert_eq!(metadata.status(), 200);
            }
        }
    };
    // Between two marker lines, what the hits wrote (nothing arrives late:
    // the log is written in order, and the second marker is in it).
    let (_, mark) = log_marker(&airlock, "before").await;
    hits(airlock.base.clone(), file_url.clone()).await;
    let (end, _) = log_marker(&airlock, "after").await;
    let log = airlock.log();
    let written = &log[mark..end];
    let per_request: Vec<&str> = written.lines().filter(|l| l.contains("/simple/") || l.contains("/files/")).collect();
    assert!(per_request.is_empty(), "200 index hits wrote per-request lines:\n{}", per_request.join("\n"));
    assert!(written.lines().count() <= 3, "200 index hits wrote lines:\n{written}");

    // The access log, on request: one line per hit, in its own file.
    let access = airlock.data_path().join("access.log");
    let peer = airlock.peer(Some(&upstream.base_url), &["--access-log", access.to_str().unwrap()]);
    let peer_file = reqwest::Url::parse(&format!("{peer}{}", file_url.path())).unwrap();
    hits(peer.clone(), peer_file).await;
    let lines = || std::fs::read_to_string(&access).unwrap_or_default().lines().filter(|l| l.contains("\"GET /simple/") || l.contains("\"GET /files/")).count();
    eventually("the access log got every line", Duration::from_secs(10), || std::future::ready(lines() == 200)).await;
    let text = std::fs::read_to_string(&access).unwrap();
    assert!(text.lines().any(|l| l.contains("\"GET /simple/airlock-lib/ HTTP/1.1\" 200 ")), "{text}");
    assert!(text.contains(&format!("{}.metadata HTTP/1.1\" 200 ", file_url.path())), "{text}");
}
