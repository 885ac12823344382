//! The auditor's desk at real-package scale, in headless Chromium: the
//! queue in pages with its four-eyes progress and live refresh; deciding
//! from the diff page and landing on the next release waiting; yanking,
//! unyanking and a confirmed revocation from the release page; a finding's
//! line shown with the guard above it; and a release of thousands of files
//! whose pages stay light and whose file tree filters. Screenshots of each
//! flow go to target/test-artifacts/desk-*.png.

mod support;

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use support::airlock::Airlock;
use support::browser::Browser;
use support::chromium::{assert_inert, desktop, run_story, screenshot, sign_in, start_driver, wait_for_css};
use support::fixtures::Package;
use support::upstream::{Fault, LocalUpstream, UpstreamFile};

/// Wait until `script` (a JS expression) is true on the page, or fail with `what`.
async fn wait_until(c: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c.execute(&format!("return !!({script});"), vec![]).await.unwrap();
        if v == json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {script}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    wait_for_css(c, css).await.text().await.unwrap()
}

/// The padding lines above the guarded call, so the cited line is far down the file.
const PADDING: usize = 60;

fn guarded_module() -> (String, usize) {
    let mut src = String::from("import base64\n");
    for i in 0..PADDING {
        src.push_str(&format!("SETTING_{i} = {i}\n"));
    }
    src.push_str("\n\ndef load(mode):\n    if mode == \"trusted-maintainer-hook\":\n        exec(base64.b64decode(\"cHJpbnQoMSk=\"))\n");
    // Code below it too, so that the line can reach the top edge of the window.
    for i in 0..200 {
        src.push_str(&format!("\n\ndef helper_{i}():\n    return {i}\n"));
    }
    // The exec line: the import, the padding, two blank lines, the def, the if.
    let line = 1 + PADDING + 2 + 1 + 1 + 1;
    (src, line)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_decides_from_the_diff_moves_on_and_yanks_in_a_real_browser() {
    let (module, exec_line) = guarded_module();
    let old = Package::new("grower", "1.0");
    let new = Package::new("grower", "1.1").with_module("grower/hook.py", module);
    let other = Package::new("second-lib", "2.0");
    let mut files = Vec::new();
    for p in [&old, &new] {
        files.push(UpstreamFile::new("grower", p.wheel()));
    }
    files.push(UpstreamFile::new("second-lib", other.wheel()));
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.request_for_review(&token, &[("grower", "1.0")]).await;
    assert_eq!(airlock.decide(&token, "grower", "1.0", "approve", "baseline").await.status().as_u16(), 200);
    airlock.request_for_review(&token, &[("grower", "1.1"), ("second-lib", "2.0")]).await;
    // Two failures for the pipeline card: a release the upstream does not
    // have, and an index miss whose lookup the upstream keeps refusing.
    airlock.request(&token, "missing-lib==1.0").await;
    airlock.wait_for(&token, "missing-lib", "1.0", &["failed"]).await;
    upstream.inject("/simple/flaky-lib/", &[Fault::Status(500); 40]);
    let miss = airlock.http.get(airlock.url("/simple/flaky-lib/")).send().await.unwrap();
    assert_eq!(miss.status().as_u16(), 404, "an index miss");

    let driver = start_driver();
    let c = desktop(&driver).await;
    let (session, base) = (c.clone(), airlock.base.clone());
    run_story(c, async move {
        let c = session;
        let url = |path: &str| format!("{base}{path}");
        sign_in(&c, &base, "alice").await;

        // The queue says how each release was asked for, its status in words,
        // and how long only the waiting ones have waited.
        c.goto(&url("/queue")).await.unwrap();
        let row = text_of(&c, "table.queue tbody tr").await;
        assert!(row.contains("awaiting review") && !row.contains("awaiting_review"), "{row}");
        assert!(row.contains("request by alice"), "{row}");
        c.goto(&url("/queue?status=approved")).await.unwrap();
        let approved = text_of(&c, "table.queue tbody tr").await;
        assert!(approved.contains("grower 1.0") && approved.trim_end().ends_with('–'), "an approved release is not waiting: {approved}");
        screenshot(&c, "desk-queue").await;

        // The pipeline card lists every failed job it counts, the miss's lookup included.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            c.goto(&url("/queue")).await.unwrap();
            let card = text_of(&c, "#progress").await;
            if card.contains("project flaky-lib") && card.contains("missing-lib 1.0") {
                let listed = c.find_all(Locator::Css("#failed-jobs tbody tr")).await.unwrap().len();
                let counted = text_of(&c, ".pill.job-failed").await;
                assert_eq!(counted, format!("failed {listed}"), "as many listed as counted: {card}");
                break;
            }
            assert!(Instant::now() < deadline, "the failed jobs are listed: {card}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        screenshot(&c, "desk-failed-jobs").await;

        // The diff carries the file tabs, the new finding with its line, and the decision form.
        c.goto(&url("/releases/grower/1.1/diff")).await.unwrap();
        let tabs = text_of(&c, "nav.tabs").await;
        assert!(tabs.contains("Browse wheel"), "{tabs}");
        let finding = text_of(&c, "#new-findings .finding").await;
        assert!(finding.contains(&format!("grower/hook.py:{exec_line}")), "the new finding shows its line: {finding}");
        assert_inert(&c, "diff").await;
        screenshot(&c, "desk-diff-decide").await;

        // A finding link shows the cited line with the guard above it in view, highlighted.
        c.find(Locator::Css("#new-findings a.finding-link")).await.unwrap().click().await.unwrap();
        wait_for_css(&c, "table.code").await;
        assert_eq!(c.current_url().await.unwrap().fragment(), Some(format!("L{exec_line}").as_str()));
        let guard = exec_line - 1;
        let guard_text = text_of(&c, &format!("#L{guard}")).await;
        assert!(guard_text.contains("if mode == \"trusted-maintainer-hook\""), "{guard_text}");
        wait_until(
            &c,
            &format!("(function(){{var r=document.getElementById('L{guard}').getBoundingClientRect();return r.top>=0&&r.bottom<=window.innerHeight;}})()"),
            "the if line above the finding is in view",
        )
        .await;
        // The browser's own jump to the fragment (without the script, or when
        // it applies the fragment again after loading) aligns the row to the
        // top, minus its scroll margin: the guard stays in view then too.
        c.execute(&format!("document.getElementById('L{exec_line}').scrollIntoView();"), vec![]).await.unwrap();
        let guard_top = c.execute(&format!("return document.getElementById('L{guard}').getBoundingClientRect().top;"), vec![]).await.unwrap();
        assert!(guard_top.as_f64().unwrap() >= 0.0, "the guard is above the top edge after a plain jump: {guard_top}");
        let scrolled = c.execute("return window.scrollY;", vec![]).await.unwrap();
        assert!(scrolled.as_f64().unwrap_or(0.0) > 0.0, "the page scrolled to the line: {scrolled}");
        let target = c.execute("var t=document.querySelector('tr:target'); return t ? t.id : null;", vec![]).await.unwrap();
        assert_eq!(target, json!(format!("L{exec_line}")), "the cited line is the highlighted target");
        screenshot(&c, "desk-viewer-context").await;

        // Approve from the diff page: the auditor lands on the next release waiting.
        c.goto(&url("/releases/grower/1.1/diff")).await.unwrap();
        wait_for_css(&c, "#decide #diff-comment").await.send_keys("Read the delta: a guarded hook that prints 1.").await.unwrap();
        c.find(Locator::Id("diff-approve")).await.unwrap().click().await.unwrap();
        let decided = text_of(&c, "#decided").await;
        assert!(decided.contains("grower 1.1: approved"), "{decided}");
        assert_eq!(c.current_url().await.unwrap().path(), "/releases/second-lib/2.0", "the next release in the queue");
        screenshot(&c, "desk-next-in-queue").await;

        // Yank grower 1.1 from its page, with a reason; the page shows it.
        c.goto(&url("/releases/grower/1.1")).await.unwrap();
        wait_for_css(&c, "#yank-reason").await.send_keys("Broken on Python 3.13 <b>see #12</b>").await.unwrap();
        c.find(Locator::Id("yank-submit")).await.unwrap().click().await.unwrap();
        let yanked = text_of(&c, "#yanked").await;
        assert!(yanked.contains("by alice") && yanked.contains("Broken on Python 3.13 <b>see #12</b>"), "the reason shows as text: {yanked}");
        assert_inert(&c, "yanked release").await;
        screenshot(&c, "desk-yanked").await;
        c.goto(&url("/simple/grower/")).await.unwrap();
        assert!(c.source().await.unwrap().contains("data-yanked=\"Broken on Python 3.13"), "installers see the yank");

        // Take it back.
        c.goto(&url("/releases/grower/1.1")).await.unwrap();
        wait_for_css(&c, "#unyank-submit").await.click().await.unwrap();
        wait_for_css(&c, "#yank-submit").await;
        assert!(c.find(Locator::Id("yanked")).await.is_err(), "no yank shown after it is taken back");
        c.goto(&url("/audit")).await.unwrap();
        let audit = c.source().await.unwrap();
        assert!(audit.contains("release.yank") && audit.contains("release.unyank"), "both in the audit log");

        // Revoking asks for a confirmation: without the box ticked nothing happens.
        c.goto(&url("/releases/grower/1.1")).await.unwrap();
        wait_for_css(&c, "#revoke textarea[name=comment]").await.send_keys("Maintainer account taken over").await.unwrap();
        c.find(Locator::Id("revoke-submit")).await.unwrap().click().await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(text_of(&c, "#release-status").await, "approved", "not revoked without the confirmation");
        c.find(Locator::Id("revoke-confirm")).await.unwrap().click().await.unwrap();
        c.find(Locator::Id("revoke-submit")).await.unwrap().click().await.unwrap();
        wait_for_css(&c, "#release-status.status-revoked").await;
        screenshot(&c, "desk-revoked").await;
    })
    .await;
}

/// Add `n` releases awaiting review straight to the database, as if mirrored
/// and inspected (no files, no jobs): the queue has that many rows to page.
fn seed_waiting(airlock: &Airlock, n: usize, prefix: &str, severity: &str) {
    let url = format!("sqlite://{}", airlock.data_path().join("airlock.db").display());
    let pool = airlock_store::db::connect(&url, 1).expect("the test database");
    let mut conn = pool.get().expect("a connection");
    airlock_store::db::run_migrations(&mut conn).expect("migrations");
    for i in 0..n {
        let req = airlock_store::domain::PinnedRequirement::parse(&format!("{prefix}{i:04}==1.0")).unwrap();
        airlock_store::releases::request_release(&mut conn, &req, Some("alice"), 3, &Default::default()).expect("request");
    }
    let sql = format!(
        "UPDATE releases SET status = 'awaiting_review', max_severity = '{severity}', risk_score = 10 \
         WHERE project_id IN (SELECT id FROM projects WHERE name LIKE '{prefix}%')"
    );
    diesel::sql_query(sql).execute(&mut *conn).expect("mark them waiting");
    diesel::sql_query("DELETE FROM jobs").execute(&mut *conn).expect("no jobs to run");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_pages_past_500_rows_and_refreshes_itself() {
    let mut airlock = Airlock::new();
    airlock.set_config(&[("four_eyes_severity", "\"high\"")]);
    airlock.add_user("alice", "auditor", "correct horse battery");
    airlock.run_cli(&["migrate"], None);
    seed_waiting(&airlock, 1_234, "pkg-", "high");
    airlock.serve(None);
    let data = airlock.data_path().to_path_buf();

    let driver = start_driver();
    let c = desktop(&driver).await;
    let (session, base) = (c.clone(), airlock.base.clone());
    run_story(c, async move {
        let c = session;
        sign_in(&c, &base, "alice").await;
        c.goto(&format!("{base}/queue")).await.unwrap();
        assert_eq!(text_of(&c, "#queue-range").await, "rows 1–500 of 1,234");
        let (server, browser_ms) = timing(&c).await;
        println!("queue of 1,234 rows, page 1: server answer {server:.0} ms, browser to usable {browser_ms:.0} ms");
        assert!(browser_ms < 1_000.0, "500 rows usable in the browser in {browser_ms} ms");
        let rows = c.find_all(Locator::Css("table.queue tbody tr")).await.unwrap();
        assert_eq!(rows.len(), 500);
        let first = rows[0].text().await.unwrap();
        assert!(first.contains("0 of 2 approvals"), "four-eyes progress on a high-severity row: {first}");
        assert!(c.find(Locator::Css("nav.pager a.prev")).await.is_err(), "no previous page from the first");
        screenshot(&c, "desk-queue-page-1").await;

        c.find(Locator::Css("nav.pager a.next")).await.unwrap().click().await.unwrap();
        wait_until(&c, "document.getElementById('queue-range').textContent === 'rows 501–1,000 of 1,234'", "page 2").await;
        assert_eq!(c.find_all(Locator::Css("table.queue tbody tr")).await.unwrap().len(), 500);
        c.find(Locator::Css("nav.pager a.next")).await.unwrap().click().await.unwrap();
        wait_until(&c, "document.getElementById('queue-range').textContent === 'rows 1,001–1,234 of 1,234'", "page 3").await;
        assert_eq!(c.find_all(Locator::Css("table.queue tbody tr")).await.unwrap().len(), 234);
        assert!(c.find(Locator::Css("nav.pager a.next")).await.is_err(), "no next page from the last");
        screenshot(&c, "desk-queue-page-3").await;
        c.find(Locator::Css("nav.pager a.prev")).await.unwrap().click().await.unwrap();
        wait_until(&c, "document.getElementById('queue-range').textContent === 'rows 501–1,000 of 1,234'", "back to page 2").await;

        // A critical release arrives while the first page is open: it appears
        // at the top without a reload.
        c.goto(&format!("{base}/queue")).await.unwrap();
        wait_for_css(&c, "#queue-table").await;
        c.execute("document.body.dataset.marker = 'same page';", vec![]).await.unwrap();
        let pool = airlock_store::db::connect(&format!("sqlite://{}", data.join("airlock.db").display()), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let req = airlock_store::domain::PinnedRequirement::parse("urgent-fix==9.9").unwrap();
        airlock_store::releases::request_release(&mut conn, &req, Some("bob"), 3, &Default::default()).unwrap();
        diesel::sql_query("UPDATE releases SET status = 'awaiting_review', max_severity = 'critical', risk_score = 99 WHERE version = '9.9'")
            .execute(&mut *conn)
            .unwrap();
        diesel::sql_query("DELETE FROM jobs").execute(&mut *conn).unwrap();
        wait_until(&c, "document.querySelector('table.queue tbody tr a.release-link').textContent === 'urgent-fix 9.9'", "the new release shows live").await;
        assert_eq!(c.execute("return document.body.dataset.marker;", vec![]).await.unwrap(), json!("same page"), "no reload");
        assert_eq!(text_of(&c, "#queue-range").await, "rows 1–500 of 1,235");
        screenshot(&c, "desk-queue-live").await;
    })
    .await;
}

/// A release of `modules` Python files in `dirs` folders (an sdist only).
fn big_package(modules: usize, dirs: usize) -> Package {
    let mut p = Package::new("big-lib", "1.0");
    for i in 0..modules {
        let dir = i % dirs;
        p = p.with_module(&format!("big_lib/part{dir:02}/mod_{i:04}.py"), format!("VALUE = {i}\n\n\ndef value():\n    return VALUE\n"));
    }
    for dir in 0..dirs {
        p = p.with_module(&format!("big_lib/part{dir:02}/__init__.py"), "");
    }
    p
}

/// Navigation timing of the page in the browser: (server answer ms, parse-to-usable ms).
async fn timing(c: &Client) -> (f64, f64) {
    let t: Value = c
        .execute(
            "var n = performance.getEntriesByType('navigation')[0]; return [n.responseEnd - n.requestStart, n.domContentLoadedEventEnd - n.responseEnd];",
            vec![],
        )
        .await
        .unwrap();
    (t[0].as_f64().unwrap(), t[1].as_f64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_of_thousands_of_files_stays_light_and_its_tree_filters() {
    const MODULES: usize = 3_000;
    let big = big_package(MODULES, 30);
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("big-lib", big.sdist())]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.request(&token, "big-lib==1.0").await;
    airlock.wait_for(&token, "big-lib", "1.0", &["awaiting_review"]).await;
    let sdist = big.sdist_filename();
    let listing = format!("/releases/big-lib/1.0/files/{sdist}");

    // Every page of the release is bounded in size, whatever the file count.
    let mut http = Browser::new(&airlock.base);
    assert_eq!(http.login("alice", "correct horse battery").await, 303);
    let mut sizes = Vec::new();
    for path in ["/releases/big-lib/1.0".to_string(), "/releases/big-lib/1.0/diff".to_string(), listing.clone()] {
        let (status, body) = http.get(&path).await;
        assert_eq!(status, 200, "{path}");
        sizes.push((path.clone(), body.len()));
        assert!(body.len() < 400_000, "{path} is {} bytes for {MODULES} files", body.len());
    }
    let diff = http.get("/releases/big-lib/1.0/diff").await.1;
    assert!(diff.contains("files 1–500 of 3,"), "the no-base diff is paged: {}", &diff[..diff.len().min(3000)]);
    assert!(!diff.contains("class=\"code diff\""), "no inline diffs without a base");
    let page2 = http.get("/releases/big-lib/1.0/diff?page=2").await.1;
    assert!(page2.contains("files 501–1,000 of 3,"), "page 2 of the diff");
    assert_eq!(http.get("/releases/big-lib/1.0/diff?page=zero").await.0, 400, "a bad page is a clear error");
    // The server-side filter searches the whole archive, folded folders included.
    let filtered = http.get(&format!("{listing}?filter=mod_2999")).await.1;
    assert!(filtered.contains("1 of ") && filtered.contains("big_lib/part29/mod_2999.py"), "{}", &filtered[..filtered.len().min(3000)]);
    let folder = http.get(&format!("{listing}?dir=big_lib-1.0/big_lib/part29")).await.1;
    assert_eq!(folder.matches("class=\"file\"").count(), MODULES / 30 + 1, "a folder's own page lists its files");
    println!("page sizes for {MODULES} files: {sizes:?}");

    let driver = start_driver();
    let c = desktop(&driver).await;
    let (session, base) = (c.clone(), airlock.base.clone());
    run_story(c, async move {
        let c = session;
        sign_in(&c, &base, "alice").await;
        let mut timings = Vec::new();
        for path in ["/releases/big-lib/1.0".to_string(), "/releases/big-lib/1.0/diff".to_string(), listing.clone()] {
            c.goto(&format!("{base}{path}")).await.unwrap();
            wait_for_css(&c, "main").await;
            let (server, browser_ms) = timing(&c).await;
            timings.push((path.clone(), server, browser_ms));
            assert!(browser_ms < 1_000.0, "{path}: {browser_ms} ms in the browser from the answer to usable");
        }
        println!("timings (path, server answer ms, browser ms to usable): {timings:?}");

        // The tree: folders closed but the top one, counts per folder.
        let top = text_of(&c, "#file-tree > li.dir > details > summary").await;
        assert!(top.contains("big_lib-1.0/") && top.contains(&format!("{} files", MODULES + 30 + 4)), "{top}");
        let open = c.execute("return document.querySelectorAll('#file-tree details[open]').length;", vec![]).await.unwrap();
        assert!(open.as_u64().unwrap() <= 2, "folders are closed by default: {open}");
        screenshot(&c, "desk-tree").await;

        // Typing narrows the tree on the page and opens the folders on the way.
        c.find(Locator::Id("tree-filter")).await.unwrap().send_keys("mod_0035").await.unwrap();
        wait_until(&c, "document.querySelectorAll('#file-tree li.file:not([hidden])').length === 1", "one file matches").await;
        let shown = c
            .execute(
                "var li = document.querySelector('#file-tree li.file:not([hidden])'); return [li.dataset.path, li.getBoundingClientRect().height > 0];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(shown, json!(["big_lib-1.0/big_lib/part05/mod_0035.py", true]), "the match is visible, its folders opened");
        screenshot(&c, "desk-tree-filtered").await;

        // Enter searches the whole archive on the server.
        c.find(Locator::Id("tree-filter")).await.unwrap().send_keys("\u{E007}").await.unwrap();
        let count = text_of(&c, "#filter-count").await;
        assert!(count.starts_with("1 of "), "{count}");
        assert!(c.current_url().await.unwrap().query().unwrap_or("").contains("filter=mod_0035"));
    })
    .await;
}
