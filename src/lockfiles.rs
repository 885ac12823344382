//! `airlock import FILE` and `airlock export`: lockfiles in and out, on the
//! database directly (as `airlock request` is). Unlike the HTTP import,
//! the CLI follows `-r` includes, relative to the file that names them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_store::imports::{self, Format, ImportOptions, NewImport};
use airlock_store::{export, Config, Store};
use anyhow::{bail, Context as _};

/// Largest file read (the imported one or an include).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

fn read_file(path: &Path) -> Result<(String, String), String> {
    let canonical = path.canonicalize().map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let size = std::fs::metadata(&canonical).map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!("{} is larger than {} MiB", path.display(), MAX_FILE_BYTES / (1024 * 1024)));
    }
    let content = std::fs::read_to_string(&canonical).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((canonical.display().to_string(), content))
}

pub fn import(config: &Config, file: &Path, format: Option<&str>, options: ImportOptions) -> anyhow::Result<ExitCode> {
    let format = match format {
        Some(f) => Format::parse(f)?,
        None => Format::of_filename(&file.display().to_string()),
    };
    let (source, content) = read_file(file).map_err(anyhow::Error::msg)?;
    let mut include = |from: &str, path: &str| {
        let base = Path::new(from).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        read_file(&base.join(path))
    };
    let parsed = format.read(&source, &content, &mut include);
    let store = Store::open(config, 1)?;
    let mut conn = store.conn()?;
    let new = NewImport { format, source: &source, requested_by: None, options };
    let names = airlock_store::names::NamePolicy::new(config.reserved_names.clone(), airlock_inspect::rules::resembles);
    let id = imports::create(&mut conn, &new, &parsed, &config.targets, config.job_max_attempts, &names)?;
    println!("{}", serde_json::to_string(&imports::report(&mut conn, id)?)?);
    Ok(ExitCode::SUCCESS)
}

pub fn export(config: &Config, format: &str, base_url: Option<&str>, roots: Option<&str>, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let format = Format::parse(format)?;
    let base = base_url.map(|b| b.trim_end_matches('/').to_string());
    if format == Format::Pylock && base.is_none() {
        bail!("a pylock.toml names absolute file URLs: give --base-url, Airlock's URL as installers reach it (e.g. http://airlock.internal:8080)");
    }
    let roots = roots.map(export::parse_roots).transpose()?;
    let store = Store::open(config, 1)?;
    let mut conn = store.conn()?;
    let releases = match roots {
        Some(roots) => export::of_roots(&mut conn, &roots, &config.targets)?,
        None => export::approved_set(&mut conn, &config.targets)?,
    };
    let origin = base.unwrap_or_else(|| "<airlock>".to_string());
    let index_url = format!("{origin}/simple/");
    let file_url = |f: &airlock_store::index::IndexFile| format!("{origin}{}", airlock_server::index_render::file_url(&f.sha256, &f.filename));
    let text = export::render(format, &releases, &config.targets, &index_url, &file_url);
    match output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
