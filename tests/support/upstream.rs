//! A local upstream simple index for tests: an actix-web server on
//! 127.0.0.1 (or another loopback address), on its own thread with its own
//! actix System, serving real distribution files through PEP 691 JSON and
//! PEP 503 HTML.
//!
//! It can lie about a file's hash and can speak only one of the two formats,
//! so tests can prove that Airlock refuses tampered files and falls back to
//! HTML. It can list a file at another URL or redirect its download, so
//! tests can prove Airlock fetches nothing the egress rule forbids. It keeps
//! a log of what it served. Faults can be injected per path (server errors,
//! 429 with Retry-After, a stall, a body cut short, a redirect loop), each
//! answering one request, so tests can prove retries and clear failures.
//! It must never reach beyond loopback: tests run offline.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use super::fixtures::{project_name, sha256_hex};

/// PEP 691's JSON media type.
pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// One distribution file the upstream lists and serves.
#[derive(Clone, Debug)]
pub struct UpstreamFile {
    pub project: String,
    pub filename: String,
    pub bytes: Vec<u8>,
    /// `None` advertises the true hash; `Some` advertises this (wrong) one.
    pub advertised_sha256: Option<String>,
    /// Shown as PEP 503 `data-requires-python` and PEP 691 `requires-python`.
    pub requires_python: Option<String>,
    /// A PEP 592 yank reason; `None` is not yanked.
    pub yanked: Option<String>,
    /// The URL the pages list instead of the upstream's own `/files/…`.
    pub listed_at: Option<String>,
    /// Answer the download with a `302` to this URL instead of the bytes.
    pub redirect_to: Option<String>,
    /// PEP 700 `upload-time`; None shows a fixed time in 2024.
    pub upload_time: Option<String>,
}

impl UpstreamFile {
    /// `project`'s file, from a `(filename, bytes)` pair such as
    /// [`Package::wheel`](super::fixtures::Package::wheel) returns.
    pub fn new(project: &str, (filename, bytes): (String, Vec<u8>)) -> UpstreamFile {
        UpstreamFile {
            project: project.to_string(),
            filename,
            bytes,
            advertised_sha256: None,
            requires_python: None,
            yanked: None,
            listed_at: None,
            redirect_to: None,
            upload_time: None,
        }
    }

    /// Show this PEP 700 `upload-time` (RFC 3339).
    pub fn uploaded_at(mut self, time: &str) -> UpstreamFile {
        self.upload_time = Some(time.to_string());
        self
    }

    /// Advertise `sha256` instead of the true hash.
    pub fn with_advertised_sha256(mut self, sha256: &str) -> UpstreamFile {
        self.advertised_sha256 = Some(sha256.to_string());
        self
    }

    pub fn with_requires_python(mut self, specifier: &str) -> UpstreamFile {
        self.requires_python = Some(specifier.to_string());
        self
    }

    pub fn yanked(mut self, reason: &str) -> UpstreamFile {
        self.yanked = Some(reason.to_string());
        self
    }

    /// List the file at `url` (another server's, say) on the project pages.
    pub fn listed_at(mut self, url: &str) -> UpstreamFile {
        self.listed_at = Some(url.to_string());
        self
    }

    /// Answer this file's download with a redirect to `url`.
    pub fn redirected_to(mut self, url: &str) -> UpstreamFile {
        self.redirect_to = Some(url.to_string());
        self
    }

    /// Where the pages say the file is: its own URL on `origin`, unless listed elsewhere.
    fn url_on(&self, origin: &str) -> String {
        self.listed_at.clone().unwrap_or_else(|| format!("{origin}/files/{}", self.filename))
    }

    /// The hash the index pages show for this file.
    pub fn advertised(&self) -> String {
        self.advertised_sha256.clone().unwrap_or_else(|| sha256_hex(&self.bytes))
    }

    /// The version in the filename, for PEP 700's `versions` list.
    fn version(&self) -> Option<&str> {
        let f = self.filename.as_str();
        if let Some(stem) = f.strip_suffix(".whl") {
            return stem.split('-').nth(1);
        }
        [".tar.gz", ".tar.bz2", ".zip", ".tgz"].iter().find_map(|ext| f.strip_suffix(ext)).and_then(|s| s.rsplit_once('-')).map(|(_, v)| v)
    }
}

/// Which formats the upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamOptions {
    /// Answer PEP 691 JSON to clients that ask for it.
    pub json: bool,
    /// Answer PEP 503 HTML otherwise; when false, those requests get 406.
    pub html: bool,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        UpstreamOptions { json: true, html: true }
    }
}

impl UpstreamOptions {
    /// An older index: HTML pages whatever the client asks for.
    pub fn html_only() -> UpstreamOptions {
        UpstreamOptions { json: false, html: true }
    }

    pub fn json_only() -> UpstreamOptions {
        UpstreamOptions { json: true, html: false }
    }
}

/// One request the upstream answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub path: String,
    /// The request's Accept header ("" when absent).
    pub accept: String,
    pub status: u16,
}

/// One misbehaviour, for one request to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// 429 Too Many Requests with `Retry-After: N`.
    TooMany(u32),
    /// Wait this long before answering normally (past the client's timeout).
    Stall(Duration),
    /// Declare the whole length, send half the body, then drop the connection.
    CutShort,
    /// Redirect to the same path, for ever.
    RedirectLoop,
    /// 200 with PEP 691's JSON content type and a body that is not JSON.
    WrongBody,
}

struct Shared {
    files: Vec<UpstreamFile>,
    /// Files published while running, after `files`.
    published: Mutex<Vec<UpstreamFile>>,
    /// Files taken down while running: no longer listed nor served.
    unlisted: Mutex<Vec<String>>,
    /// Faults still to serve, per request path, in order.
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    /// Yanks made while running (filename -> reason), over the files' own.
    late_yanks: Mutex<std::collections::HashMap<String, String>>,
    options: UpstreamOptions,
    origin: String,
    log: Mutex<Vec<Served>>,
}

/// A running upstream; dropping it stops the server and frees the port.
pub struct LocalUpstream {
    /// The index URL to configure Airlock with: `http://127.0.0.1:PORT/simple/`.
    pub base_url: String,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl LocalUpstream {
    /// Serve `files` in both formats.
    pub fn start(files: Vec<UpstreamFile>) -> LocalUpstream {
        LocalUpstream::start_with(files, UpstreamOptions::default())
    }

    /// Serve `files` in the formats `options` allows. Returns once the port
    /// is listening; works from plain `#[test]`s and from inside a tokio
    /// runtime alike, since the server has a runtime of its own.
    pub fn start_with(files: Vec<UpstreamFile>, options: UpstreamOptions) -> LocalUpstream {
        LocalUpstream::start_on("127.0.0.1", files, options)
    }

    /// Like [`LocalUpstream::start_with`], on another loopback address
    /// (`127.0.0.2`, say), to stand in for a host other than the upstream.
    pub fn start_on(ip: &str, files: Vec<UpstreamFile>, options: UpstreamOptions) -> LocalUpstream {
        let listener = std::net::TcpListener::bind((ip, 0)).expect("bind the local upstream to a free port");
        let port = listener.local_addr().expect("the local upstream's address").port();
        let origin = format!("http://{ip}:{port}");
        let shared = Arc::new(Shared {
            files,
            published: Mutex::default(),
            unlisted: Mutex::default(),
            faults: Mutex::default(),
            late_yanks: Mutex::default(),
            options,
            origin: origin.clone(),
            log: Mutex::new(Vec::new()),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let state = web::Data::from(shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("local-upstream-{port}"))
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(state.clone())
                            .route("/simple/", web::get().to(root_page))
                            .route("/simple/{project}/", web::get().to(project_page))
                            .route("/files/{filename}", web::get().to(file))
                            .default_service(web::to(not_found))
                    })
                    .workers(1)
                    .disable_signals()
                    .listen(listener);
                    let server = match server {
                        Ok(s) => s.run(),
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(server.handle()));
                    let _ = server.await;
                });
            })
            .expect("spawn the local upstream's thread");
        let handle = match rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => panic!("the local upstream could not listen on {origin}: {e}"),
            Err(_) => panic!("the local upstream's thread died before listening on {origin}"),
        };
        LocalUpstream { base_url: format!("{origin}/simple/"), origin, shared, handle, thread: Some(thread) }
    }

    /// Yank `filename` from now on, as an upstream maintainer would after
    /// the fact (PEP 592).
    pub fn yank(&self, filename: &str, reason: &str) {
        self.shared.late_yanks.lock().unwrap_or_else(|p| p.into_inner()).insert(filename.to_string(), reason.to_string());
    }

    /// List and serve `file` from now on, as a maintainer publishing a release.
    pub fn publish(&self, file: UpstreamFile) {
        self.shared.published.lock().unwrap_or_else(|p| p.into_inner()).push(file);
    }

    /// Take `filename` down: no longer listed nor served.
    pub fn unlist(&self, filename: &str) {
        self.shared.unlisted.lock().unwrap_or_else(|p| p.into_inner()).push(filename.to_string());
    }

    /// How many requests for `path` were answered with `status`.
    pub fn answered(&self, path: &str, status: u16) -> usize {
        self.served().iter().filter(|s| s.path == path && s.status == status).count()
    }

    /// Answer the next requests to `path` (e.g. `/files/NAME` or
    /// `/simple/PROJECT/`) with `faults`, one each, then normally.
    pub fn inject(&self, path: &str, faults: &[Fault]) {
        self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()).entry(path.to_string()).or_default().extend(faults.iter().copied());
    }

    /// Where the upstream serves `filename`.
    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.origin)
    }

    /// The project page of `project`, as PEP 503 names it.
    pub fn project_url(&self, project: &str) -> String {
        format!("{}{}/", self.base_url, project_name(project))
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.served().into_iter().map(|s| s.path).collect()
    }

    /// Every request answered so far, in order, with its Accept header and status.
    pub fn served(&self) -> Vec<Served> {
        self.shared.log.lock().map(|l| l.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// How many times `filename` was downloaded.
    pub fn downloads(&self, filename: &str) -> usize {
        let path = format!("/files/{filename}");
        self.served().iter().filter(|s| s.path == path && s.status == 200).count()
    }
}

impl Drop for LocalUpstream {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only awaits
        // the result, so it needs no runtime here. The server future then
        // ends, and with it the thread, which frees the port.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The files listed now: those given at start, then those published since,
/// less those taken down.
fn all_files(s: &Shared) -> Vec<UpstreamFile> {
    let mut files = s.files.clone();
    files.extend(s.published.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
    let unlisted = s.unlisted.lock().unwrap_or_else(|p| p.into_inner());
    files.retain(|f| !unlisted.contains(&f.filename));
    files
}

/// Answer a project page with an ETag (a digest of what it shows) and a
/// Last-Modified, or 304 when the client's `If-None-Match` is that ETag
/// (RFC 9110: it takes precedence over `If-Modified-Since`).
fn conditional(req: &HttpRequest, content_type: &str, body: String) -> HttpResponse {
    let etag = format!("\"{}\"", &sha256_hex(format!("{content_type}\n{body}").as_bytes())[..16]);
    let last_modified = "Mon, 01 Jan 2024 00:00:00 GMT";
    let matches = req.headers().get("if-none-match").and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return HttpResponse::NotModified().insert_header(("etag", etag)).insert_header(("last-modified", last_modified)).finish();
    }
    HttpResponse::Ok().content_type(content_type).insert_header(("etag", etag)).insert_header(("last-modified", last_modified)).body(body)
}

fn wants_json(req: &HttpRequest, s: &Shared) -> bool {
    s.options.json && accept(req).contains(JSON_TYPE)
}

fn accept(req: &HttpRequest) -> String {
    req.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Log the request with the status of `resp`, and return it.
fn logged(s: &Shared, req: &HttpRequest, resp: HttpResponse) -> HttpResponse {
    let served = Served { path: req.path().to_string(), accept: accept(req), status: resp.status().as_u16() };
    match s.log.lock() {
        Ok(mut log) => log.push(served),
        Err(poisoned) => poisoned.into_inner().push(served),
    }
    resp
}

fn json_page(body: Value) -> HttpResponse {
    HttpResponse::Ok().content_type(JSON_TYPE).body(body.to_string())
}

fn html_page(title: &str, links: &str) -> HttpResponse {
    let title = escape(title);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!("<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n{links}</body></html>\n"))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// `GET /simple/`: every project, normalized.
async fn root_page(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    let mut projects: Vec<String> = all_files(&s).iter().map(|f| project_name(&f.project)).collect();
    projects.sort();
    projects.dedup();
    let resp = if wants_json(&req, &s) {
        let list: Vec<Value> = projects.iter().map(|p| json!({ "name": p })).collect();
        json_page(json!({ "meta": { "api-version": "1.0" }, "projects": list }))
    } else if s.options.html {
        let links: String = projects.iter().map(|p| format!("<a href=\"/simple/{0}/\">{0}</a>\n", escape(p))).collect();
        html_page("Simple index", &links)
    } else {
        HttpResponse::NotAcceptable().finish()
    };
    logged(&s, &req, resp)
}

/// `GET /simple/{project}/`: the project's files, in the format the Accept
/// header and the options choose.
async fn project_page(req: HttpRequest, s: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    if let Some(resp) = injected_fault(&req, &s, b"").await {
        return logged(&s, &req, resp);
    }
    let name = project_name(&path);
    let all = all_files(&s);
    let files: Vec<&UpstreamFile> = all.iter().filter(|f| project_name(&f.project) == name).collect();
    let resp = if files.is_empty() {
        HttpResponse::NotFound().body("no such project")
    } else if wants_json(&req, &s) {
        conditional(&req, JSON_TYPE, project_json(&s, &name, &files).to_string())
    } else if s.options.html {
        let title = escape(&format!("Links for {name}"));
        let links = project_links(&s, &files);
        conditional(&req, "text/html; charset=utf-8", format!("<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n{links}</body></html>\n"))
    } else {
        HttpResponse::NotAcceptable().finish()
    };
    logged(&s, &req, resp)
}

/// The file's yank reason: a late yank, else its own.
fn yank_of(s: &Shared, f: &UpstreamFile) -> Option<String> {
    let late = s.late_yanks.lock().unwrap_or_else(|p| p.into_inner()).get(&f.filename).cloned();
    late.or_else(|| f.yanked.clone())
}

/// PEP 691 project page, with PEP 700's `versions`, `size` and `upload-time`.
fn project_json(s: &Shared, name: &str, files: &[&UpstreamFile]) -> Value {
    let list: Vec<Value> = files
        .iter()
        .map(|f| {
            let mut file = json!({
                "filename": f.filename,
                "url": f.url_on(&s.origin),
                "hashes": { "sha256": f.advertised() },
                "yanked": yank_of(s, f).map_or(Value::Bool(false), Value::String),
                "size": f.bytes.len(),
                "upload-time": f.upload_time.as_deref().unwrap_or("2024-01-01T00:00:00.000000Z"),
            });
            if let Some(rp) = &f.requires_python {
                file["requires-python"] = Value::String(rp.clone());
            }
            file
        })
        .collect();
    let mut versions: Vec<&str> = files.iter().filter_map(|f| f.version()).collect();
    versions.sort();
    versions.dedup();
    json!({ "meta": { "api-version": "1.1" }, "name": name, "files": list, "versions": versions })
}

/// PEP 503 anchors, with the hash in the fragment and PEP 503/592 data attributes.
fn project_links(s: &Shared, files: &[&UpstreamFile]) -> String {
    files
        .iter()
        .map(|f| {
            let href = escape(&format!("{}#sha256={}", f.url_on(&s.origin), f.advertised()));
            let rp = f.requires_python.as_ref().map(|r| format!(" data-requires-python=\"{}\"", escape(r))).unwrap_or_default();
            let yanked = yank_of(s, f).map(|r| format!(" data-yanked=\"{}\"", escape(&r))).unwrap_or_default();
            format!("<a href=\"{href}\"{rp}{yanked}>{}</a><br/>\n", escape(&f.filename))
        })
        .collect()
}

/// `GET /files/{filename}`: the bytes.
async fn file(req: HttpRequest, s: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let all = all_files(&s);
    let bytes = all.iter().find(|f| f.filename == *path).map(|f| f.bytes.clone()).unwrap_or_default();
    if let Some(resp) = injected_fault(&req, &s, &bytes).await {
        return logged(&s, &req, resp);
    }
    let resp = match all.iter().find(|f| f.filename == *path) {
        Some(UpstreamFile { redirect_to: Some(to), .. }) => HttpResponse::Found().insert_header(("location", to.as_str())).finish(),
        Some(f) => HttpResponse::Ok().content_type("application/octet-stream").body(f.bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    };
    logged(&s, &req, resp)
}

/// The next injected fault for this request's path, as a response (a
/// stall waits, then lets the request be answered normally).
async fn injected_fault(req: &HttpRequest, s: &Shared, body: &[u8]) -> Option<HttpResponse> {
    let fault = s.faults.lock().unwrap_or_else(|p| p.into_inner()).get_mut(req.path()).and_then(|q| q.pop_front())?;
    Some(match fault {
        Fault::Status(code) => HttpResponse::new(StatusCode::from_u16(code).expect("a status code")),
        Fault::TooMany(secs) => HttpResponse::TooManyRequests().insert_header(("retry-after", secs.to_string())).finish(),
        Fault::Stall(wait) => {
            actix_web::rt::time::sleep(wait).await;
            return None;
        }
        Fault::CutShort => {
            let half = bytes::Bytes::copy_from_slice(&body[..body.len() / 2]);
            let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut short on purpose"))];
            HttpResponse::Ok().content_type("application/octet-stream").no_chunking(body.len() as u64).streaming(futures_util::stream::iter(chunks))
        }
        Fault::RedirectLoop => HttpResponse::Found().insert_header(("location", req.path().to_string())).finish(),
        Fault::WrongBody => HttpResponse::Ok().content_type(JSON_TYPE).body("<html>this is not JSON</html>"),
    })
}

async fn not_found(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    logged(&s, &req, HttpResponse::new(StatusCode::NOT_FOUND))
}

#[cfg(test)]
mod tests;
