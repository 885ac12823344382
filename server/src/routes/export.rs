//! `GET /api/v1/export?format=requirements|pylock[&roots=name==version,…]`:
//! the approved set (or the roots and their closure), hash-pinned for the
//! configured targets, as a file installers take with `--require-hashes`.
//! pylock.toml names absolute file URLs, taken from this request's origin.

use actix_web::{web, HttpRequest, HttpResponse};
use airlock_store::export;
use airlock_store::imports::Format;
use serde::Deserialize;

use crate::auth::{Api, Viewer};
use crate::error::{ApiError, AppError};
use crate::index_render::file_url;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    roots: Option<String>,
}

/// The origin clients reached this server at (scheme and host as the
/// connection info reports them).
fn origin(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

pub async fn export(_auth: Api<Viewer>, state: web::Data<AppState>, req: HttpRequest, q: web::Query<ExportQuery>) -> Result<HttpResponse, ApiError> {
    let format = Format::parse(q.format.as_deref().unwrap_or("requirements")).map_err(AppError::from)?;
    let roots = q.roots.as_deref().map(export::parse_roots).transpose().map_err(AppError::from)?;
    let base = origin(&req);
    let targets = state.config.targets.clone();
    let body = state
        .db(move |c| {
            let releases = match roots {
                Some(roots) => export::of_roots(c, &roots, &targets)?,
                None => export::approved_set(c, &targets)?,
            };
            let index_url = format!("{base}/simple/");
            Ok(export::render(format, &releases, &targets, &index_url, &|f| format!("{base}{}", file_url(&f.sha256, &f.filename))))
        })
        .await?;
    let (content_type, filename) = match format {
        Format::Requirements => ("text/plain; charset=utf-8", "requirements.txt"),
        Format::Pylock => ("application/toml; charset=utf-8", "pylock.toml"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}
