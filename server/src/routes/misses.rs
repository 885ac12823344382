//! `GET /misses`: the index's recent misses, newest first: which project a
//! client asked for that the index could not serve, who asked (the API
//! token's user, or the client's address), when, and what Airlock did about
//! it. The page a developer opens when pip says `from versions: none`.
//! Project names here were typed by clients: the template escapes them.

use actix_web::web;
use airlock_store::throttle;
use airlock_store::why::miss_outcome_text;
use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{Page, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{format_age, format_time, url_part, Nav};

/// Misses shown.
const SHOWN: i64 = 200;

pub struct MissRow {
    project: String,
    /// The queue filtered to the project: its releases in Airlock, if any.
    href: String,
    who: String,
    age: String,
    when: String,
    outcome: String,
    outcome_text: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "misses.html")]
pub struct MissesPage {
    nav: Option<Nav>,
    misses: Vec<MissRow>,
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<MissesPage, AppError> {
    let misses = state.db(|c| throttle::recent_misses(c, SHOWN)).await?;
    let now = airlock_store::now_ms();
    Ok(MissesPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        misses: misses
            .into_iter()
            .map(|m| MissRow {
                href: format!("/queue?status=all&q={}", url_part(&m.project)),
                who: match m.requester {
                    Some(user) => format!("{user} ({})", m.client),
                    None => m.client,
                },
                age: format_age(m.at, now),
                when: format_time(m.at),
                outcome_text: miss_outcome_text(&m.outcome),
                outcome: m.outcome,
                project: m.project,
            })
            .collect(),
    })
}
