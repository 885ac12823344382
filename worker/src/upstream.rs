//! The upstream client: reads a project's files from the upstream simple
//! index (PEP 691 JSON, falling back to PEP 503 HTML), and downloads a file
//! into the blob store while hashing it, refusing it unless its sha256 is
//! the one the upstream advertised. The upstream's base URL is configuration.
//! Every request, redirect hop and DNS answer passes the [`EgressPolicy`]:
//! the upstream's pages choose URLs, not where the worker may connect.
//! Errors never carry what a refused or mismatched response contained.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock_store::blobs::BlobError;
use airlock_store::config::FileHost;
use airlock_store::domain::{ProjectName, Sha256};
use airlock_store::metrics::{UpstreamErrorKind, PROCESS};
pub use airlock_store::watches::Validators;
use airlock_store::BlobStore;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::egress::{self, EgressPolicy};
use crate::error::JobError;
use crate::simple_html;

/// The Accept header: JSON first, HTML as the fallback (PEP 691).
const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
/// The header in which an upstream may send its last event serial for the project.
const LAST_SERIAL: reqwest::header::HeaderName = reqwest::header::HeaderName::from_static("x-pypi-last-serial");
/// Largest distribution file Airlock will download.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// One file on a project page, as the upstream describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFile {
    pub filename: String,
    pub url: Url,
    pub sha256: Option<Sha256>,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
    pub upload_time: Option<String>,
    pub size: Option<u64>,
}

/// A project page as fetched: unchanged since the validators sent, or its
/// files with the validators to send next time.
#[derive(Debug, Clone)]
pub enum ProjectPage {
    NotModified,
    Listed { files: Vec<UpstreamFile>, validators: Validators },
}

/// PEP 691 project page (the fields Airlock reads).
#[derive(Debug, Deserialize)]
struct JsonProjectPage {
    files: Vec<JsonFile>,
}

#[derive(Debug, Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: HashMap<String, String>,
    #[serde(rename = "requires-python", default)]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: Option<Yanked>,
    /// PEP 700.
    #[serde(default)]
    size: Option<u64>,
    /// PEP 700.
    #[serde(rename = "upload-time", default)]
    upload_time: Option<String>,
}

/// PEP 691: `yanked` is a bool or the reason string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Yanked {
    Flag(bool),
    Reason(String),
}

impl Yanked {
    fn reason(self) -> Option<String> {
        match self {
            Yanked::Flag(false) => None,
            Yanked::Flag(true) => Some(String::new()),
            Yanked::Reason(r) => Some(r),
        }
    }
}

/// Where the client may connect besides the upstream's own origin.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    /// `upstream_file_hosts`.
    pub file_hosts: Vec<FileHost>,
    /// `upstream_allow_private`.
    pub allow_private: bool,
}

/// Downloads at once per upstream host (`upstream_concurrency`), shared by
/// every job of the process: a release's files download side by side, and
/// several releases together still ask no host for more than this.
#[derive(Debug)]
struct HostSlots {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostSlots {
    /// Wait for a download slot on `url`'s host (and port).
    async fn acquire(&self, url: &Url) -> Result<OwnedSemaphorePermit, JobError> {
        let key = format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
        let slots = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone()
        };
        slots.acquire_owned().await.map_err(|_| JobError::transient("the download slots were closed"))
    }
}

#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    base: Url,
    policy: Arc<EgressPolicy>,
    slots: Arc<HostSlots>,
}

impl UpstreamClient {
    pub fn new(base: &str, timeout: Duration, egress: Egress) -> Result<Self, JobError> {
        UpstreamClient::with_concurrency(base, timeout, egress, 4)
    }

    /// A client that downloads at most `per_host` files at once from one host.
    pub fn with_concurrency(base: &str, timeout: Duration, egress: Egress, per_host: usize) -> Result<Self, JobError> {
        let base = Url::parse(base).map_err(|e| JobError::permanent(format!("upstream URL {base:?} is invalid: {e}")))?;
        let policy = Arc::new(EgressPolicy::new(base.clone(), egress.file_hosts, egress.allow_private));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(timeout)
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .redirect(policy.redirect_policy())
            .dns_resolver(policy.resolver())
            .build()
            .map_err(|e| JobError::permanent(format!("building the HTTP client: {e}")))?;
        let slots = Arc::new(HostSlots { per_host: per_host.max(1), hosts: Mutex::default() });
        Ok(UpstreamClient { http, base, policy, slots })
    }

    /// A GET of `url`, once the egress rule allows it. A refusal, here, on
    /// a redirect hop or in DNS, is permanent: a retry reaches the same host.
    fn get(&self, url: &Url, what: &str) -> Result<reqwest::RequestBuilder, JobError> {
        self.policy.check_url(url).map_err(|r| refused(what, &r))?;
        Ok(self.http.get(url.clone()))
    }

    /// The project's page URL: `<base><normalized name>/`.
    pub fn project_url(&self, project: &ProjectName) -> Result<Url, JobError> {
        self.base.join(&format!("{}/", project.as_str())).map_err(|e| JobError::permanent(format!("building the project URL: {e}")))
    }

    /// All files the upstream lists for `project`.
    pub async fn project_files(&self, project: &ProjectName) -> Result<Vec<UpstreamFile>, JobError> {
        match self.project_page(project, None).await? {
            ProjectPage::Listed { files, .. } => Ok(files),
            ProjectPage::NotModified => Err(JobError::transient("the upstream answered 304 to an unconditional request")),
        }
    }

    /// The project's page, conditionally when `validators` are given
    /// (`If-None-Match`, `If-Modified-Since`): an unchanged page costs one
    /// request and no body.
    pub async fn project_page(&self, project: &ProjectName, validators: Option<&Validators>) -> Result<ProjectPage, JobError> {
        let url = self.project_url(project)?;
        let what = format!("fetching {url}");
        let mut req = self.get(&url, &what)?.header(reqwest::header::ACCEPT, ACCEPT);
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(at) = &v.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, at);
            }
        }
        let resp = req.send().await.map_err(|e| request_error(&what, &e))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && validators.is_some() {
            return Ok(ProjectPage::NotModified);
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            PROCESS.upstream_error(UpstreamErrorKind::NotFound);
            return Err(JobError::absent(format!("project {project} does not exist on the upstream index")));
        }
        if !status.is_success() {
            return Err(status_error(format!("the upstream index answered {status} for {url}"), &resp));
        }
        // Pages are redirected sometimes; relative file URLs resolve against the final URL.
        let page_url = resp.url().clone();
        let content_type = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let header = |name: reqwest::header::HeaderName| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| bounded(v.to_string()));
        let validators = Validators { etag: header(reqwest::header::ETAG), last_modified: header(reqwest::header::LAST_MODIFIED), serial: header(LAST_SERIAL) };
        let body = resp.bytes().await.map_err(|e| JobError::transient(format!("reading {url}: {}", with_cause(&e))))?;
        let files =
            if content_type.starts_with(JSON_TYPE) { parse_json_page(&body, &page_url)? } else { parse_html_page(&String::from_utf8_lossy(&body), &page_url) };
        Ok(ProjectPage::Listed { files, validators })
    }

    /// Stream `file` into the blob store. The bytes land only if their
    /// sha256 is the upstream's; a mismatch is a permanent error.
    pub async fn download(&self, file: &UpstreamFile, blobs: &BlobStore) -> Result<(Sha256, u64), JobError> {
        let expected = file
            .sha256
            .as_ref()
            .ok_or_else(|| JobError::permanent(format!("the upstream gives no sha256 for {}; Airlock only mirrors verifiable files", file.filename)))?;
        let what = format!("downloading {}", file.filename);
        let _slot = self.slots.acquire(&file.url).await?;
        let resp = self.get(&file.url, &what)?.send().await.map_err(|e| request_error(&what, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(status_error(format!("downloading {}: the upstream answered {status}", file.filename), &resp));
        }
        if resp.content_length().is_some_and(|n| n > MAX_FILE_BYTES) {
            return Err(too_large(&file.filename));
        }
        // The blob is written, hashed and fsynced on a blocking thread: the
        // async side only moves chunks to it through a bounded channel.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
        let (blobs, name, url, expected) = (blobs.clone(), file.filename.clone(), file.url.clone(), expected.clone());
        let writing = tokio::task::spawn_blocking(move || -> Result<(Sha256, u64), JobError> {
            let mut writer = blobs.writer().map_err(|e| JobError::transient(e.to_string()))?;
            while let Some(chunk) = rx.blocking_recv() {
                writer.write_all(&chunk).map_err(|e| JobError::transient(format!("writing {name}: {e}")))?;
                if writer.len() > MAX_FILE_BYTES {
                    return Err(too_large(&name));
                }
            }
            writer.commit(Some(&expected)).map_err(|e| match e {
                BlobError::HashMismatch { expected, actual } => {
                    // The digest of what came back goes to the log only: the
                    // job's error is shown to anyone who may read the index.
                    tracing::warn!(file = %name, %url, %expected, %actual, "sha256 mismatch; the file was discarded");
                    PROCESS.upstream_error(UpstreamErrorKind::HashMismatch);
                    JobError::permanent(format!(
                        "sha256 mismatch for {name}: the downloaded file does not match the upstream's published sha256; the file was discarded"
                    ))
                }
                other => JobError::transient(other.to_string()),
            })
        });
        let mut stream = resp.bytes_stream();
        let mut received = None;
        while let Some(chunk) = stream.next().await {
            match chunk {
                // A closed channel: the writer stopped with an error, which it returns below.
                Ok(chunk) => {
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    received = Some(JobError::transient(format!("downloading {}: {}", file.filename, with_cause(&e))));
                    break;
                }
            }
        }
        drop(tx);
        let written = writing.await.map_err(|e| JobError::transient(format!("writing {}: the writer thread failed: {e}", file.filename)))?;
        match (received, written) {
            // A broken download leaves an unfinished blob that is never committed.
            (Some(e), Ok(_)) => Err(e),
            (_, written) => written.inspect(|(_, size)| PROCESS.mirrored(*size)),
        }
    }
}

fn too_large(filename: &str) -> JobError {
    JobError::permanent(format!("{filename} is larger than {MAX_FILE_BYTES} bytes"))
}

fn refused(what: &str, refusal: &egress::Refusal) -> JobError {
    PROCESS.upstream_error(UpstreamErrorKind::Refused);
    tracing::warn!(%refusal, "{what}: refused by the egress rule");
    JobError::permanent(format!("{what}: refused: {refusal}"))
}

/// A failed request: permanent when the egress rule refused it (on a
/// redirect hop or in a DNS answer), transient otherwise.
fn request_error(what: &str, e: &reqwest::Error) -> JobError {
    match egress::refusal_of(e) {
        Some(refusal) => refused(what, refusal),
        None => {
            PROCESS.upstream_error(if e.is_timeout() {
                UpstreamErrorKind::Timeout
            } else if e.is_connect() {
                UpstreamErrorKind::Connect
            } else {
                UpstreamErrorKind::Other
            });
            JobError::transient(format!("{what}: {}", with_cause(e)))
        }
    }
}

/// Longest wait an upstream's `Retry-After` may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A failed status: server errors and 429 are worth retrying, no sooner than
/// the upstream's `Retry-After` (in seconds) asks; other statuses are final.
fn status_error(msg: String, resp: &reqwest::Response) -> JobError {
    let status = resp.status();
    PROCESS.upstream_error(UpstreamErrorKind::of_status(status.as_u16()));
    if !(status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS) {
        return JobError::permanent(msg);
    }
    let throttled = matches!(status, reqwest::StatusCode::TOO_MANY_REQUESTS | reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let wait = resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    match wait {
        Some(secs) => {
            let wait = Duration::from_secs(secs).min(MAX_RETRY_AFTER);
            let e = JobError::transient(format!("{msg} (Retry-After: {} s)", wait.as_secs())).not_before(wait);
            if throttled {
                e.throttled()
            } else {
                e
            }
        }
        None if throttled => JobError::transient(msg).throttled(),
        None => JobError::transient(msg),
    }
}

/// An error with its innermost cause ("operation timed out", "connection
/// reset"): reqwest's own text says only that sending or reading failed.
fn with_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let (outer, inner) = (e.to_string(), cause.to_string());
    if outer.contains(&inner) {
        outer
    } else {
        format!("{outer}: {inner}")
    }
}

/// Longest free text Airlock keeps from an upstream page (a yank reason,
/// a requires-python specifier): the upstream is not trusted to be brief.
pub const MAX_UPSTREAM_TEXT: usize = 1000;

fn bounded(mut text: String) -> String {
    if text.len() > MAX_UPSTREAM_TEXT {
        let mut cut = MAX_UPSTREAM_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The files of a PEP 691 JSON project page; relative URLs resolve against
/// `page_url`. Public for the fuzz targets.
pub fn parse_json_page(body: &[u8], page_url: &Url) -> Result<Vec<UpstreamFile>, JobError> {
    let page: JsonProjectPage = serde_json::from_slice(body).map_err(|e| {
        PROCESS.upstream_error(UpstreamErrorKind::Malformed);
        JobError::permanent(format!("the upstream's JSON project page is malformed: {e}"))
    })?;
    let mut files = Vec::with_capacity(page.files.len());
    for f in page.files {
        let Ok(url) = page_url.join(&f.url) else { continue };
        files.push(UpstreamFile {
            sha256: f.hashes.get("sha256").and_then(|h| Sha256::parse(h).ok()),
            url,
            filename: f.filename,
            requires_python: f.requires_python.map(bounded),
            yanked: f.yanked.and_then(Yanked::reason).map(bounded),
            upload_time: f.upload_time.map(bounded),
            size: f.size,
        });
    }
    Ok(files)
}

/// The files of a PEP 503 HTML project page; relative URLs resolve against
/// `page_url`. Public for the fuzz targets.
pub fn parse_html_page(html: &str, page_url: &Url) -> Vec<UpstreamFile> {
    simple_html::anchors(html)
        .into_iter()
        .filter_map(|a| {
            let mut url = page_url.join(&a.href).ok()?;
            let sha256 = url.fragment().and_then(|frag| frag.strip_prefix("sha256=")).and_then(|h| Sha256::parse(h).ok());
            url.set_fragment(None);
            let filename = url.path_segments()?.next_back()?.to_string();
            let filename = percent_decode(&filename);
            Some(UpstreamFile {
                filename,
                url,
                sha256,
                requires_python: a.requires_python.map(bounded),
                yanked: a.yanked.map(bounded),
                upload_time: None,
                size: None,
            })
        })
        .collect()
}

/// A URL path segment with its `%XX` escapes decoded. Only those: `+` and
/// `&` are ordinary characters in a path, not form syntax.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pages_resolve_urls_and_read_pep_691_and_700_fields() {
        let body = br#"{"meta":{"api-version":"1.1"},"name":"demo","files":[
            {"filename":"demo-1.0.tar.gz","url":"../../files/demo-1.0.tar.gz","hashes":{"sha256":"AB"},"requires-python":">=3.8","yanked":true,"size":10,"upload-time":"2024-01-01T00:00:00Z"},
            {"filename":"demo-1.0-py3-none-any.whl","url":"https://files.test/demo-1.0-py3-none-any.whl","hashes":{"sha256":"0000000000000000000000000000000000000000000000000000000000000001"},"yanked":"bad build"}
        ]}"#;
        let page = Url::parse("http://up.test/simple/demo/").unwrap();
        let files = parse_json_page(body, &page).unwrap();
        assert_eq!(files[0].url.as_str(), "http://up.test/files/demo-1.0.tar.gz");
        assert_eq!(files[0].sha256, None, "a malformed hash is no hash");
        assert_eq!(files[0].yanked.as_deref(), Some(""));
        let long = format!("{{\"files\":[{{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"x\",\"yanked\":\"{}\"}}]}}", "é".repeat(5000));
        let long_page = parse_json_page(long.as_bytes(), &Url::parse("http://up.test/simple/demo/").unwrap()).unwrap();
        let reason = long_page[0].yanked.as_deref().unwrap();
        assert!(reason.len() <= MAX_UPSTREAM_TEXT && reason.len() >= MAX_UPSTREAM_TEXT - 1 && reason.starts_with('é'), "a yank reason is kept short");
        assert_eq!(files[0].size, Some(10));
        assert_eq!(files[1].yanked.as_deref(), Some("bad build"));
        assert!(files[1].sha256.is_some());
    }

    #[test]
    fn html_pages_take_the_hash_from_the_fragment() {
        let sha = "a".repeat(64);
        let html = format!(r#"<a href="/files/demo-1.0.tar.gz#sha256={sha}" data-requires-python="&gt;=3.9">demo-1.0.tar.gz</a>"#);
        let page = Url::parse("http://up.test/simple/demo/").unwrap();
        let files = parse_html_page(&html, &page);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].filename, "demo-1.0.tar.gz");
        assert_eq!(files[0].url.as_str(), "http://up.test/files/demo-1.0.tar.gz");
        assert_eq!(files[0].sha256.as_ref().map(|s| s.as_str()), Some(sha.as_str()));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.9"));
    }

    #[test]
    fn html_file_names_are_the_whole_last_path_segment() {
        // The name was decoded as a form, so `&` cut it short.
        let html = r#"<a href="/files/a&amp;b-1.0.tar.gz">x</a><a href="/files/c%2Bd%20e-1.0.tar.gz">y</a><a href="/files/f+g-1.0.zip">z</a>"#;
        let page = Url::parse("http://up.test/simple/demo/").unwrap();
        let names: Vec<String> = parse_html_page(html, &page).into_iter().map(|f| f.filename).collect();
        assert_eq!(names, ["a&b-1.0.tar.gz", "c+d e-1.0.tar.gz", "f+g-1.0.zip"]);
    }

    /// A server on 127.0.0.1 that answers every GET with its path as the
    /// body after `hold`, and reports the most requests it held at once.
    async fn counting_server(hold: Duration) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let peak = most.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (now, most) = (now.clone(), most.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let path = String::from_utf8_lossy(&request).split(' ').nth(1).unwrap_or("").to_string();
                    most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", path.len());
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(path.as_bytes()).await;
                });
            }
        });
        (origin, peak)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn downloads_from_one_host_run_side_by_side_up_to_the_per_host_limit() {
        let (origin, peak) = counting_server(Duration::from_millis(500)).await;
        let client = UpstreamClient::with_concurrency(&format!("{origin}/simple/"), Duration::from_secs(10), Egress::default(), 3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let files: Vec<UpstreamFile> = (0..8)
            .map(|i| {
                let path = format!("/files/demo-1.0-{i}-py3-none-any.whl");
                UpstreamFile {
                    filename: format!("demo-1.0-{i}-py3-none-any.whl"),
                    url: Url::parse(&format!("{origin}{path}")).unwrap(),
                    sha256: Some(Sha256::of(path.as_bytes())),
                    requires_python: None,
                    yanked: None,
                    upload_time: None,
                    size: None,
                }
            })
            .collect();
        let started = std::time::Instant::now();
        let stored = futures_util::future::join_all(files.iter().map(|f| client.download(f, &blobs))).await;
        for (file, result) in files.iter().zip(stored) {
            let (sha, _) = result.unwrap_or_else(|e| panic!("{}: {e:?}", file.filename));
            assert!(blobs.contains(&sha));
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3, "at most 3 at once, and 3 were");
        // 8 files of 0.5 s each, 3 at a time: 3 rounds (1.5 s), not 8 (4 s).
        assert!(started.elapsed() < Duration::from_millis(3000), "took {:?}", started.elapsed());
    }

    #[test]
    fn malformed_json_is_a_clear_permanent_error() {
        let page = Url::parse("http://up.test/simple/demo/").unwrap();
        let err = parse_json_page(b"{not json", &page).unwrap_err();
        assert!(err.permanent && err.message.contains("malformed"), "{err:?}");
    }
}
