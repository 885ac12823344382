//! The dashboard over HTTP, as a browser uses it: sign in with the login
//! form, open the queue and a release, and decide with the CSRF-protected
//! form. Checks roles, CSRF refusals, escaping and security headers.

mod support;

use support::airlock::Airlock;
use support::fixtures::Package;
use support::upstream::{LocalUpstream, UpstreamFile};

/// A cookie-carrying client that does not follow redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: base.to_string(), cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for value in resp.headers().get_all("set-cookie") {
            let raw = value.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep_cookies(&resp);
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let resp = self.http.post(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.keep_cookies(&resp);
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
        let body = resp.text().await.unwrap();
        (status, if status == 303 { location } else { body })
    }

    async fn login(&mut self, name: &str, password: &str) -> u16 {
        let (_, page) = self.get("/login").await;
        let csrf = hidden_csrf(&page);
        self.post("/login", &[("name", name), ("password", password), ("csrf", &csrf)]).await.0
    }
}

/// The value of the first `name="csrf"` hidden input on a page.
fn hidden_csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("csrf field on page") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// True when `page` shows `text` as escaped text, with named or numeric
/// character references (askama uses numeric ones).
fn shows_escaped(page: &str, text: &str) -> bool {
    let named = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let numeric = text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;");
    page.contains(&named) || page.contains(&numeric)
}

const XSS: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_signs_in_reviews_and_approves_in_the_dashboard() {
    let mut pkg = Package::new("airlock-demo", "1.0.0");
    pkg.summary = XSS.to_string();
    let upstream = LocalUpstream::start(vec![UpstreamFile::new("airlock-demo", pkg.wheel()), UpstreamFile::new("airlock-demo", pkg.sdist())]);
    let mut airlock = Airlock::new();
    airlock.add_user("alice", "auditor", "correct horse battery");
    airlock.add_user("victor", "viewer", "correct horse battery");
    airlock.serve(Some(&upstream.base_url));
    let mut browser = Browser::new(&airlock.base);

    // Signed out: the queue sends you to the login page.
    let (status, location) = {
        let resp = browser.http.get(airlock.url("/queue")).send().await.unwrap();
        (resp.status().as_u16(), resp.headers()["location"].to_str().unwrap().to_string())
    };
    assert_eq!((status, location.as_str()), (303, "/login"));

    // Wrong password, and a login post without its CSRF token, are refused.
    assert_eq!(browser.login("alice", "wrong password").await, 401);
    assert_eq!(browser.post("/login", &[("name", "alice"), ("password", "correct horse battery")]).await.0, 403);
    assert_eq!(browser.login("alice", "correct horse battery").await, 303);

    // Request from the dashboard form.
    let (_, queue) = browser.get("/queue").await;
    let csrf = hidden_csrf(&queue);
    assert_eq!(browser.post("/requests", &[("requirement", "airlock-demo==1.0.0")]).await.0, 403, "request without CSRF");
    assert_eq!(browser.post("/requests", &[("requirement", "airlock-demo==1.0.0"), ("csrf", &csrf)]).await.0, 303);

    // Wait until it awaits review, then open it from the queue.
    let mut page = String::new();
    for _ in 0..300 {
        page = browser.get("/releases/airlock-demo/1.0.0").await.1;
        if page.contains("awaiting_review") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("awaiting_review"), "{page}");
    let (_, queue) = browser.get("/queue").await;
    assert!(queue.contains("/releases/airlock-demo/1.0.0"), "{queue}");
    assert!(page.contains("install-hook/setup-py"), "the setup.py finding is shown");

    // Package metadata is attacker-controlled: it is shown escaped, never as markup.
    assert!(!page.contains("<script>alert(1)"), "raw script from package metadata");
    assert!(!page.contains("<img src=x"), "raw img from package metadata");
    assert!(shows_escaped(&page, XSS), "summary should be shown escaped: {page}");

    // Deciding needs the CSRF token of this session.
    let form_csrf = hidden_csrf(&page);
    let path = "/releases/airlock-demo/1.0.0/decision";
    assert_eq!(browser.post(path, &[("decision", "approve"), ("comment", "ok")]).await.0, 403);
    assert_eq!(browser.post(path, &[("decision", "approve"), ("comment", "ok"), ("csrf", "forged")]).await.0, 403);

    // A viewer cannot decide, even with their own valid token.
    let mut viewer = Browser::new(&airlock.base);
    assert_eq!(viewer.login("victor", "correct horse battery").await, 303);
    let viewer_page = viewer.get("/releases/airlock-demo/1.0.0").await.1;
    assert!(!viewer_page.contains("value=\"approve\""), "viewers get no decision form");
    let viewer_csrf = hidden_csrf(&viewer_page);
    assert_eq!(viewer.post(path, &[("decision", "approve"), ("comment", "ok"), ("csrf", &viewer_csrf)]).await.0, 403);

    // The auditor approves with a comment.
    let (status, location) = browser.post(path, &[("decision", "approve"), ("comment", "reviewed <b>fine</b>"), ("csrf", &form_csrf)]).await;
    assert_eq!((status, location.as_str()), (303, "/releases/airlock-demo/1.0.0"));
    let page = browser.get("/releases/airlock-demo/1.0.0").await.1;
    assert!(page.contains("approved") && shows_escaped(&page, "reviewed <b>fine</b>"), "{page}");

    // The package is in the simple index, and the audit log says who did it.
    let index = browser.get("/simple/airlock-demo/").await.1;
    assert!(index.contains("airlock_demo-1.0.0-py3-none-any.whl#sha256="), "{index}");
    let audit = browser.get("/audit").await.1;
    assert!(audit.contains("release.approve") && audit.contains("alice"), "{audit}");

    // Signing out ends the session.
    let csrf = hidden_csrf(&browser.get("/queue").await.1);
    assert_eq!(browser.post("/logout", &[("csrf", &csrf)]).await.0, 303);
    assert_eq!(browser.get("/queue").await.0, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_carry_strict_security_headers() {
    let mut airlock = Airlock::new();
    airlock.serve(None);
    let resp = reqwest::get(airlock.url("/login")).await.unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_start_creates_an_admin_who_can_sign_in() {
    let mut airlock = Airlock::new();
    airlock.serve(None);
    let log = airlock.log();
    let at = log.find("with password `").expect("first-run password in the log") + "with password `".len();
    let password = log[at..].split('`').next().unwrap().to_string();
    let mut browser = Browser::new(&airlock.base);
    assert_eq!(browser.login("admin", &password).await, 303);
    assert_eq!(browser.get("/queue").await.0, 200);
}
