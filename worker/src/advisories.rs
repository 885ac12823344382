//! Reading OSV advisories from where they are published, for the store to
//! match: one JSON record, a folder of them, or an OSV export archive (a
//! zip of per-advisory JSON files), from a path or an http(s) URL. The
//! `fetch_advisories` job fetches the configured `advisories_url`; a
//! scheduler queues it periodically, and the admin page on demand.
//!
//! Reading is bounded: at most [`MAX_DOWNLOAD`] bytes fetched, and
//! [`MAX_RECORD`] bytes per record; an unreadable record is reported and
//! skipped, never fatal to the rest.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use airlock_store::advisories::{self, osv, Advisory, ImportReport};
use airlock_store::tasks::{self, FetchAdvisories};
use futures_util::StreamExt;
use tokio::sync::watch as signal;

use crate::context::Context;
use crate::error::JobError;

/// Most bytes fetched from an advisories URL.
pub const MAX_DOWNLOAD: u64 = 512 * 1024 * 1024;
/// Most bytes of one advisory record.
pub const MAX_RECORD: u64 = 4 * 1024 * 1024;

/// Records read from a source, and why some could not be.
#[derive(Debug, Default)]
pub struct Found {
    pub advisories: Vec<Advisory>,
    pub errors: Vec<String>,
}

impl Found {
    fn record(&mut self, what: &str, bytes: &[u8]) {
        match osv::parse(what, bytes) {
            Ok(found) => self.advisories.extend(found),
            Err(e) => self.errors.push(e.0),
        }
    }
}

/// Read the bytes of a source named `what`: a zip archive (by its magic
/// number) or one JSON record.
pub fn read_bytes(what: &str, bytes: &[u8]) -> Result<Found, String> {
    let mut out = Found::default();
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("{what}: not a readable zip archive: {e}"))?;
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    out.errors.push(format!("{what}: entry {i}: {e}"));
                    continue;
                }
            };
            let name = entry.name().map(|n| n.to_string()).unwrap_or_else(|_| format!("entry {i}"));
            if !entry.is_file() || !name.ends_with(".json") {
                continue;
            }
            let mut buf = Vec::new();
            match (&mut entry).take(MAX_RECORD + 1).read_to_end(&mut buf) {
                Ok(_) if buf.len() as u64 > MAX_RECORD => out.errors.push(format!("{what}: {name}: larger than {MAX_RECORD} bytes")),
                Ok(_) => out.record(&format!("{what}: {name}"), &buf),
                Err(e) => out.errors.push(format!("{what}: {name}: {e}")),
            }
        }
    } else {
        out.record(what, bytes);
    }
    Ok(out)
}

/// Read a file (JSON record or zip archive) or a folder (its `.json` and
/// `.zip` files, recursively).
pub fn read_path(path: &Path) -> Result<Found, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        let mut out = Found::default();
        let mut entries: Vec<_> = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let is_record = p.extension().is_some_and(|x| x == "json" || x == "zip");
            if p.is_dir() || is_record {
                match read_path(&p) {
                    Ok(r) => {
                        out.advisories.extend(r.advisories);
                        out.errors.extend(r.errors);
                    }
                    Err(e) => out.errors.push(e),
                }
            }
        }
        return Ok(out);
    }
    if meta.len() > MAX_DOWNLOAD {
        return Err(format!("{}: larger than {MAX_DOWNLOAD} bytes", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_bytes(&path.display().to_string(), &bytes)
}

/// Fetch an advisories URL (at most [`MAX_DOWNLOAD`] bytes). The URL is
/// the administrator's own setting, so it is fetched directly, not through
/// the upstream's egress rules.
pub async fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, JobError> {
    let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| JobError::permanent(format!("http client: {e}")))?;
    let resp = client.get(url).send().await.map_err(|e| JobError::transient(format!("fetching {url}: {e}")))?;
    let status = resp.status();
    if !status.is_success() {
        let err = format!("fetching {url}: HTTP {status}");
        return Err(if status.is_client_error() && status.as_u16() != 429 { JobError::permanent(err) } else { JobError::transient(err) });
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| JobError::transient(format!("reading {url}: {e}")))?;
        if (body.len() + chunk.len()) as u64 > MAX_DOWNLOAD {
            return Err(JobError::permanent(format!("{url} is larger than {MAX_DOWNLOAD} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Import from `source`, a path or an http(s) URL: read, store, match, act.
pub async fn import(ctx: &Context, source: &str) -> Result<ImportReport, JobError> {
    let read = if source.starts_with("http://") || source.starts_with("https://") {
        let bytes = fetch(source, ctx.job_timeout.min(Duration::from_secs(600))).await?;
        let what = source.to_string();
        tokio::task::spawn_blocking(move || read_bytes(&what, &bytes)).await.map_err(|e| JobError::transient(e.to_string()))?
    } else {
        let path = std::path::PathBuf::from(source);
        tokio::task::spawn_blocking(move || read_path(&path)).await.map_err(|e| JobError::transient(e.to_string()))?
    }
    .map_err(JobError::permanent)?;
    let (policy, review, source) = (ctx.advisories.clone(), ctx.review.clone(), source.to_string());
    let report = ctx.db(move |c| advisories::import(c, &source, &read.advisories, read.errors, &policy, &review)).await?;
    Ok(report)
}

/// The `fetch_advisories` job.
pub async fn run(ctx: &Context, task: FetchAdvisories) -> Result<(), JobError> {
    let report = import(ctx, &task.url).await?;
    tracing::info!(advisories = report.advisories, unreadable = report.errors.len(), matches = report.matches.len(), "advisories imported");
    Ok(())
}

/// Queue a fetch of `advisories_url` every `interval` until shutdown.
pub async fn schedule(ctx: Context, url: String, interval: Duration, mut shutdown: signal::Receiver<bool>) {
    loop {
        let (u, attempts) = (url.clone(), ctx.max_attempts);
        if let Err(e) = ctx.db(move |c| tasks::enqueue(c, &FetchAdvisories { url: u }, attempts)).await {
            tracing::warn!(error = %e, "queueing the advisories fetch");
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const RECORD: &str = r#"{"id": "PYSEC-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}, "versions": ["1.0"]}]}"#;

    #[test]
    fn an_export_archive_is_read_record_by_record_and_bad_records_are_reported() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("PYSEC-1.json", opts).unwrap();
        zip.write_all(RECORD.as_bytes()).unwrap();
        zip.start_file("broken.json", opts).unwrap();
        zip.write_all(b"{not json").unwrap();
        zip.start_file("README.txt", opts).unwrap();
        zip.write_all(b"skipped").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let read = read_bytes("all.zip", &bytes).unwrap();
        assert_eq!(read.advisories.iter().map(|a| a.osv_id.as_str()).collect::<Vec<_>>(), ["PYSEC-1"]);
        assert_eq!(read.errors.len(), 1);
        assert!(read.errors[0].starts_with("all.zip: broken.json"), "{:?}", read.errors);
        assert!(read_bytes("x", b"PK\x03\x04garbage").is_err());

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/one.json"), RECORD).unwrap();
        std::fs::write(dir.path().join("all.zip"), &bytes).unwrap();
        std::fs::write(dir.path().join("notes.md"), "ignored").unwrap();
        let read = read_path(dir.path()).unwrap();
        assert_eq!((read.advisories.len(), read.errors.len()), (2, 1));
        assert!(read_path(&dir.path().join("missing.json")).is_err());
    }
}
