//! `airlock scan PATH...`: inspect distribution files on disk (folders are
//! walked) and print a report, or one JSON object per archive with
//! `--format json`. Exits 0 when the scan ran, whatever it found.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_inspect::{inspect_source, Limits, Severity};

use crate::cli::ScanFormat;

pub fn run(paths: &[PathBuf], format: ScanFormat, limits: &Limits) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(airlock_inspect::distribution_files(p)?);
    }
    let progress = Progress::new(files.len());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let line = scan_one(path, limits, format);
                progress.tick(path);
                if let Ok(mut r) = results.lock() {
                    r.push((i, line));
                }
            });
        }
    });
    progress.finish();
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    for (_, line) in results {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A one-line progress counter on standard error, shown only to a person
/// watching a terminal and only for more than one file.
struct Progress {
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        Progress { total, done: std::sync::atomic::AtomicUsize::new(0), shown: total > 1 && std::io::stderr().is_terminal() }
    }

    fn tick(&self, path: &Path) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.shown {
            let name: String = path.file_name().and_then(|n| n.to_str()).unwrap_or("").chars().take(60).collect();
            let width = 30;
            let filled = width * done / self.total.max(1);
            eprint!("\r[{}{}] {done}/{} {name:<60}", "#".repeat(filled), " ".repeat(width - filled), self.total);
        }
    }

    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}

/// Open `path`, hash it by streaming, and rewind it.
fn open_hashed(path: &Path) -> std::io::Result<(std::fs::File, String)> {
    use std::io::Seek;
    let mut file = std::fs::File::open(path)?;
    let sha256 = airlock_store::domain::Sha256::of_reader(&mut file)?;
    file.rewind()?;
    Ok((file, sha256.as_str().to_string()))
}

fn scan_one(path: &Path, limits: &Limits, format: ScanFormat) -> String {
    let shown = path.display().to_string();
    // The file is hashed, then streamed to the inspection: never held whole in memory.
    let (file, sha256) = match open_hashed(path) {
        Ok(r) => r,
        Err(e) => {
            return match format {
                ScanFormat::Json => serde_json::json!({"path": shown, "error": e.to_string()}).to_string(),
                ScanFormat::Text => format!("{shown}: cannot read: {e}"),
            }
        }
    };
    let filename = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let started = std::time::Instant::now();
    let report = inspect_source(filename, std::io::BufReader::new(file), limits);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let uncompressed: u64 = report.entries.iter().map(|e| e.size).sum();
    let flagged = report.max_severity >= Severity::High;
    match format {
        ScanFormat::Json => serde_json::json!({
            "path": shown,
            "sha256": sha256,
            "name": report.metadata.as_ref().and_then(|m| m.name.clone()),
            "version": report.metadata.as_ref().and_then(|m| m.version.clone()),
            "max_severity": report.max_severity.as_str(),
            "flagged": flagged,
            "risk_score": report.risk_score,
            "why": report.why,
            "capabilities": report.capabilities,
            "file_capabilities": report.file_capabilities,
            "findings": report.findings,
            "elapsed_ms": elapsed_ms,
            "uncompressed_bytes": uncompressed,
        })
        .to_string(),
        ScanFormat::Text => {
            let mut out = format!("{shown}: {} ({} findings){}", report.max_severity.as_str(), report.findings.len(), if flagged { " FLAGGED" } else { "" });
            for f in &report.findings {
                let location = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{file}:{line}"),
                    (Some(file), None) => file.clone(),
                    _ => String::new(),
                };
                out.push_str(&format!("\n  [{}] {} {} {}", f.severity.as_str(), f.rule, location, f.message));
            }
            out
        }
    }
}
