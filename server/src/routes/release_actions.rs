//! What an auditor does to a release from its page: deciding (`POST
//! …/decision`: approve, reject, or revoke with a confirmation), then
//! landing on the next release waiting ([`next_in_queue`]); yanking it with a reason (`POST …/yank`, PEP 592: installers skip it
//! unless pinned) and taking the yank back (`POST …/unyank`). Both are
//! recorded in the audit log by the store and shown on the release page.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::decisions::{Outcome, Verdict};
use airlock_store::domain::{ProjectName, ReleaseStatus};
use airlock_store::index;
use airlock_store::queue::{self as review_queue, QueueFilter};
use serde::Deserialize;

use crate::auth::{Auditor, FormPost};
use crate::error::AppError;
use crate::release_detail;
use crate::review;
use crate::routes::release::release_base;
use crate::state::AppState;
use crate::views::url_part;

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
            let items = review_queue::queue(c, &filter, 200)?;
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

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
    comment: String,
    /// The file hashes the page showed, comma-separated.
    #[serde(default)]
    sha256s: Option<String>,
    /// `safe-to-run`, `safe-to-deploy` or another configured name.
    #[serde(default)]
    criteria: Option<String>,
    /// A revocation's confirmation: the form's box, ticked (`revoke`).
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn decide(post: FormPost<Auditor, DecisionForm>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let verdict = Verdict::parse(&post.form.decision)?;
    // Revoking takes served files out of the index at once: the form asks
    // for a confirmation, and the server holds it to that without a script.
    if verdict == Verdict::Revoke && post.form.confirm.as_deref() != Some("revoke") {
        return Err(AppError::BadRequest("revoking takes the files out of the index at once: tick the confirmation box to revoke".into()));
    }
    let detail = release_detail::load(&state, &name, &version).await?;
    let (release_id, user, comment) = (detail.release.id, post.user.clone(), post.form.comment.clone());
    let reviewed: Option<Vec<String>> = post.form.sha256s.as_ref().map(|s| s.split(',').map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect());
    let policy = state.review_policy();
    let criteria = review::criteria(&state.config, post.form.criteria.as_deref())?;
    let (release, outcome) =
        state.db(move |c| review::measured_decide(c, release_id, &user, verdict, &comment, &policy, reviewed.as_deref(), &criteria)).await?;
    // This process shows the change at once; the others within a feed poll.
    state.index.evict_project(&detail.project.name);
    tracing::info!(project = %detail.project.name, version = %release.version, ?outcome, "decision recorded");
    // On to the next release waiting in the queue, saying what was done;
    // a revocation stays on the page, which shows its new state.
    let done = match &outcome {
        Outcome::ApprovalRecorded { have, needed } => format!("approval {have} of {needed} recorded; it waits for another auditor"),
        Outcome::Approved => "approved".to_string(),
        Outcome::Rejected => "rejected".to_string(),
        Outcome::Revoked => "revoked".to_string(),
    };
    let said = format!("{} {}: {done}", detail.project.name, release.version);
    let here = release_base(&detail.project.name, &release.version);
    let location = match outcome {
        Outcome::Revoked => here,
        _ => next_in_queue(&state, release.id, post.user.id).await?,
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let location = format!("{location}{sep}decided={}", url_part(&said));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}
