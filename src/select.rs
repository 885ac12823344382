//! `airlock select-files NAME==VERSION [PAGE]`: which files of one release
//! the mirror job would keep for the configured targets, read from a PEP 691
//! JSON project page (a file, or standard input) instead of the upstream.
//! The same choice as the job's (`airlock_worker::mirror::choose_files`),
//! so `bench/target_filter.py` measures exactly what Airlock mirrors.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use airlock_store::domain::PinnedRequirement;
use airlock_store::Config;
use airlock_worker::mirror::{choose_files, files_of_version};
use airlock_worker::upstream::{parse_json_page, UpstreamFile};
use anyhow::Context as _;
use serde_json::json;

pub fn run(config: &Config, requirement: &str, page: Option<&Path>, as_json: bool) -> anyhow::Result<ExitCode> {
    let req = PinnedRequirement::parse(requirement)?;
    let body = match page {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("reading the page from standard input")?;
            buf
        }
    };
    // Only file names, sizes and Requires-Python matter here: URLs stay unresolved.
    let base = url::Url::parse(&format!("https://upstream.invalid/simple/{}/", req.name))?;
    let listed = parse_json_page(&body, &base).map_err(|e| anyhow::anyhow!("{e}"))?;
    let of_version = files_of_version(&listed, &req.name, &req.version);
    anyhow::ensure!(!of_version.is_empty(), "the page lists no wheel or sdist of {} {}", req.name, req.version);
    let chosen = choose_files(&of_version, &config.targets, config.mirror_sdists_always);
    let bytes = |files: &[&UpstreamFile]| files.iter().filter_map(|f| f.size).sum::<u64>();
    let (kept_bytes, listed_bytes) = (bytes(&chosen.keep), bytes(&of_version));
    let uncovered: Vec<String> = chosen.selection.uncovered.iter().map(|t| t.label()).collect();
    if as_json {
        let out = json!({
            "project": req.name.as_str(),
            "version": req.version.as_str(),
            "targets": config.targets.to_string(),
            "listed": { "files": of_version.len(), "bytes": listed_bytes },
            "kept": { "files": chosen.keep.len(), "bytes": kept_bytes, "names": chosen.keep.iter().map(|f| &f.filename).collect::<Vec<_>>() },
            "left_out": chosen.left_out.iter().map(|f| json!({ "filename": f.filename, "size": f.size, "reason": f.reason })).collect::<Vec<_>>(),
            "uncovered_targets": uncovered,
            "gap": chosen.selection.gap(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{} {} for {}", req.name, req.version, config.targets);
        for f in &chosen.keep {
            println!("keep  {:>12}  {}", f.size.map(|s| s.to_string()).unwrap_or_default(), f.filename);
        }
        for f in &chosen.left_out {
            println!("skip  {:>12}  {}  ({})", f.size.map(|s| s.to_string()).unwrap_or_default(), f.filename, f.reason);
        }
        println!("kept {} of {} files, {kept_bytes} of {listed_bytes} bytes", chosen.keep.len(), of_version.len());
        if let Some(gap) = chosen.selection.gap() {
            println!("warning: {gap}");
        }
    }
    Ok(if chosen.keep.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
