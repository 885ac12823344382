//! `GET /audit`: the append-only audit log, newest first.

use actix_web::web;
use airlock_store::audit;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Page, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{format_time, Nav};

pub struct EventRow {
    when: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    nav: Option<Nav>,
    events: Vec<EventRow>,
}

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    offset: i64,
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>, q: web::Query<Paging>) -> Result<AuditPage, AppError> {
    let offset = q.offset.max(0);
    let events = state.db(move |c| audit::list(c, 200, offset)).await?;
    Ok(AuditPage {
        nav: Nav::new(&auth.user, &auth.csrf),
        events: events
            .into_iter()
            .map(|e| EventRow {
                when: format_time(e.at),
                actor: e.actor.unwrap_or_else(|| "system".into()),
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect(),
    })
}
