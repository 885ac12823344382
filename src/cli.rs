//! Command-line flags. Each global flag has an environment variable; both
//! override the config file, which overrides the defaults.

use std::path::PathBuf;

use airlock_store::config::Settings;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "airlock", version, about = "A curated, audited mirror of the Python package index")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML config file.
    #[arg(long, env = "AIRLOCK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and blobs [default: ./airlock-data].
    #[arg(long, env = "AIRLOCK_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://…` [default: sqlite://<data-dir>/airlock.db].
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Base URL of the upstream simple index.
    #[arg(long, env = "AIRLOCK_UPSTREAM", global = true)]
    pub upstream: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "AIRLOCK_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Seconds between re-reads of approved projects' upstream yanks; 0 for never [default: 3600].
    #[arg(long, env = "AIRLOCK_UPSTREAM_SYNC_SECS", global = true)]
    pub upstream_sync_secs: Option<u64>,
    /// Hosts (host or host:port, comma-separated) files may be downloaded from besides the upstream's own origin.
    #[arg(long, env = "AIRLOCK_UPSTREAM_FILE_HOSTS", global = true, value_delimiter = ',')]
    pub upstream_file_hosts: Option<Vec<String>>,
    /// Allow downloads from loopback, private and other non-public addresses besides the upstream's own host [default: false].
    #[arg(long, env = "AIRLOCK_UPSTREAM_ALLOW_PRIVATE", global = true)]
    pub upstream_allow_private: Option<bool>,
    /// CPython versions installs run on, comma-separated [default: 3.10,3.11,3.12,3.13].
    #[arg(long, env = "AIRLOCK_TARGET_PYTHONS", global = true, value_delimiter = ',')]
    pub target_pythons: Option<Vec<String>>,
    /// Platforms installs run on, comma-separated [default: linux_x86_64,macos_arm64,windows_amd64].
    #[arg(long, env = "AIRLOCK_TARGET_PLATFORMS", global = true, value_delimiter = ',')]
    pub target_platforms: Option<Vec<String>>,
    /// Names never fetched from the upstream index (comma-separated project names and prefix-* patterns).
    #[arg(long, env = "AIRLOCK_RESERVED_NAMES", global = true, value_delimiter = ',')]
    pub reserved_names: Option<Vec<String>>,
    /// Access log, one line per request: off, stdout, stderr or a file path [default: off; a per-minute summary goes to the log].
    #[arg(long, env = "AIRLOCK_ACCESS_LOG", global = true)]
    pub access_log: Option<String>,
    /// Where blobs live: a folder, or s3://bucket/prefix (credentials and endpoint from AWS_* variables) [default: <data-dir>/blobs].
    #[arg(long, env = "AIRLOCK_BLOB_STORE", global = true)]
    pub blob_store: Option<String>,
    /// Downloads at once from one upstream host [default: 4].
    #[arg(long, env = "AIRLOCK_UPSTREAM_CONCURRENCY", global = true)]
    pub upstream_concurrency: Option<usize>,
    /// Database connections this process keeps at most [default: workers + 8 for serve, workers + 2 for worker].
    #[arg(long, env = "AIRLOCK_DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
    /// With an object store: the most this node's cache of its blobs holds, in MiB [default: 10240].
    #[arg(long, env = "AIRLOCK_BLOB_CACHE_MB", global = true)]
    pub blob_cache_mb: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and in-process workers.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "AIRLOCK_LISTEN")]
        listen: Option<String>,
        /// In-process workers [default: 2].
        #[arg(long, env = "AIRLOCK_WORKERS")]
        workers: Option<usize>,
        /// Who may read the simple index: anonymous or token [default: anonymous].
        #[arg(long, env = "AIRLOCK_INDEX_ACCESS")]
        index_access: Option<String>,
        /// Record a request when the index is asked for a project it lacks [default: true].
        #[arg(long, env = "AIRLOCK_REQUEST_ON_MISS")]
        request_on_miss: Option<bool>,
    },
    /// Run workers only, against the same database.
    Worker {
        /// Workers to run [default: 2].
        #[arg(long, env = "AIRLOCK_WORKERS")]
        workers: Option<usize>,
        /// Serve /metrics, /healthz and /readyz on this address (none by default).
        #[arg(long, env = "AIRLOCK_METRICS_LISTEN")]
        metrics_listen: Option<String>,
    },
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Request a release (`name==version`) for mirroring and review.
    Request {
        /// `name[extras]==version`.
        requirement: String,
        /// Resolve and request its dependencies too, recursively, for the configured targets.
        #[arg(long)]
        with_deps: bool,
    },
    /// Explain why installing NAME (or NAME==VERSION) through Airlock fails
    /// or works, and what to do next.
    Why {
        /// `name` or `name==version`.
        requirement: String,
        /// Print the explanation as JSON (the shape of GET /api/v1/why/<name>).
        #[arg(long)]
        json: bool,
    },
    /// Import a requirements.txt or pylock.toml: request every pinned
    /// release, after checking the file's hashes against the upstream's.
    /// Prints the import's report (its id, and each line's state) as JSON.
    Import {
        file: PathBuf,
        /// requirements or pylock [default: from the file name].
        #[arg(long)]
        format: Option<String>,
        /// Request the newest version that satisfies an unpinned line, instead of refusing it.
        #[arg(long)]
        resolve_unpinned: bool,
        /// Request each release's dependencies too.
        #[arg(long)]
        with_deps: bool,
    },
    /// Print the approved set (or the closure of --roots), hash-pinned for
    /// the targets, as a requirements file or a pylock.toml.
    Export {
        /// requirements or pylock.
        #[arg(long, default_value = "requirements")]
        format: String,
        /// Airlock's URL as installers reach it (pylock.toml needs absolute file URLs).
        #[arg(long)]
        base_url: Option<String>,
        /// Export these releases and their dependency closure (`name==version`, comma-separated).
        #[arg(long)]
        roots: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Watch a project: each new upstream release within SPEC (a PEP 440
    /// specifier such as `>=2,<3`; every version without one) is requested
    /// for review by the periodic sync. Watching again changes the specifier.
    Watch {
        name: String,
        specifier: Option<String>,
        /// Also request the newest N releases within SPEC on the first sync.
        #[arg(long, default_value_t = 0)]
        backfill: u32,
    },
    /// Stop watching a project (its releases and approved files stay).
    Unwatch { name: String },
    /// Check watched projects upstream now (all of them, or with --due only
    /// those whose next check is due), request their new releases, and
    /// print the pass's report as JSON.
    Sync {
        #[arg(long)]
        due: bool,
    },
    /// OSV advisories: import them, and see what they match.
    Advisories {
        #[command(subcommand)]
        command: AdvisoryCommand,
    },
    /// Print the inspection rules as Markdown (the source of docs/rules.md).
    Rules,
    /// Back up the whole instance (SQLite database snapshot and every blob,
    /// each checked) into the new folder DEST; safe while Airlock runs.
    Backup { dest: std::path::PathBuf },
    /// Restore a backup folder into this (new, empty) instance's database
    /// and blob folder, then check that they agree.
    Restore { src: std::path::PathBuf },
    /// Check that the database and the blob store agree: every file's blob
    /// present (and, with --verify, still hashing to its name), no blob or
    /// half-written file unaccounted for. Exits 1 on drift.
    Fsck {
        /// Hash every blob a file row names (reads the whole store).
        #[arg(long)]
        verify: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show which files of a release (`name==version`) the mirror job keeps
    /// for the configured targets, from a PEP 691 JSON project page (PAGE,
    /// or standard input). Exits 1 when no file fits.
    SelectFiles {
        requirement: String,
        page: Option<PathBuf>,
        /// Print the choice as JSON (files and bytes kept vs listed, each file left out and why).
        #[arg(long)]
        json: bool,
    },
    /// Inspect distribution files (or folders of them) and report findings.
    Scan {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
        format: ScanFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdvisoryCommand {
    /// Import OSV records for the PyPI ecosystem from SOURCE: a JSON
    /// record, a folder of them, an OSV export archive (zip), or an
    /// http(s) URL of either. Matches are recorded and acted on (malware
    /// rejected or revoked); prints the report as JSON.
    Import { source: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// List API tokens (id, user, label, state); never the tokens themselves.
    List,
    /// Revoke an API token by id: every server process stops accepting it at once.
    Revoke { id: i64 },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScanFormat {
    Text,
    Json,
}

impl GlobalArgs {
    /// The flag-and-environment layer of the configuration.
    pub fn settings(&self) -> Settings {
        Settings {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            upstream: self.upstream.clone(),
            log_format: self.log_format.clone(),
            upstream_sync_secs: self.upstream_sync_secs,
            upstream_file_hosts: self.upstream_file_hosts.clone(),
            upstream_allow_private: self.upstream_allow_private,
            target_pythons: self.target_pythons.clone(),
            target_platforms: self.target_platforms.clone(),
            reserved_names: self.reserved_names.clone(),
            access_log: self.access_log.clone(),
            blob_store: self.blob_store.clone(),
            upstream_concurrency: self.upstream_concurrency,
            db_pool_size: self.db_pool_size,
            blob_cache_mb: self.blob_cache_mb,
            ..Settings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_a_comma_separated_flag_or_environment_variable() {
        let cli = Cli::try_parse_from(["airlock", "--reserved-names", "acme-*,Corp_Tools", "migrate"]).unwrap();
        assert_eq!(cli.global.settings().reserved_names, Some(vec!["acme-*".to_string(), "Corp_Tools".to_string()]));
        // The only test in this binary that touches the environment.
        std::env::set_var("AIRLOCK_RESERVED_NAMES", "team-*,internal-lib");
        let cli = Cli::try_parse_from(["airlock", "migrate"]);
        std::env::remove_var("AIRLOCK_RESERVED_NAMES");
        let settings = cli.unwrap().global.settings();
        assert_eq!(settings.reserved_names, Some(vec!["team-*".to_string(), "internal-lib".to_string()]));
        let config = airlock_store::Config::resolve(settings).unwrap();
        assert_eq!(config.reserved_names.matching("Team_Auth").as_deref(), Some("team-*"));
        assert!(Cli::try_parse_from(["airlock", "migrate"]).unwrap().global.settings().reserved_names.is_none());
    }
}
