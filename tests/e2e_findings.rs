//! The auditor's desk where findings are many (issue #14), over HTTP as a
//! form-posting client and in headless Chromium: a release with 176
//! bundled native libraries and a dynamic `exec` in a module that the wheel
//! and the sdist share shows one card per rule, the shared finding once
//! with both archives named; an auditor acknowledges a finding (CSRF and
//! role checked, audited), the second auditor sees it, and the next
//! version shows it carried over while the line is unchanged; an admin
//! suppresses a rule for the project, which takes it out of the risk score
//! and the queue's ranking until removed; rule ids link to /docs/rules; the
//! queue explains its ranking; the file viewer describes a native binary.
//! Screenshots go to target/test-artifacts/desk-*.png.

mod support;

use std::process::Command;
use std::time::Duration;

use fantoccini::Locator;
use support::airlock::Airlock;
use support::browser::{hidden_csrf, Browser};
use support::chromium::{assert_inert, desktop, screenshot, start_driver, wait_for_css};
use support::fixtures::Package;
use support::upstream::{LocalUpstream, UpstreamFile};

const PASSWORD: &str = "correct horse battery";
/// As many bundled libraries as charset-normalizer's wheel carries.
const NATIVE_LIBS: usize = 176;

const C_SOURCE: &str = r#"
#include <stdlib.h>
const char *beacon = "https://collector.example.net/upload";
int speedup(void) { return system("/bin/sh -c true"); }
"#;

/// A tiny ELF shared library compiled now, or a system library as it is
/// (then without the strings this test plants).
fn native_library() -> (Vec<u8>, bool) {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("speedup.c"), dir.path().join("speedup.so"));
    std::fs::write(&src, C_SOURCE).unwrap();
    let built = Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&out).arg(&src).status().is_ok_and(|s| s.success());
    if built {
        return (std::fs::read(&out).unwrap(), true);
    }
    let system = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6"];
    let path = system.iter().find(|p| std::path::Path::new(p).is_file()).expect("a C compiler or a system libm");
    (std::fs::read(path).unwrap(), false)
}

/// Code whose `exec` runs text built at import time: a medium finding.
fn registry(extra: &str) -> String {
    format!("NAMES = ['a', 'b']\nCODE = 'REGISTRY = ' + repr(NAMES)\nexec(CODE)\n{extra}")
}

async fn wait_awaiting(b: &mut Browser, path: &str) -> String {
    for _ in 0..300 {
        let (_, page) = b.get(path).await;
        if page.contains("status-awaiting_review\" id=\"release-status\"") {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never awaited review");
}

fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

/// The text of the first element with this class attribute (tags stripped).
fn first_text_of(page: &str, class_attr: &str) -> String {
    let at = page.find(class_attr).unwrap_or_else(|| panic!("{class_attr} not on the page"));
    let rest = &page[at..];
    let body = &rest[rest.find('>').unwrap() + 1..];
    let mut out = String::new();
    let mut in_tag = false;
    for c in body[..body.find("</p>").unwrap_or(body.len())].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn auditors_work_through_many_findings_at_the_desk() {
    let (elf, planted) = native_library();
    let mut v1 = Package::new("desk-demo", "1.0").with_module("desk_demo/plugins.py", registry(""));
    for i in 0..NATIVE_LIBS {
        v1 = v1.with_wheel_file(&format!("desk_demo/_speedups{i}.so"), elf.clone());
    }
    // 1.1: the exec line unchanged (moved down a line), a new exec beside it.
    let v2 = Package::new("desk-demo", "1.1").with_module("desk_demo/plugins.py", format!("# moved\n{}", registry("exec(CODE + '\\n')\n")));
    let files = vec![
        UpstreamFile::new("desk-demo", v1.wheel()),
        UpstreamFile::new("desk-demo", v1.sdist()),
        UpstreamFile::new("desk-demo", v2.wheel()),
        UpstreamFile::new("desk-demo", v2.sdist()),
    ];
    let upstream = LocalUpstream::start(files);
    let mut airlock = Airlock::new();
    airlock.set_config(&[("mirror_sdists", "\"always\"")]);
    for (name, role) in [("alice", "auditor"), ("bob", "auditor"), ("victor", "viewer"), ("root", "admin")] {
        airlock.add_user(name, role, PASSWORD);
    }
    airlock.serve(Some(&upstream.base_url));
    let mut alice = Browser::new(&airlock.base);
    assert_eq!(alice.login("alice", PASSWORD).await, 303);
    let (_, queue) = alice.get("/queue").await;
    assert_eq!(alice.post("/requests", &[("requirement", "desk-demo==1.0"), ("csrf", &hidden_csrf(&queue))]).await.0, 303);
    let page = wait_awaiting(&mut alice, "/releases/desk-demo/1.0").await;

    // One card per rule, worst first; the native card lists every library.
    let cards = count(&page, "<article class=\"rule-card");
    let rules: Vec<&str> = page.split("data-rule=\"").skip(1).map(|s| s.split('"').next().unwrap()).collect();
    assert_eq!(cards, rules.len());
    let mut unique = rules.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), rules.len(), "one card per rule: {rules:?}");
    assert!(rules.contains(&"native/binary") && rules.contains(&"payload/exec-dynamic"), "{rules:?}");
    let native_card = &page[page.find("data-rule=\"native/binary\"").unwrap()..];
    let native_card = &native_card[..native_card.find("</article>").unwrap()];
    assert!(native_card.contains(&format!("{NATIVE_LIBS} places")), "{native_card}");
    assert_eq!(count(native_card, "<li class=\"finding"), NATIVE_LIBS);
    assert!(!native_card.contains("<details class=\"places\" open"), "more than five places start collapsed");
    assert!(native_card.contains("href=\"/docs/rules#native/binary\""), "the rule id links to its description");
    // The module is in both archives: one place naming both.
    let exec_card = &page[page.find("data-rule=\"payload/exec-dynamic\"").unwrap()..];
    let exec_card = &exec_card[..exec_card.find("</article>").unwrap()];
    assert_eq!(count(exec_card, "<li class=\"finding"), 1, "{exec_card}");
    assert!(exec_card.contains(&v1.wheel_filename()) && exec_card.contains(&v1.sdist_filename()), "{exec_card}");
    let exec_ids = exec_card.split("name=\"finding_ids\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(exec_ids.split(',').count(), 2, "the form covers the wheel's and the sdist's finding");

    // Verdicts: CSRF and the auditor role are checked, a comment is required.
    let review = "/releases/desk-demo/1.0/findings/review";
    let comment = "REGISTRY is built from a constant list: <b>reviewed</b>";
    let csrf = hidden_csrf(&page);
    let ids = exec_ids.as_str();
    let no_csrf = [("finding_ids", ids), ("verdict", "acknowledged"), ("comment", comment)];
    assert_eq!(alice.post(review, &no_csrf).await.0, 403);
    let mut victor = Browser::new(&airlock.base);
    assert_eq!(victor.login("victor", PASSWORD).await, 303);
    let (_, victor_page) = victor.get("/releases/desk-demo/1.0").await;
    assert!(!victor_page.contains("findings/review"), "a viewer gets no verdict form");
    let victor_csrf = hidden_csrf(&victor_page);
    assert_eq!(victor.post(review, &[("finding_ids", ids), ("verdict", "acknowledged"), ("comment", comment), ("csrf", &victor_csrf)]).await.0, 403);
    assert_eq!(alice.post(review, &[("finding_ids", ids), ("verdict", "acknowledged"), ("comment", "  "), ("csrf", &csrf)]).await.0, 400);
    assert_eq!(alice.post(review, &[("finding_ids", "1,zz"), ("verdict", "acknowledged"), ("comment", "x"), ("csrf", &csrf)]).await.0, 400);
    assert_eq!(alice.post(review, &[("finding_ids", ids), ("verdict", "maybe"), ("comment", "x"), ("csrf", &csrf)]).await.0, 400);
    let (status, location) = alice.post(review, &[("finding_ids", ids), ("verdict", "acknowledged"), ("comment", comment), ("csrf", &csrf)]).await;
    assert_eq!((status, location.as_str()), (303, "/releases/desk-demo/1.0#findings"));

    // The second auditor sees it, escaped.
    let mut bob = Browser::new(&airlock.base);
    assert_eq!(bob.login("bob", PASSWORD).await, 303);
    let (_, page) = bob.get("/releases/desk-demo/1.0").await;
    let verdict = first_text_of(&page, "class=\"verdict verdict-acknowledged\"");
    assert!(verdict.starts_with("acknowledged by alice: REGISTRY is built"), "{verdict}");
    assert!(page.contains("&#60;b&#62;reviewed&#60;/b&#62;") || page.contains("&lt;b&gt;reviewed"), "the comment is escaped");
    // The second auditor marks every place of the native card at once.
    let native_card = &page[page.find("data-rule=\"native/binary\"").unwrap()..];
    let all_ids = native_card.split("class=\"finding-review rule-review").nth(1).unwrap();
    let all_ids = all_ids.split("name=\"finding_ids\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(all_ids.split(',').count(), NATIVE_LIBS);
    let bob_csrf = hidden_csrf(&page);
    let all = [("finding_ids", all_ids.as_str()), ("verdict", "false_positive"), ("comment", "the speedups are ours"), ("csrf", bob_csrf.as_str())];
    assert_eq!(bob.post(review, &all).await.0, 303);
    let (_, page) = alice.get("/releases/desk-demo/1.0").await;
    let native_card = &page[page.find("data-rule=\"native/binary\"").unwrap()..];
    let native_card = &native_card[..native_card.find("</article>").unwrap()];
    assert!(native_card.contains(&format!("{NATIVE_LIBS} reviewed")), "the card counts its reviewed places");
    assert_eq!(count(native_card, "class=\"verdict verdict-false_positive\""), NATIVE_LIBS);
    let (_, audit) = bob.get("/audit").await;
    assert!(audit.contains("finding.review") && audit.contains("acknowledged payload/exec-dynamic at desk_demo/plugins.py"), "{audit}");

    // The next version: the unchanged line keeps the verdict, the new one has none.
    assert_eq!(alice.post("/requests", &[("requirement", "desk-demo==1.1"), ("csrf", &csrf)]).await.0, 303);
    let page = wait_awaiting(&mut alice, "/releases/desk-demo/1.1").await;
    let exec_card = &page[page.find("data-rule=\"payload/exec-dynamic\"").unwrap()..];
    let exec_card = &exec_card[..exec_card.find("</article>").unwrap()];
    assert_eq!(count(exec_card, "<li class=\"finding"), 2, "{exec_card}");
    assert_eq!(count(exec_card, "class=\"verdict "), 1, "only the unchanged line is carried: {exec_card}");
    let carried = first_text_of(exec_card, "class=\"verdict verdict-acknowledged\"");
    assert!(carried.starts_with("acknowledged in 1.0 by alice: REGISTRY is built"), "{carried}");
    // The API carries the same verdicts, per finding.
    let token = airlock.user_with_token("apiuser", "viewer");
    let api = airlock.release(&token, "desk-demo", "1.1").await;
    let exec: Vec<&serde_json::Value> = api["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "payload/exec-dynamic").collect();
    let reviewed: Vec<&serde_json::Value> = exec.iter().map(|f| &f["review"]).filter(|r| !r.is_null()).collect();
    assert_eq!(reviewed.len(), exec.len() / 2, "the unchanged line's findings (wheel and sdist) carry the verdict, the new line's do not: {api}");
    assert_eq!(
        (reviewed[0]["verdict"].as_str(), reviewed[0]["by"].as_str(), reviewed[0]["version"].as_str()),
        (Some("acknowledged"), Some("alice"), Some("1.0"))
    );
    assert!(reviewed[0]["comment"].as_str().unwrap().starts_with("REGISTRY is built"));
    let api = airlock.release(&token, "desk-demo", "1.0").await;
    let native = api["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "native/binary");
    assert!(native.clone().count() == NATIVE_LIBS && native.clone().all(|f| f["review"]["verdict"] == "false_positive"), "{api}");

    // The queue explains its ranking, with the weights the code uses.
    let (_, queue) = alice.get("/queue").await;
    let legend = first_text_of(&queue, "id=\"risk-legend\"");
    assert!(legend.contains("How the queue is ranked"), "{legend}");
    assert!(queue.contains("critical</span> 100") && queue.contains("high</span> 40") && queue.contains("medium</span> 10") && queue.contains("low</span> 3"));
    let score_of = |queue: &str, version: &str| -> i64 {
        let row = &queue[queue.find(&format!("desk-demo {version}</a>")).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        let cells: Vec<&str> = row.split("<td>").collect();
        cells.iter().find_map(|c| c.split("</td>").next().unwrap().trim().parse::<i64>().ok()).unwrap()
    };
    let before = score_of(&queue, "1.0");
    // A rule counts once per distribution file: the libraries' 10, the exec's 10 in each archive.
    assert!(before >= 30, "{before}");

    // An admin suppresses native/binary for the project: out of the score, shown collapsed.
    let mut root = Browser::new(&airlock.base);
    assert_eq!(root.login("root", PASSWORD).await, 303);
    let (_, admin) = root.get("/admin/suppressions").await;
    assert!(admin.contains("No rule is suppressed") && admin.contains("href=\"/admin/suppressions\""));
    let admin_csrf = hidden_csrf(&admin);
    let new = [("project", "Desk_Demo"), ("rule", "native/binary"), ("reason", "ships C speedups by design"), ("csrf", admin_csrf.as_str())];
    assert_eq!(alice.post("/admin/suppressions", &[("project", "desk-demo"), ("rule", "native/binary"), ("reason", "x"), ("csrf", &csrf)]).await.0, 403);
    assert_eq!(root.post("/admin/suppressions", &new[..3]).await.0, 403, "no CSRF");
    assert_eq!(root.post("/admin/suppressions", &[("project", "desk-demo"), ("rule", "no/such-rule"), ("reason", "x"), ("csrf", &admin_csrf)]).await.0, 400);
    assert_eq!(root.post("/admin/suppressions", &new).await, (303, "/admin/suppressions".to_string()));
    assert_eq!(root.post("/admin/suppressions", &new).await.0, 409, "once per project and rule");
    let (_, admin) = root.get("/admin/suppressions").await;
    assert!(admin.contains("ships C speedups by design") && admin.contains(">desk-demo</a>"), "{admin}");
    let (_, queue) = alice.get("/queue").await;
    assert_eq!(score_of(&queue, "1.0"), before - 10, "suppressed findings leave the score");
    let (_, page) = alice.get("/releases/desk-demo/1.0").await;
    let native_card = &page[page.find("data-rule=\"native/binary\"").unwrap()..];
    let native_card = &native_card[..native_card.find("</article>").unwrap()];
    assert!(native_card.contains("Suppressed for this project: ships C speedups by design") && !native_card.contains("<details class=\"places\" open"));
    assert!(page.rfind("data-rule=").unwrap() == page.find("data-rule=\"native/binary\"").unwrap(), "the suppressed card comes last");

    // The rule reference, with an anchor per rule.
    let (status, docs) = alice.get("/docs/rules").await;
    assert_eq!(status, 200);
    assert!(docs.contains("id=\"native/binary\"") && docs.contains("id=\"payload/exec-dynamic\""), "anchors per rule");

    // The file viewer describes the native library.
    let viewer = format!("/releases/desk-demo/1.0/files/{}?path=desk_demo/_speedups0.so", v1.wheel_filename());
    let (status, view) = alice.get(&viewer).await;
    assert_eq!(status, 200);
    assert!(view.contains("id=\"native-format\">ELF 64-bit") || view.contains("id=\"native-format\">ELF 32-bit"), "{view}");
    assert!(view.contains("<code>libc.so"), "linked libraries are listed");
    if planted {
        assert!(view.contains("https://collector.example.net/upload") && view.contains("string-shell"), "notable strings");
        assert!(view.contains("<code>system</code>") || view.contains(": system</code>"), "imported symbols");
    }

    // In a real browser: j opens a collapsed card to select its place; the
    // rule link leads to its section; the native view; screenshots.
    let suppression_id = admin.split("/admin/suppressions/").nth(1).unwrap().split('/').next().unwrap().to_string();
    assert_eq!(root.post(&format!("/admin/suppressions/{suppression_id}/remove"), &[("csrf", &admin_csrf)]).await.0, 303);
    let (_, queue) = alice.get("/queue").await;
    assert_eq!(score_of(&queue, "1.0"), before, "removing the suppression restores the score");
    let driver = start_driver();
    let c = desktop(&driver).await;
    let (session, base_url, viewer_path) = (c.clone(), airlock.base.clone(), viewer.clone());
    let outcome = async move {
        let c = session;
        let url = |path: &str| format!("{base_url}{path}");
        c.goto(&url("/login")).await.unwrap();
        c.find(Locator::Css("input[name=name]")).await.unwrap().send_keys("bob").await.unwrap();
        c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        c.find(Locator::Css("button.primary")).await.unwrap().click().await.unwrap();
        wait_for_css(&c, "table.queue").await;
        c.find(Locator::Css("#risk-legend summary")).await.unwrap().click().await.unwrap();
        screenshot(&c, "desk-queue-legend").await;

        c.goto(&url("/releases/desk-demo/1.0")).await.unwrap();
        wait_for_css(&c, "#findings .rule-card").await;
        assert_inert(&c, "release page").await;
        let page_height = c.execute("return document.body.scrollHeight;", vec![]).await.unwrap().as_i64().unwrap();
        eprintln!("release page with {NATIVE_LIBS} native libraries: {page_height} px high");
        assert!(page_height < 6000, "{NATIVE_LIBS} native libraries keep the page short: {page_height}px");
        screenshot(&c, "desk-release").await;
        // Move with j until a native library's place is selected: its card opens.
        let body = c.find(Locator::Css("body")).await.unwrap();
        let mut opened = false;
        for _ in 0..6 {
            body.send_keys("j").await.unwrap();
            let found = c
                .execute(
                    "var f = document.querySelector('.finding.current'); return f ? !!f.closest('details').open && f.textContent.indexOf('.so') >= 0 : false;",
                    vec![],
                )
                .await
                .unwrap();
            if found == serde_json::json!(true) {
                opened = true;
                break;
            }
        }
        assert!(opened, "j reaches a place in the collapsed native card and opens it");
        screenshot(&c, "desk-release-native-open").await;

        c.find(Locator::Css("article[data-rule='payload/exec-dynamic'] a.rule-link")).await.unwrap().click().await.unwrap();
        wait_for_css(&c, "#rules-doc").await;
        let here = c.current_url().await.unwrap();
        assert_eq!((here.path(), here.fragment()), ("/docs/rules", Some("payload/exec-dynamic")));
        let target = c.execute("return document.querySelector(':target').id;", vec![]).await.unwrap();
        assert_eq!(target, serde_json::json!("payload/exec-dynamic"));
        screenshot(&c, "desk-docs-rules").await;

        c.goto(&url(&viewer_path)).await.unwrap();
        let format = wait_for_css(&c, "#native-format").await.text().await.unwrap();
        assert!(format.starts_with("ELF"), "{format}");
        screenshot(&c, "desk-native-view").await;
    };
    let result = tokio::spawn(outcome).await;
    let _ = c.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
