//! What an auditor does to a release from its page besides deciding:
//! yanking it with a reason (`POST …/yank`, PEP 592: installers skip it
//! unless pinned) and taking the yank back (`POST …/unyank`). Both are
//! recorded in the audit log by the store and shown on the release page;
//! and after a decision, where the auditor goes next ([`next_in_queue`]).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::domain::{ProjectName, ReleaseStatus};
use airlock_store::index;
use airlock_store::queue::{self as review_queue, QueueFilter};
use serde::Deserialize;

use crate::auth::{Auditor, FormPost};
use crate::error::AppError;
use crate::routes::release::release_base;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct YankForm {
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct Empty {}

fn parse_name(name: &str) -> Result<ProjectName, AppError> {
    ProjectName::parse(name).map_err(|_| AppError::NotFound("no such release".into()))
}

/// `POST /releases/<name>/<version>/yank`: yank it, with a reason (required).
pub async fn yank(post: FormPost<Auditor, YankForm>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let project = parse_name(&name)?;
    let (user, reason, p, v) = (post.user, post.form.reason, project.clone(), version.clone());
    state.db(move |c| index::yank(c, &user, &p, &v, &reason)).await?;
    state.index.evict_project(project.as_str());
    tracing::info!(project = %project, %version, "release yanked");
    let location = format!("{}#yank", release_base(project.as_str(), &version));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

/// `POST /releases/<name>/<version>/unyank`: take the yank back.
pub async fn unyank(post: FormPost<Auditor, Empty>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let project = parse_name(&name)?;
    let (user, p, v) = (post.user, project.clone(), version.clone());
    let was = state.db(move |c| index::unyank(c, &user, &p, &v)).await?;
    if !was {
        return Err(AppError::Conflict(format!("{project} {version} is not yanked")));
    }
    state.index.evict_project(project.as_str());
    tracing::info!(project = %project, %version, "release unyanked");
    let location = format!("{}#yank", release_base(project.as_str(), &version));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}

/// Where an auditor lands after deciding on `release_id`: the release that
/// now heads the review queue (its default view, in its order), other than
/// the one just decided; the queue when nothing else waits. A release the
/// auditor approved already (waiting for a second auditor) is passed over.
pub async fn next_in_queue(state: &AppState, release_id: i64, user_id: i64) -> Result<String, AppError> {
    let next = state
        .db(move |c| {
            let filter =
                QueueFilter { statuses: vec![ReleaseStatus::AwaitingReview], with_added_files: true, with_base_revoked: true, ..QueueFilter::default() };
            let items = review_queue::queue(c, &filter, 1_000)?;
            let ids: Vec<i64> = items.iter().map(|i| i.release_id).collect();
            let mine = review_queue::approved_this_round_by(c, &ids, user_id)?;
            Ok(items.into_iter().find(|i| i.release_id != release_id && !mine.contains(&i.release_id)))
        })
        .await?;
    Ok(match next {
        Some(i) => release_base(&i.project, &i.version),
        None => "/queue".to_string(),
    })
}
