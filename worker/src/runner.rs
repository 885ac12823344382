//! The job loop. Each worker claims one job at a time with a lease, keeps
//! the lease alive while the job runs, and records success or failure. A
//! job that fails for good marks its release `failed` with the error, so
//! the dashboard shows it. Each job runs inside [`guarded`]: a panic or a
//! run past `job_timeout_secs` is recorded as a failure like any other, so
//! the lease is released and the worker goes on. Stops cleanly when the
//! shutdown signal fires: a running job gets [`SHUTDOWN_GRACE`] to finish,
//! then goes back to the queue for another worker.

use std::time::Duration;

use airlock_store::imports::{self, LineState};
use airlock_store::jobs::{self, FailOutcome, Job};
use airlock_store::tasks::{
    self, AddFile, CheckImportLine, FetchAdvisories, InspectFile, MeasureAudit, MirrorRelease, RequestLatest, ResolveDependencies, SyncUpstream, Task,
};
use airlock_store::{files, releases, unmirrored};
use tokio::sync::watch;
use tracing::Instrument;

use crate::context::Context;
use crate::error::JobError;
use crate::guard::guarded;
use crate::{add_file, check_import, inspect_file, measure_audit, mirror, request_latest, resolve_dependencies, sync_upstream};

/// How long a claim lasts without a heartbeat.
const LEASE: Duration = Duration::from_secs(120);
/// Sleep between polls of an empty queue.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// How long a running job may go on once shutdown is asked; past it the
/// job is handed back to the queue (its lease released) for another worker.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Run one worker until `shutdown` turns true.
pub async fn run_worker(ctx: Context, worker_id: String, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(worker = %worker_id, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let id = worker_id.clone();
        match ctx.db(move |c| jobs::claim_next(c, &id, LEASE)).await {
            Ok(Some(job)) => {
                let span = tracing::info_span!("job", job_id = job.id, kind = %job.kind, attempt = job.attempts);
                run_claimed(&ctx, &worker_id, job, shutdown.clone()).instrument(span).await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    tracing::info!(worker = %worker_id, "worker stopped");
}

async fn run_claimed(ctx: &Context, worker_id: &str, job: Job, mut shutdown: watch::Receiver<bool>) {
    let heartbeat = {
        let ctx = ctx.clone();
        let (id, worker) = (job.id, worker_id.to_string());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE / 3).await;
                let w = worker.clone();
                if !matches!(ctx.db(move |c| jobs::extend_lease(c, id, &w, LEASE)).await, Ok(true)) {
                    tracing::warn!("lost the lease of job {id}");
                    break;
                }
            }
        })
    };
    // An inspection of the same bytes would hang again; a slow download might not.
    let deterministic = job.kind == InspectFile::KIND;
    let work = guarded(dispatch(ctx, &job), ctx.job_timeout);
    tokio::pin!(work);
    let finished = tokio::select! {
        done = &mut work => Some(done),
        _ = stop_asked(&mut shutdown) => tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await.ok(),
    };
    heartbeat.abort();
    let id = job.id;
    let Some(finished) = finished else {
        // Shutting down mid-job: hand it back, so another worker takes it at once.
        let worker = worker_id.to_string();
        match ctx.db(move |c| jobs::release(c, id, &worker)).await {
            Ok(_) => {
                airlock_store::metrics::PROCESS.jobs_released.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!("shutting down: the unfinished job went back to the queue");
            }
            Err(e) => tracing::warn!(error = %e, "shutting down: could not release the job; it runs again when its lease ends"),
        }
        return;
    };
    let result = finished.unwrap_or_else(|stopped| Err(stopped.into_error(deterministic)));
    match result {
        Ok(()) => {
            if let Err(e) = ctx.db(move |c| jobs::complete(c, id)).await {
                tracing::error!(error = %e, "could not mark job done");
            }
        }
        Err(err) => {
            let (job2, msg, permanent, base, not_before) = (job.clone(), err.message.clone(), err.permanent, ctx.retry_base, err.retry_after);
            match ctx.db(move |c| jobs::fail_not_before(c, &job2, &msg, permanent, base, not_before)).await {
                Ok(FailOutcome::Retry { after_ms }) => {
                    tracing::warn!(error = %err, retry_in_ms = after_ms, "job failed; will retry");
                    note_retry(ctx, &job, &err).await;
                }
                Ok(FailOutcome::Parked) => {
                    tracing::error!(error = %err, "job failed for good");
                    give_up(ctx, &job, &err).await;
                }
                Err(e) => tracing::error!(error = %e, "could not record job failure"),
            }
        }
    }
}

/// Resolves once shutdown is asked (never, if nobody can ask any more).
async fn stop_asked(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn dispatch(ctx: &Context, job: &Job) -> Result<(), JobError> {
    match job.kind.as_str() {
        MirrorRelease::KIND => mirror::run(ctx, tasks::decode(job)?).await,
        AddFile::KIND => add_file::run(ctx, tasks::decode(job)?).await,
        InspectFile::KIND => inspect_file::run(ctx, tasks::decode(job)?).await,
        RequestLatest::KIND => request_latest::run(ctx, tasks::decode(job)?).await,
        SyncUpstream::KIND => sync_upstream::run(ctx, tasks::decode(job)?).await,
        ResolveDependencies::KIND => resolve_dependencies::run(ctx, tasks::decode(job)?).await,
        CheckImportLine::KIND => check_import::run(ctx, tasks::decode(job)?).await,
        MeasureAudit::KIND => measure_audit::run(ctx, tasks::decode(job)?).await,
        FetchAdvisories::KIND => crate::advisories::run(ctx, tasks::decode(job)?).await,
        other => Err(JobError::permanent(format!("unknown job kind {other:?}"))),
    }
}

/// The release a job is about, if any.
async fn release_of(ctx: &Context, job: &Job) -> Option<i64> {
    match job.kind.as_str() {
        MirrorRelease::KIND => tasks::decode::<MirrorRelease>(job).ok().map(|t| t.release_id),
        InspectFile::KIND => {
            let file_id = tasks::decode::<InspectFile>(job).ok()?.file_id;
            ctx.db(move |c| files::file_by_id(c, file_id)).await.ok().flatten().map(|f| f.release_id)
        }
        _ => None,
    }
}

/// A failure of adding a file shows on the left-out file, not its release.
async fn note_on_added_file(ctx: &Context, job: &Job, msg: String) -> bool {
    let AddFile { release_id, filename } = match tasks::decode::<AddFile>(job) {
        Ok(task) => task,
        Err(e) => {
            tracing::error!(error = %e, note = %msg, "an add-file job failed and its payload is unreadable");
            return false;
        }
    };
    if let Err(e) = ctx.db(move |c| unmirrored::add_failed(c, release_id, &filename, &msg)).await {
        tracing::warn!(error = %e, "could not record why adding a file failed");
    }
    true
}

/// Show a transient failure on the release while it waits for its retry.
async fn note_retry(ctx: &Context, job: &Job, err: &JobError) {
    if job.kind == AddFile::KIND {
        note_on_added_file(ctx, job, format!("attempt {} of {} failed, retrying: {}", job.attempts, job.max_attempts, err.message)).await;
        return;
    }
    if let Some(release_id) = release_of(ctx, job).await {
        let msg = format!("attempt {} of {} failed, retrying: {}", job.attempts, job.max_attempts, err.message);
        if let Err(e) = ctx.db(move |c| releases::set_error_note(c, release_id, &msg)).await {
            tracing::warn!(release_id, error = %e, job_error = %err, "could not note the failed attempt on the release");
        }
    }
}

/// A job failed for good: its release fails with the error, and so does
/// an import line it was checking. A release whose requirements cannot be
/// resolved stays reviewable; its closure shows the gap.
async fn give_up(ctx: &Context, job: &Job, err: &JobError) {
    let (kind, id, msg) = (job.kind.clone(), job.id, err.message.clone());
    let noted = ctx
        .db(move |c| {
            let summary = format!("job {kind} #{id} failed for good: {msg}");
            airlock_store::notify::record(c, airlock_store::notify::Kind::JobFailed, &summary, serde_json::json!({ "job_id": id, "kind": kind, "error": msg }))
        })
        .await;
    if let Err(e) = noted {
        tracing::warn!(error = %e, "could not record the failed job's notification");
    }
    if job.kind == ResolveDependencies::KIND {
        let task = match tasks::decode::<ResolveDependencies>(job) {
            Ok(task) => task,
            Err(e) => return tracing::error!(error = %e, job_error = %err, "a dependency job failed for good and its payload is unreadable"),
        };
        let problem = format!("its requirements could not be resolved: {}", err.message);
        let gap = resolve_dependencies::gap_edge(&ctx.targets, "(its requirements)".into(), String::new(), problem);
        let release_id = task.release_id;
        if let Err(e) = ctx.db(move |c| airlock_store::dependencies::replace_edges(c, release_id, &[gap])).await {
            tracing::error!(release_id, error = %e, job_error = %err, "could not record the release's unresolved requirements");
        }
        return;
    }
    if job.kind == AddFile::KIND {
        note_on_added_file(ctx, job, err.message.clone()).await;
        return;
    }
    if let Some(release_id) = release_of(ctx, job).await {
        let msg = err.message.clone();
        if let Err(e) = ctx.db(move |c| releases::fail(c, release_id, &msg)).await {
            tracing::error!(release_id, error = %e, job_error = %err, "could not mark the release failed");
        }
    }
    let import_line = (job.kind == CheckImportLine::KIND).then(|| tasks::decode::<CheckImportLine>(job).ok()).flatten();
    if let Some(CheckImportLine { line_id }) = import_line {
        let msg = format!("checking against the upstream failed: {}", err.message);
        let target = format!("import line #{line_id}");
        if let Err(e) = ctx.db(move |c| imports::refuse_line(c, line_id, LineState::Failed, "import.failed", &target, &msg)).await {
            tracing::error!(line_id, error = %e, job_error = %err, "could not mark the import line failed");
        }
    }
}
