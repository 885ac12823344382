//! airlock-worker: the background half of Airlock. A job loop over the
//! database queue, the upstream client (PEP 691 JSON with PEP 503 HTML
//! fallback), and the jobs: `mirror_release`, `add_file`, `inspect_file`,
//! `resolve_dependencies`, `request_latest`, `sync_upstream` (with its
//! scheduler), the watch sync, `check_import_line`, `fetch_advisories`
//! (with its scheduler) and the notification delivery task.

pub mod add_file;
pub mod advisories;
pub mod check_import;
pub mod context;
pub mod egress;
pub mod error;
pub mod guard;
pub mod inspect_file;
pub mod measure_audit;
pub mod mirror;
pub mod notify;
pub mod request_latest;
pub mod resolve_dependencies;
pub mod runner;
pub mod simple_html;
pub mod sync_upstream;
pub mod upstream;
pub mod watch_sync;

pub use context::Context;
pub use error::JobError;
pub use runner::run_worker;

use airlock_store::jobs;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Start `count` workers on the current runtime, and the upstream sync
/// scheduler when `sync` is set and an upstream is configured; they stop
/// when `shutdown` turns true.
pub fn spawn_workers(ctx: &Context, count: usize, sync: Option<std::time::Duration>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let pid = std::process::id();
    if count > 0 {
        tokio::spawn(recover_dead_leases(ctx.clone(), host.clone(), pid, airlock_store::now_ms()));
        tokio::spawn(measure_audit::queue_backlog(ctx.clone()));
    }
    let mut handles: Vec<JoinHandle<()>> = (0..count).map(|i| tokio::spawn(run_worker(ctx.clone(), format!("{host}:{pid}:{i}"), shutdown.clone()))).collect();
    if let (Some(interval), Some(_), true) = (sync, &ctx.upstream, count > 0) {
        handles.push(tokio::spawn(sync_upstream::schedule(ctx.clone(), interval, shutdown.clone())));
    }
    if let (Some(interval), Some(_), true) = (ctx.watch.interval, &ctx.upstream, count > 0) {
        handles.push(tokio::spawn(watch_sync::schedule(ctx.clone(), interval, shutdown.clone())));
    }
    if let (Some(interval), Some(url), true) = (ctx.advisories_sync, &ctx.advisories_url, count > 0) {
        handles.push(tokio::spawn(advisories::schedule(ctx.clone(), url.clone(), interval, shutdown.clone())));
    }
    if count > 0 {
        handles.push(tokio::spawn(notify::run(ctx.clone(), shutdown.clone())));
    }
    handles
}

/// Jobs leased by a worker of this host whose process is gone (killed, or
/// crashed) go back to the queue at once, instead of after their lease runs
/// out. Worker ids are `host:pid:n`; a process is gone when `/proc/<pid>`
/// is, or when the pid is this new process's own (a restart that reused
/// it). Only claims made before this process started are touched.
async fn recover_dead_leases(ctx: Context, host: String, own_pid: u32, started_at: i64) {
    let holders = match ctx.db(jobs::lease_holders).await {
        Ok(h) => h,
        Err(e) => return tracing::warn!(error = %e, "could not read job leases"),
    };
    for worker in holders {
        let Some(pid) = worker.strip_prefix(&format!("{host}:")).and_then(|rest| rest.split(':').next()).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let gone = pid == own_pid || (std::path::Path::new("/proc/self").exists() && !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !gone {
            continue;
        }
        let w = worker.clone();
        match ctx.db(move |c| jobs::requeue_leases_of(c, &w, started_at)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(%worker, jobs = n, "requeued the jobs of a worker whose process is gone"),
            Err(e) => tracing::warn!(error = %e, %worker, "could not requeue a dead worker's jobs"),
        }
    }
}
