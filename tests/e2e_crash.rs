//! Crash safety: `kill -9` of the server (and its in-process workers) at
//! random points while releases are mirrored, inspected and approved. After
//! each restart every release reaches its correct final state, no approved
//! file is lost or changes, and `airlock fsck --verify` finds the database
//! and the blob store in agreement. The seed is printed, so a failure can
//! be replayed with `AIRLOCK_CRASH_SEED`.

mod support;

use std::time::Duration;

use support::airlock::Airlock;
use support::{sha256_hex, LocalUpstream, Package, UpstreamFile};

/// A small deterministic generator (xorshift), so a seed replays a run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Releases per run: 16 in the suite; `AIRLOCK_CRASH_RELEASES=100` for the full drill.
fn releases() -> usize {
    std::env::var("AIRLOCK_CRASH_RELEASES").ok().and_then(|s| s.parse().ok()).unwrap_or(16)
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_reach_their_final_state_and_approved_files_survive_kill_9() {
    let seed = std::env::var("AIRLOCK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    eprintln!("crash test seed: {seed}");
    let mut rng = Rng(seed);
    let count = releases();
    let mut files = Vec::new();
    for i in 0..count {
        // Some weight, so kills land inside downloads and inspections too.
        let pkg = Package::new(&format!("crash-pkg-{i}"), "1.0").with_module("crash_pkg/blob.py", format!("DATA = {:?}\n", "x".repeat(200_000 + i)));
        for dist in [pkg.wheel(), pkg.sdist()] {
            files.push(UpstreamFile::new(&format!("crash-pkg-{i}"), dist));
        }
    }
    let digests: Vec<(String, String)> = files.iter().map(|f| (f.filename.clone(), sha256_hex(&f.bytes))).collect();
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    // Two files per release (wheel and sdist) to mirror and inspect across the kills.
    airlock.set_config(&[("mirror_sdists", "\"always\"")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    for i in 0..count {
        let resp = airlock.request(&auditor, &format!("crash-pkg-{i}==1.0")).await;
        assert_eq!(resp.status(), 202);
    }
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(50 + rng.below(700))).await;
        eprintln!("kill -9, round {round}");
        airlock.kill_hard();
        airlock.serve(Some(&upstream.base_url));
    }
    for i in 0..count {
        let r = airlock.wait_for(&auditor, &format!("crash-pkg-{i}"), "1.0", &["awaiting_review", "failed"]).await;
        assert_eq!(r["status"], "awaiting_review", "crash-pkg-{i} after kills (seed {seed}): {r}");
        assert_eq!(r["files"].as_array().unwrap().len(), 2, "{r}");
    }

    // Approve half, with kills between the approvals.
    for i in (0..count).step_by(2) {
        let resp = airlock.decide(&auditor, &format!("crash-pkg-{i}"), "1.0", "approve", "ok").await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        if rng.below(3) == 0 {
            airlock.kill_hard();
            airlock.serve(Some(&upstream.base_url));
        }
    }
    airlock.kill_hard();
    airlock.serve(Some(&upstream.base_url));

    // Every approved file is served with the upstream's bytes; the others are not.
    for i in 0..count {
        let name = format!("crash-pkg-{i}");
        let page = airlock.http.get(airlock.url(&format!("/simple/{name}/"))).send().await.unwrap();
        if i % 2 == 1 {
            assert_eq!(page.status(), 404, "{name} was never approved");
            continue;
        }
        assert_eq!(page.status(), 200, "{name} lost its approval (seed {seed})");
        let html = page.text().await.unwrap();
        for (filename, sha) in digests.iter().filter(|(f, _)| f.starts_with(&format!("crash_pkg_{i}-"))) {
            let url = format!("/files/{sha}/{filename}");
            assert!(html.contains(&url), "{filename} missing from {name}'s page");
            let bytes = airlock.http.get(airlock.url(&url)).send().await.unwrap().bytes().await.unwrap();
            assert_eq!(&sha256_hex(&bytes), sha, "{filename} changed (seed {seed})");
        }
    }

    airlock.kill_hard();
    let report = airlock.run_cli(&["fsck", "--verify", "--json"], None);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["bad"], serde_json::json!([]), "seed {seed}: {report}");
    assert_eq!(report["strays"], serde_json::json!([]), "seed {seed}: {report}");
    assert_eq!(report["file_rows"], count * 2, "{report}");
}
