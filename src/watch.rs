//! `airlock watch`, `airlock unwatch` and `airlock sync`: the watch list
//! from the command line, and one sync pass run now (the serving
//! process's workers then mirror what it requested).

use std::process::ExitCode;

use airlock_store::domain::ProjectName;
use airlock_store::names::NamePolicy;
use airlock_store::{watches, Config, Store};

pub fn watch(config: &Config, name: &str, specifier: &str, backfill: u32) -> anyhow::Result<ExitCode> {
    let name = ProjectName::parse(name)?;
    let store = Store::open(config, 1)?;
    let names = NamePolicy::new(config.reserved_names.clone(), airlock_inspect::rules::resembles);
    let w = watches::watch(&mut *store.conn()?, &name, specifier, backfill, None, &names)?;
    println!("{}", serde_json::to_string(&w)?);
    Ok(ExitCode::SUCCESS)
}

pub fn unwatch(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let name = ProjectName::parse(name)?;
    let store = Store::open(config, 1)?;
    let was = watches::unwatch(&mut *store.conn()?, &name, None)?;
    println!("{}", serde_json::json!({ "project": name, "was_watched": was }));
    Ok(ExitCode::SUCCESS)
}

pub fn sync(config: &Config, all: bool, rt: tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let store = Store::open(config, (config.watch_concurrency as u32 + 2).min(64))?;
    let ctx = airlock_worker::Context::new(store, config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = rt.block_on(airlock_worker::watch_sync::sync_pass(&ctx, all)).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
