//! The simple index that pip, uv and poetry install from: PEP 503 HTML and
//! PEP 691 JSON by negotiation, listing approved files only, with their
//! sha256, requires-python and (for wheels) PEP 658 metadata. Files are
//! served only while approved, and only if the stored bytes still hash to
//! the approved digest.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use airlock_store::domain::{normalize, ProjectName, Sha256};
use airlock_store::index::{self, ServableFile};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::negotiate::{self, IndexFormat};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

fn negotiated(req: &HttpRequest, q: &FormatQuery) -> Option<IndexFormat> {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    negotiate::choose(accept, q.format.as_deref())
}

fn not_acceptable() -> HttpResponse {
    HttpResponse::NotAcceptable().content_type("text/plain").body(format!(
        "acceptable types: {}, {}, {}",
        negotiate::JSON_V1,
        negotiate::HTML_V1,
        negotiate::HTML_LEGACY
    ))
}

fn respond(format: IndexFormat, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(format!("{}; charset=utf-8", format.content_type()).as_str())
        .insert_header((header::VARY, "Accept"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

#[derive(Template)]
#[template(path = "simple_root.html")]
struct RootPage {
    projects: Vec<String>,
}

pub async fn root_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently().insert_header((header::LOCATION, "/simple/")).finish()
}

pub async fn root(req: HttpRequest, state: web::Data<AppState>, q: web::Query<FormatQuery>) -> Result<HttpResponse, AppError> {
    let Some(format) = negotiated(&req, &q) else { return Ok(not_acceptable()) };
    let projects = state.db(index::approved_projects).await?;
    let body = match format {
        IndexFormat::Json => json!({
            "meta": {"api-version": "1.1"},
            "projects": projects.iter().map(|p| json!({"name": p})).collect::<Vec<_>>(),
        })
        .to_string(),
        IndexFormat::Html(_) => RootPage { projects }.render().map_err(|e| AppError::Internal(e.to_string()))?,
    };
    Ok(respond(format, body))
}

pub async fn project_redirect(path: web::Path<String>) -> HttpResponse {
    HttpResponse::MovedPermanently().insert_header((header::LOCATION, format!("/simple/{}/", normalize(&path)))).finish()
}

struct FileLink {
    filename: String,
    url: String,
    sha256: String,
    requires_python: Option<String>,
    yanked: Option<String>,
    metadata_sha256: Option<String>,
}

#[derive(Template)]
#[template(path = "simple_project.html")]
struct ProjectPage {
    name: String,
    files: Vec<FileLink>,
}

/// Characters escaped in a URL path segment (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ').add(b'"').add(b'#').add(b'%').add(b'/').add(b'<').add(b'>').add(b'?').add(b'`').add(b'{').add(b'}').add(b'\\').add(b'^').add(b'|');

fn file_url(f: &ServableFile) -> String {
    let name = percent_encoding::utf8_percent_encode(&f.file.filename, SEGMENT);
    format!("/files/{}/{}", f.file.sha256, name)
}

pub async fn project(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<FormatQuery>,
) -> Result<HttpResponse, AppError> {
    let raw = path.into_inner();
    let name = ProjectName::parse(&raw).map_err(|_| AppError::NotFound("no such project".into()))?;
    if name.as_str() != raw {
        let mut location = format!("/simple/{name}/");
        if let Some(qs) = Some(req.query_string()).filter(|s| !s.is_empty()) {
            location = format!("{location}?{qs}");
        }
        return Ok(HttpResponse::MovedPermanently().insert_header((header::LOCATION, location)).finish());
    }
    let Some(format) = negotiated(&req, &q) else { return Ok(not_acceptable()) };
    let lookup = name.clone();
    let files = state.db(move |c| index::approved_files(c, &lookup)).await?;
    if files.is_empty() {
        return Err(AppError::NotFound(format!("{name} has no approved files in Airlock")));
    }
    let body = match format {
        IndexFormat::Json => {
            let mut versions: Vec<&str> = files.iter().map(|f| f.version.as_str()).collect();
            versions.dedup();
            json!({
                "meta": {"api-version": "1.1"},
                "name": name.as_str(),
                "versions": versions,
                "files": files.iter().map(|f| {
                    let mut entry = json!({
                        "filename": f.file.filename,
                        "url": file_url(f),
                        "hashes": {"sha256": f.file.sha256},
                        "requires-python": f.file.requires_python,
                        "size": f.file.size,
                        "yanked": f.file.yanked.as_ref().map(|r| json!(r)).unwrap_or(json!(false)),
                    });
                    if let Some(m) = &f.file.metadata_sha256 {
                        entry["core-metadata"] = json!({"sha256": m});
                        entry["dist-info-metadata"] = json!({"sha256": m});
                    }
                    if let Some(t) = &f.file.upload_time {
                        entry["upload-time"] = json!(t);
                    }
                    entry
                }).collect::<Vec<_>>(),
            })
            .to_string()
        }
        IndexFormat::Html(_) => ProjectPage {
            name: name.to_string(),
            files: files
                .iter()
                .map(|f| FileLink {
                    url: file_url(f),
                    filename: f.file.filename.clone(),
                    sha256: f.file.sha256.clone(),
                    requires_python: f.file.requires_python.clone(),
                    yanked: f.file.yanked.clone(),
                    metadata_sha256: f.file.metadata_sha256.clone(),
                })
                .collect(),
        }
        .render()
        .map_err(|e| AppError::Internal(e.to_string()))?,
    };
    Ok(respond(format, body))
}

/// `GET /files/<sha256>/<filename>` and `…/<filename>.metadata` (PEP 658).
pub async fn file(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (sha, filename) = path.into_inner();
    let not_found = || AppError::NotFound("no such approved file".into());
    let sha = Sha256::parse(&sha).map_err(|_| not_found())?;
    let (dist_name, want_metadata) = match filename.strip_suffix(".metadata") {
        Some(dist) => (dist.to_string(), true),
        None => (filename.clone(), false),
    };
    let lookup = (sha.clone(), dist_name.clone());
    let servable = state.db(move |c| index::approved_file(c, &lookup.0, &lookup.1)).await?.ok_or_else(not_found)?;
    let blob = if want_metadata {
        let m = servable.file.metadata_sha256.as_deref().ok_or_else(not_found)?;
        Sha256::parse(m).map_err(|_| not_found())?
    } else {
        sha
    };
    let blobs = state.store.blobs.clone();
    let wanted = blob.clone();
    let bytes = web::block(move || blobs.read_verified(&wanted)).await?.map_err(|e| {
        // The stored bytes are not the approved bytes (or are gone): refuse.
        tracing::error!(alert = "blob-integrity", file = %dist_name, sha256 = %blob, error = %e, "refusing to serve a file whose bytes do not match its approved hash");
        AppError::NotFound("this file failed its integrity check and is not served".into())
    })?;
    let content_type = if want_metadata { "text/plain; charset=utf-8" } else { "application/octet-stream" };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "private, max-age=600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
