//! Only the files an organization can install (issue #11, item 5): the
//! mirror job downloads the wheels that fit a target and the sdist where a
//! target has no wheel; the rest is listed as not mirrored, with sizes and
//! reasons, and can be added on request. An added file is mirrored and
//! inspected but served only once an auditor approves it, while the files
//! approved before it go on being served.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::airlock::Airlock;
use support::browser::{hidden_csrf, Browser};
use support::{LocalUpstream, Package, UpstreamFile};

const PROJECT: &str = "tgt-demo";
const FITS: &str = "tgt_demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl";
const MUSL: &str = "tgt_demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl";
const WIN32: &str = "tgt_demo-1.0-cp312-cp312-win32.whl";
const PYPY: &str = "tgt_demo-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl";
const SDIST: &str = "tgt_demo-1.0.tar.gz";

/// `tgt-demo 1.0`: an sdist and a wheel per tag. Each wheel carries a
/// different number of pad files, so no two share a hash.
fn multi_platform_upstream() -> LocalUpstream {
    let pkg = Package::new(PROJECT, "1.0");
    let mut files = vec![UpstreamFile::new(PROJECT, pkg.sdist())];
    for (i, tag) in ["cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-win32", "pp310-pypy310_pp73-manylinux_2_17_x86_64"]
        .iter()
        .enumerate()
    {
        files.push(UpstreamFile::new(PROJECT, pkg.padded_wheel(tag, i + 1, 64)));
    }
    // A project whose only wheel fits no target, and no sdist.
    let musl_only = Package::new("tgt-musl", "1.0");
    files.push(UpstreamFile::new("tgt-musl", musl_only.padded_wheel("cp312-cp312-musllinux_1_2_x86_64", 1, 64)));
    LocalUpstream::start(files)
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list.as_array().expect("a list").iter().map(|f| f["filename"].as_str().expect("filename").to_string()).collect();
    v.sort();
    v
}

/// File names the simple index serves for `project` (PEP 691).
async fn served(airlock: &Airlock, project: &str) -> Vec<String> {
    let resp =
        airlock.http.get(airlock.url(&format!("/simple/{project}/"))).header("Accept", "application/vnd.pypi.simple.v1+json").send().await.expect("index");
    if resp.status() == 404 {
        return Vec::new();
    }
    let page: Value = resp.json().await.expect("json");
    names(&page["files"])
}

/// Poll the release until `check` holds (panics after 60 s).
async fn wait_until(airlock: &Airlock, token: &str, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = airlock.release(token, name, "1.0").await;
        if check(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "{what}: {r}\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn add_by_api(airlock: &Airlock, token: &str, name: &str, filename: &str) -> reqwest::Response {
    airlock
        .http
        .post(airlock.url(&format!("/api/v1/releases/{name}/1.0/files")))
        .bearer_auth(token)
        .json(&serde_json::json!({ "filename": filename }))
        .send()
        .await
        .expect("add file")
}

#[tokio::test(flavor = "multi_thread")]
async fn only_fitting_files_are_mirrored_and_an_added_file_waits_for_its_own_approval() {
    let upstream = multi_platform_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("audrey", "auditor");
    let viewer = airlock.user_with_token("vera", "viewer");
    airlock.serve(Some(&upstream.base_url));

    // Default targets: CPython 3.10-3.13 on linux_x86_64, macos_arm64, windows_amd64.
    assert_eq!(airlock.request(&viewer, "tgt-demo==1.0").await.status(), 202);
    let r = airlock.wait_for(&auditor, PROJECT, "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    // Only cp312 on glibc x86_64 has a wheel: every other target builds from the sdist.
    assert_eq!(names(&r["files"]), [FITS, SDIST]);
    for (file, downloads) in [(FITS, 1), (SDIST, 1), (MUSL, 0), (WIN32, 0), (PYPY, 0)] {
        assert_eq!(upstream.downloads(file), downloads, "{file} downloaded {} times", upstream.downloads(file));
    }
    assert_eq!(names(&r["not_mirrored"]), sorted(&[MUSL, WIN32, PYPY]));
    for f in r["not_mirrored"].as_array().unwrap() {
        assert!(f["reason"].as_str().unwrap().starts_with("fits none of the targets: "), "{f}");
        assert!(f["size"].as_i64().unwrap() > 0, "{f}");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64, "{f}");
    }
    assert!(r["target_gap"].is_null(), "the sdist covers every target without a wheel: {r}");

    // The release page lists them as not mirrored, with a button each.
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("vera", "correct horse battery").await, 303);
    let (status, page) = browser.get("/releases/tgt-demo/1.0").await;
    assert_eq!(status, 200);
    assert!(page.contains("Not mirrored (3"), "{page}");
    assert!(page.contains(MUSL) && page.contains("Mirror and review it"), "{page}");

    assert_eq!(airlock.decide(&auditor, PROJECT, "1.0", "approve", "read it").await.status(), 200);
    assert_eq!(served(&airlock, PROJECT).await, [FITS, SDIST]);

    // A viewer asks for the musl wheel from the page (CSRF-checked form).
    let csrf = hidden_csrf(&page);
    assert_eq!(browser.post("/releases/tgt-demo/1.0/files", &[("filename", MUSL), ("csrf", "")]).await.0, 403);
    assert_eq!(browser.post("/releases/tgt-demo/1.0/files", &[("filename", MUSL), ("csrf", &csrf)]).await.0, 303);
    let r = wait_until(&airlock, &auditor, PROJECT, "the musl wheel is mirrored and inspected", |r| {
        r["files"].as_array().unwrap().iter().any(|f| f["filename"] == MUSL && f["inspected"] == true)
    })
    .await;
    assert_eq!(upstream.downloads(MUSL), 1);
    assert_eq!(r["status"], "approved", "the release stays approved: {r}");
    assert_eq!(r["awaiting_approval"], serde_json::json!([MUSL]));
    assert_eq!(names(&r["not_mirrored"]), sorted(&[PYPY, WIN32]));

    // Inspected is not approved: the index serves what was approved, and only that.
    assert_eq!(served(&airlock, PROJECT).await, [FITS, SDIST]);
    let musl_sha = r["files"].as_array().unwrap().iter().find(|f| f["filename"] == MUSL).unwrap()["sha256"].as_str().unwrap().to_string();
    let direct = airlock.http.get(airlock.url(&format!("/files/{musl_sha}/{MUSL}"))).send().await.unwrap();
    assert_eq!(direct.status(), 404, "the added file is not downloadable before its approval");
    let (_, page) = browser.get("/releases/tgt-demo/1.0").await;
    assert!(page.contains("Added after the approval and not served until an auditor approves them"), "{page}");
    let (_, queue) = browser.get("/queue").await;
    assert!(queue.contains("/releases/tgt-demo/1.0") && queue.contains("files added, awaiting approval"), "back in the review queue: {queue}");
    let (_, audit) = browser.get("/audit").await;
    assert!(audit.contains("<code>file.add_request</code>") && audit.contains("<code>file.add</code>"), "{audit}");

    // The auditor approves the release again: now the added wheel is served too.
    assert_eq!(airlock.decide(&auditor, PROJECT, "1.0", "approve", "musl wheel read").await.status(), 200);
    assert_eq!(served(&airlock, PROJECT).await, sorted(&[MUSL, FITS, SDIST]));

    // The API does the same for the win32 wheel; a file that was never left out is refused.
    assert_eq!(add_by_api(&airlock, &viewer, PROJECT, WIN32).await.status(), 202);
    assert_eq!(add_by_api(&airlock, &viewer, PROJECT, "tgt_demo-1.0-cp312-cp312-beos.whl").await.status(), 404);
    assert_eq!(add_by_api(&airlock, &viewer, PROJECT, FITS).await.status(), 409, "already mirrored");
    wait_until(&airlock, &auditor, PROJECT, "the win32 wheel is inspected", |r| r["awaiting_approval"] == serde_json::json!([WIN32])).await;
    assert_eq!(served(&airlock, PROJECT).await.len(), 3, "still only what was approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn narrower_targets_choose_fewer_files_and_a_release_nothing_fits_fails_clearly() {
    let upstream = multi_platform_upstream();
    let mut airlock = Airlock::new();
    airlock.set_config(&[("target_pythons", "[\"3.12\"]"), ("target_platforms", "[\"linux_x86_64\"]")]);
    let auditor = airlock.user_with_token("audrey", "auditor");
    airlock.serve(Some(&upstream.base_url));

    // One target, and a wheel fits it: no sdist.
    assert_eq!(airlock.request(&auditor, "tgt-demo==1.0").await.status(), 202);
    let r = airlock.wait_for(&auditor, PROJECT, "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(names(&r["files"]), [FITS]);
    assert_eq!(upstream.downloads(SDIST), 0);
    let sdist = r["not_mirrored"].as_array().unwrap().iter().find(|f| f["filename"] == SDIST).cloned().unwrap();
    assert!(sdist["reason"].as_str().unwrap().starts_with("not needed: a wheel fits every target"), "{sdist}");

    // Nothing fits and there is no sdist: the release fails, naming the targets.
    assert_eq!(airlock.request(&auditor, "tgt-musl==1.0").await.status(), 202);
    let r = airlock.wait_for(&auditor, "tgt-musl", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "failed", "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(error.contains("none of its 1 wheel fits the targets (CPython 3.12 on linux_x86_64) and it has no sdist"), "{error}");
    assert_eq!(r["target_gap"], "no wheel fits cp312-linux_x86_64 and the release has no sdist to build from there");
    assert_eq!(r["not_mirrored"].as_array().unwrap().len(), 1);
    // Asking for its wheel anyway mirrors and inspects it for review.
    assert_eq!(add_by_api(&airlock, &auditor, "tgt-musl", "tgt_musl-1.0-cp312-cp312-musllinux_1_2_x86_64.whl").await.status(), 202);
    let r = airlock.wait_for(&auditor, "tgt-musl", "1.0", &["awaiting_review"]).await;
    assert_eq!(r["files"].as_array().unwrap().len(), 1);

    // mirror_sdists = "always" keeps the sdist even where a wheel fits.
    let mut always = Airlock::new();
    always.set_config(&[("target_pythons", "[\"3.12\"]"), ("target_platforms", "[\"linux_x86_64\"]"), ("mirror_sdists", "\"always\"")]);
    let token = always.user_with_token("audrey", "auditor");
    always.serve(Some(&upstream.base_url));
    assert_eq!(always.request(&token, "tgt-demo==1.0").await.status(), 202);
    let r = always.wait_for(&token, PROJECT, "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(names(&r["files"]), [FITS, SDIST]);
}

/// File names, sorted.
fn sorted(files: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}
