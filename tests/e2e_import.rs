//! Lockfiles in and out: an organization imports its hash-pinned
//! requirements file, Airlock checks the hashes against the upstream and
//! requests every release, auditors approve them, and the export of the
//! approved set installs with real pip (`--require-hashes`) and real uv
//! (`uv pip sync`, and a PEP 751 pylock.toml) into fresh environments. A
//! file whose hash the upstream does not have is refused on that line and
//! the release is never fetched; an unpinned line is refused with its
//! reason.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::airlock::{pip_command, python, uv_pip_into, Airlock, PipRun};
use support::browser::{hidden_csrf, Browser};
use support::{sha256_hex, LocalUpstream, Package, UpstreamFile};

/// `shop-app 1.0` (needs `shop-lib>=1.0`), `shop-lib 1.0` and `shop-tool
/// 2.0` on a local upstream, each as a wheel and an sdist. Returns the
/// upstream and each distribution's (filename, bytes).
fn shop_upstream() -> (LocalUpstream, Vec<(String, Vec<u8>)>) {
    let packages = [Package::new("shop-app", "1.0").with_requires_dist("shop-lib>=1.0"), Package::new("shop-lib", "1.0"), Package::new("shop-tool", "2.0")];
    let mut files = Vec::new();
    let mut dists = Vec::new();
    for p in &packages {
        for dist in [p.wheel(), p.sdist()] {
            files.push(UpstreamFile::new(&p.name, dist.clone()));
            dists.push(dist);
        }
    }
    (LocalUpstream::start(files), dists)
}

fn sha_of(dists: &[(String, Vec<u8>)], filename: &str) -> String {
    sha256_hex(&dists.iter().find(|(f, _)| f == filename).unwrap_or_else(|| panic!("no {filename}")).1)
}

async fn get_json(airlock: &Airlock, token: &str, path: &str) -> Value {
    let resp = airlock.http.get(airlock.url(path)).bearer_auth(token).send().await.expect("get");
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.expect("json")
}

/// Poll the import until no line is left to check (panics after 60 s).
async fn checked(airlock: &Airlock, token: &str, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = get_json(airlock, token, &format!("/api/v1/imports/{id}")).await;
        if report["counts"]["checking"] == 0 {
            return report;
        }
        assert!(Instant::now() < deadline, "import {id} still checking: {report}\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A new, empty virtual environment (with pip unless `without_pip`); returns its python.
fn fresh_venv(dir: &Path, without_pip: bool) -> PathBuf {
    let mut cmd = Command::new(python());
    cmd.args(["-m", "venv"]);
    if without_pip {
        cmd.arg("--without-pip");
    }
    let ok = cmd.arg(dir).status().expect("run venv").success();
    assert!(ok, "python -m venv {} failed", dir.display());
    dir.join("bin/python")
}

/// What `venv_python` imports of `module`: its `hello()`.
fn hello(venv_python: &Path, module: &str) -> String {
    let out = Command::new(venv_python).args(["-c", &format!("import {module}; print({module}.hello())")]).output().expect("run python");
    String::from_utf8_lossy(&out.stdout).trim().to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imported_lockfile_is_requested_and_its_export_installs_with_pip_and_uv() {
    let (upstream, dists) = shop_upstream();
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    let viewer = airlock.user_with_token("vera", "viewer");
    airlock.serve(Some(&upstream.base_url));

    // The organization's lockfile, as lockers write it: comments,
    // continuation lines, several hashes per pin, an included file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("requirements.txt"),
        format!(
            "# locked for production\n\
             shop-app==1.0 \\\n    --hash=sha256:{} \\\n    --hash=sha256:{}\n\
             shop-lib==1.0 --hash=sha256:{}  # via shop-app\n\
             -r tools.txt\n",
            sha_of(&dists, "shop_app-1.0-py3-none-any.whl"),
            sha_of(&dists, "shop_app-1.0.tar.gz"),
            sha_of(&dists, "shop_lib-1.0-py3-none-any.whl"),
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("tools.txt"), format!("shop-tool[cli]==2.0 --hash=sha256:{}\n", sha_of(&dists, "shop_tool-2.0-py3-none-any.whl"))).unwrap();
    let out = airlock.run_cli(&["import", dir.path().join("requirements.txt").to_str().unwrap()], None);
    let report: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let id = report["id"].as_i64().expect("import id");
    assert_eq!(report["counts"]["lines"], 3, "{report}");

    let report = checked(&airlock, &viewer, id).await;
    assert_eq!((report["counts"]["requested"].as_i64(), report["counts"]["refused"].as_i64()), (Some(3), Some(0)), "{report}");
    let tool_line = &report["lines"][2];
    assert!(tool_line["source"].as_str().unwrap().ends_with("tools.txt") && tool_line["line"] == 1, "{report}");
    assert_eq!(tool_line["extras"], serde_json::json!(["cli"]));

    for (name, version) in [("shop-app", "1.0"), ("shop-lib", "1.0"), ("shop-tool", "2.0")] {
        let r = airlock.wait_for(&auditor, name, version, &["awaiting_review", "failed"]).await;
        assert_eq!(r["status"], "awaiting_review", "{r}");
        assert_eq!(r["requested_by"], Value::Null, "the CLI requests as the system");
    }
    // One action approves the import's releases below the bulk threshold
    // (medium by default): pure wheels with nothing to report, all three.
    let resp = airlock
        .http
        .post(airlock.url(&format!("/api/v1/imports/{id}/approve")))
        .bearer_auth(&auditor)
        .json(&serde_json::json!({"comment": "reviewed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bulk: Value = resp.json().await.unwrap();
    assert_eq!(bulk["approved"].as_array().map(Vec::len), Some(3), "{bulk}");
    assert_eq!(bulk["left"].as_array().map(Vec::len), Some(0), "{bulk}");
    let report = get_json(&airlock, &viewer, &format!("/api/v1/imports/{id}")).await;
    assert_eq!((report["done"].as_bool(), report["counts"]["approved"].as_i64()), (Some(true), Some(3)), "{report}");

    // The export: every approved file's hash, pinned.
    let resp = airlock.http.get(airlock.url("/api/v1/export?format=requirements")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let exported = resp.text().await.unwrap();
    // Pure wheels serve every target, so the sdists were never mirrored.
    for (filename, _) in &dists {
        let wheel = filename.ends_with(".whl");
        assert_eq!(exported.contains(&sha_of(&dists, filename)), wheel, "{filename} in the export: {}\n{exported}", !wheel);
    }
    let cli_export = airlock.run_cli(&["export"], None);
    let pins = |text: &str| text.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(pins(&cli_export), pins(&exported), "the CLI and the API export the same pins");
    let export_file = dir.path().join("export.txt");
    std::fs::write(&export_file, &exported).unwrap();
    let index = airlock.simple_url();

    // pip, hash-checked, into a fresh venv.
    let venv = tempfile::tempdir().unwrap();
    let py = fresh_venv(venv.path(), false);
    let pip = PipRun::of(&mut pip_command(&py, &index, &["install", "--require-hashes", "-r", export_file.to_str().unwrap()]));
    assert!(pip.success, "pip install --require-hashes -r export.txt:\n{}\n{exported}", pip.output);
    assert_eq!(hello(&py, "shop_app"), "hello from shop-app");
    assert_eq!(hello(&py, "shop_lib"), "hello from shop-lib");

    // uv pip sync of the same file into another fresh venv.
    let venv = tempfile::tempdir().unwrap();
    let py = fresh_venv(venv.path(), true);
    let sync = uv_pip_into(&py, &index, &["sync", export_file.to_str().unwrap()]);
    assert!(sync.success, "uv pip sync export.txt:\n{}", sync.output);
    assert_eq!(hello(&py, "shop_tool"), "hello from shop-tool");

    // A PEP 751 export names absolute file URLs on this server, and uv installs from it.
    let resp = airlock.http.get(airlock.url("/api/v1/export?format=pylock")).bearer_auth(&viewer).send().await.unwrap();
    let pylock = resp.text().await.unwrap();
    let wheel_url = format!("{}/files/{}/shop_lib-1.0-py3-none-any.whl", airlock.base, sha_of(&dists, "shop_lib-1.0-py3-none-any.whl"));
    assert!(pylock.contains(&format!("url = \"{wheel_url}\"")), "{pylock}");
    let pylock_file = dir.path().join("pylock.toml");
    std::fs::write(&pylock_file, &pylock).unwrap();
    let venv = tempfile::tempdir().unwrap();
    let py = fresh_venv(venv.path(), true);
    let install = uv_pip_into(&py, &index, &["install", "-r", pylock_file.to_str().unwrap()]);
    assert!(install.success, "uv pip install -r pylock.toml:\n{}\n{pylock}", install.output);
    assert_eq!(hello(&py, "shop_app"), "hello from shop-app");

    // Roots export exactly what they name (and their recorded closure).
    let resp = airlock.http.get(airlock.url("/api/v1/export?roots=shop-tool==2.0")).bearer_auth(&viewer).send().await.unwrap();
    let only = resp.text().await.unwrap();
    assert_eq!(pins(&only).first().map(String::as_str), Some("shop-tool==2.0 \\"), "{only}");
    assert!(!only.contains("shop-app"), "{only}");
    let resp = airlock.http.get(airlock.url("/api/v1/export?roots=shop-tool==9.9")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_the_upstream_lacks_is_refused_on_its_line_and_the_release_is_never_fetched() {
    let (upstream, dists) = shop_upstream();
    let mut airlock = Airlock::new();
    let alice = airlock.user_with_token("alice", "viewer");
    airlock.add_user("bob", "viewer", "correct horse battery");
    airlock.serve(Some(&upstream.base_url));

    let wrong = "0".repeat(63) + "1";
    let content = format!(
        "shop-app==1.0 --hash=sha256:{wrong}\nshop-lib==1.0 --hash=sha256:{}\nshop-tool>=1.0\n-e ./local-checkout\n",
        sha_of(&dists, "shop_lib-1.0-py3-none-any.whl")
    );
    let resp = airlock
        .http
        .post(airlock.url("/api/v1/imports"))
        .bearer_auth(&alice)
        .json(&serde_json::json!({ "format": "requirements", "content": content, "resolve_unpinned": false, "with_dependencies": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let id = resp.json::<Value>().await.unwrap()["id"].as_i64().expect("import id");
    let report = checked(&airlock, &alice, id).await;
    let lines = report["lines"].as_array().unwrap();
    let state = |n: usize| (lines[n]["state"].as_str().unwrap().to_string(), lines[n]["reason"].as_str().unwrap_or("").to_string());

    assert_eq!(state(0), ("refused".into(), format!("hash sha256:{wrong} of shop-app 1.0 matches none of the upstream's files")), "{report}");
    assert_eq!(state(1).0, "requested", "{report}");
    assert_eq!(state(2).0, "refused");
    assert!(state(2).1.contains("unpinned: >=1.0"), "{}", state(2).1);
    assert_eq!(state(3).0, "refused");
    assert!(state(3).1.contains("editable"), "{}", state(3).1);
    assert_eq!((report["counts"]["requested"].as_i64(), report["counts"]["refused"].as_i64()), (Some(1), Some(3)), "{report}");
    assert_eq!(report["requested_by"], "alice");

    // Once the good line's release is through mirroring, the refused one was never fetched.
    airlock.wait_for(&alice, "shop-lib", "1.0", &["awaiting_review"]).await;
    assert_eq!(upstream.downloads("shop_app-1.0-py3-none-any.whl") + upstream.downloads("shop_app-1.0.tar.gz"), 0);
    assert_eq!(upstream.downloads("shop_lib-1.0-py3-none-any.whl"), 1);
    let resp = airlock.http.get(airlock.url("/api/v1/releases/shop-app/1.0")).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(resp.status(), 404, "the refused release must not exist");

    // The dashboard shows the same result, and records the refusal in the audit log.
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("bob", "correct horse battery").await, 303);
    let (status, page) = browser.get(&format!("/imports/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("matches none of the upstream") && page.contains(&wrong), "{page}");
    let (_, audit) = browser.get("/audit").await;
    assert!(audit.contains("import.hash_mismatch"), "{audit}");

    // The upload form: an unpinned line resolved to the newest version on request.
    let (_, form) = browser.get("/imports").await;
    let csrf = hidden_csrf(&form);
    let resp = browser
        .post_response("/imports", &[("csrf", &csrf), ("format", ""), ("source", "tools.txt"), ("content", "shop-tool>=1.0\n"), ("resolve_unpinned", "on")])
        .await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let form_id: i64 = location.strip_prefix("/imports/").expect("redirect to the import").parse().unwrap();
    let report = checked(&airlock, &alice, form_id).await;
    assert_eq!((report["lines"][0]["state"].as_str(), report["lines"][0]["version"].as_str()), (Some("requested"), Some("2.0")), "{report}");
    assert_eq!(report["source"], "tools.txt");
}
