//! The detection bench's scanner: `bench_scan scan --format json PATH...`
//! prints one JSON object per archive and line, the same fields as
//! `airlock scan --format json` (see src/scan.rs), from this crate alone.
//!
//! Why it exists: the bench measures the inspection engine, and building
//! the full `airlock` binary in release mode also builds the web server,
//! the database layer and their C dependencies (minutes on a small machine).
//! This example builds with `cargo build --release -p airlock-inspect
//! --example bench_scan`, and bench/detection.py takes it as `--airlock`.
//! Archives are read as bytes and inspected; nothing is extracted or run.

use std::path::{Path, PathBuf};

use airlock_inspect::{distribution_files, inspect_source, Limits, Severity};
use sha2::Digest;

fn scan_one(path: &Path, limits: &Limits) -> String {
    let shown = path.display().to_string();
    let opened = std::fs::File::open(path).and_then(|mut file| {
        use std::io::Seek;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = std::io::Read::read(&mut file, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        file.rewind()?;
        Ok((file, hex::encode(hasher.finalize())))
    });
    let (file, sha256) = match opened {
        Ok(r) => r,
        Err(e) => return serde_json::json!({"path": shown, "error": e.to_string()}).to_string(),
    };
    let filename = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let started = std::time::Instant::now();
    let report = inspect_source(filename, std::io::BufReader::new(file), limits);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let uncompressed: u64 = report.entries.iter().map(|e| e.size).sum();
    serde_json::json!({
        "path": shown,
        "sha256": sha256,
        "name": report.metadata.as_ref().and_then(|m| m.name.clone()),
        "version": report.metadata.as_ref().and_then(|m| m.version.clone()),
        "max_severity": report.max_severity.as_str(),
        "flagged": report.max_severity >= Severity::High,
        "risk_score": report.risk_score,
        "capabilities": report.capabilities,
        "file_capabilities": report.file_capabilities,
        "findings": report.findings,
        "elapsed_ms": elapsed_ms,
        "uncompressed_bytes": uncompressed,
    })
    .to_string()
}

fn main() {
    // Accept `airlock scan`'s arguments: `scan`, `--format json`, then paths.
    let paths: Vec<PathBuf> = std::env::args().skip(1).filter(|a| !matches!(a.as_str(), "scan" | "--format" | "json")).map(PathBuf::from).collect();
    let mut files = Vec::new();
    for p in &paths {
        match distribution_files(p) {
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("{}: {e}", p.display());
                std::process::exit(2);
            }
        }
    }
    let limits = Limits::default();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let line = scan_one(path, &limits);
                results.lock().expect("no scanner thread panics while holding the lock").push((i, line));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    for (_, line) in results {
        println!("{line}");
    }
}
