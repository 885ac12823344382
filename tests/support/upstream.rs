//! A local upstream simple index for tests: an actix-web server on its own
//! thread, serving real distribution files through PEP 691 JSON and PEP 503
//! HTML, and able to lie about a hash or to speak HTML only.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use super::fixtures::sha256_hex;

#[derive(Clone)]
pub struct UpstreamFile {
    pub project: String,
    pub filename: String,
    pub bytes: Vec<u8>,
    /// None advertises the true hash; Some advertises this (wrong) one.
    pub advertised_sha256: Option<String>,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
}

impl UpstreamFile {
    pub fn new(project: &str, (filename, bytes): (String, Vec<u8>)) -> UpstreamFile {
        UpstreamFile { project: project.to_string(), filename, bytes, advertised_sha256: None, requires_python: None, yanked: None }
    }

    fn advertised(&self) -> String {
        self.advertised_sha256.clone().unwrap_or_else(|| sha256_hex(&self.bytes))
    }
}

#[derive(Clone, Copy)]
pub struct UpstreamOptions {
    pub json: bool,
    pub html: bool,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        UpstreamOptions { json: true, html: true }
    }
}

struct Shared {
    files: Vec<UpstreamFile>,
    options: UpstreamOptions,
    origin: String,
    requests: Mutex<Vec<String>>,
}

pub struct LocalUpstream {
    /// `http://127.0.0.1:PORT/simple/`
    pub base_url: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !sep {
                out.push('-');
            }
            sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            sep = false;
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl LocalUpstream {
    pub fn start(files: Vec<UpstreamFile>) -> LocalUpstream {
        LocalUpstream::start_with(files, UpstreamOptions::default())
    }

    pub fn start_with(files: Vec<UpstreamFile>, options: UpstreamOptions) -> LocalUpstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        let port = listener.local_addr().expect("addr").port();
        let origin = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Shared { files, options, origin: origin.clone(), requests: Mutex::new(Vec::new()) });
        let (tx, rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        std::thread::spawn(move || {
            let sys = actix_web::rt::System::new();
            sys.block_on(async move {
                let state = web::Data::from(state);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .route("/simple/", web::get().to(root))
                        .route("/simple/{project}/", web::get().to(project))
                        .route("/files/{filename}", web::get().to(file))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("listen")
                .run();
                tx.send(server.handle()).expect("send handle");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("upstream started");
        LocalUpstream { base_url: format!("{origin}/simple/"), shared, handle }
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for LocalUpstream {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)));
    }
}

fn wants_json(req: &HttpRequest, s: &Shared) -> bool {
    s.options.json
        && req
            .headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/vnd.pypi.simple.v1+json"))
}

fn log(s: &Shared, req: &HttpRequest) {
    if let Ok(mut r) = s.requests.lock() {
        r.push(req.path().to_string());
    }
}

async fn root(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    log(&s, &req);
    let mut projects: Vec<String> = s.files.iter().map(|f| normalize(&f.project)).collect();
    projects.sort();
    projects.dedup();
    if wants_json(&req, &s) {
        let list: Vec<_> = projects.iter().map(|p| serde_json::json!({ "name": p })).collect();
        return HttpResponse::Ok()
            .content_type("application/vnd.pypi.simple.v1+json")
            .body(serde_json::json!({ "meta": {"api-version": "1.0"}, "projects": list }).to_string());
    }
    if !s.options.html {
        return HttpResponse::NotAcceptable().finish();
    }
    let links: String = projects.iter().map(|p| format!("<a href=\"/simple/{p}/\">{p}</a>\n")).collect();
    HttpResponse::Ok().content_type("text/html").body(format!("<!DOCTYPE html><html><body>\n{links}</body></html>"))
}

async fn project(req: HttpRequest, s: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    log(&s, &req);
    let name = normalize(&path);
    let files: Vec<&UpstreamFile> = s.files.iter().filter(|f| normalize(&f.project) == name).collect();
    if files.is_empty() {
        return HttpResponse::NotFound().body("no such project");
    }
    if wants_json(&req, &s) {
        let list: Vec<_> = files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "filename": f.filename,
                    "url": format!("{}/files/{}", s.origin, f.filename),
                    "hashes": {"sha256": f.advertised()},
                    "requires-python": f.requires_python,
                    "yanked": f.yanked.clone().map(serde_json::Value::String).unwrap_or(serde_json::Value::Bool(false)),
                    "size": f.bytes.len(),
                    "upload-time": "2026-01-01T00:00:00.000000Z",
                })
            })
            .collect();
        return HttpResponse::Ok()
            .content_type("application/vnd.pypi.simple.v1+json")
            .body(serde_json::json!({ "meta": {"api-version": "1.1"}, "name": name, "files": list, "versions": [] }).to_string());
    }
    if !s.options.html {
        return HttpResponse::NotAcceptable().finish();
    }
    let links: String = files
        .iter()
        .map(|f| {
            let rp = f.requires_python.as_ref().map(|r| format!(" data-requires-python=\"{}\"", escape(r))).unwrap_or_default();
            let y = f.yanked.as_ref().map(|r| format!(" data-yanked=\"{}\"", escape(r))).unwrap_or_default();
            format!("<a href=\"{}/files/{}#sha256={}\"{rp}{y}>{}</a><br/>\n", s.origin, f.filename, f.advertised(), escape(&f.filename))
        })
        .collect();
    HttpResponse::Ok().content_type("text/html").body(format!("<!DOCTYPE html><html><body><h1>Links for {name}</h1>\n{links}</body></html>"))
}

async fn file(req: HttpRequest, s: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    log(&s, &req);
    match s.files.iter().find(|f| f.filename == *path) {
        Some(f) => HttpResponse::Ok().content_type("application/octet-stream").body(f.bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}
