//! Verdicts on findings (`POST /releases/<name>/<version>/findings/review`):
//! an auditor acknowledges findings or marks them false positives, with a
//! comment. Recorded append-only with an audit event (see
//! [`airlock_store::finding_reviews`]); the release page shows it to the
//! next auditor and carries it to later versions while the code is unchanged.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::finding_reviews::{self, Verdict};
use serde::Deserialize;

use crate::auth::{Auditor, FormPost};
use crate::error::AppError;
use crate::release_detail;
use crate::routes::release::release_base;
use crate::state::AppState;

/// Findings one form may name (a rule card's places): more is refused.
const MAX_FINDINGS: usize = 10_000;

#[derive(Deserialize)]
pub struct ReviewForm {
    /// Finding ids, comma-separated.
    finding_ids: String,
    verdict: String,
    comment: String,
}

fn parse_ids(text: &str) -> Result<Vec<i64>, AppError> {
    let ids: Vec<i64> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_err(|_| AppError::BadRequest(format!("a finding id is a number, got {s:?}"))))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() || ids.len() > MAX_FINDINGS {
        return Err(AppError::BadRequest(format!("name between 1 and {MAX_FINDINGS} findings")));
    }
    Ok(ids)
}

pub async fn review(post: FormPost<Auditor, ReviewForm>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let verdict: Verdict = post.form.verdict.parse()?;
    let ids = parse_ids(&post.form.finding_ids)?;
    let detail = release_detail::load(&state, &name, &version).await?;
    let (release_id, comment, user) = (detail.release.id, post.form.comment.clone(), post.user.name.clone());
    let n = state.db(move |c| finding_reviews::record(c, release_id, &ids, verdict, &comment, &user)).await?;
    tracing::info!(project = %detail.project.name, version = %detail.release.version, verdict = verdict.as_str(), places = n, "findings reviewed");
    let location = format!("{}#findings", release_base(&detail.project.name, &detail.release.version));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}
