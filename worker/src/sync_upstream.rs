//! The `sync_upstream` job: re-read a project's page on the upstream and
//! carry its yanks over to the files Airlock mirrored, so a release the
//! upstream yanks after approval shows as yanked in Airlock's index too
//! (and installers skip it unless pinned). Also the scheduler that queues
//! this job for every approved project at the configured interval.

use std::time::Duration;

use airlock_store::domain::ProjectName;
use airlock_store::index;
use airlock_store::tasks::{self, SyncUpstream};
use airlock_store::upstream_sync::{self, UpstreamState};
use tokio::sync::watch;

use crate::context::Context;
use crate::error::JobError;

pub async fn run(ctx: &Context, task: SyncUpstream) -> Result<(), JobError> {
    let upstream = ctx.upstream_client()?;
    let name = ProjectName::parse(&task.project).map_err(JobError::from)?;
    let listed: Vec<UpstreamState> =
        upstream.project_files(&name).await?.into_iter().map(|f| UpstreamState { filename: f.filename, sha256: f.sha256, yanked: f.yanked }).collect();
    let changes = ctx.db(move |c| upstream_sync::apply_upstream_yanks(c, &name, &listed)).await?;
    for change in &changes {
        tracing::info!(project = %task.project, version = %change.version, file = %change.filename, yanked = ?change.yanked, "upstream yank state synced");
    }
    Ok(())
}

/// Queue a sync of every project with an approved release, now and then
/// every `interval`, until `shutdown`. Several processes may run this: a
/// project's sync is queued once while one is pending.
pub async fn schedule(ctx: Context, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        let max_attempts = ctx.max_attempts;
        let queued = ctx
            .db(move |c| {
                let mut queued = 0;
                for project in index::approved_projects(c)? {
                    if tasks::enqueue(c, &SyncUpstream { project }, max_attempts)?.is_some() {
                        queued += 1;
                    }
                }
                Ok(queued)
            })
            .await;
        match queued {
            Ok(n) if n > 0 => tracing::info!(projects = n, "queued upstream syncs"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "queueing upstream syncs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
