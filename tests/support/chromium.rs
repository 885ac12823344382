//! Headless Chromium over chromedriver (started here) with fantoccini, for
//! the tests that drive a real browser: the driver, a session, screenshots
//! into target/test-artifacts/, and the check that no payload ran.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// chromedriver on a free port, killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n))).find(|p| p.is_file())
}

pub fn start_driver() -> Driver {
    let bin = find_binary(&["chromedriver"]).expect("chromedriver not found: apt-get install -y chromium chromium-driver");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(bin).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

pub async fn browser(driver: &Driver) -> Client {
    let chromium = find_binary(&["chromium", "chromium-browser", "google-chrome"]).expect("chromium not found");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900", "--no-first-run"],
        }),
    );
    ClientBuilder::rustls().expect("rustls").capabilities(caps).connect(&driver.url).await.expect("a WebDriver session")
}

pub fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    dir
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).expect("write screenshot");
}

/// No alert is open and no payload made it into the DOM as an element.
pub async fn assert_inert(c: &Client, what: &str) {
    if let Ok(text) = c.get_alert_text().await {
        panic!("{what}: an alert opened: {text:?}");
    }
    let injected = c
        .execute(
            "return document.querySelectorAll('img[src=\"x\"], img[onerror], script:not([src]), a[href^=\"javascript:\"], [onerror], [onclick]').length \
             + (window.__xss ? 1000 : 0);",
            vec![],
        )
        .await
        .expect("count injected elements");
    assert_eq!(injected, json!(0), "{what}: injected elements found");
}

pub async fn wait_for_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"))
}
