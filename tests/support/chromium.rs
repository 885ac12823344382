//! Headless Chromium for the browser tests: chromedriver on a port it
//! chose itself (killed on drop), a WebDriver session of a given window size, waits and
//! screenshots into target/test-artifacts/.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// chromedriver on the port it bound, killed on drop.
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
    // Port 0: chromedriver binds a free port itself and says which once it
    // listens, so no other process can take the port between the choice
    // and the bind.
    let mut child = Command::new(bin).arg("--port=0").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start chromedriver");
    let stdout = child.stdout.take().expect("chromedriver's stdout");
    let (bound, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bound = Some(bound);
        // Read on until chromedriver exits, so that its output never fills the pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let said = line.strip_prefix("ChromeDriver was started successfully on port ").and_then(|p| p.trim_end_matches('.').parse::<u16>().ok());
            if let Some(port) = said {
                if let Some(bound) = bound.take() {
                    let _ = bound.send(port);
                }
            }
        }
    });
    let port = port.recv_timeout(Duration::from_secs(20)).expect("chromedriver did not say which port it listens on");
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

/// A desktop-sized session (1366 × 900).
pub async fn desktop(driver: &Driver) -> Client {
    browser(driver, 1366, 900).await
}

/// A headless session whose window is `width` × `height` CSS pixels.
pub async fn browser(driver: &Driver, width: u32, height: u32) -> Client {
    let chromium = find_binary(&["chromium", "chromium-browser", "google-chrome"]).expect("chromium not found");
    let mut options = json!({
        "binary": chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", format!("--window-size={width},{height}"), "--no-first-run"],
    });
    // Headless Chromium keeps windows at least 500 px wide: a narrower
    // viewport is emulated (a desktop one: no touch, no mobile scaling).
    if width < 500 {
        options["mobileEmulation"] = json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "mobile": false, "touch": false } });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
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

/// Sign in through the login form as `name` (password `correct horse battery`).
pub async fn sign_in(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("input[name=name]")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("correct horse battery").await.unwrap();
    c.find(Locator::Css("button.primary")).await.unwrap().click().await.unwrap();
    wait_for_css(c, "header.top form.logout").await;
}

/// Run a browser story and close the session whatever happened, then report.
pub async fn run_story<F>(c: Client, story: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let result = tokio::spawn(story).await;
    let _ = c.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
