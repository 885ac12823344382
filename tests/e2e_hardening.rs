//! The gate against hostile clients, end to end on the real binary: sign-in
//! throttling per account with `Retry-After` and an audited lockout, and
//! index misses that cannot be turned into an amplifier (one upstream
//! lookup per project, "not on the upstream" remembered, a per-client
//! limit, a byte cap on what a miss may mirror, and a truthful answer).

mod support;

use serde_json::Value;
use support::airlock::Airlock;
use support::browser::{hidden_csrf, Browser};
use support::{LocalUpstream, Package, UpstreamFile};

fn lib_upstream() -> LocalUpstream {
    let lib = Package::new("airlock-lib", "1.0");
    LocalUpstream::start(vec![UpstreamFile::new("airlock-lib", lib.wheel()), UpstreamFile::new("airlock-lib", lib.sdist())])
}

async fn miss(airlock: &Airlock, project: &str) -> Value {
    let resp = airlock.http.get(airlock.url(&format!("/simple/{project}/"))).header("Accept", "application/vnd.pypi.simple.v1+json").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_is_locked_after_repeated_failures_even_for_the_right_password() {
    let mut airlock = Airlock::new();
    airlock.set_config(&[("login_max_failures", "3"), ("login_window_secs", "600")]);
    airlock.add_user("alice", "auditor", "correct horse battery");
    airlock.add_user("root", "admin", "correct horse battery");
    airlock.serve(None);
    let mut attacker = Browser::new(&airlock.base);
    for _ in 0..3 {
        assert_eq!(attacker.login("alice", "wrong password").await, 401);
    }
    // Locked: the right password is refused too, with when to come back.
    let (_, page) = attacker.get("/login").await;
    let csrf = hidden_csrf(&page);
    let resp = attacker.post_response("/login", &[("name", "alice"), ("password", "correct horse battery"), ("csrf", &csrf)]).await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!((500..=600).contains(&retry), "{retry}");
    assert!(resp.text().await.unwrap().contains("Too many failed sign-ins"));

    // Another account is not affected, and the lockout is in the audit log.
    let mut admin = Browser::new(&airlock.base);
    assert_eq!(admin.login("root", "correct horse battery").await, 303);
    let (_, audit) = admin.get("/audit").await;
    assert!(audit.contains("login.lockout") && audit.contains("user:alice"), "no lockout event in the audit log");
}

#[tokio::test(flavor = "multi_thread")]
async fn misses_set_off_one_lookup_per_project_and_remember_what_the_upstream_lacks() {
    let upstream = lib_upstream();
    let mut airlock = Airlock::new();
    airlock.set_config(&[("miss_per_client_per_minute", "3")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    // Ten misses for a name the upstream lacks: one lookup, then the answer is remembered.
    let answers = futures_join((0..10).map(|_| miss(&airlock, "no-such-project"))).await;
    let requested = answers.iter().filter(|a| a["miss"] == "requested").count();
    assert_eq!(requested, 1, "{answers:?}");
    assert!(answers.iter().all(|a| a["miss"] == "requested" || a["miss"] == "already_requested"), "{answers:?}");
    let first = answers.iter().find(|a| a["miss"] == "requested").unwrap();
    assert!(first["error"].as_str().unwrap().contains("looking up its newest release"), "{first}");
    let looked_up = || upstream.requests().iter().filter(|p| p.contains("no-such-project")).count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let a = miss(&airlock, "no-such-project").await;
        if a["miss"] == "not_on_upstream" {
            assert!(a["error"].as_str().unwrap().contains("does not exist on the upstream index"), "{a}");
            assert!(!a["requested"].as_bool().unwrap());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the upstream's answer was never remembered: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(looked_up(), 1, "{:?}", upstream.requests());
    let log = airlock.log();
    assert!(!log.lines().any(|l| l.contains("ERROR") && l.contains("no-such-project")), "a miss logged an error: {log}");

    // A project the upstream has: one request, reviewed once.
    let answers = futures_join((0..5).map(|_| miss(&airlock, "airlock-lib"))).await;
    assert_eq!(answers.iter().filter(|a| a["miss"] == "requested").count(), 1, "{answers:?}");
    let r = airlock.wait_for(&auditor, "airlock-lib", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");

    // One client may set off only so many lookups a minute (two used above).
    assert_eq!(miss(&airlock, "other-a").await["miss"], "requested");
    let limited = miss(&airlock, "other-b").await;
    assert_eq!(limited["miss"], "rate_limited", "{limited}");
    assert!(limited["error"].as_str().unwrap().contains("nothing was requested"), "{limited}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miss_mirrors_no_more_than_its_cap_and_a_person_can_then_request_it() {
    let upstream = lib_upstream();
    let mut airlock = Airlock::new();
    airlock.set_config(&[("miss_max_release_mb", "0")]);
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(miss(&airlock, "airlock-lib").await["miss"], "requested");
    let r = airlock.wait_for(&auditor, "airlock-lib", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["error"].as_str().unwrap().contains("waits for an explicit request"), "{r}");
    // The explicit request is a person's: no cap.
    let resp = airlock.request(&auditor, "airlock-lib==1.0").await;
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    let r = airlock.wait_for(&auditor, "airlock-lib", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_client_text_gets_a_clear_400() {
    let mut airlock = Airlock::new();
    let auditor = airlock.user_with_token("alice", "auditor");
    airlock.serve(None);
    let resp = airlock.request(&auditor, &format!("demo==1.{}", "0".repeat(10_000))).await;
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(body.contains("at most") && body.len() < 500, "{body}");
}

/// Run the futures concurrently and collect their outputs in order.
async fn futures_join<F: std::future::Future<Output = Value>>(futures: impl Iterator<Item = F>) -> Vec<Value> {
    futures_util::future::join_all(futures).await
}
