//! Whole dependency sets: one request with its dependencies brings in
//! exactly the closure the targets need (markers per target, requested
//! extras, Requires-Python, yanked and pre-releases passed over, a build
//! requirement of an sdist-only member, a cycle), the release page and the
//! API show it with an installable mark only once every member is approved,
//! conflicts and impossible ranges are reported, and after the set is
//! approved real pip and uv install the root through Airlock alone.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::airlock::{pip_install, uv_pip, Airlock};
use support::browser::Browser;
use support::{LocalUpstream, Package, UpstreamFile};

/// A PEP 517 build backend small enough to ship in a test: it zips the
/// sdist's package folder and PKG-INFO into a `py3-none-any` wheel.
const TINYBUILD: &str = r#"
import base64, hashlib, os, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    meta = open("PKG-INFO", encoding="utf-8").read()
    fields = dict(line.split(": ", 1) for line in meta.splitlines() if ": " in line)
    dist = fields["Name"].replace("-", "_")
    info = dist + "-" + fields["Version"] + ".dist-info"
    name = dist + "-" + fields["Version"] + "-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        def add(path, data):
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(path + ",sha256=" + digest + "," + str(len(data)))
        for root, _, files in os.walk(dist):
            for f in sorted(files):
                p = os.path.join(root, f)
                add(p.replace(os.sep, "/"), open(p, "rb").read())
        add(info + "/METADATA", meta.encode())
        add(info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: tinybuild\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        records.append(info + "/RECORD,,")
        z.writestr(info + "/RECORD", "\n".join(records) + "\n")
    return name
"#;

fn both(pkg: &Package) -> Vec<UpstreamFile> {
    vec![UpstreamFile::new(&pkg.name, pkg.wheel()), UpstreamFile::new(&pkg.name, pkg.sdist())]
}

/// The test's upstream: the `app` tree, the `clash` tree, and projects no
/// closure may touch.
fn upstream() -> LocalUpstream {
    let mut files = Vec::new();
    let app = Package::new("app", "1.0")
        .with_requires_dist("web-core>=2")
        .with_requires_dist("db-layer[postgres]>=1")
        .with_requires_dist("win-console; sys_platform == \"win32\"")
        .with_requires_dist("old-compat; python_version < \"3.11\"")
        .with_requires_dist("built-thing")
        .with_requires_dist("cyc-a")
        .with_requires_dist("typing-shim")
        .with_requires_dist("fastpath; platform_system == \"Linux\"")
        .with_requires_dist("cli-tool>=1; python_version >= \"3.10\"")
        .with_requires_dist("sphinx-thing; extra == \"docs\"");
    files.extend(both(&app));
    // web-core: 2.1 is the newest final, unyanked release in range.
    files.extend(both(&Package::new("web-core", "1.0")));
    files.extend(both(&Package::new("web-core", "2.1").with_requires_dist("shared-util>=1.2").with_requires_dist("templating>=1")));
    let yanked = Package::new("web-core", "2.2");
    files.push(UpstreamFile::new("web-core", yanked.wheel()).yanked("broken"));
    files.extend(both(&Package::new("web-core", "3.0a1")));
    for v in ["1.0", "1.5"] {
        files.extend(both(&Package::new("shared-util", v)));
    }
    files.extend(both(&Package::new("templating", "1.0").with_requires_dist("markup-esc>=2")));
    files.extend(both(&Package::new("markup-esc", "2.0")));
    files.extend(both(
        &Package::new("db-layer", "1.4")
            .with_requires_dist("shared-util>=1.0,<3")
            .with_requires_dist("pg-driver>=3; extra == \"postgres\"")
            .with_requires_dist("sqlite-helper; extra == \"sqlite\""),
    ));
    files.extend(both(&Package::new("pg-driver", "2.0")));
    files.extend(both(&Package::new("pg-driver", "3.2")));
    files.extend(both(&Package::new("sqlite-helper", "1.0")));
    files.extend(both(&Package::new("win-console", "1.0").with_requires_dist("win-colors")));
    files.extend(both(&Package::new("win-colors", "0.4")));
    files.extend(both(&Package::new("old-compat", "1.1")));
    // An sdist-only member, built by a backend that is itself a dependency.
    let built = Package::new("built-thing", "0.3").with_build_system(&["tinybuild>=1"], "tinybuild");
    files.push(UpstreamFile::new("built-thing", built.sdist()));
    files.extend(both(&Package::new("tinybuild", "1.0").with_module("tinybuild/__init__.py", TINYBUILD)));
    files.extend(both(&Package::new("cyc-a", "1.0").with_requires_dist("cyc-b")));
    files.extend(both(&Package::new("cyc-b", "1.0").with_requires_dist("cyc-a")));
    // 5.0 leaves CPython 3.10 out, so 4.0 is the one every target can use.
    files.extend(both(&Package::new("typing-shim", "4.0")));
    let shim5 = Package::new("typing-shim", "5.0");
    for f in both(&shim5) {
        files.push(f.with_requires_python(">=3.12"));
    }
    // Linux only, and only as an abi3 manylinux wheel.
    files.push(UpstreamFile::new("fastpath", Package::new("fastpath", "1.0").padded_wheel("cp38-abi3-manylinux_2_17_x86_64", 0, 0)));
    files.extend(both(&Package::new("cli-tool", "1.2").with_requires_dist("colorize; sys_platform == \"win32\"")));
    files.extend(both(&Package::new("colorize", "1.0")));
    files.extend(both(&Package::new("sphinx-thing", "1.0")));

    // clash: two members want lib-c on opposite sides of 2, and one wants
    // a version that does not exist.
    files.extend(both(&Package::new("clash", "1.0").with_requires_dist("conflict-x").with_requires_dist("conflict-y").with_requires_dist("ghost>=5")));
    files.extend(both(&Package::new("conflict-x", "1.0").with_requires_dist("lib-c>=2")));
    files.extend(both(&Package::new("conflict-y", "1.0").with_requires_dist("lib-c<2")));
    files.extend(both(&Package::new("lib-c", "1.0")));
    files.extend(both(&Package::new("lib-c", "2.0")));
    files.extend(both(&Package::new("ghost", "1.0")));
    LocalUpstream::start(files)
}

/// A page as a signed-in viewer sees it.
async fn page_html(airlock: &Airlock, path: &str) -> String {
    let mut browser = Browser::new(&airlock.url(""));
    assert_eq!(browser.login("reader", "reader-password-1").await, 303);
    let (status, body) = browser.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn request_with_deps(airlock: &Airlock, token: &str, requirement: &str) {
    let resp = reqwest::Client::new()
        .post(airlock.url("/api/v1/requests"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "requirement": requirement, "with_dependencies": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap_or_default());
}

/// Poll the root until its closure is read whole and every member has left
/// mirroring and inspection (panics after 120 s).
async fn wait_for_closure(airlock: &Airlock, token: &str, name: &str, version: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = airlock.release(token, name, version).await;
        let c = &r["closure"];
        let members = c["members"].as_array().cloned().unwrap_or_default();
        let settled = members.iter().all(|m| matches!(m["status"].as_str(), Some("awaiting_review" | "approved" | "failed" | "rejected")));
        if c["unresolved"] == 0 && settled && !members.is_empty() {
            return r;
        }
        assert!(Instant::now() < deadline, "the closure of {name} {version} did not settle: {c:#}\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn members(closure: &Value) -> BTreeMap<String, (String, Vec<String>)> {
    closure["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            let on = m["needed_on"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
            (m["project"].as_str().unwrap().to_string(), (m["version"].as_str().unwrap().to_string(), on))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_with_its_dependencies_brings_exactly_its_closure_and_installs_once_approved() {
    let upstream = upstream();
    let mut airlock = Airlock::new();
    airlock.serve(Some(&upstream.base_url));
    let auditor = airlock.user_with_token("ada", "auditor");
    // Signs in to read pages; an auditor, who sees the approve dialog.
    airlock.add_user("reader", "auditor", "reader-password-1");

    request_with_deps(&airlock, &auditor, "app==1.0").await;
    let root = wait_for_closure(&airlock, &auditor, "app", "1.0").await;
    let closure = &root["closure"];
    let got = members(closure);
    let expected: BTreeMap<&str, &str> = [
        ("app", "1.0"),
        ("web-core", "2.1"),
        ("shared-util", "1.5"),
        ("templating", "1.0"),
        ("markup-esc", "2.0"),
        ("db-layer", "1.4"),
        ("pg-driver", "3.2"),
        ("win-console", "1.0"),
        ("win-colors", "0.4"),
        ("old-compat", "1.1"),
        ("built-thing", "0.3"),
        ("tinybuild", "1.0"),
        ("cyc-a", "1.0"),
        ("cyc-b", "1.0"),
        ("typing-shim", "4.0"),
        ("fastpath", "1.0"),
        ("cli-tool", "1.2"),
        ("colorize", "1.0"),
    ]
    .into_iter()
    .collect();
    let got_versions: BTreeMap<&str, &str> = got.iter().map(|(k, (v, _))| (k.as_str(), v.as_str())).collect();
    assert_eq!(got_versions, expected, "{closure:#}");
    assert_eq!(closure["complete"], true, "{closure:#}");
    assert_eq!(closure["installable"], false, "nothing is approved yet");
    assert!(closure["conflicts"].as_array().unwrap().is_empty(), "{closure:#}");
    assert!(closure["cycles"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().contains("cyc-a 1.0 → cyc-b 1.0 → cyc-a 1.0")), "{closure:#}");

    // Each member is needed where its markers say.
    let windows = ["cp310-windows_amd64", "cp311-windows_amd64", "cp312-windows_amd64", "cp313-windows_amd64"];
    assert_eq!(got["win-console"].1, windows);
    assert_eq!(got["win-colors"].1, windows);
    assert_eq!(got["colorize"].1, windows);
    assert_eq!(got["old-compat"].1, ["cp310-linux_x86_64", "cp310-macos_arm64", "cp310-windows_amd64"]);
    assert_eq!(got["fastpath"].1, ["cp310-linux_x86_64", "cp311-linux_x86_64", "cp312-linux_x86_64", "cp313-linux_x86_64"]);
    assert_eq!(got["web-core"].1.len(), 12);
    let tree = closure["tree"].as_array().unwrap();
    assert!(tree.iter().any(|l| l["requirement"] == "tinybuild>=1" && l["kind"] == "build"), "the sdist-only member's build requirement joins: {closure:#}");

    // Nothing outside the closure was fetched: not the extra nobody asked
    // for, not the other extra's requirement, not the versions passed over.
    for never in [
        "sphinx_thing-1.0-py3-none-any.whl",
        "sqlite_helper-1.0-py3-none-any.whl",
        "web_core-2.2-py3-none-any.whl",
        "web_core-3.0a1-py3-none-any.whl",
        "typing_shim-5.0-py3-none-any.whl",
        "lib_c-1.0-py3-none-any.whl",
    ] {
        assert_eq!(upstream.downloads(never), 0, "{never} was downloaded");
    }

    // The page warns before an approval that leaves the set uninstallable.
    let page = page_html(&airlock, "/releases/app/1.0").await;
    assert!(page.contains("id=\"closure-tree\"") && page.contains("Not installable after this approval"), "{page}");
    assert!(!page.contains("id=\"installable\""));

    // Bulk approval takes the members below the threshold; the rest, one by one.
    let resp = reqwest::Client::new()
        .post(airlock.url("/api/v1/releases/app/1.0/set/approve"))
        .bearer_auth(&auditor)
        .json(&serde_json::json!({ "comment": "the set, reviewed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bulk: Value = resp.json().await.unwrap();
    assert!(!bulk["approved"].as_array().unwrap().is_empty(), "{bulk}");
    for left in bulk["left"].as_array().unwrap() {
        let (name, version) = left["release"].as_str().unwrap().split_once(' ').unwrap();
        let resp = airlock.decide(&auditor, name, version, "approve", "read it").await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    }
    let root = airlock.release(&auditor, "app", "1.0").await;
    assert_eq!(root["closure"]["installable"], true, "{:#}", root["closure"]);
    let page = page_html(&airlock, "/releases/app/1.0").await;
    assert!(page.contains("id=\"installable\""));

    // Real clients install the root through Airlock alone, building the
    // sdist-only member with the approved build backend.
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&airlock.simple_url(), target.path(), &["app==1.0"]);
    assert!(run.success, "pip: {}", run.output);
    for module in ["app", "web_core", "db_layer", "pg_driver", "built_thing", "cyc_a", "fastpath", "templating"] {
        assert!(target.path().join(module).join("__init__.py").exists(), "{module} not installed: {}", run.output);
    }
    assert!(!target.path().join("win_console").exists(), "a Windows-only dependency installed on Linux");
    let target = tempfile::tempdir().unwrap();
    let run = uv_pip(&airlock.simple_url(), &["install", "app==1.0", "--target", target.path().to_str().unwrap()]);
    assert!(run.success, "uv: {}", run.output);
    assert!(target.path().join("built_thing").join("__init__.py").exists(), "{}", run.output);

    // The closure's export pins every member with its hashes, and marks the
    // members needed on some targets only; pip installs it hash-checked.
    let export = reqwest::Client::new()
        .get(airlock.url("/api/v1/export?format=requirements&roots=app==1.0"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line_of = |name: &str| export.lines().find(|l| l.starts_with(&format!("{name}=="))).unwrap_or_else(|| panic!("{name} missing: {export}")).to_string();
    assert!(line_of("win-console").contains("sys_platform == \"win32\""), "{export}");
    assert!(line_of("old-compat").contains("python_version == \"3.10\""), "{export}");
    assert!(!line_of("web-core").contains(';'), "needed everywhere, no marker: {export}");
    assert_eq!(export.lines().filter(|l| l.contains("==") && !l.starts_with('#')).count(), 18, "{export}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &export).unwrap();
    let target = tempfile::tempdir().unwrap();
    let run = pip_install(&airlock.simple_url(), target.path(), &["--require-hashes", "-r", file.path().to_str().unwrap()]);
    assert!(run.success, "pip --require-hashes: {}\n{export}", run.output);
    assert!(target.path().join("templating").join("__init__.py").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_and_impossible_ranges_are_reported_never_silent() {
    let upstream = upstream();
    let mut airlock = Airlock::new();
    airlock.serve(Some(&upstream.base_url));
    let token = airlock.user_with_token("vic", "viewer");
    airlock.add_user("reader", "viewer", "reader-password-1");

    request_with_deps(&airlock, &token, "clash==1.0").await;
    let root = wait_for_closure(&airlock, &token, "clash", "1.0").await;
    let closure = &root["closure"];
    assert_eq!(closure["installable"], false);
    assert_eq!(closure["complete"], false, "a requirement got nothing: {closure:#}");
    let conflicts: Vec<&str> = closure["conflicts"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(conflicts.len(), 1, "{closure:#}");
    assert!(
        conflicts[0].starts_with("lib-c: no one version satisfies every requirement") && conflicts[0].contains("lib-c>=2") && conflicts[0].contains("lib-c<2"),
        "{}",
        conflicts[0]
    );
    let gaps: Vec<&str> = closure["gaps"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(gaps.iter().any(|g| g.contains("ghost>=5") && g.contains("no version of ghost satisfies `>=5` (the upstream's newest is 1.0)")), "{gaps:?}");
    assert_eq!(upstream.downloads("ghost-1.0-py3-none-any.whl"), 0);
    let page = page_html(&airlock, "/releases/clash/1.0").await;
    assert!(page.contains("id=\"closure-conflicts\"") && page.contains("no version of ghost satisfies"), "{page}");
}
