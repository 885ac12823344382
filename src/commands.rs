//! What each subcommand does. Exit codes: 0 success, 1 failure, 2 bad usage.

use std::io::Read;
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use airlock_store::config::{LogFormat, Settings};
use airlock_store::domain::{PinnedRequirement, ProjectName, Role, Version};
use airlock_store::names::NamePolicy;
use airlock_store::{auth, db, releases, Config, Store};
use anyhow::{bail, Context as _};

use crate::cli::{Cli, Command, TokenCommand, UserCommand};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut overrides = cli.global.settings();
    match &cli.command {
        Command::Serve { listen, workers, index_access, request_on_miss } => {
            overrides = Settings {
                listen: listen.clone(),
                workers: *workers,
                index_access: index_access.clone(),
                request_on_miss: *request_on_miss,
                ..Settings::default()
            }
            .over(overrides);
        }
        Command::Worker { workers } => {
            overrides = Settings { workers: *workers, ..Settings::default() }.over(overrides);
        }
        _ => {}
    }
    let config = Config::load(cli.global.config.as_deref(), overrides)?;
    init_logging(config.log_format);
    match cli.command {
        Command::Serve { .. } => serve(config),
        Command::Worker { .. } => worker(config),
        Command::Migrate => {
            let pool = db::connect(config.database_url(), 1)?;
            let applied = db::run_migrations(&mut *pool.get()?)?;
            println!("applied {} migration(s)", applied.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => user(config, command),
        Command::Token { command } => token(config, command),
        Command::Request { requirement, with_deps } => {
            let req = PinnedRequirement::parse(&requirement)?;
            let extras = PinnedRequirement::extras_of(&requirement)?;
            let store = Store::open(&config, 1)?;
            let opts = releases::RequestOptions { requested_by: None, with_dependencies: with_deps, extras: &extras, ..releases::RequestOptions::default() };
            let names = NamePolicy::new(config.reserved_names.clone(), airlock_inspect::rules::resembles);
            let out = releases::request_release_with(&mut *store.conn()?, &req, &opts, config.job_max_attempts, &names)?;
            if let Some(like) = &out.possible_typosquat_of {
                eprintln!(
                    "airlock: warning: {} is a possible typosquat of {like}: check that you meant this name (the auditor sees the mark too)",
                    out.project
                );
            }
            println!("{}", serde_json::to_string(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Why { requirement, json } => why(config, &requirement, json),
        Command::Import { file, format, resolve_unpinned, with_deps } => {
            let options = airlock_store::imports::ImportOptions { resolve_unpinned, with_dependencies: with_deps };
            crate::lockfiles::import(&config, &file, format.as_deref(), options)
        }
        Command::Export { format, base_url, roots, output } => {
            crate::lockfiles::export(&config, &format, base_url.as_deref(), roots.as_deref(), output.as_deref())
        }
        Command::Scan { paths, format } => crate::scan::run(&paths, format, &airlock_worker::inspect_file::limits(&config)),
        Command::SelectFiles { requirement, page, json } => crate::select::run(&config, &requirement, page.as_deref(), json),
        Command::Watch { name, specifier, backfill } => crate::watch::watch(&config, &name, specifier.as_deref().unwrap_or(""), backfill),
        Command::Unwatch { name } => crate::watch::unwatch(&config, &name),
        Command::Sync { due } => crate::watch::sync(&config, !due, runtime()?),
        Command::Advisories { command: crate::cli::AdvisoryCommand::Import { source } } => {
            let store = Store::open(&config, 2)?;
            let ctx = airlock_worker::Context::new(store, &config).map_err(|e| anyhow::anyhow!("{e}"))?;
            let report = runtime()?.block_on(airlock_worker::advisories::import(&ctx, &source)).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules => {
            print!("{}", airlock_inspect::rules::rules_markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Fsck { verify, json } => fsck(config, verify, json),
        Command::Backup { dest } => {
            let store = Store::open(&config, 1)?;
            let copied = airlock_store::backup::backup(&mut *store.conn()?, &store.blobs, &dest)?;
            println!("backed up to {}: database {} bytes, {} blobs ({} bytes)", dest.display(), copied.database_bytes, copied.blobs, copied.blob_bytes);
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { src } => {
            let url = config.database_url();
            let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
                anyhow::bail!("airlock restore fills an embedded SQLite instance; on PostgreSQL restore the database with pg_restore and copy the blob folder");
            };
            let copied = airlock_store::backup::restore(&src, std::path::Path::new(path), &config.blob_dir)?;
            println!("restored from {}: database {} bytes, {} blobs ({} bytes)", src.display(), copied.database_bytes, copied.blobs, copied.blob_bytes);
            fsck(config, true, false)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    // Colours only on a terminal: a log file or collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn fsck(config: Config, verify: bool, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config, 1)?;
    let report = airlock_store::fsck::fsck(&mut *store.conn()?, &store.blobs, verify)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} file rows, {} blobs in the store, {} hashed: {}",
            report.file_rows,
            report.blobs_in_store,
            report.blobs_hashed,
            if report.clean() { "the database and the blob store agree" } else { "DRIFT" }
        );
        for b in &report.bad {
            println!("{} {}\t{} {} {} ({}, release {})", b.project, b.version, b.filename, b.kind, b.problem, b.sha256, b.release_status);
        }
        for s in &report.strays {
            println!("stray file (not a blob at its place): {}", s.display());
        }
        if !report.interrupted_writes.is_empty() {
            println!("{} interrupted write(s) in tmp/ (never blobs; safe to delete while Airlock is stopped)", report.interrupted_writes.len());
        }
        if !report.unreferenced.is_empty() {
            println!("{} blob(s) no file row names (never served; space only)", report.unreferenced.len());
        }
    }
    Ok(if report.clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `airlock why NAME[==VERSION]`: the same explanation as `GET /api/v1/why/<name>`.
fn why(config: Config, requirement: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (name, version) = match requirement.split_once("==") {
        Some((name, version)) => (ProjectName::parse(name)?, Some(Version::parse(version)?)),
        None => (ProjectName::parse(requirement)?, None),
    };
    let store = Store::open(&config, 1)?;
    let why = airlock_store::why::why(&mut *store.conn()?, &name, version.as_ref(), &config.reserved_names)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&why)?);
    } else {
        print!("{}", why.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

fn token(config: Config, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config, 1)?;
    let mut conn = store.conn()?;
    match command {
        TokenCommand::Create { user, label } => println!("{}", auth::issue_api_token(&mut conn, "cli", &user, &label)?),
        TokenCommand::List => {
            for t in auth::list_api_tokens(&mut conn)? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{state}", t.id, t.user, t.label);
            }
        }
        TokenCommand::Revoke { id } => {
            auth::revoke_api_token(&mut conn, "cli", id)?;
            println!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn user(config: Config, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config, 1)?;
    let mut conn = store.conn()?;
    match command {
        UserCommand::Add { name, role, password_stdin: _ } => {
            let role: Role = role.parse()?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let user = auth::create_user(&mut conn, &name, role, password)?;
            airlock_store::audit::record(&mut conn, None, "user.create", &user.name, &format!("role {}", role.as_str()))?;
            println!("created {} ({})", user.name, user.role.as_str());
        }
        UserCommand::List => {
            for u in auth::list_users(&mut conn)? {
                println!("{}\t{}", u.name, u.role.as_str());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// On a database without users, create `admin` with a random password and
/// print it once, so a first run can sign in.
fn bootstrap_admin(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.conn()?;
    if auth::count_users(&mut conn)? > 0 {
        return Ok(());
    }
    let password = hex::encode(rand::random::<[u8; 12]>());
    auth::create_user(&mut conn, "admin", Role::Admin, &password)?;
    airlock_store::audit::record(&mut conn, None, "user.create", "admin", "first-run admin")?;
    tracing::warn!("no users existed: created user `admin` with password `{password}` (change it by creating your own admin)");
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config, (config.workers as u32 + 8).min(64))?;
    bootstrap_admin(&store)?;
    if config.upstream.is_none() {
        tracing::warn!("no upstream index configured (--upstream / AIRLOCK_UPSTREAM): requests will fail to mirror until one is set");
    }
    let listener = TcpListener::bind(&config.listen).with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), workers = config.workers, "airlock listening on http://{addr}/");
    let rt = runtime()?;
    rt.block_on(async move {
        let ctx = airlock_worker::Context::new(store.clone(), &config).map_err(|e| anyhow::anyhow!(e.message))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = airlock_worker::spawn_workers(&ctx, config.workers, config.upstream_sync, &stopped);
        let state = airlock_server::AppState::new(store, config);
        let server = airlock_server::run(listener, state)?;
        let result = server.await;
        let _ = stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), futures_join(workers)).await;
        result.context("web server")?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

fn worker(config: Config) -> anyhow::Result<ExitCode> {
    if config.workers == 0 {
        bail!("--workers must be at least 1");
    }
    let store = Store::open(&config, config.workers as u32 + 2)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let ctx = airlock_worker::Context::new(store, &config).map_err(|e| anyhow::anyhow!(e.message))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = airlock_worker::spawn_workers(&ctx, config.workers, config.upstream_sync, &stopped);
        tracing::info!(workers = config.workers, "workers running; Ctrl-C to stop");
        wait_for_signal().await;
        let _ = stop.send(true);
        futures_join(workers).await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
