//! The watch sync: checks each watched project upstream and requests its
//! new releases for review. A pass claims the watches that are due (each
//! by one process only), then checks them at most `watch_concurrency` at a
//! time (every page is on the upstream's host, so this is the per-host
//! limit), starting at most `watch_rate_per_sec` a second, each under its
//! own timeout, so one slow project holds up no other. A check is a conditional request (`If-None-Match` /
//! `If-Modified-Since` from the last answer): an unchanged project costs
//! one request and a 304 (or, from an upstream that sends its last-serial
//! header but no ETag, a full answer with the same serial and no work). A changed page carries its yanks over (as the
//! approved-project sync does) and requests the versions [`watches::plan`]
//! picks; they are mirrored, inspected and reviewed like any request. A
//! mirrored file the page no longer lists is marked, never deleted.
//! When the upstream answers 429 or 503, the rest of the pass leaves it
//! alone until its `Retry-After` (a minute without one).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use airlock_store::domain::{PinnedRequirement, ProjectName, RequestSource, Version};
use airlock_store::now_ms;
use airlock_store::releases::{self, RequestOptions};
use airlock_store::upstream_sync::{self, UpstreamState};
use airlock_store::watches::{self, Checked, Watch};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::watch as signal;

use crate::context::Context;
use crate::error::JobError;
use crate::upstream::{ProjectPage, UpstreamClient};
use airlock_inspect::DistFilename;

/// Who the releases a watch requests are requested by.
pub const REQUESTER: &str = "watch";
/// How long the upstream is left alone after a 429 or 503 without `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// Watches checked (claimed) in this pass.
    pub checked: usize,
    /// Answered 304.
    pub unchanged: usize,
    /// Answered with a page.
    pub listed: usize,
    /// Failed, or left alone while the upstream asked to slow down.
    pub failed: usize,
    /// `project==version` requested for review.
    pub requested: Vec<String>,
    /// Files published upstream after their release was mirrored, that the
    /// targets install: requested (mirrored, inspected, approved on their own).
    pub late_files: Vec<String>,
    pub millis: u128,
}

enum One {
    Unchanged,
    Listed(Vec<String>, Vec<String>),
    Failed,
}

/// One pass over the watches due now (every watch when `all`).
pub async fn sync_pass(ctx: &Context, all: bool) -> Result<PassReport, JobError> {
    let started = std::time::Instant::now();
    let upstream = ctx.upstream_client()?.clone();
    let interval_ms = ctx.watch.interval.unwrap_or(Duration::from_secs(3600)).as_millis() as i64;
    let now = now_ms();
    let due = ctx.db(move |c| watches::claim_due(c, now, interval_ms, all)).await?;
    let paused = Arc::new(AtomicI64::new(0));
    // Paces the checks' starts when `watch_rate_per_sec` is set.
    let pacer = ctx.watch.rate.map(|per_sec| {
        let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::sync::Mutex::new(every)
    });
    let outcomes: Vec<One> = futures_util::stream::iter(due)
        .map(|w| async {
            if let Some(p) = &pacer {
                p.lock().await.tick().await;
            }
            check(ctx, &upstream, w, paused.clone()).await
        })
        .buffer_unordered(ctx.watch.concurrency.max(1))
        .collect()
        .await;
    let mut report = PassReport { checked: outcomes.len(), ..PassReport::default() };
    for o in outcomes {
        match o {
            One::Unchanged => report.unchanged += 1,
            One::Listed(requested, late) => {
                report.listed += 1;
                report.requested.extend(requested);
                report.late_files.extend(late);
            }
            One::Failed => report.failed += 1,
        }
    }
    report.millis = started.elapsed().as_millis();
    Ok(report)
}

/// Check one watched project and record what came of it.
async fn check(ctx: &Context, upstream: &UpstreamClient, w: Watch, paused: Arc<AtomicI64>) -> One {
    let project = w.project.clone();
    let (checked, requested, late) = match check_inner(ctx, upstream, &w, &paused).await {
        Ok(done) => done,
        Err(e) => {
            let retry_at = e.throttled.then(|| {
                let until = now_ms() + e.retry_after.unwrap_or(DEFAULT_BACKOFF).as_millis() as i64;
                paused.fetch_max(until, Ordering::SeqCst);
                until
            });
            tracing::warn!(%project, error = %e, "watch sync failed");
            (Checked::Failed { error: e.message, retry_at }, Vec::new(), Vec::new())
        }
    };
    let one = match &checked {
        Checked::Unchanged | Checked::SameSerial(_) => One::Unchanged,
        Checked::Listed { .. } => One::Listed(requested.iter().map(|v| format!("{project}=={v}")).collect(), late),
        Checked::Failed { .. } => One::Failed,
    };
    let now = now_ms();
    if let Err(e) = ctx.db(move |c| watches::record_check(c, &project, now, &checked)).await {
        tracing::warn!(error = %e, "recording a watch check");
    }
    one
}

/// What one check found: the record, the versions requested, the late files requested.
type CheckResult = (Checked, Vec<String>, Vec<String>);

async fn check_inner(ctx: &Context, upstream: &UpstreamClient, w: &Watch, paused: &AtomicI64) -> Result<CheckResult, JobError> {
    let now = now_ms();
    let until = paused.load(Ordering::SeqCst);
    if until > now {
        let e = JobError::transient("the upstream asked Airlock to slow down; checked again after its Retry-After").throttled();
        return Err(e.not_before(Duration::from_millis((until - now) as u64)));
    }
    let name = ProjectName::parse(&w.project)?;
    let validators = w.validators(now);
    // Twice the read timeout: one slow answer fails this check alone.
    let limit = ctx.watch.timeout;
    let page = tokio::time::timeout(limit, upstream.project_page(&name, validators.as_ref()))
        .await
        .map_err(|_| JobError::transient(format!("no answer within {} s", limit.as_secs())))??;
    let (files, validators) = match page {
        ProjectPage::NotModified => return Ok((Checked::Unchanged, Vec::new(), Vec::new())),
        ProjectPage::Listed { files, validators } => (files, validators),
    };
    if w.same_serial(&validators, now) {
        return Ok((Checked::SameSerial(validators), Vec::new(), Vec::new()));
    }
    let states: Vec<UpstreamState> =
        files.iter().map(|f| UpstreamState { filename: f.filename.clone(), sha256: f.sha256.clone(), yanked: f.yanked.clone() }).collect();
    let parsed: Vec<(DistFilename, Option<String>, bool)> = files
        .iter()
        .filter_map(|f| DistFilename::parse(&f.filename).filter(|d| d.name == name.as_str()).map(|d| (d, f.upload_time.clone(), f.yanked.is_some())))
        .collect();
    let listed = watches::listed_versions(parsed.iter().map(|(d, t, y)| (d.version.as_str(), t.as_deref(), *y)));
    let (watch, cooldown_ms, attempts, names) = (w.clone(), ctx.watch.cooldown.as_millis() as i64, ctx.max_attempts, ctx.names.clone());
    let (targets, sdists_always) = (ctx.targets.clone(), ctx.sdists_always);
    ctx.db(move |c| {
        for change in upstream_sync::apply_upstream_yanks(c, &name, &states)? {
            tracing::info!(project = %name, version = %change.version, file = %change.filename, yanked = ?change.yanked, "upstream yank state synced");
        }
        let listed_names: Vec<String> = files.iter().map(|f| f.filename.clone()).collect();
        for gone in upstream_sync::mark_removed_upstream(c, &name, &listed_names, now)? {
            tracing::warn!(project = %name, file = %gone, "a mirrored file is no longer listed upstream; kept");
        }
        let in_airlock = releases::project_releases(c, &name)?;
        let late = late_files(c, &name, &in_airlock, &files, &targets, sdists_always, attempts)?;
        let known: Vec<Version> = in_airlock.iter().filter_map(|r| Version::parse(&r.version).ok()).collect();
        let plan = watches::plan(&watch, &listed, &known, cooldown_ms, now)?;
        let mut requested = Vec::new();
        for v in &plan.request {
            let req = PinnedRequirement { name: name.clone(), version: Version::parse(v)? };
            // With its dependencies, as a person's request: a requirement the new
            // release adds is resolved (reusing approved releases) and shown.
            let opts = RequestOptions { requested_by: Some(REQUESTER), with_dependencies: true, extras: &[], source: RequestSource::Watch };
            match releases::request_release_with(c, &req, &opts, attempts, &names) {
                Ok(out) => {
                    tracing::info!(project = %out.project, version = %out.version, "watched project: new release requested for review");
                    requested.push(v.clone());
                }
                Err(e) => tracing::warn!(project = %name, version = %v, error = %e, "watched project: requesting a release failed"),
            }
        }
        Ok((Checked::Listed { validators, plan }, requested, late))
    })
    .await
}

/// Files the upstream lists for releases Airlock already mirrored that it
/// has not seen before: each is listed as not mirrored, and those the
/// targets install are requested like a person's "mirror and review it"
/// (the approval in force keeps serving what it covered meanwhile).
/// Returns the names requested.
fn late_files(
    c: &mut airlock_store::AnyConnection,
    name: &ProjectName,
    in_airlock: &[releases::Release],
    listed: &[crate::upstream::UpstreamFile],
    targets: &airlock_resolve::Targets,
    sdists_always: bool,
    attempts: i64,
) -> airlock_store::StoreResult<Vec<String>> {
    use airlock_store::domain::ReleaseStatus;
    use airlock_store::{files, unmirrored};
    let mut requested = Vec::new();
    for r in in_airlock {
        if !matches!(r.status, ReleaseStatus::AwaitingReview | ReleaseStatus::Approved | ReleaseStatus::Revoked) {
            continue;
        }
        let Ok(version) = Version::parse(&r.version) else { continue };
        let of_version = crate::mirror::files_of_version(listed, name, &version);
        let mut seen: Vec<String> = files::files_of_release(c, r.id)?.into_iter().map(|f| f.filename).collect();
        seen.extend(unmirrored::of_release(c, r.id)?.into_iter().map(|f| f.file.filename));
        if of_version.iter().all(|f| seen.contains(&f.filename)) {
            continue;
        }
        let chosen = crate::mirror::choose_files(&of_version, targets, sdists_always);
        let mut late: Vec<unmirrored::LeftOut> = chosen
            .keep
            .iter()
            .map(|f| unmirrored::LeftOut {
                filename: f.filename.clone(),
                size: f.size.map(|s| s as i64),
                sha256: f.sha256.as_ref().map(|h| h.as_str().to_string()),
                upstream_url: f.url.to_string(),
                requires_python: f.requires_python.clone(),
                reason: "published upstream after the release was mirrored".into(),
            })
            .collect();
        let fitting: Vec<String> = late.iter().map(|f| f.filename.clone()).collect();
        late.extend(chosen.left_out);
        for filename in unmirrored::note_late(c, r.id, &late)? {
            if !fitting.contains(&filename) {
                tracing::info!(project = %name, version = %r.version, file = %filename, "published upstream after mirroring; left out for the targets");
                continue;
            }
            match unmirrored::request_add(c, r.id, &filename, REQUESTER, attempts) {
                Ok(_) => {
                    tracing::info!(project = %name, version = %r.version, file = %filename, "published upstream after mirroring; requested");
                    requested.push(filename);
                }
                Err(e) => tracing::warn!(project = %name, version = %r.version, file = %filename, error = %e, "requesting a late file failed"),
            }
        }
    }
    Ok(requested)
}

/// Run a pass over the due watches every few seconds (at most every
/// `interval`), until `shutdown`.
pub async fn schedule(ctx: Context, interval: Duration, mut shutdown: signal::Receiver<bool>) {
    let tick = interval.min(Duration::from_secs(5));
    loop {
        match sync_pass(&ctx, false).await {
            Ok(r) if r.checked > 0 => {
                tracing::info!(
                    checked = r.checked,
                    unchanged = r.unchanged,
                    listed = r.listed,
                    failed = r.failed,
                    requested = r.requested.len(),
                    "watch sync pass"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watch sync pass"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
