//! The dashboard in a real browser: headless Chromium driven over
//! chromedriver (see tests/support/chromium.rs). An auditor signs in, opens
//! the queue and a flagged release, follows a finding to its line with the
//! keyboard, approves in the dialog, and finds the package in the simple
//! index. A package carrying script and markup payloads must stay inert:
//! no alert opens and no injected element exists. Screenshots of the queue,
//! release page, diff and file viewer go to target/test-artifacts/.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them).

mod support;

use std::time::Duration;

use fantoccini::Locator;
use support::airlock::Airlock;
use support::chromium::{assert_inert, desktop, screenshot, start_driver, wait_for_css};
use support::fixtures::Package;
use support::upstream::{LocalUpstream, UpstreamFile};

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_reviews_a_flagged_release_in_a_real_browser() {
    let hostile = Package::new("xss-demo", "1.0.0")
        .with_summary("<script>window.__xss=1;alert(1)</script>\"><img src=x onerror=alert(2)>")
        .with_requires_dist("evil-dep ; extra == \"<script>alert(4)</script>\"")
        .with_module(
            "xss_demo/\"><img src=x onerror=alert(2)>.py",
            "import base64\nexec(base64.b64decode(\"cHJpbnQoMSk=\"))  # <script>alert(1)</script>\nURL = \"javascript:alert(3)\"\n",
        );
    let old = Package::new("grower", "1.0");
    let new = Package::new("grower", "1.1").with_module("grower/net.py", "import socket\n\n\ndef ping():\n    return socket.gethostname()\n");
    let mut files = vec![UpstreamFile::new("xss-demo", hostile.wheel()), UpstreamFile::new("xss-demo", hostile.sdist())];
    for p in [&old, &new] {
        files.push(UpstreamFile::new("grower", p.wheel()));
        files.push(UpstreamFile::new("grower", p.sdist()));
    }
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    let token = airlock.user_with_token("alice", "auditor");
    airlock.serve(Some(&upstream.base_url));
    airlock.request_for_review(&token, &[("grower", "1.0")]).await;
    assert_eq!(airlock.decide(&token, "grower", "1.0", "approve", "baseline").await.status().as_u16(), 200);
    airlock.request_for_review(&token, &[("grower", "1.1"), ("xss-demo", "1.0.0")]).await;

    let driver = start_driver();
    let c = desktop(&driver).await;
    let (session, base_url, wheel) = (c.clone(), airlock.base.clone(), hostile.wheel_filename());
    let outcome = async move {
        let c = session;
        let url = |path: &str| format!("{base_url}{path}");
        // Sign in.
        c.goto(&url("/login")).await.unwrap();
        c.find(Locator::Css("input[name=name]")).await.unwrap().send_keys("alice").await.unwrap();
        c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("correct horse battery").await.unwrap();
        c.find(Locator::Css("button.primary")).await.unwrap().click().await.unwrap();
        wait_for_css(&c, "table.queue").await;
        assert_eq!(c.current_url().await.unwrap().path(), "/queue");
        assert_inert(&c, "queue").await;
        let backlog = c.find(Locator::Id("backlog")).await.unwrap().text().await.unwrap();
        assert!(backlog.contains("2 releases awaiting review") && backlog.contains("lines to read"), "{backlog}");
        screenshot(&c, "queue").await;

        // The flagged release ranks first; open it.
        let first = c.find(Locator::Css("table.queue a.release-link")).await.unwrap();
        assert_eq!(first.text().await.unwrap(), "xss-demo 1.0.0", "the critical release ranks first");
        first.click().await.unwrap();
        wait_for_css(&c, "#findings .finding").await;
        assert_inert(&c, "release page").await;
        let summary = c.find(Locator::Css("dl.meta")).await.unwrap().text().await.unwrap();
        assert!(summary.contains("<script>window.__xss=1;alert(1)</script>"), "the payload shows as text: {summary}");
        screenshot(&c, "release").await;
        let release_url = c.current_url().await.unwrap();

        // j selects the first (most severe) finding; Enter follows it to its line.
        let body = c.find(Locator::Css("body")).await.unwrap();
        body.send_keys("j").await.unwrap();
        let current = wait_for_css(&c, ".finding.current").await;
        assert!(current.text().await.unwrap().contains("onerror=alert(2)>.py"), "the exec finding is first");
        body.send_keys(&fantoccini::key::Key::Enter.to_string()).await.unwrap();
        wait_for_css(&c, "table.code").await;
        let here = c.current_url().await.unwrap();
        assert_eq!(here.fragment(), Some("L2"), "{here}");
        let line = c.find(Locator::Id("L2")).await.unwrap();
        assert_eq!(line.attr("class").await.unwrap().as_deref(), Some("flagged"));
        assert!(line.text().await.unwrap().contains("exec(base64.b64decode"));
        assert_inert(&c, "file viewer").await;
        screenshot(&c, "file-viewer").await;

        // The diff of the other release against its approved base.
        c.goto(&url("/releases/grower/1.1/diff")).await.unwrap();
        let base = wait_for_css(&c, "#diff-base").await.text().await.unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(base.contains("Changes since approved version 1.0"), "{base}");
        assert!(c.source().await.unwrap().contains("+import socket"));
        screenshot(&c, "diff").await;

        // Back on the release, `a` opens the approve dialog.
        c.goto(release_url.as_str()).await.unwrap();
        wait_for_css(&c, "#findings").await;
        c.find(Locator::Css("body")).await.unwrap().send_keys("a").await.unwrap();
        let comment = wait_for_css(&c, "#approve-dialog[open] #approve-comment").await;
        comment.send_keys("Decoded payload prints 1; reviewed the whole wheel and sdist.").await.unwrap();
        c.find(Locator::Id("approve-submit")).await.unwrap().click().await.unwrap();
        // The auditor lands on the next release waiting, told what was decided.
        let decided = wait_for_css(&c, "#decided").await.text().await.unwrap();
        assert!(decided.contains("xss-demo 1.0.0: approved"), "{decided}");
        assert_eq!(c.current_url().await.unwrap().path(), "/releases/grower/1.1");
        c.goto(release_url.as_str()).await.unwrap();
        let status = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#release-status.status-approved")).await;
        assert!(status.is_ok(), "the release is approved");
        assert_inert(&c, "approved release page").await;

        // The package is now in the simple index.
        c.goto(&url("/simple/xss-demo/")).await.unwrap();
        let index = c.source().await.unwrap();
        assert!(index.contains(&wheel), "{index}");
    };
    // Close the session whatever happened, then report.
    let result = tokio::spawn(outcome).await;
    let _ = c.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
