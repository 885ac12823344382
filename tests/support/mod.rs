//! Test support shared by the integration tests: fixture packages built in
//! memory ([`fixtures`]), a local upstream index serving them ([`upstream`]),
//! the real `airlock` binary under test ([`airlock`]), and a form-posting
//! client with cookies ([`browser`]).
//!
//! Each test file includes this with `mod support;` and uses only part of
//! it, hence the blanket `dead_code` allowance. Nothing here touches the
//! network beyond 127.0.0.1.
#![allow(dead_code)]

pub mod airlock;
pub mod browser;
pub mod chromium;
pub mod fixtures;
pub mod memory;
pub mod upstream;

#[allow(unused_imports)]
pub use fixtures::{project_name, sha256_hex, wheel_name, Package, PyFile};
#[allow(unused_imports)]
pub use upstream::{Fault, LocalUpstream, Served, UpstreamFile, UpstreamOptions};

/// Poll `check` every 20 ms until it holds; panics with `what` once `bound`
/// has passed. Returns how long it took. Use it instead of a fixed sleep
/// before an assertion, and instead of a hand-written polling loop.
pub async fn eventually<F, Fut>(what: &str, bound: std::time::Duration, mut check: F) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < bound, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    started.elapsed()
}
