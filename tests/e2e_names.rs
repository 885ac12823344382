//! Name protection and "why did my install fail", end to end on the real
//! binary against the local upstream (which records every request):
//! reserved names are refused on every path (API, CLI, dashboard form,
//! index miss, and the worker if the configuration changed after a
//! request), audited, and never fetched; a name a small edit away from a
//! popular or an approved project is marked as a possible typosquat for
//! the requester and the auditor; `GET /api/v1/why/<name>` and
//! `airlock why` explain approved, pending, missing and reserved names; the
//! misses page lists what the index could not serve.

mod support;

use std::process::Stdio;

use serde_json::Value;
use support::airlock::Airlock;
use support::browser::{hidden_csrf, Browser};
use support::{LocalUpstream, Package, UpstreamFile};

fn upstream_of(names: &[&str]) -> LocalUpstream {
    LocalUpstream::start(names.iter().map(|n| UpstreamFile::new(n, Package::new(n, "1.0").wheel())).collect())
}

async fn why(airlock: &Airlock, token: &str, what: &str) -> Value {
    let resp = airlock.http.get(airlock.url(&format!("/api/v1/why/{what}"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "why {what}");
    resp.json().await.unwrap()
}

/// Run the CLI; (success, stdout, stderr).
fn cli(airlock: &Airlock, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = airlock.cli();
    cmd.args(args).envs(env.iter().copied()).stdin(Stdio::null());
    let out = cmd.output().expect("run airlock");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reserved_name_is_refused_on_every_path_audited_and_never_fetched_from_the_upstream() {
    // The upstream has a package under the organization's internal name:
    // the dependency-confusion bait.
    let upstream = upstream_of(&["acme-auth", "acme-legacy", "internal-lib", "harmless"]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("dev", "viewer");
    airlock.add_user("root", "admin", "correct horse battery");
    // Requested before the name was reserved, never mirrored yet.
    let (ok, _, err) = cli(&airlock, &["request", "acme-legacy==1.0"], &[]);
    assert!(ok, "{err}");
    airlock.set_config(&[("reserved_names", "[\"acme-*\", \"Internal_Lib\"]")]);
    airlock.serve(Some(&upstream.base_url));

    // The worker refuses the earlier request's mirror job.
    let r = airlock.wait_for(&token, "acme-legacy", "1.0", &["failed", "awaiting_review"]).await;
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["error"].as_str().unwrap().contains("reserved name"), "{r}");

    // API: 409 with a clear reason, nothing recorded.
    let resp = airlock.request(&token, "Acme_Auth==1.0").await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("acme-auth is a reserved name (reserved_names: acme-*)") && error.contains("publish it to your internal index"), "{body}");
    let resp = airlock.http.get(airlock.url("/api/v1/releases/acme-auth/1.0")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 404, "a refused request records no release");

    // CLI: an error and exit 1, from the config file and from the environment.
    let (ok, _, err) = cli(&airlock, &["request", "internal-lib==1.0"], &[]);
    assert!(!ok && err.contains("internal-lib is a reserved name"), "{err}");
    let (ok, _, err) = cli(&airlock, &["request", "harmless==1.0"], &[("AIRLOCK_RESERVED_NAMES", "harmless,other-*")]);
    assert!(!ok && err.contains("harmless is a reserved name (reserved_names: harmless)"), "{err}");

    // Dashboard request form: a 409 page that says why.
    let mut dev = Browser::new(&airlock.base);
    airlock.add_user("devon", "viewer", "correct horse battery");
    assert_eq!(dev.login("devon", "correct horse battery").await, 303);
    let (_, queue) = dev.get("/queue").await;
    let csrf = hidden_csrf(&queue);
    let (status, page) = dev.post("/requests", &[("requirement", "acme-auth==1.0"), ("csrf", &csrf)]).await;
    assert_eq!(status, 409);
    assert!(page.contains("acme-auth is a reserved name"), "{page}");

    // Index miss: a 404 stating the reason, in both formats, and no lookup.
    let resp = airlock.http.get(airlock.url("/simple/acme-auth/")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let text = resp.text().await.unwrap();
    assert!(text.contains("reserved name") && text.contains("never fetches it from the upstream index"), "{text}");
    let resp = airlock.http.get(airlock.url("/simple/acme-auth/")).header("Accept", "application/vnd.pypi.simple.v1+json").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let miss: Value = resp.json().await.unwrap();
    assert_eq!((miss["miss"].as_str(), miss["reserved"].as_str(), miss["requested"].as_bool()), (Some("reserved"), Some("acme-*"), Some(false)), "{miss}");

    // The audit log has each refusal.
    let mut admin = Browser::new(&airlock.base);
    assert_eq!(admin.login("root", "correct horse battery").await, 303);
    let (_, audit) = admin.get("/audit").await;
    let refusals = audit.matches("reserved_name.refused").count();
    // API, dashboard form, index miss (once per window), the worker, the CLI's two.
    assert_eq!(refusals, 6, "{audit}");
    for target in ["acme-auth 1.0", "acme-legacy 1.0", "internal-lib 1.0", "harmless 1.0", "index miss from"] {
        assert!(audit.contains(target), "no refusal of {target} in the audit log");
    }

    // The misses page shows what the index refused, and why says so.
    let (_, misses) = admin.get("/misses").await;
    assert!(misses.contains("acme-auth") && misses.contains("refused: reserved name"), "{misses}");
    let w = why(&airlock, &token, "acme-auth").await;
    assert_eq!(w["reserved"], "acme-*");
    assert_eq!(w["installable"], false);
    assert!(w["next_step"].as_str().unwrap().starts_with("reserved: publish acme-auth to your internal index"), "{w}");

    // And the upstream was never asked about any reserved name.
    let asked = upstream.requests();
    assert!(!asked.iter().any(|p| p.contains("acme") || p.contains("internal-lib") || p.contains("internal_lib")), "{asked:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn near_miss_names_are_marked_and_why_explains_approved_pending_missing_and_reserved_names() {
    let upstream = upstream_of(&["demo-lib", "demo-libs", "reqeusts"]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("reserved_names", "[\"acme-*\"]")]);
    let auditor = airlock.user_with_token("audrey", "auditor");
    let viewer = airlock.user_with_token("vera", "viewer");
    airlock.serve(Some(&upstream.base_url));

    // An approved project.
    let resp = airlock.request(&viewer, "demo-lib==1.0").await;
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.json::<Value>().await.unwrap()["possible_typosquat_of"], Value::Null);
    airlock.wait_for(&auditor, "demo-lib", "1.0", &["awaiting_review"]).await;
    assert_eq!(airlock.decide(&auditor, "demo-lib", "1.0", "approve", "fine").await.status(), 200);

    // One edit from a popular project: marked in the API's answer.
    let resp = airlock.request(&viewer, "reqeusts==1.0").await;
    assert_eq!(resp.status(), 202);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["possible_typosquat_of"], "requests", "{out}");
    // One edit from the approved project, through the dashboard: the flash says so.
    airlock.add_user("val", "viewer", "correct horse battery");
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("val", "correct horse battery").await, 303);
    let (_, queue) = browser.get("/queue").await;
    let csrf = hidden_csrf(&queue);
    let (status, location) = browser.post("/requests", &[("requirement", "demo-libs==1.0"), ("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let (_, flashed) = browser.get(&location).await;
    assert!(flashed.contains("Possible typosquat of demo-lib"), "{location}: {flashed}");

    // The auditor sees the mark on the release page, in the queue and in the API.
    let r = airlock.wait_for(&auditor, "reqeusts", "1.0", &["awaiting_review"]).await;
    assert_eq!(r["possible_typosquat_of"], "requests");
    let (_, page) = browser.get("/releases/reqeusts/1.0").await;
    assert!(page.contains("id=\"typosquat\"") && page.contains("Possible typosquat of <strong>requests</strong>"), "{page}");
    let (_, queue) = browser.get("/queue?status=all").await;
    assert!(queue.contains("possible typosquat of demo-lib") && queue.contains("possible typosquat of requests"), "{queue}");
    assert_eq!(airlock.release(&auditor, "demo-lib", "1.0").await["possible_typosquat_of"], Value::Null);

    // why: approved and served.
    let approved = why(&airlock, &viewer, "demo-lib").await;
    assert_eq!((approved["state"].as_str(), approved["installable"].as_bool()), (Some("approved"), Some(true)), "{approved}");
    assert_eq!(approved["releases"][0]["status"], "approved");
    assert_eq!(approved["releases"][0]["served_files"], 1);
    let other = why(&airlock, &viewer, "demo-lib?version=2.0").await;
    assert_eq!(other["installable"], false);
    assert_eq!(other["next_step"], "request it with `airlock request demo-lib==2.0`", "{other}");
    // Pending review.
    let pending = why(&airlock, &viewer, "reqeusts==1.0").await;
    assert_eq!((pending["state"].as_str(), pending["installable"].as_bool()), (Some("pending"), Some(false)), "{pending}");
    assert_eq!(pending["releases"][0]["status"], "awaiting_review");
    assert_eq!(pending["next_step"], "ask an auditor to review reqeusts 1.0");
    assert!(pending["summary"].as_str().unwrap().contains("possible typosquat of requests"), "{pending}");
    // Missing: pip asked the index once; the miss is recorded and shown.
    let resp = airlock.http.get(airlock.url("/simple/never-heard-of/")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let missing = why(&airlock, &viewer, "never-heard-of").await;
    assert_eq!((missing["state"].as_str(), missing["installable"].as_bool()), (Some("never_requested"), Some(false)), "{missing}");
    assert_eq!(missing["releases"], Value::Array(vec![]));
    assert_eq!(missing["misses"][0]["outcome"], "requested", "{missing}");
    let (_, misses) = browser.get("/misses").await;
    assert!(misses.contains("never-heard-of") && misses.contains("requested its newest release for review"), "{misses}");
    // Reserved.
    let reserved = why(&airlock, &viewer, "acme-thing").await;
    assert_eq!((reserved["reserved"].as_str(), reserved["installable"].as_bool()), (Some("acme-*"), Some(false)), "{reserved}");

    // The CLI gives the same answers, as text and as the API's JSON.
    let (ok, text, err) = cli(&airlock, &["why", "demo-lib"], &[]);
    assert!(ok, "{err}");
    assert!(text.starts_with("demo-lib: installable\n") && text.contains("1.0 approved, served (1 file)"), "{text}");
    let (ok, text, _) = cli(&airlock, &["why", "reqeusts==1.0"], &[]);
    assert!(ok && text.contains("not installable") && text.contains("next step: ask an auditor to review reqeusts 1.0"), "{text}");
    let (ok, text, _) = cli(&airlock, &["why", "acme-thing"], &[]);
    assert!(ok && text.contains("reserved: yes (acme-*)") && text.contains("next step: reserved: publish acme-thing"), "{text}");
    let (ok, json, _) = cli(&airlock, &["why", "never-heard-of", "--json"], &[]);
    assert!(ok);
    let from_cli: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(from_cli["state"], "never_requested");
    assert_eq!(from_cli["next_step"], why(&airlock, &viewer, "never-heard-of").await["next_step"]);

    // why needs a token.
    let resp = airlock.http.get(airlock.url("/api/v1/why/demo-lib")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
