//! Every route × every role, generated from the server's route table
//! (`airlock_server::routes::ROUTES`), so a new route is walked the day it
//! is added: anonymous, viewer, auditor and admin each get what the table
//! says and nothing more, every state-changing dashboard form is refused
//! without its CSRF token, and the API is refused on a session cookie alone
//! (only a bearer token counts, so a cross-site page cannot drive it).

mod support;

use airlock_server::routes::{Access, Route, ROUTES};
use support::airlock::Airlock;
use support::browser::{hidden_csrf, Browser};

/// A concrete URL path for a route pattern.
fn concrete(path: &str) -> String {
    path.replace("{name}", "demo")
        .replace("{project}", "demo")
        .replace("{version}", "1.0")
        .replace("{filename}", "demo-1.0.tar.gz")
        .replace("{id}", "999999")
        .replace("{sha256}", &"0".repeat(64))
}

/// Who is asking.
struct Caller {
    label: &'static str,
    access: Option<Access>,
    browser: Browser,
    csrf: String,
    token: Option<String>,
}

fn refused(status: u16, location: &str) -> bool {
    status == 401 || status == 403 || (status == 303 && location == "/login")
}

async fn send(caller: &Caller, route: &Route, with_csrf: bool, cookie: bool, bearer: bool) -> (u16, String) {
    let url = format!("{}{}", caller.browser.base, concrete(route.path));
    let http = &caller.browser.http;
    let mut req = match route.method {
        "get" => http.get(&url),
        "head" => http.head(&url),
        "post" => http.post(&url),
        "delete" => http.delete(&url),
        other => panic!("unexpected method {other}"),
    };
    if cookie {
        req = req.header("cookie", caller.browser.cookie_header());
    }
    if let (true, Some(token)) = (bearer, &caller.token) {
        req = req.bearer_auth(token);
    }
    if route.path.starts_with("/api/") && route.method != "get" {
        req = req.json(&serde_json::json!({}));
    } else if route.method == "post" {
        let csrf = if with_csrf { caller.csrf.as_str() } else { "" };
        req = req.form(&[("csrf", csrf)]);
    }
    let resp = req.send().await.unwrap();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status().as_u16(), location)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_each_role_as_the_route_table_says() {
    let mut airlock = Airlock::new();
    let mut callers = Vec::new();
    let users = [("vera", "viewer", Access::Viewer), ("audrey", "auditor", Access::Auditor), ("adam", "admin", Access::Admin)];
    let tokens: Vec<String> = users.iter().map(|(name, role, _)| airlock.user_with_token(name, role)).collect();
    airlock.serve(None);
    callers.push(Caller { label: "anonymous", access: None, browser: Browser::new(&airlock.base), csrf: String::new(), token: None });
    for ((name, _, access), token) in users.iter().zip(tokens) {
        let mut browser = Browser::new(&airlock.base);
        assert_eq!(browser.login(name, "correct horse battery").await, 303);
        let (_, page) = browser.get("/queue").await;
        let csrf = hidden_csrf(&page);
        callers.push(Caller { label: name, access: Some(*access), browser, csrf, token: Some(token) });
    }
    // Signing out ends the session the other rows use: walk it last.
    let mut routes: Vec<&Route> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.path == "/logout");

    let mut failures = Vec::new();
    let mut checked = 0;
    for route in &routes {
        let api = route.path.starts_with("/api/");
        let changes_state = matches!(route.method, "post" | "delete");
        for caller in &callers {
            let allowed = route.access == Access::Public || caller.access.is_some_and(|a| a >= route.access);
            let what = format!("{} {} as {}", route.method.to_uppercase(), route.path, caller.label);
            // The login form is public and answers a wrong password with 401: only its CSRF is checked below.
            let is_login = route.path == "/login" && route.method == "post";
            // Signing out answers with the login page: it succeeded when the session is gone.
            let is_logout = route.path == "/logout";
            if changes_state && !api && allowed {
                let (status, _) = send(caller, route, false, true, false).await;
                checked += 1;
                if status != 403 {
                    failures.push(format!("{what} without a CSRF token: answered {status}, not 403"));
                }
            }
            let (status, location) = send(caller, route, true, !api, api).await;
            checked += 1;
            if is_logout && allowed {
                let (after, _) = send(caller, &Route { method: "get", path: "/queue", access: Access::Viewer }, true, true, false).await;
                if after != 303 {
                    failures.push(format!("{what}: the session still works after signing out ({after})"));
                }
            } else if allowed && !is_login && refused(status, &location) {
                failures.push(format!("{what}: refused ({status} {location}) but the table allows it"));
            }
            if !allowed && !refused(status, &location) {
                failures.push(format!("{what}: answered {status} but the table refuses it"));
            }
            if api && route.access != Access::Public && caller.token.is_some() {
                // A session cookie alone (what a cross-site page could send) is not enough.
                let (status, location) = send(caller, route, true, true, false).await;
                checked += 1;
                if !refused(status, &location) {
                    failures.push(format!("{what} with a session cookie and no token: answered {status}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > ROUTES.len() * 4, "{checked} checks for {} routes", ROUTES.len());
}
