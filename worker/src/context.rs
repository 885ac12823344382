//! What every job needs: the store, the upstream client (when one is
//! configured), and the queue settings. Database calls are blocking diesel
//! calls, so they run on tokio's blocking pool through [`Context::db`].

use std::time::Duration;

use airlock_resolve::Targets;
use airlock_store::names::NamePolicy;
use airlock_store::{AnyConnection, Config, Store, StoreResult};

use crate::error::JobError;
use crate::upstream::{Egress, UpstreamClient};

#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub upstream: Option<UpstreamClient>,
    pub max_attempts: i64,
    pub retry_base: Duration,
    /// Wall-clock limit of one job.
    pub job_timeout: Duration,
    /// Most bytes a release set off by an index miss may mirror.
    pub miss_max_release_bytes: u64,
    /// Limits for inspecting files, analysis budgets included.
    pub limits: airlock_inspect::Limits,
    /// The environments installs run on: which files are worth mirroring,
    /// which requirements apply.
    pub targets: Targets,
    /// `mirror_sdists = "always"`.
    pub sdists_always: bool,
    /// Reserved names (refused again before any fetch) and the typosquat test.
    pub names: NamePolicy,
    /// The watch sync's settings.
    pub watch: WatchSettings,
    /// What measuring one release may hold of the texts it diffs.
    pub review_memory_bytes: u64,
    /// The `small-update` auto-approval policy, weighed once a release is measured.
    pub auto_approve: Option<airlock_store::policy::UpdatePolicy>,
    /// Approvals and advisory blocks, as decisions are weighed.
    pub review: airlock_store::decisions::ReviewPolicy,
    /// What advisory matches do.
    pub advisories: airlock_store::advisories::AdvisoryPolicy,
    /// `advisories_url` and its period (None: on demand only).
    pub advisories_url: Option<String>,
    pub advisories_sync: Option<Duration>,
    /// The notification webhook (None: inbox only).
    pub webhook: Option<airlock_store::config::Webhook>,
    /// How often releases entering review are announced.
    pub notify_batch: Duration,
}

/// How watched projects are checked.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// Between two checks of a project (None: no periodic sync).
    pub interval: Option<Duration>,
    /// Projects checked at once.
    pub concurrency: usize,
    /// One check's wall-clock limit.
    pub timeout: Duration,
    /// Releases younger than this wait.
    pub cooldown: Duration,
    /// Most checks started per second (None: no limit).
    pub rate: Option<f64>,
}

impl Context {
    /// The upstream client, or the permanent error every job that needs the
    /// upstream gives when none is configured.
    pub fn upstream_client(&self) -> Result<&UpstreamClient, JobError> {
        self.upstream
            .as_ref()
            .ok_or_else(|| JobError::permanent("no upstream index is configured: set --upstream, AIRLOCK_UPSTREAM or `upstream` in the config file"))
    }

    pub fn new(store: Store, config: &Config) -> Result<Context, JobError> {
        let upstream = match &config.upstream {
            Some(url) => {
                let egress = Egress { file_hosts: config.upstream_file_hosts.clone(), allow_private: config.upstream_allow_private };
                Some(UpstreamClient::with_concurrency(url, config.upstream_timeout, egress, config.upstream_concurrency)?)
            }
            None => None,
        };
        Ok(Context {
            store,
            upstream,
            max_attempts: config.job_max_attempts,
            retry_base: config.retry_base,
            job_timeout: config.job_timeout,
            miss_max_release_bytes: config.miss_max_release_bytes,
            limits: crate::inspect_file::limits(config),
            targets: config.targets.clone(),
            names: NamePolicy::new(config.reserved_names.clone(), airlock_inspect::rules::resembles),
            sdists_always: config.mirror_sdists_always,
            watch: WatchSettings {
                interval: config.watch_sync,
                concurrency: config.watch_concurrency,
                timeout: config.upstream_timeout * 2,
                cooldown: config.watch_cooldown,
                rate: config.watch_rate,
            },
            review_memory_bytes: config.review_memory_bytes,
            auto_approve: config.auto_approve.clone(),
            review: config.review_policy(),
            advisories: config.advisories.clone(),
            advisories_url: config.advisories_url.clone(),
            advisories_sync: config.advisories_sync,
            webhook: config.webhook.clone(),
            notify_batch: config.notify_batch,
        })
    }

    /// Run `f` with a pooled connection on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, JobError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> StoreResult<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| JobError::transient(format!("database task panicked: {e}")))?
        .map_err(JobError::from)
    }
}
