//! Small things a person notices, in a real browser (headless Chromium):
//! at 420 px wide the header keeps "Sign out" on screen; every page has an
//! icon; upload times read as the dashboard's other times; an empty queue
//! says how to get a package reviewed; the audit log folds an approval's
//! hashes. Screenshots go to target/test-artifacts/.

mod support;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use support::airlock::Airlock;
use support::chromium::{browser, screenshot, sign_in, start_driver, wait_for_css};
use support::fixtures::Package;
use support::upstream::{LocalUpstream, UpstreamFile};

/// The right edge of the first element matching `css`, and the viewport's width.
async fn right_edge(c: &Client, css: &str) -> (f64, f64) {
    let v: Value = c
        .execute("const e = document.querySelector(arguments[0]); return [e.getBoundingClientRect().right, window.innerWidth];", vec![json!(css)])
        .await
        .expect("measure");
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

async fn visible(c: &Client, css: &str) -> bool {
    c.execute(
        "const e = document.querySelector(arguments[0]); const r = e.getBoundingClientRect(); \
         return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth && getComputedStyle(e).visibility !== 'hidden';",
        vec![json!(css)],
    )
    .await
    .expect("visibility")
        == json!(true)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_narrow_window_an_icon_readable_times_and_an_empty_queue_that_helps() {
    let pkg = Package::new("airlock-demo", "1.0");
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("airlock-demo", pkg.wheel()).uploaded_at("2026-11-30T09:41:27.123456Z")]);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));

    // The icon: served, typed and cached, at both addresses.
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let resp = reqwest::get(airlock.url(path)).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "image/svg+xml", "{path}");
        assert!(resp.headers()["cache-control"].to_str().unwrap().contains("max-age="), "{path}");
        assert!(resp.text().await.unwrap().starts_with("<svg"), "{path}");
    }

    let driver = start_driver();
    let c = browser(&driver, 420, 860).await;
    let (session, base) = (c.clone(), airlock.base.clone());
    let driver = std::sync::Arc::new(driver);
    let driver_ = driver.clone();
    let airlock = std::sync::Arc::new(airlock);
    let shared = airlock.clone();
    let outcome = async move {
        let (c, airlock, driver) = (session, shared, driver_);
        sign_in(&c, &base, "alice").await;

        // 420 px: Sign out is on screen, and the header does not overflow.
        let (right, width) = right_edge(&c, "header.top .logout button").await;
        assert!(width <= 420.0 + 0.5, "the window is narrow: {width}");
        assert!(right <= width, "Sign out ends at {right}, past the viewport's {width}");
        assert!(visible(&c, "header.top .logout button").await, "Sign out is visible");
        assert!(visible(&c, "header.top nav a[href='/audit']").await, "the last links wrap into view");
        let header_overflow: Value = c.execute("const h = document.querySelector('header.top'); return h.scrollWidth - h.clientWidth;", vec![]).await.unwrap();
        assert_eq!(header_overflow, json!(0), "the header scrolls sideways");
        let icon: Value = c.execute("const l = document.querySelector('link[rel=icon]'); return l && l.href;", vec![]).await.unwrap();
        assert_eq!(icon, json!(format!("{base}/static/favicon.svg")));

        // The empty queue says what to do next, with a way to do it.
        let empty = wait_for_css(&c, "#queue-empty").await.text().await.unwrap();
        assert!(empty.contains("Nothing is awaiting review") && empty.contains("airlock request name==version"), "{empty}");
        let import = c.find(Locator::Css("#queue-empty a[href='/imports']")).await.expect("a link to the import form");
        assert!(import.text().await.unwrap().contains("import"));
        assert!(c.find(Locator::Css("form[action='/requests'] input[name=requirement]")).await.is_ok(), "the request form it points to");
        screenshot(&c, "desk-queue-empty-420px").await;
        c.goto(&format!("{base}/queue?q=nothing-like-this")).await.unwrap();
        let filtered = wait_for_css(&c, "#queue-empty").await.text().await.unwrap();
        assert!(filtered.contains("No release matches these filters"), "{filtered}");

        // Upload times read like every other time on the dashboard.
        assert_eq!(airlock.request(&token, "airlock-demo==1.0").await.status(), 202);
        airlock.wait_for(&token, "airlock-demo", "1.0", &["awaiting_review"]).await;
        c.goto(&format!("{base}/releases/airlock-demo/1.0")).await.unwrap();
        wait_for_css(&c, "#findings").await;
        let source = c.source().await.unwrap();
        assert!(source.contains("2026-11-30 09:41 UTC"), "the upload time is formatted");
        assert!(!source.contains("09:41:27.123456"), "no raw ISO string with microseconds");
        let (right, width) = right_edge(&c, "header.top .logout button").await;
        assert!(right <= width, "Sign out on the release page: {right} > {width}");
        screenshot(&c, "desk-release-420px").await;

        // The audit log, wide: the approval's hashes folded into a count that opens.
        assert_eq!(airlock.decide(&token, "airlock-demo", "1.0", "approve", "read it").await.status(), 200);
        c.goto(&format!("{base}/audit?project=airlock-demo")).await.unwrap();
        let page_overflow: Value = c.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
        assert!(page_overflow.as_f64().unwrap() <= 0.0, "at 420 px the audit table scrolls in its box, not the page: {page_overflow}");
        screenshot(&c, "desk-audit-log-420px").await;
        let wide = browser(&driver, 1366, 900).await;
        sign_in(&wide, &base, "alice").await;
        let c = wide;
        c.goto(&format!("{base}/audit?project=airlock-demo")).await.unwrap();
        let summary = wait_for_css(&c, "details.hashes summary").await;
        assert_eq!(summary.text().await.unwrap(), "1 file");
        let hash = c.find(Locator::Css("details.hashes code")).await.unwrap();
        assert!(!hash.is_displayed().await.unwrap(), "folded until opened");
        summary.click().await.unwrap();
        assert!(hash.is_displayed().await.unwrap(), "opened");
        assert_eq!(hash.text().await.unwrap().len(), 64);
        c.find(Locator::Css("a[href='/releases/airlock-demo/1.0']")).await.expect("the target links to its release");
        screenshot(&c, "desk-audit-log").await;
        let _ = c.close().await;
    };
    let result = tokio::spawn(outcome).await;
    let _ = c.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
