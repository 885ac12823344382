//! airlock-worker: the background half of Airlock. A job loop over the
//! database queue, the upstream client (PEP 691 JSON with PEP 503 HTML
//! fallback), and the jobs: `mirror_release`, `inspect_file`,
//! `request_latest` and `sync_upstream` (with its scheduler).

pub mod context;
pub mod egress;
pub mod error;
pub mod filename;
pub mod guard;
pub mod inspect_file;
pub mod mirror;
pub mod request_latest;
pub mod runner;
pub mod simple_html;
pub mod sync_upstream;
pub mod upstream;

pub use context::Context;
pub use error::JobError;
pub use runner::run_worker;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Start `count` workers on the current runtime, and the upstream sync
/// scheduler when `sync` is set and an upstream is configured; they stop
/// when `shutdown` turns true.
pub fn spawn_workers(ctx: &Context, count: usize, sync: Option<std::time::Duration>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let pid = std::process::id();
    let mut handles: Vec<JoinHandle<()>> = (0..count).map(|i| tokio::spawn(run_worker(ctx.clone(), format!("{host}:{pid}:{i}"), shutdown.clone()))).collect();
    if let (Some(interval), Some(_), true) = (sync, &ctx.upstream, count > 0) {
        handles.push(tokio::spawn(sync_upstream::schedule(ctx.clone(), interval, shutdown.clone())));
    }
    handles
}
