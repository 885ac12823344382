//! The audit log at scale, over HTTP against the real binary: filters by
//! actor, action, project, dates and text; targets that link to their
//! pages; an approval's file hashes folded into a count; pages of events;
//! CSV and JSON exports of exactly the filtered events, with CSV escaping
//! and formula cells neutralised; and a token made on the command line
//! audited as one made in the dashboard is.

mod support;

use serde_json::Value;
use support::airlock::Airlock;
use support::browser::Browser;
use support::{LocalUpstream, Package, UpstreamFile};

/// Events that take the log past one page: (target, detail) pairs of
/// hostile text a spreadsheet or a page must keep inert.
const HOSTILE_TARGET: &str = "=HYPERLINK(\"http://evil.test\",\"click\")";
const HOSTILE_DETAIL: &str = "a \"quoted\", comma\nand a second line <script>alert(1)</script>";

#[tokio::test(flavor = "multi_thread")]
async fn auditors_filter_page_and_export_the_log() {
    let pkg = Package::new("airlock-demo", "1.0");
    let (wheel, sdist) = (pkg.wheel(), pkg.sdist());
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("airlock-demo", wheel.clone()), UpstreamFile::new("airlock-demo", sdist.clone())]);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("mirror_sdists", "\"always\"")]);
    airlock.add_user("root", "admin", "correct horse battery");
    // Made on the command line: audited with the CLI as its actor.
    let alice = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    assert_eq!(airlock.request(&alice, "airlock-demo==1.0").await.status(), 202);
    let r = airlock.wait_for(&alice, "airlock-demo", "1.0", &["awaiting_review", "failed"]).await;
    assert_eq!(r["status"], "awaiting_review", "{r}");
    assert_eq!(airlock.decide(&alice, "airlock-demo", "1.0", "approve", "read both files").await.status(), 200);
    let hashes: Vec<String> = r["files"].as_array().unwrap().iter().map(|f| f["sha256"].as_str().unwrap().to_string()).collect();
    assert_eq!(hashes.len(), 2, "{r}");

    // 120 more events, straight into the log, as a busy instance has.
    let pool = airlock_store::db::connect(&format!("sqlite://{}", airlock.data_path().join("airlock.db").display()), 1).unwrap();
    {
        let conn = &mut pool.get().unwrap();
        airlock_store::audit::record(conn, Some("mallory"), "test.hostile", HOSTILE_TARGET, HOSTILE_DETAIL).unwrap();
        for i in 0..119 {
            airlock_store::audit::record(conn, None, "test.bulk", &format!("item {i}"), &format!("bulk event number {i}")).unwrap();
        }
    }

    let mut root = Browser::new(&airlock.base);
    assert_eq!(root.login("root", "correct horse battery").await, 303);

    // Page one: the newest 100, a link to older events, none to newer.
    let (status, page) = root.get("/audit").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<tr><td class=\"nowrap\">").count(), 100, "one page holds 100 events");
    assert!(page.contains("bulk event number 118") && !page.contains("bulk event number 18<"), "newest first");
    assert!(page.contains("Events 1–100"), "{page}");
    let older = page.split("rel=\"next\" href=\"").nth(1).expect("a link to older events").split('"').next().unwrap().replace("&#38;", "&");
    assert_eq!(older, "/audit?offset=100");
    assert!(!page.contains("rel=\"prev\""));
    let (_, page2) = root.get(&older).await;
    assert!(page2.contains("rel=\"prev\" href=\"/audit\""), "page two links back");
    assert!(page2.contains("release.approve") && page2.contains("token.create"), "the oldest events are on page two");
    assert!(!page2.contains("<script>alert(1)</script>") && page2.contains("second line &#60;script&#62;alert(1)"), "details are escaped: {page2}");

    // Filters: the CLI's token creation, by actor and by action.
    let (_, by_cli) = root.get("/audit?actor=cli").await;
    assert_eq!(by_cli.matches("<code>token.create</code>").count(), 1, "{by_cli}");
    assert!(by_cli.contains("<a href=\"/admin/tokens\">alice</a>"), "an admin gets a link to the tokens: {by_cli}");
    assert!(!by_cli.contains("test.bulk"));
    let (_, releases) = root.get("/audit?action=release").await;
    assert!(releases.contains("<code>release.approve</code>") && !releases.contains("token.create") && !releases.contains("test.bulk"), "{releases}");
    // The project filter, the target linked to the release, the hashes folded.
    let (_, demo) = root.get("/audit?project=Airlock_Demo").await;
    assert!(demo.contains("<a href=\"/releases/airlock-demo/1.0\">airlock-demo 1.0</a>"), "{demo}");
    assert!(demo.contains("<summary>2 files</summary>"), "{demo}");
    let folded = demo.split("<details class=\"hashes\">").nth(1).unwrap().split("</details>").next().unwrap();
    assert!(hashes.iter().all(|h| folded.contains(h.as_str())), "the hashes are inside the folded list: {folded}");
    let row = demo.split("release.approve").nth(1).unwrap().split("<details").next().unwrap();
    assert!(!hashes.iter().any(|h| row.contains(h.as_str())), "no hash printed inline: {row}");
    assert!(!demo.contains("test.bulk"));
    // Free text, across fields and in any case; combined with the actor.
    let (_, text) = root.get("/audit?q=NUMBER%2011").await;
    assert!(text.contains("bulk event number 11<") && text.contains("bulk event number 110") && !text.contains("bulk event number 12<"), "{text}");
    let (_, none) = root.get("/audit?q=number&actor=alice").await;
    assert!(none.contains("No event matches these filters"), "{none}");
    // Dates: today holds everything; the day before, nothing.
    let today = chrono::Utc::now().date_naive();
    let (_, todays) = root.get(&format!("/audit?from={today}&to={today}&action=test.bulk")).await;
    assert!(todays.contains("Events 1–100") && todays.contains("rel=\"next\""), "{todays}");
    let older_link = todays.split("rel=\"next\" href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&");
    assert_eq!(older_link, format!("/audit?action=test.bulk&from={today}&to={today}&offset=100"), "paging keeps the filters");
    let (_, page_two) = root.get(&older_link).await;
    assert_eq!(page_two.matches("<tr><td class=\"nowrap\">").count(), 19);
    let yesterday = today.pred_opt().unwrap();
    let (_, before) = root.get(&format!("/audit?to={yesterday}")).await;
    assert!(before.contains("No event matches"), "{before}");
    // Bad filters get a clear 400, not a crash.
    for (query, says) in
        [("from=last+week", "from must be a date"), ("project=%3Cscript%3E", "not a valid project name"), ("from=2026-12-02&to=2026-12-01", "ends before")]
    {
        let (status, body) = root.get(&format!("/audit?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains(says), "{query}: {body}");
    }
    let (status, _) = root.get(&format!("/audit?q={}", "x".repeat(300))).await;
    assert_eq!(status, 400);

    // The export links carry the filters.
    assert!(demo.contains("href=\"/audit/export?project=Airlock_Demo&#38;format=csv\""), "{demo}");

    // CSV: exactly the filtered events, escaped, formulas neutralised.
    let resp = root.http.get(airlock.url("/audit/export?action=test&format=csv")).header("cookie", root.cookie_header()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("id,time,actor,action,target,detail\r\n"), "{csv}");
    assert_eq!(csv.matches("\r\n").count(), 1 + 120, "a header and 120 records (the hostile one has an LF inside quotes only)");
    let hostile = csv.lines().find(|l| l.contains("test.hostile")).unwrap();
    assert!(
        hostile.ends_with(",mallory,test.hostile,\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"click\"\")\",\"a \"\"quoted\"\", comma"),
        "the formula is quoted text with a leading ': {hostile}"
    );
    assert!(csv.contains("and a second line <script>alert(1)</script>\"\r\n"), "{csv}");
    assert!(!csv.contains("release.approve"), "only the filtered events");
    assert!(csv.lines().filter(|l| l.contains("test.bulk")).all(|l| l.contains(",system,test.bulk,item ")));

    // JSON: the same events, as they are stored.
    let resp = root.http.get(airlock.url("/audit/export?project=airlock-demo&format=json")).header("cookie", root.cookie_header()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["truncated"], false);
    let events = body["events"].as_array().unwrap();
    let approve = events.iter().find(|e| e["action"] == "release.approve").expect("the approval is exported");
    assert_eq!((approve["actor"].as_str(), approve["target"].as_str()), (Some("alice"), Some("airlock-demo 1.0")));
    assert!(hashes.iter().all(|h| approve["detail"].as_str().unwrap().contains(h.as_str())), "the export keeps every hash");
    assert!(approve["time"].as_str().unwrap().starts_with(&today.to_string()));
    assert!(events.iter().all(|e| e["target"].as_str().unwrap().starts_with("airlock-demo")), "{body}");
    let (status, body) = root.get("/audit/export?format=xml").await;
    assert_eq!(status, 400, "{body}");

    // A viewer reads and exports the log too; signed out, neither.
    airlock.add_user("vic", "viewer", "correct horse battery");
    let mut vic = Browser::new(&airlock.base);
    assert_eq!(vic.login("vic", "correct horse battery").await, 303);
    let (status, page) = vic.get("/audit?actor=cli").await;
    assert_eq!(status, 200);
    assert!(page.contains("<td>alice</td>"), "no admin link for a viewer: {page}");
    assert_eq!(vic.get("/audit/export?format=json").await.0, 200);
    assert_eq!(Browser::new(&airlock.base).get("/audit/export?format=csv").await.0, 303);
}
