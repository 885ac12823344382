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
