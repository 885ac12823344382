//! Airlock's configuration: one typed struct, layered as defaults, then the
//! TOML config file, then `AIRLOCK_*` environment variables and command-line
//! flags (the CLI folds those two into [`Settings`] before calling
//! [`Config::load`]). Secrets (the database URL's password) never print.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use airlock_inspect::Severity;
use airlock_resolve::Targets;

use crate::error::{StoreError, StoreResult};
use crate::names::ReservedNames;
use crate::throttle::{LoginPolicy, MissPolicy};

/// One layer of settings; every field optional. The config file has this shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Settings {
    /// Address the web server listens on.
    pub listen: Option<String>,
    /// Folder for the SQLite database and blobs.
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: Option<String>,
    /// Base URL of the upstream simple index (ending in `/simple/`).
    pub upstream: Option<String>,
    /// In-process workers started by `serve` (0 for none).
    pub workers: Option<usize>,
    /// Folder for blobs (default `<data_dir>/blobs`).
    pub blob_dir: Option<PathBuf>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// Per-request timeout for the upstream, in seconds.
    pub upstream_timeout_secs: Option<u64>,
    /// Attempts before a job is parked as failed.
    pub job_max_attempts: Option<i64>,
    /// First retry delay in milliseconds; doubles each attempt.
    pub retry_base_ms: Option<u64>,
    /// Who may read the simple index: `anonymous` or `token` (HTTP basic
    /// or bearer with an API token).
    pub index_access: Option<String>,
    /// Record a request when a client asks the index for a project Airlock
    /// does not have.
    pub request_on_miss: Option<bool>,
    /// Memory for verified small files served from RAM, in MiB.
    pub file_cache_mb: Option<u64>,
    /// Memory that the diff, the file viewer and audit sizing may hold of
    /// archive contents at once, over all requests, in MiB.
    pub review_memory_mb: Option<u64>,
    /// Releases whose worst finding is at least this severe need approvals
    /// from two different auditors (`critical`, `high`, `medium`, `low`,
    /// `info`, or `off`).
    pub four_eyes_severity: Option<String>,
    /// How often to re-read approved projects' upstream pages for yanks, in
    /// seconds (0: never).
    pub upstream_sync_secs: Option<u64>,
    /// Wall-clock limit of one job, in seconds: past it the job fails with
    /// that reason and the worker goes on.
    pub job_timeout_secs: Option<u64>,
    /// Failed sign-ins one account may have per `login_window_secs`.
    pub login_max_failures: Option<i64>,
    /// Failed sign-ins one client address may have per `login_window_secs`.
    pub login_max_failures_per_address: Option<i64>,
    /// The sliding window of sign-in failures, in seconds.
    pub login_window_secs: Option<u64>,
    /// One upstream lookup per missing project within this many seconds.
    pub miss_dedup_secs: Option<u64>,
    /// How long the upstream's "no such project" is believed, in seconds.
    pub miss_absent_ttl_secs: Option<u64>,
    /// Upstream lookups one client may set off by index misses per minute.
    pub miss_per_client_per_minute: Option<i64>,
    /// Most bytes a release requested by an index miss (not by a person)
    /// may mirror, in MiB; a larger one waits for an explicit request.
    pub miss_max_release_mb: Option<u64>,
    /// Hosts besides the upstream's own origin that files may be downloaded
    /// from, as `host` (default port) or `host:port`.
    pub upstream_file_hosts: Option<Vec<String>>,
    /// Let the worker connect to loopback, private, link-local and other
    /// non-public addresses other than the upstream's own host.
    pub upstream_allow_private: Option<bool>,
    /// Work the Python analysis may spend on one file, in syntax nodes visited.
    pub analysis_budget_file: Option<u64>,
    /// Work the Python analysis may spend on one archive, in the same units.
    pub analysis_budget_archive: Option<u64>,
    /// Dependency sets: the CPython versions installs run on (`3.12`).
    pub target_pythons: Option<Vec<String>>,
    /// Dependency sets: the platforms installs run on (`linux_x86_64`,
    /// `linux_aarch64`, `macos_arm64`, `macos_x86_64`, `windows_amd64`).
    pub target_platforms: Option<Vec<String>>,
    /// Mirror a release's sdist `always`, or only when `needed` (some
    /// target has no fitting wheel).
    pub mirror_sdists: Option<String>,
    /// "Approve the set" approves the members whose worst finding is below
    /// this severity (`critical`, `high`, `medium`, `low`, `info`).
    pub bulk_approve_below: Option<String>,
    // ---- name protection (issue #11) ----
    /// Names never fetched from the upstream index: project names and
    /// `prefix-*` patterns, compared in PEP 503 normal form.
    pub reserved_names: Option<Vec<String>>,
    // ---- keeping the approved set current (issue #13) ----
    /// The criteria a decision may be made for (cargo-vet's `safe-to-run`,
    /// `safe-to-deploy` by default).
    pub criteria: Option<Vec<String>>,
    /// The criteria of a decision that names none.
    pub default_criteria: Option<String>,
    /// Check watched projects upstream every N s (0: never).
    pub watch_sync_secs: Option<u64>,
    /// Watched projects checked at once in a sync pass.
    pub watch_concurrency: Option<usize>,
    /// A watched project's release younger than N days (upstream upload
    /// time) is not requested until it is N days old (0: off).
    pub watch_cooldown_days: Option<u64>,
    /// A release approved on a base since revoked: `flag` (stays served,
    /// marked) or `withhold` (revoked with its base until reviewed again).
    pub base_revoked_policy: Option<String>,
    /// Most watch checks started per second (0: no limit beyond the concurrency).
    pub watch_rate_per_sec: Option<f64>,
    /// The `small-update` policy: approve a delta from an approved version
    /// of at most this many lines that adds no capability and no finding at
    /// or above `auto_approve_below` (0: off).
    pub auto_approve_max_lines: Option<i64>,
    pub auto_approve_below: Option<String>,
    // ---- serving (issue #17) ----
    /// Where one line per request goes: `off`, `stdout`, `stderr` or a
    /// file path (appended to). Off by default: the log then carries a
    /// per-minute summary of the requests served instead.
    pub access_log: Option<String>,
    // ---- keeping the approved set current, continued (issue #13) ----
    /// Distinct auditors a release needs, per severity of its worst
    /// finding: `{ critical = 3, high = 2, medium = 1 }`. The largest count
    /// among the severities a release reaches applies; `four_eyes_severity
    /// = "high"` is a shorthand for `{ high = 2 }`.
    pub approvals_required: Option<std::collections::BTreeMap<String, i64>>,
    /// Where to fetch OSV advisories from periodically: an OSV export
    /// archive (a zip of per-advisory JSON files) or one JSON record.
    pub advisories_url: Option<String>,
    /// Fetch `advisories_url` every N s (0: only on demand).
    pub advisories_sync_secs: Option<u64>,
    /// Refuse approvals of releases matched by an advisory at or above
    /// this severity (`critical`, `high`, `medium`, `low`, or `off`).
    pub advisory_block_severity: Option<String>,
    /// Revoke approved releases matched by an advisory at or above this
    /// severity (or `off`). OSV `MAL-` records always reject or revoke.
    pub advisory_revoke_severity: Option<String>,
    /// Notifications: POST each event as JSON to this URL.
    pub webhook_url: Option<String>,
    /// Signs the webhook's body: `X-Airlock-Signature: sha256=<hex HMAC-SHA256>`.
    pub webhook_secret: Option<String>,
    /// Delivery attempts per event before it is marked failed.
    pub webhook_max_attempts: Option<i64>,
    /// Releases entering review are announced once per this many seconds,
    /// in one event.
    pub notify_batch_secs: Option<u64>,
    // ---- beyond one machine (issue #16) ----
    /// Where blobs live: a local folder (the default: `blob_dir`) or
    /// `s3://bucket/prefix` on S3-compatible object storage (credentials and
    /// endpoint from the usual `AWS_*` environment variables).
    pub blob_store: Option<String>,
    /// Downloads at once from one upstream host, over all jobs of a process.
    pub upstream_concurrency: Option<usize>,
    /// Database connections one process keeps at most.
    pub db_pool_size: Option<u32>,
    /// With an object store: the most this node's cache folder holds, in MiB.
    pub blob_cache_mb: Option<u64>,
}

impl Settings {
    /// This layer, with gaps filled from `lower`.
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            upstream: self.upstream.or(lower.upstream),
            workers: self.workers.or(lower.workers),
            blob_dir: self.blob_dir.or(lower.blob_dir),
            log_format: self.log_format.or(lower.log_format),
            upstream_timeout_secs: self.upstream_timeout_secs.or(lower.upstream_timeout_secs),
            job_max_attempts: self.job_max_attempts.or(lower.job_max_attempts),
            retry_base_ms: self.retry_base_ms.or(lower.retry_base_ms),
            index_access: self.index_access.or(lower.index_access),
            request_on_miss: self.request_on_miss.or(lower.request_on_miss),
            file_cache_mb: self.file_cache_mb.or(lower.file_cache_mb),
            review_memory_mb: self.review_memory_mb.or(lower.review_memory_mb),
            four_eyes_severity: self.four_eyes_severity.or(lower.four_eyes_severity),
            upstream_sync_secs: self.upstream_sync_secs.or(lower.upstream_sync_secs),
            job_timeout_secs: self.job_timeout_secs.or(lower.job_timeout_secs),
            login_max_failures: self.login_max_failures.or(lower.login_max_failures),
            login_max_failures_per_address: self.login_max_failures_per_address.or(lower.login_max_failures_per_address),
            login_window_secs: self.login_window_secs.or(lower.login_window_secs),
            miss_dedup_secs: self.miss_dedup_secs.or(lower.miss_dedup_secs),
            miss_absent_ttl_secs: self.miss_absent_ttl_secs.or(lower.miss_absent_ttl_secs),
            miss_per_client_per_minute: self.miss_per_client_per_minute.or(lower.miss_per_client_per_minute),
            miss_max_release_mb: self.miss_max_release_mb.or(lower.miss_max_release_mb),
            upstream_file_hosts: self.upstream_file_hosts.or(lower.upstream_file_hosts),
            upstream_allow_private: self.upstream_allow_private.or(lower.upstream_allow_private),
            analysis_budget_file: self.analysis_budget_file.or(lower.analysis_budget_file),
            analysis_budget_archive: self.analysis_budget_archive.or(lower.analysis_budget_archive),
            target_pythons: self.target_pythons.or(lower.target_pythons),
            target_platforms: self.target_platforms.or(lower.target_platforms),
            mirror_sdists: self.mirror_sdists.or(lower.mirror_sdists),
            bulk_approve_below: self.bulk_approve_below.or(lower.bulk_approve_below),
            reserved_names: self.reserved_names.or(lower.reserved_names),
            criteria: self.criteria.or(lower.criteria),
            default_criteria: self.default_criteria.or(lower.default_criteria),
            watch_sync_secs: self.watch_sync_secs.or(lower.watch_sync_secs),
            watch_concurrency: self.watch_concurrency.or(lower.watch_concurrency),
            watch_cooldown_days: self.watch_cooldown_days.or(lower.watch_cooldown_days),
            base_revoked_policy: self.base_revoked_policy.or(lower.base_revoked_policy),
            watch_rate_per_sec: self.watch_rate_per_sec.or(lower.watch_rate_per_sec),
            auto_approve_max_lines: self.auto_approve_max_lines.or(lower.auto_approve_max_lines),
            auto_approve_below: self.auto_approve_below.or(lower.auto_approve_below),
            access_log: self.access_log.or(lower.access_log),
            approvals_required: self.approvals_required.or(lower.approvals_required),
            advisories_url: self.advisories_url.or(lower.advisories_url),
            advisories_sync_secs: self.advisories_sync_secs.or(lower.advisories_sync_secs),
            advisory_block_severity: self.advisory_block_severity.or(lower.advisory_block_severity),
            advisory_revoke_severity: self.advisory_revoke_severity.or(lower.advisory_revoke_severity),
            webhook_url: self.webhook_url.or(lower.webhook_url),
            webhook_secret: self.webhook_secret.or(lower.webhook_secret),
            webhook_max_attempts: self.webhook_max_attempts.or(lower.webhook_max_attempts),
            notify_batch_secs: self.notify_batch_secs.or(lower.notify_batch_secs),
            blob_store: self.blob_store.or(lower.blob_store),
            upstream_concurrency: self.upstream_concurrency.or(lower.upstream_concurrency),
            db_pool_size: self.db_pool_size.or(lower.db_pool_size),
            blob_cache_mb: self.blob_cache_mb.or(lower.blob_cache_mb),
        }
    }

    pub fn from_file(path: &Path) -> StoreResult<Settings> {
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::Config(format!("reading config file {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| StoreError::Config(format!("config file {}: {e}", path.display())))
    }
}

/// Who may read the simple index and download files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexAccess {
    Anonymous,
    /// HTTP basic (any user name, an API token as password) or bearer.
    Token,
}

/// A host files may be downloaded from besides the upstream's origin
/// (`upstream_file_hosts`). Without a port it matches the scheme's default
/// port only (80 for http, 443 for https); with one, exactly that port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHost {
    pub host: url::Host<String>,
    pub port: Option<u16>,
}

impl FileHost {
    /// `host`, `host:port`, `[v6]` or `[v6]:port`; no scheme, path or user.
    pub fn parse(entry: &str) -> StoreResult<FileHost> {
        let bad = |why: &str| StoreError::Config(format!("upstream_file_hosts entry {entry:?} {why}; write host or host:port"));
        let trimmed = entry.trim();
        if trimmed.is_empty() || trimmed.contains(['/', '@', '?', '#', ' ']) {
            return Err(bad("is not a host name"));
        }
        let (host, port) = match trimmed.strip_prefix('[') {
            Some(rest) => {
                let (v6, after) = rest.split_once(']').ok_or_else(|| bad("has an unclosed ["))?;
                let port = match after {
                    "" => None,
                    p => Some(p.strip_prefix(':').ok_or_else(|| bad("has text after ]"))?),
                };
                (format!("[{v6}]"), port)
            }
            None => match trimmed.split_once(':') {
                Some((host, port)) => (host.to_string(), Some(port)),
                None => (trimmed.to_string(), None),
            },
        };
        let port = match port {
            None => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("has an invalid port"))?),
        };
        let host = url::Host::parse(&host).map_err(|e| bad(&format!("is not a valid host ({e})")))?;
        Ok(FileHost { host, port })
    }
}

impl fmt::Display for FileHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved configuration every subcommand runs with.
#[derive(Clone)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    database_url: String,
    pub upstream: Option<String>,
    pub workers: usize,
    pub blob_dir: PathBuf,
    pub log_format: LogFormat,
    pub upstream_timeout: Duration,
    pub job_max_attempts: i64,
    pub retry_base: Duration,
    pub index_access: IndexAccess,
    pub file_cache_bytes: u64,
    /// Archive contents the dashboard may hold at once, over all requests;
    /// past it, pages say busy (503) or "too large to show" (at least 1 MiB).
    pub review_memory_bytes: u64,
    /// The four-eyes rule: releases at or above this severity need two
    /// distinct auditors' approvals. None: one approval always suffices.
    pub four_eyes_severity: Option<Severity>,
    /// How often upstream yanks are re-read for approved projects (None: never).
    pub upstream_sync: Option<Duration>,
    /// Wall-clock limit of one job.
    pub job_timeout: Duration,
    /// Limits on failed sign-ins.
    pub login: LoginPolicy,
    /// What an index miss may set off (the `request_on_miss` setting is its `request`).
    pub misses: MissPolicy,
    /// Most bytes a release requested by an index miss may mirror.
    pub miss_max_release_bytes: u64,
    /// Hosts besides the upstream's origin that files may come from.
    pub upstream_file_hosts: Vec<FileHost>,
    /// Allow connections to non-public addresses (the upstream's own host
    /// is always allowed).
    pub upstream_allow_private: bool,
    /// The Python analysis's work budgets per file and per archive (None:
    /// the inspection engine's defaults).
    pub analysis_budget_file: Option<u64>,
    pub analysis_budget_archive: Option<u64>,
    /// The environments installs run on: they pick markers, wheels and
    /// whether a release's sdist is needed.
    pub targets: Targets,
    /// Mirror every release's sdist, even where wheels cover every target.
    pub mirror_sdists_always: bool,
    /// "Approve the set" takes the members whose worst finding is below this.
    pub bulk_approve_below: Severity,
    // ---- name protection (issue #11) ----
    /// Names never fetched from the upstream index.
    pub reserved_names: ReservedNames,
    // ---- keeping the approved set current (issue #13) ----
    /// The criteria names a decision may carry, and the default one.
    pub criteria: Vec<String>,
    pub default_criteria: String,
    /// How often watched projects are checked upstream (None: never).
    pub watch_sync: Option<Duration>,
    /// Watched projects checked at once.
    pub watch_concurrency: usize,
    /// Releases younger than this (upstream upload time) wait (zero: off).
    pub watch_cooldown: Duration,
    /// `base_revoked_policy = "withhold"`.
    pub withhold_on_base_revoked: bool,
    /// Most watch checks started per second (None: no limit).
    pub watch_rate: Option<f64>,
    /// The `small-update` policy (None: off).
    pub auto_approve: Option<crate::policy::UpdatePolicy>,
    // ---- serving (issue #17) ----
    /// Where the per-request access log goes.
    pub access_log: AccessLogTarget,
    // ---- keeping the approved set current, continued (issue #13) ----
    /// `approvals_required`: (severity, distinct auditors), checked; the
    /// four-eyes shorthand is kept apart in `four_eyes_severity`.
    pub approvals_required: Vec<(Severity, usize)>,
    /// Where advisories are fetched from, and how often (None: on demand).
    pub advisories_url: Option<String>,
    pub advisories_sync: Option<Duration>,
    /// What advisory matches do beyond flagging.
    pub advisories: crate::advisories::AdvisoryPolicy,
    /// The notification webhook (None: the inbox only).
    pub webhook: Option<Webhook>,
    /// How often releases entering review are announced (one event each time).
    pub notify_batch: Duration,
    // ---- beyond one machine (issue #16) ----
    /// Where blobs live: `blob_dir`, or an object store.
    pub blob_store: BlobLocation,
    /// Downloads at once from one upstream host (at least 1).
    pub upstream_concurrency: usize,
    /// Database connections one process keeps at most (None: sized from the workers).
    pub db_pool_size: Option<u32>,
    /// With an object store: the most this node's cache folder holds, in bytes.
    pub blob_cache_bytes: u64,
}

/// Where events are POSTed, and the key that signs them (never printed).
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_attempts: i64,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).field("secret", &self.secret.as_ref().map(|_| "[redacted]")).finish()
    }
}

impl Config {
    /// How many approvals releases need, and what blocks one, as
    /// configured: the [`crate::decisions::ReviewPolicy`] every decision is
    /// weighed under.
    pub fn review_policy(&self) -> crate::decisions::ReviewPolicy {
        crate::decisions::ReviewPolicy {
            four_eyes_severity: self.four_eyes_severity,
            withhold_on_base_revoked: self.withhold_on_base_revoked,
            approvals_required: self.approvals_required.clone(),
            advisory_block_severity: self.advisories.block_severity,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &crate::db::redact_url(&self.database_url))
            .field("upstream", &self.upstream)
            .field("workers", &self.workers)
            .field("blob_dir", &self.blob_dir)
            .field("upstream_file_hosts", &self.upstream_file_hosts)
            .field("upstream_allow_private", &self.upstream_allow_private)
            .field("reserved_names", &self.reserved_names.entries())
            .field("blob_store", &self.blob_store)
            .field("blob_cache_bytes", &self.blob_cache_bytes)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./airlock-data";

impl Config {
    /// Resolve `overrides` (environment and flags) over the config file (if
    /// any) over the defaults.
    pub fn load(config_file: Option<&Path>, overrides: Settings) -> StoreResult<Config> {
        let file = match config_file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        Config::resolve(overrides.over(file))
    }

    pub fn resolve(s: Settings) -> StoreResult<Config> {
        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let blob_dir = s.blob_dir.clone().unwrap_or_else(|| data_dir.join("blobs"));
        let database_url = s.database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("airlock.db").display()));
        crate::db::Backend::of_url(&database_url)?;
        let upstream = match s.upstream.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) {
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                return Err(StoreError::Config(format!("upstream must be an http(s) URL, got {u:?}")))
            }
            Some(u) if !u.ends_with('/') => Some(format!("{u}/")),
            other => other,
        };
        let log_format = match s.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(StoreError::Config(format!("log_format must be text or json, got {other:?}"))),
        };
        let index_access = match s.index_access.as_deref() {
            None | Some("anonymous") => IndexAccess::Anonymous,
            Some("token") => IndexAccess::Token,
            Some(other) => return Err(StoreError::Config(format!("index_access must be anonymous or token, got {other:?}"))),
        };
        let four_eyes_severity = match s.four_eyes_severity.as_deref().map(str::trim) {
            None | Some("") | Some("off") | Some("none") => None,
            Some(sev) => Some(
                named_severity(sev)
                    .ok_or_else(|| StoreError::Config(format!("four_eyes_severity must be critical, high, medium, low, info or off, got {sev:?}")))?,
            ),
        };
        let upstream_file_hosts =
            s.upstream_file_hosts.unwrap_or_default().iter().filter(|h| !h.trim().is_empty()).map(|h| FileHost::parse(h)).collect::<StoreResult<Vec<_>>>()?;
        for (key, value) in [("analysis_budget_file", s.analysis_budget_file), ("analysis_budget_archive", s.analysis_budget_archive)] {
            if value == Some(0) {
                return Err(StoreError::Config(format!("{key} must be at least 1 (units of analysis work)")));
            }
        }
        let default_targets = Targets::default();
        let pythons = s.target_pythons.unwrap_or_else(|| default_targets.pythons());
        let platforms = s.target_platforms.unwrap_or_else(|| default_targets.platforms().iter().map(|p| p.as_str().to_string()).collect());
        let targets = Targets::parse(&pythons, &platforms).map_err(|e| StoreError::Config(format!("target_pythons / target_platforms: {e}")))?;
        let mirror_sdists_always = match s.mirror_sdists.as_deref().map(str::trim) {
            None | Some("needed") => false,
            Some("always") => true,
            Some(other) => return Err(StoreError::Config(format!("mirror_sdists must be needed or always, got {other:?}"))),
        };
        let bulk_approve_below = match s.bulk_approve_below.as_deref().map(str::trim) {
            None => Severity::Medium,
            Some(sev) => {
                named_severity(sev).ok_or_else(|| StoreError::Config(format!("bulk_approve_below must be critical, high, medium, low or info, got {sev:?}")))?
            }
        };
        let criteria: Vec<String> = match s.criteria {
            Some(list) => list.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(),
            None => crate::reading::DEFAULT_CRITERIA_NAMES.iter().map(|c| c.to_string()).collect(),
        };
        let default_criteria = s.default_criteria.map(|c| c.trim().to_string()).unwrap_or_else(|| crate::reading::DEFAULT_CRITERIA.to_string());
        if !criteria.contains(&default_criteria) {
            return Err(StoreError::Config(format!("default_criteria {default_criteria:?} is not one of criteria {criteria:?}")));
        }
        Ok(Config {
            criteria,
            default_criteria,
            watch_sync: match s.watch_sync_secs.unwrap_or(3600) {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            watch_concurrency: s.watch_concurrency.unwrap_or(8).clamp(1, 256),
            watch_cooldown: Duration::from_secs(s.watch_cooldown_days.unwrap_or(0) * 86_400),
            watch_rate: match s.watch_rate_per_sec {
                None | Some(0.0) => None,
                Some(r) if r.is_finite() && r > 0.0 => Some(r),
                Some(r) => return Err(StoreError::Config(format!("watch_rate_per_sec must be 0 (no limit) or a positive number, got {r}"))),
            },
            auto_approve: match (s.auto_approve_max_lines.unwrap_or(0), s.auto_approve_below.as_deref().map(str::trim)) {
                (n, _) if n <= 0 => None,
                (n, None) => Some(crate::policy::UpdatePolicy { max_lines: n, below: Severity::Low }),
                (n, Some(sev)) => Some(crate::policy::UpdatePolicy {
                    max_lines: n,
                    below: named_severity(sev)
                        .ok_or_else(|| StoreError::Config(format!("auto_approve_below must be critical, high, medium, low or info, got {sev:?}")))?,
                }),
            },
            withhold_on_base_revoked: match s.base_revoked_policy.as_deref().map(str::trim) {
                None | Some("flag") => false,
                Some("withhold") => true,
                Some(other) => return Err(StoreError::Config(format!("base_revoked_policy must be flag or withhold, got {other:?}"))),
            },
            targets,
            mirror_sdists_always,
            bulk_approve_below,
            four_eyes_severity,
            upstream_file_hosts,
            upstream_allow_private: s.upstream_allow_private.unwrap_or(false),
            analysis_budget_file: s.analysis_budget_file,
            analysis_budget_archive: s.analysis_budget_archive,
            listen: s.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            blob_dir: blob_dir.clone(),
            data_dir,
            database_url,
            upstream,
            workers: s.workers.unwrap_or(2),
            log_format,
            upstream_timeout: Duration::from_secs(s.upstream_timeout_secs.unwrap_or(60).max(1)),
            job_max_attempts: s.job_max_attempts.unwrap_or(5).max(1),
            retry_base: Duration::from_millis(s.retry_base_ms.unwrap_or(2_000)),
            index_access,
            file_cache_bytes: s.file_cache_mb.unwrap_or(256) * 1024 * 1024,
            review_memory_bytes: s.review_memory_mb.unwrap_or(128).max(1) * 1024 * 1024,
            upstream_sync: match s.upstream_sync_secs.unwrap_or(3600) {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            job_timeout: Duration::from_secs(s.job_timeout_secs.unwrap_or(600).max(1)),
            login: LoginPolicy {
                per_account: s.login_max_failures.unwrap_or(LoginPolicy::default().per_account).max(1),
                per_address: s.login_max_failures_per_address.unwrap_or(LoginPolicy::default().per_address).max(1),
                window: s.login_window_secs.map(Duration::from_secs).unwrap_or(LoginPolicy::default().window),
            },
            misses: MissPolicy {
                request: s.request_on_miss.unwrap_or(true),
                dedup_window: s.miss_dedup_secs.map(Duration::from_secs).unwrap_or(MissPolicy::default().dedup_window),
                absent_ttl: s.miss_absent_ttl_secs.map(Duration::from_secs).unwrap_or(MissPolicy::default().absent_ttl),
                per_client_per_minute: s.miss_per_client_per_minute.unwrap_or(MissPolicy::default().per_client_per_minute).max(0),
            },
            miss_max_release_bytes: s.miss_max_release_mb.unwrap_or(200) * 1024 * 1024,
            reserved_names: ReservedNames::parse(&s.reserved_names.unwrap_or_default())?,
            access_log: AccessLogTarget::parse(s.access_log.as_deref().unwrap_or("off"))?,
            approvals_required: parse_approvals_required(s.approvals_required.unwrap_or_default())?,
            advisories_url: match s.advisories_url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) {
                Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                    return Err(StoreError::Config(format!("advisories_url must be an http(s) URL, got {u:?}")))
                }
                other => other,
            },
            advisories_sync: match s.advisories_sync_secs.unwrap_or(86_400) {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            advisories: crate::advisories::AdvisoryPolicy {
                block_severity: severity_or_off("advisory_block_severity", s.advisory_block_severity.as_deref())?,
                revoke_severity: severity_or_off("advisory_revoke_severity", s.advisory_revoke_severity.as_deref())?,
            },
            webhook: match s.webhook_url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) {
                None => None,
                Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                    return Err(StoreError::Config(format!("webhook_url must be an http(s) URL, got {u:?}")))
                }
                Some(url) => {
                    Some(Webhook { url, secret: s.webhook_secret.filter(|k| !k.is_empty()), max_attempts: s.webhook_max_attempts.unwrap_or(8).clamp(1, 100) })
                }
            },
            notify_batch: Duration::from_secs(s.notify_batch_secs.unwrap_or(60).max(1)),
            blob_store: match s.blob_store.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => BlobLocation::Folder(blob_dir.clone()),
                Some(url) => BlobLocation::parse(url)?,
            },
            upstream_concurrency: match s.upstream_concurrency.unwrap_or(4) {
                0 => return Err(StoreError::Config("upstream_concurrency must be at least 1".into())),
                n => n.min(64),
            },
            db_pool_size: match s.db_pool_size {
                Some(0) => return Err(StoreError::Config("db_pool_size must be at least 1".into())),
                other => other,
            },
            blob_cache_bytes: match s.blob_cache_mb.unwrap_or(DEFAULT_BLOB_CACHE_MB) {
                0 => return Err(StoreError::Config("blob_cache_mb must be at least 1".into())),
                mb => mb.saturating_mul(1024 * 1024),
            },
        })
    }

    /// How many pooled database connections a process running `workers`
    /// in-process workers keeps: `db_pool_size` when set, else room for each
    /// worker plus `extra` (the web server's handlers, the feed).
    pub fn pool_size(&self, workers: usize, extra: u32) -> u32 {
        self.db_pool_size.unwrap_or_else(|| (workers as u32 + extra).min(64))
    }

    /// The database URL, secret included: for connecting only, never for logs.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }
}

/// The severity a setting names: `critical`, `high`, `medium`, `low` or
/// `info` (`none` is no severity a setting can name).
fn named_severity(value: &str) -> Option<Severity> {
    Severity::parse(value).filter(|s| *s != Severity::None)
}

/// A severity setting that may be `off`: None for off or unset.
fn severity_or_off(key: &str, value: Option<&str>) -> StoreResult<Option<Severity>> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if v.is_empty() || v == "off" || v == "none" => Ok(None),
        Some(v) => match named_severity(&v).filter(|s| *s >= Severity::Low) {
            Some(sev) => Ok(Some(sev)),
            None => Err(StoreError::Config(format!("{key} must be critical, high, medium, low or off, got {v:?}"))),
        },
    }
}

/// Check `approvals_required`: known severities, counts from 1 to 10.
fn parse_approvals_required(map: std::collections::BTreeMap<String, i64>) -> StoreResult<Vec<(Severity, usize)>> {
    map.into_iter()
        .map(|(name, n)| {
            let name = name.trim().to_ascii_lowercase();
            let Some(sev) = named_severity(&name) else {
                return Err(StoreError::Config(format!("approvals_required: {name:?} is not a severity (critical, high, medium, low, info)")));
            };
            match usize::try_from(n) {
                Ok(n @ 1..=10) => Ok((sev, n)),
                _ => Err(StoreError::Config(format!("approvals_required: {sev} = {n}; give a count of auditors from 1 to 10"))),
            }
        })
        .collect()
}

/// The default bound on a node's cache of an object store's blobs: 10 GiB.
pub const DEFAULT_BLOB_CACHE_MB: u64 = 10 * 1024;

/// Where blobs live (`blob_store`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// A local folder: the embedded default.
    Folder(PathBuf),
    /// A bucket on S3-compatible object storage, every key under `prefix`
    /// (empty, or ending in `/`).
    S3 { bucket: String, prefix: String },
}

impl BlobLocation {
    /// `s3://bucket`, `s3://bucket/prefix`, or a folder path (`file://` optional).
    pub fn parse(value: &str) -> StoreResult<BlobLocation> {
        let v = value.trim();
        if let Some(rest) = v.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && !bucket.starts_with(['-', '.'])
                && !bucket.ends_with(['-', '.']);
            if !valid_bucket {
                return Err(StoreError::Config(format!("blob_store {v:?}: {bucket:?} is not a valid bucket name (3-63 lowercase letters, digits, - and .)")));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|part| part == "." || part == "..") || prefix.contains("//") || prefix.chars().any(char::is_control) {
                return Err(StoreError::Config(format!("blob_store {v:?}: the prefix must be plain path segments")));
            }
            let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
            return Ok(BlobLocation::S3 { bucket: bucket.to_string(), prefix });
        }
        if let Some((scheme, _)) = v.split_once("://") {
            if scheme != "file" {
                return Err(StoreError::Config(format!("blob_store must be a folder or s3://bucket/prefix, got the scheme {scheme:?}")));
            }
        }
        let path = v.strip_prefix("file://").unwrap_or(v);
        if path.is_empty() {
            return Err(StoreError::Config("blob_store must be a folder or s3://bucket/prefix, got an empty value".into()));
        }
        Ok(BlobLocation::Folder(PathBuf::from(path)))
    }
}

/// Where the access log (one line per request) is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// No per-request lines (the default): a summary per minute at INFO.
    Off,
    Stdout,
    Stderr,
    /// Appended to this file.
    File(PathBuf),
}

impl AccessLogTarget {
    /// `off`, `stdout`, `stderr` or a file path (case matters only in paths).
    pub fn parse(value: &str) -> StoreResult<AccessLogTarget> {
        let v = value.trim();
        Ok(match v.to_ascii_lowercase().as_str() {
            "off" | "none" | "false" => AccessLogTarget::Off,
            "stdout" | "-" => AccessLogTarget::Stdout,
            "stderr" => AccessLogTarget::Stderr,
            "" => return Err(StoreError::Config("access_log must be off, stdout, stderr or a file path, got an empty value".into())),
            _ if v.ends_with('/') || Path::new(v).is_dir() => {
                return Err(StoreError::Config(format!("access_log {v:?} is a folder; give a file path, or off, stdout or stderr")))
            }
            _ => AccessLogTarget::File(PathBuf::from(v)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_put_everything_in_the_data_dir() {
        let c = Config::resolve(Settings::default()).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://./airlock-data/airlock.db");
        assert_eq!(c.blob_dir, PathBuf::from("./airlock-data/blobs"));
        assert_eq!(c.upstream, None);
        assert_eq!(c.workers, 2);
        assert_eq!(c.index_access, IndexAccess::Anonymous);
        assert!(c.misses.request);
        assert_eq!(c.review_memory_bytes, 128 * 1024 * 1024);
    }

    #[test]
    fn flags_and_env_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nworkers = 7\nupstream = \"http://up.example/simple\"\n").unwrap();
        let overrides = Settings { workers: Some(3), ..Settings::default() };
        let c = Config::load(Some(&file), overrides).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.workers, 3);
        assert_eq!(c.upstream.as_deref(), Some("http://up.example/simple/"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), Settings::default()).unwrap_err().to_string();
        assert!(err.contains("listne"), "{err}");
        let bad_db = Settings { database_url: Some("mysql://x".into()), ..Settings::default() };
        assert!(Config::resolve(bad_db).is_err());
        let bad_up = Settings { upstream: Some("ftp://x".into()), ..Settings::default() };
        assert!(Config::resolve(bad_up).is_err());
        let bad_access = Settings { index_access: Some("public".into()), ..Settings::default() };
        assert!(Config::resolve(bad_access).unwrap_err().to_string().contains("index_access"));
        let bad_rule = Settings { four_eyes_severity: Some("severe".into()), ..Settings::default() };
        assert!(Config::resolve(bad_rule).unwrap_err().to_string().contains("four_eyes_severity"));
        let rule = Settings { four_eyes_severity: Some("high".into()), ..Settings::default() };
        assert_eq!(Config::resolve(rule).unwrap().four_eyes_severity, Some(Severity::High));
        let no_budget = Settings { analysis_budget_file: Some(0), ..Settings::default() };
        assert!(Config::resolve(no_budget).unwrap_err().to_string().contains("analysis_budget_file"));
    }

    #[test]
    fn analysis_budgets_are_read_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "analysis_budget_file = 1000\nanalysis_budget_archive = 50000\n").unwrap();
        let c = Config::load(Some(&file), Settings::default()).unwrap();
        assert_eq!((c.analysis_budget_file, c.analysis_budget_archive), (Some(1000), Some(50_000)));
        assert_eq!(Config::resolve(Settings::default()).unwrap().analysis_budget_file, None);
    }

    #[test]
    fn file_hosts_parse_as_host_and_optional_port() {
        let parsed = |e: &str| FileHost::parse(e).map(|h| h.to_string());
        assert_eq!(parsed("Files.Example").unwrap(), "files.example");
        assert_eq!(parsed(" files.example:8443 ").unwrap(), "files.example:8443");
        assert_eq!(parsed("10.0.0.5:80").unwrap(), "10.0.0.5:80");
        assert_eq!(parsed("[::1]:9000").unwrap(), "[::1]:9000");
        assert_eq!(parsed("[fd00::1]").unwrap(), "[fd00::1]");
        for bad in ["", "https://files.example/", "files.example/path", "u@files.example", "files.example:0", "files.example:x", "[::1", "[::1]x", "::1"] {
            assert!(FileHost::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let hosts = Settings { upstream_file_hosts: Some(vec!["a.example".into(), "b.example:81".into()]), ..Settings::default() };
        let c = Config::resolve(hosts).unwrap();
        assert_eq!(c.upstream_file_hosts.len(), 2);
        assert!(!c.upstream_allow_private, "private addresses are refused by default");
        let bad = Settings { upstream_file_hosts: Some(vec!["http://x/".into()]), ..Settings::default() };
        assert!(Config::resolve(bad).unwrap_err().to_string().contains("upstream_file_hosts"));
    }

    #[test]
    fn targets_default_to_four_pythons_on_three_platforms_and_are_configurable() {
        let c = Config::resolve(Settings::default()).unwrap();
        assert_eq!(c.targets.len(), 12);
        assert!(!c.mirror_sdists_always);
        assert_eq!(c.bulk_approve_below, Severity::Medium);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "target_pythons = [\"3.12\"]\ntarget_platforms = [\"linux_x86_64\"]\nmirror_sdists = \"always\"\n").unwrap();
        let c = Config::load(Some(&file), Settings::default()).unwrap();
        assert_eq!(c.targets.len(), 1);
        assert!(c.mirror_sdists_always);
        let bad = Settings { target_platforms: Some(vec!["beos".into()]), ..Settings::default() };
        assert!(Config::resolve(bad).unwrap_err().to_string().contains("beos"));
        let bad = Settings { mirror_sdists: Some("never".into()), ..Settings::default() };
        assert!(Config::resolve(bad).unwrap_err().to_string().contains("mirror_sdists"));
    }

    #[test]
    fn reserved_names_come_from_the_file_list_and_the_environment_layer_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "reserved_names = [\"Acme_Internal\", \"corp-*\"]\n").unwrap();
        let c = Config::load(Some(&file), Settings::default()).unwrap();
        assert_eq!(c.reserved_names.entries(), ["acme-internal", "corp-*"]);
        assert_eq!(c.reserved_names.matching("corp-billing").as_deref(), Some("corp-*"));
        // The CLI splits AIRLOCK_RESERVED_NAMES on commas into this layer.
        let env = Settings { reserved_names: Some(vec!["team-*".into(), " other ".into()]), ..Settings::default() };
        let c = Config::load(Some(&file), env).unwrap();
        assert_eq!(c.reserved_names.entries(), ["team-*", "other"]);
        assert!(c.reserved_names.matching("acme-internal").is_none(), "the higher layer replaces the list");
        assert!(Config::resolve(Settings::default()).unwrap().reserved_names.is_empty());
        std::fs::write(&file, "reserved_names = [\"*\"]\n").unwrap();
        assert!(Config::load(Some(&file), Settings::default()).unwrap_err().to_string().contains("reserved_names"));
    }

    #[test]
    fn approvals_required_is_a_count_per_severity_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "approvals_required = { critical = 3, high = 2, medium = 1 }\n").unwrap();
        let c = Config::load(Some(&file), Settings::default()).unwrap();
        assert_eq!(c.approvals_required, [(Severity::Critical, 3), (Severity::High, 2), (Severity::Medium, 1)]);
        for bad in ["approvals_required = { severe = 2 }\n", "approvals_required = { high = 0 }\n", "approvals_required = { high = 11 }\n"] {
            std::fs::write(&file, bad).unwrap();
            let err = Config::load(Some(&file), Settings::default()).unwrap_err().to_string();
            assert!(err.contains("approvals_required"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let s = Settings { database_url: Some("postgres://u:hunter2@db/x".into()), ..Settings::default() };
        let shown = format!("{:?}", Config::resolve(s).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn blob_store_is_the_blob_folder_unless_an_object_store_url_is_given() {
        let c = Config::resolve(Settings::default()).unwrap();
        assert_eq!(c.blob_store, BlobLocation::Folder(PathBuf::from("./airlock-data/blobs")));
        assert_eq!((c.upstream_concurrency, c.db_pool_size), (4, None));
        assert_eq!(c.pool_size(2, 8), 10);
        let s3 = |url: &str| Config::resolve(Settings { blob_store: Some(url.into()), ..Settings::default() });
        assert_eq!(s3("s3://airlock-blobs").unwrap().blob_store, BlobLocation::S3 { bucket: "airlock-blobs".into(), prefix: String::new() });
        assert_eq!(s3("s3://airlock-blobs/prod/eu/").unwrap().blob_store, BlobLocation::S3 { bucket: "airlock-blobs".into(), prefix: "prod/eu/".into() });
        assert_eq!(s3("/srv/blobs").unwrap().blob_store, BlobLocation::Folder(PathBuf::from("/srv/blobs")));
        for bad in ["s3://", "s3://A_Bucket/x", "s3://ok-bucket/../x", "gs://bucket", "s3://-bad"] {
            let err = s3(bad).unwrap_err().to_string();
            assert!(err.contains("blob_store"), "{bad:?}: {err}");
        }
        let sized = Settings { db_pool_size: Some(5), upstream_concurrency: Some(9), ..Settings::default() };
        let c = Config::resolve(sized).unwrap();
        assert_eq!((c.pool_size(2, 8), c.upstream_concurrency), (5, 9));
        assert!(Config::resolve(Settings { db_pool_size: Some(0), ..Settings::default() }).is_err());
        assert!(Config::resolve(Settings { upstream_concurrency: Some(0), ..Settings::default() }).unwrap_err().to_string().contains("upstream_concurrency"));
        assert_eq!(Config::resolve(Settings::default()).unwrap().blob_cache_bytes, 10 * 1024 * 1024 * 1024);
        assert_eq!(Config::resolve(Settings { blob_cache_mb: Some(512), ..Settings::default() }).unwrap().blob_cache_bytes, 512 * 1024 * 1024);
        assert!(Config::resolve(Settings { blob_cache_mb: Some(0), ..Settings::default() }).unwrap_err().to_string().contains("blob_cache_mb"));
    }

    #[test]
    fn the_access_log_is_off_by_default_and_goes_where_it_is_told() {
        assert_eq!(Config::resolve(Settings::default()).unwrap().access_log, AccessLogTarget::Off);
        for (value, want) in [
            ("off", AccessLogTarget::Off),
            (" OFF ", AccessLogTarget::Off),
            ("stdout", AccessLogTarget::Stdout),
            ("-", AccessLogTarget::Stdout),
            ("Stderr", AccessLogTarget::Stderr),
            ("/var/log/airlock/access.log", AccessLogTarget::File("/var/log/airlock/access.log".into())),
            ("logs/Access.log", AccessLogTarget::File("logs/Access.log".into())),
        ] {
            assert_eq!(AccessLogTarget::parse(value).unwrap(), want, "{value:?}");
        }
        for bad in ["", "  ", "/tmp/", "."] {
            assert!(AccessLogTarget::parse(bad).is_err(), "{bad:?} was accepted");
        }
        // The file layer, under the environment or flag layer.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("airlock.toml");
        std::fs::write(&file, "access_log = \"stdout\"\n").unwrap();
        assert_eq!(Config::load(Some(&file), Settings::default()).unwrap().access_log, AccessLogTarget::Stdout);
        let flag = Settings { access_log: Some("stderr".into()), ..Settings::default() };
        assert_eq!(Config::load(Some(&file), flag).unwrap().access_log, AccessLogTarget::Stderr);
        let err = Config::resolve(Settings { access_log: Some("/".into()), ..Settings::default() }).unwrap_err().to_string();
        assert!(err.contains("access_log"), "{err}");
    }
}
