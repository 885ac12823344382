//! Lockfile imports: `POST /api/v1/imports` and `GET /api/v1/imports/<id>`
//! for scripts, and the dashboard's upload form (`GET`/`POST /imports`)
//! and progress page (`GET /imports/<id>`). Both read the file the same
//! way and leave the rest to `store::imports`. Over HTTP, `-r` includes
//! are refused on their line: the server reads no file a client names.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_inspect::Severity;
use airlock_store::imports::{self, Format, ImportOptions, ImportReport, ImportRow, NewImport};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Api, ApiPost, FormPost, Page, Viewer};
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::views::{format_time, Nav};

/// The largest lockfile accepted over HTTP (a hash-pinned file of a few
/// hundred releases is well under 1 MiB).
pub const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;

const NO_INCLUDES: &str = "includes are not followed over HTTP: paste the included file's lines, or run `airlock import FILE`";

/// Read and record an import for `user`; returns its id.
async fn start(state: &AppState, user: String, format: Format, source: String, content: String, options: ImportOptions) -> Result<i64, AppError> {
    let (targets, attempts, names) = (state.config.targets.clone(), state.config.job_max_attempts, state.names.clone());
    let source = Some(source.trim()).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect()).unwrap_or_else(|| match format {
        Format::Requirements => "requirements.txt".to_string(),
        Format::Pylock => "pylock.toml".to_string(),
    });
    state
        .db(move |c| {
            let parsed = format.read(&source, &content, &mut airlock_resolve::requirements_txt::no_includes(NO_INCLUDES));
            let new = NewImport { format, source: &source, requested_by: Some(&user), options };
            imports::create(c, &new, &parsed, &targets, attempts, &names)
        })
        .await
}

fn format_of(raw: Option<&str>, source: Option<&str>) -> Result<Format, AppError> {
    match (raw.map(str::trim).filter(|s| !s.is_empty()), source) {
        (Some(raw), _) => Ok(Format::parse(raw)?),
        (None, Some(name)) => Ok(Format::of_filename(name)),
        (None, None) => Ok(Format::Requirements),
    }
}

#[derive(Deserialize)]
pub struct ImportBody {
    /// `requirements` or `pylock` (default: from `source`, else requirements).
    format: Option<String>,
    /// The file's name, for the report.
    source: Option<String>,
    content: String,
    #[serde(default)]
    resolve_unpinned: bool,
    #[serde(default)]
    with_dependencies: bool,
}

/// `POST /api/v1/imports` `{"format", "content", "resolve_unpinned", "with_dependencies"}`:
/// 202 with the import's report (its `id` included) and its URL in `Location`.
pub async fn create(post: ApiPost<Viewer, ImportBody, MAX_IMPORT_BYTES>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = post.body;
    let format = format_of(body.format.as_deref(), body.source.as_deref())?;
    let options = ImportOptions { resolve_unpinned: body.resolve_unpinned, with_dependencies: body.with_dependencies };
    let id = start(&state, post.user.name, format, body.source.unwrap_or_default(), body.content, options).await?;
    let report = state.db(move |c| imports::report(c, id)).await?;
    Ok(HttpResponse::Accepted().insert_header((header::LOCATION, format!("/api/v1/imports/{id}"))).json(report))
}

/// `GET /api/v1/imports/<id>`: the import's progress and result, per line.
pub async fn show(_auth: Api<Viewer>, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |c| imports::report(c, id)).await?))
}

pub struct RecentImport {
    id: i64,
    source: String,
    format: String,
    by: String,
    at: String,
    lines: i64,
}

impl RecentImport {
    fn new((row, lines): (ImportRow, i64)) -> RecentImport {
        RecentImport { id: row.id, source: row.source, format: row.format, by: row.requested_by.unwrap_or_default(), at: format_time(row.created_at), lines }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "imports.html")]
pub struct ImportsPage {
    nav: Option<Nav>,
    csrf: String,
    recent: Vec<RecentImport>,
}

/// `GET /imports`: the upload form and the latest imports.
pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<ImportsPage, AppError> {
    let recent = state.db(|c| imports::recent(c, 50)).await?;
    Ok(ImportsPage { nav: Nav::new(&auth.user, &auth.csrf), csrf: auth.csrf, recent: recent.into_iter().map(RecentImport::new).collect() })
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    format: String,
    #[serde(default)]
    source: String,
    content: String,
    resolve_unpinned: Option<String>,
    with_dependencies: Option<String>,
}

/// `POST /imports`: record the pasted (or picked) file and show its progress.
pub async fn submit(post: FormPost<Viewer, ImportForm, MAX_IMPORT_BYTES>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let form = post.form;
    let format = format_of(Some(&form.format), Some(&form.source))?;
    let options = ImportOptions { resolve_unpinned: form.resolve_unpinned.is_some(), with_dependencies: form.with_dependencies.is_some() };
    let id = start(&state, post.user.name, format, form.source, form.content, options).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/imports/{id}"))).finish())
}

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub struct ImportPage {
    nav: Option<Nav>,
    report: ImportReport,
    created: String,
    /// The signed-in user may approve (an auditor or admin).
    can_decide: bool,
    below: Severity,
    csrf: String,
    result: Option<String>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    result: Option<String>,
}

/// `GET /imports/<id>`: counts and every line's state; reloads itself while lines are pending.
pub async fn show_page(auth: Page<Viewer>, state: web::Data<AppState>, path: web::Path<i64>, query: web::Query<ShowQuery>) -> Result<ImportPage, AppError> {
    let id = path.into_inner();
    let report = state.db(move |c| imports::report(c, id)).await?;
    Ok(ImportPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        created: format_time(report.import.created_at),
        report,
        can_decide: auth.user.role >= airlock_store::domain::Role::Auditor,
        below: state.config.bulk_approve_below,
        csrf: auth.csrf,
        result: query.into_inner().result.map(|r| r.chars().take(500).collect()),
    })
}

#[derive(Deserialize)]
pub struct ApproveBody {
    comment: String,
}

/// Approve the import's releases (and their recorded dependencies) whose
/// worst finding is below `bulk_approve_below`, one ordinary decision each.
async fn approve_low_risk(state: &AppState, user: airlock_store::auth::User, id: i64, comment: String) -> Result<crate::closure_view::BulkOutcome, AppError> {
    let what = format!("import #{id}");
    crate::closure_view::bulk_approve(state, user, "import.approve", what.clone(), what, comment, move |c| {
        let roots = imports::release_ids(c, id)?;
        Ok(airlock_store::dependencies::closure(c, &roots)?.0)
    })
    .await
}

/// `POST /api/v1/imports/<id>/approve` `{"comment": …}` (auditors).
pub async fn approve_api(post: ApiPost<crate::auth::Auditor, ApproveBody>, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let out = approve_low_risk(&state, post.user, path.into_inner(), post.body.comment).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /imports/<id>/approve` (auditors): the import page's bulk approval.
pub async fn approve_form(
    post: FormPost<crate::auth::Auditor, ApproveBody>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let out = approve_low_risk(&state, post.user, id, post.form.comment).await?;
    let summary = format!("approved {}; left for individual review {}", out.approved.len(), out.left.len());
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/imports/{id}?result={}", crate::views::url_part(&summary)))).finish())
}
