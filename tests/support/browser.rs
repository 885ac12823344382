//! A cookie-carrying HTTP client that signs in through the login form and
//! posts forms with their CSRF token, as a browser does (without running
//! any script; tests/e2e_browser.rs drives a real browser).

/// A cookie-carrying client that does not follow redirects. A clone is
/// the same session, for requests made at once.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: base.to_string(), cookies: Vec::new() }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn keep_cookies(&mut self, resp: &reqwest::Response) {
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

    pub async fn get(&mut self, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep_cookies(&resp);
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let resp = self.http.post(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.keep_cookies(&resp);
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
        let body = resp.text().await.unwrap();
        (status, if status == 303 { location } else { body })
    }

    pub async fn login(&mut self, name: &str, password: &str) -> u16 {
        let (_, page) = self.get("/login").await;
        let csrf = hidden_csrf(&page);
        self.post("/login", &[("name", name), ("password", password), ("csrf", &csrf)]).await.0
    }
}

/// The value of the first `name="csrf"` hidden input on a page.
pub fn hidden_csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("csrf field on page") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

impl Browser {
    /// Post a form and hand back the whole response (status, headers, body).
    pub async fn post_response(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let resp = self.http.post(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.keep_cookies(&resp);
        resp
    }
}
