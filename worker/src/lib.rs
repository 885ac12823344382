//! airlock-worker: the background half of Airlock. A job loop over the
//! database queue, the upstream client (PEP 691 JSON with PEP 503 HTML
//! fallback), and the two jobs: `mirror_release` and `inspect_file`.

pub mod context;
pub mod error;
pub mod filename;
pub mod inspect_file;
pub mod mirror;
pub mod request_latest;
pub mod runner;
pub mod simple_html;
pub mod upstream;

pub use context::Context;
pub use error::JobError;
pub use runner::run_worker;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Start `count` workers on the current runtime; they stop when `shutdown` turns true.
pub fn spawn_workers(ctx: &Context, count: usize, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let pid = std::process::id();
    (0..count)
        .map(|i| tokio::spawn(run_worker(ctx.clone(), format!("{host}:{pid}:{i}"), shutdown.clone())))
        .collect()
}
