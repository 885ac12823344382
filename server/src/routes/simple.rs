//! The simple index that pip, uv and poetry install from: PEP 503 HTML and
//! PEP 691 JSON by negotiation, listing approved files only. Pages come
//! from the in-memory cache (rendered once per change), compressed as the
//! client accepts and answered with `304` when the client's ETag matches.
//! A project Airlock lacks is a `404` that says why, and (when configured)
//! becomes a request for an auditor. Files are served only while approved
//! and only if the stored bytes hash to the approved digest.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use airlock_store::domain::{ProjectName, ReleaseStatus, Sha256};
use airlock_store::index::{self, Availability};
use airlock_store::names;
use airlock_store::throttle::{self, MissClient, MissOutcome};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::index_cache::{Body, CachedPage, ServableFile};
use crate::index_render::{PageFormat, PageSource};
use crate::negotiate::{self, IndexFormat};
use crate::state::AppState;
use crate::{file_serving, index_access};

#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn negotiated(req: &HttpRequest, q: &FormatQuery) -> Option<IndexFormat> {
    negotiate::choose(header_str(req, header::ACCEPT), q.format.as_deref())
}

/// A `406`: which types (or codings) the index can answer with. It varies
/// by the request's headers as a page does, and no cache may keep it.
fn not_acceptable(what: &str) -> HttpResponse {
    HttpResponse::NotAcceptable()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::VARY, HeaderValue::from_static("Accept, Accept-Encoding")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(format!("acceptable {what}\n"))
}

fn types_not_acceptable() -> HttpResponse {
    not_acceptable(&format!("types: {}, {}, {} (or ?format=json or ?format=html)", negotiate::JSON_V1, negotiate::HTML_V1, negotiate::HTML_LEGACY))
}

/// A `404` from the index: it differs by Accept (JSON or text) and by the
/// moment (a project may be requested or approved a minute later), so it
/// says `Vary: Accept` and is never stored by a cache.
fn index_not_found() -> actix_web::HttpResponseBuilder {
    let mut resp = HttpResponse::NotFound();
    resp.insert_header((header::VARY, HeaderValue::from_static("Accept"))).insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    resp
}

/// Send a cached page body in the client's best encoding, or a `304`.
fn send(req: &HttpRequest, page: &CachedPage, format: IndexFormat) -> Result<HttpResponse, AppError> {
    let body: &Body = page.body(match format {
        IndexFormat::Json => PageFormat::Json,
        IndexFormat::HtmlV1 | IndexFormat::HtmlLegacy => PageFormat::Html,
    })?;
    let Some(encoding) = negotiate::choose_encoding(header_str(req, header::ACCEPT_ENCODING)) else {
        return Ok(not_acceptable(&format!("encodings: {}", negotiate::ENCODINGS)));
    };
    let (bytes, encoding) = body.encoded(encoding);
    let etag = body.etag(encoding);
    let content_type = format.content_type();
    let unchanged = negotiate::none_match(header_str(req, header::IF_NONE_MATCH), etag.to_str().unwrap_or_default());
    let mut resp = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    // Static and prebuilt header values: nothing is parsed or copied here.
    resp.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::VARY, HeaderValue::from_static("Accept, Accept-Encoding, Authorization")))
        // Revalidate every time: an approval or revocation shows at once.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")));
    if let Some(coding) = encoding.header() {
        resp.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static(coding)));
    }
    Ok(if unchanged { resp.finish() } else { resp.body(bytes) })
}

pub async fn root_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently().insert_header((header::LOCATION, "/simple/")).finish()
}

/// `GET /simple/`: every project with an approved release.
pub async fn root(req: HttpRequest, state: web::Data<AppState>, q: web::Query<FormatQuery>) -> Result<HttpResponse, AppError> {
    if let Err(denied) = index_access::check(&req, &state).await {
        return Ok(denied);
    }
    let Some(format) = negotiated(&req, &q) else { return Ok(types_not_acceptable()) };
    let page = match state.index.root() {
        Some(page) => page,
        None => {
            let ticket = state.index.ticket();
            let projects = state.db(index::approved_projects).await?;
            let page = Arc::new(CachedPage::new(PageSource::Root(projects)));
            state.index.store_root(ticket, page.clone());
            page
        }
    };
    send(&req, &page, format)
}

/// `/simple/<name>` without its slash.
pub async fn project_redirect(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    redirect_to_normal(&req, &path)
}

fn redirect_to_normal(req: &HttpRequest, raw: &str) -> HttpResponse {
    let mut location = format!("/simple/{}/", airlock_store::domain::normalize(raw));
    if !req.query_string().is_empty() {
        location = format!("{location}?{}", req.query_string());
    }
    HttpResponse::MovedPermanently().insert_header((header::LOCATION, location)).finish()
}

/// `GET /simple/<project>/`.
pub async fn project(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, q: web::Query<FormatQuery>) -> Result<HttpResponse, AppError> {
    let reader = match index_access::check(&req, &state).await {
        Ok(reader) => reader,
        Err(denied) => return Ok(denied),
    };
    let raw = path.into_inner();
    let Ok(name) = ProjectName::parse(&raw) else {
        return Ok(index_not_found().content_type("text/plain; charset=utf-8").body("not a valid project name\n"));
    };
    if name.as_str() != raw {
        return Ok(redirect_to_normal(&req, &raw));
    }
    let Some(format) = negotiated(&req, &q) else { return Ok(types_not_acceptable()) };
    if let Some(page) = state.index.project(name.as_str()) {
        return send(&req, &page, format);
    }
    let ticket = state.index.ticket();
    let lookup = name.clone();
    let files = state.db(move |c| index::approved_files(c, &lookup)).await?;
    if files.is_empty() {
        return missing(&state, &req, name, reader, format).await;
    }
    let page = Arc::new(CachedPage::new(PageSource::Project(name.clone(), files)));
    state.index.store_project(ticket, name.as_str(), page.clone());
    send(&req, &page, format)
}

/// Why a project has no page, and what this miss set off. A miss for a
/// project never requested goes through the miss throttle (one upstream
/// lookup per project per window, none while the upstream's "no such
/// project" is fresh, a few per client per minute) and the answer says
/// truthfully which of those happened. A reserved name is refused there
/// (never looked up, audited), whatever Airlock knows of it.
async fn missing(state: &AppState, req: &HttpRequest, name: ProjectName, reader: Option<String>, format: IndexFormat) -> Result<HttpResponse, AppError> {
    let lookup = name.clone();
    let availability = state.db(move |c| index::availability(c, &lookup)).await?;
    let reserved = state.names.reserved.matching(name.as_str());
    let mut outcome = None;
    if availability.state == "never_requested" || reserved.is_some() {
        let (project, address) = (name.to_string(), crate::auth::client_address(req));
        let (policy, attempts, reserved_names) = (state.config.misses, state.config.job_max_attempts, state.names.reserved.clone());
        let done = state
            .db(move |c| {
                let client = MissClient { address: &address, requester: reader.as_deref() };
                throttle::index_miss(c, &project, client, &policy, &reserved_names, attempts, airlock_store::now_ms())
            })
            .await?;
        if done == MissOutcome::Requested {
            tracing::info!(project = %name, "index miss: looking up the newest release on the upstream for review");
        }
        outcome = Some(done);
    }
    let explanation = match &reserved {
        Some(pattern) => names::reserved_advice(name.as_str(), pattern),
        None => explain(&availability, outcome),
    };
    Ok(match format {
        IndexFormat::Json => index_not_found().json(json!({
            "error": explanation,
            "project": availability.project,
            "state": availability.state,
            "releases": availability.releases,
            "requested": outcome == Some(MissOutcome::Requested),
            "miss": outcome.map(|o| o.as_str()),
            "reserved": reserved,
        })),
        IndexFormat::HtmlV1 | IndexFormat::HtmlLegacy => index_not_found().content_type("text/plain; charset=utf-8").body(format!("{explanation}\n")),
    })
}

/// One sentence a developer can act on: the project's state, and what this
/// miss did about it (None when the project is known to Airlock).
pub fn explain(a: &Availability, miss: Option<MissOutcome>) -> String {
    let versions =
        |statuses: &[ReleaseStatus]| a.releases.iter().filter(|r| statuses.contains(&r.status)).map(|r| r.version.as_str()).collect::<Vec<_>>().join(", ");
    let p = &a.project;
    match a.state.as_str() {
        "pending" => format!(
            "{p} is not approved yet: {} awaiting mirroring or review in Airlock",
            versions(&[ReleaseStatus::Requested, ReleaseStatus::Mirroring, ReleaseStatus::Inspecting, ReleaseStatus::AwaitingReview])
        ),
        "rejected" => {
            let refused: Vec<String> = a.releases.iter().filter_map(|r| index::describe_refusal(&r.version, r.status, r.decided.as_ref())).collect();
            format!("{p} is not served: {}", refused.join("; "))
        }
        "failed" => format!("{p} could not be mirrored ({}); an auditor can retry it", versions(&[ReleaseStatus::Failed])),
        _ => match miss {
            Some(MissOutcome::Requested) => {
                format!("{p} was never requested; Airlock is looking up its newest release on the upstream index, to be reviewed by an auditor")
            }
            Some(MissOutcome::AlreadyRequested) => {
                format!("{p} was never requested; a lookup of its newest release on the upstream index is already under way")
            }
            Some(MissOutcome::NotOnUpstream { checked_ms_ago }) => {
                format!("{p} does not exist on the upstream index (checked {} min ago)", checked_ms_ago / 60_000)
            }
            Some(MissOutcome::RateLimited) => {
                format!("{p} was never requested; this client asked for too many missing projects in the last minute, so nothing was requested; ask an auditor, or run `airlock request {p}==VERSION`")
            }
            Some(MissOutcome::Off) | Some(MissOutcome::Reserved) | None => {
                format!("{p} was never requested; ask for it with `airlock request {p}==VERSION`")
            }
        },
    }
}

/// `GET /api/v1/projects/<name>`: why a project is or is not in the index.
pub async fn availability(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    if let Err(denied) = index_access::check(&req, &state).await {
        return Ok(denied);
    }
    let name = ProjectName::parse(&path).map_err(AppError::from)?;
    let a = state.db(move |c| index::availability(c, &name)).await?;
    let explanation = if a.state == "approved" { format!("{} has approved releases", a.project) } else { explain(&a, None) };
    Ok(HttpResponse::Ok().json(json!({
        "project": a.project, "state": a.state, "releases": a.releases, "explanation": explanation,
    })))
}

/// `GET /files/<sha256>/<filename>` and `…/<filename>.metadata` (PEP 658).
/// Installers fetch these: a refusal is plain text (JSON when asked for),
/// not the dashboard's error page.
pub async fn file(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(String, String)>) -> HttpResponse {
    if let Err(denied) = index_access::check(&req, &state).await {
        return denied;
    }
    let (sha, filename) = path.into_inner();
    match serve_file(&req, &state, sha, filename).await {
        Ok(resp) => resp,
        Err(e) => {
            let json = header_str(&req, header::ACCEPT).is_some_and(|a| a.to_ascii_lowercase().contains("json"));
            e.for_installer(json)
        }
    }
}

async fn serve_file(req: &HttpRequest, state: &AppState, sha: String, filename: String) -> Result<HttpResponse, AppError> {
    let not_found = || AppError::NotFound("no such approved file".into());
    let sha = Sha256::parse(&sha).map_err(|_| not_found())?;
    let (dist_name, want_metadata) = match filename.strip_suffix(".metadata") {
        Some(dist) => (dist.to_string(), true),
        None => (filename.clone(), false),
    };
    let servable = match state.index.file(sha.as_str(), &dist_name) {
        Some(s) => s,
        None => {
            let ticket = state.index.ticket();
            let lookup = (sha.clone(), dist_name.clone());
            let (project, file) = state.db(move |c| index::approved_file(c, &lookup.0, &lookup.1)).await?.ok_or_else(not_found)?;
            let servable = ServableFile { project, file };
            state.index.store_file(ticket, servable.clone());
            Arc::new(servable)
        }
    };
    let blob = if want_metadata {
        let m = servable.file.metadata_sha256.as_deref().ok_or_else(not_found)?;
        Sha256::parse(m).map_err(|_| not_found())?
    } else {
        sha
    };
    file_serving::serve(req, state, blob, &filename).await
}
