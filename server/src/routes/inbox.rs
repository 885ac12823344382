//! The inbox (`GET /inbox`): the notification events (see
//! `airlock_store::notify`), newest first, the ones this user has not read
//! marked; `POST /inbox/read` marks them read; `GET /inbox/count` is the
//! unread count the header shows. And, for admins, `GET /admin/notifications`:
//! every webhook delivery with its attempts and last error, plus the
//! advisories fetch button (`POST /admin/advisories/fetch`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::notify;
use airlock_store::tasks::{self, FetchAdvisories};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Admin, FormPost, Page, Viewer};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{format_time, Nav};

pub struct EventRow {
    id: i64,
    kind: String,
    summary: String,
    at: String,
    unread: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
pub struct InboxPage {
    nav: Option<Nav>,
    csrf: String,
    events: Vec<EventRow>,
    unread: usize,
    /// The newest event shown: "mark read" marks up to it, not past
    /// events that arrived after the page was drawn.
    newest: i64,
}

pub async fn page(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<InboxPage, AppError> {
    let user_id = auth.user.id;
    let (events, mark) = state.db(move |c| Ok((notify::recent(c, 200)?, notify::last_read(c, user_id)?))).await?;
    let rows: Vec<EventRow> =
        events.into_iter().map(|e| EventRow { unread: e.id > mark, id: e.id, kind: e.kind, summary: e.summary, at: format_time(e.created_at) }).collect();
    Ok(InboxPage {
        unread: rows.iter().filter(|r| r.unread).count(),
        newest: rows.first().map_or(0, |r| r.id),
        events: rows,
        nav: Nav::new(&auth.user, &auth.csrf),
        csrf: auth.csrf,
    })
}

#[derive(Deserialize)]
pub struct ReadForm {
    up_to: i64,
}

pub async fn mark_read(post: FormPost<Viewer, ReadForm>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (user_id, up_to) = (post.user.id, post.form.up_to);
    state.db(move |c| notify::mark_read(c, user_id, up_to)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/inbox")).finish())
}

/// The unread count, as plain text, for the header's inbox link.
pub async fn count(auth: Page<Viewer>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let user_id = auth.user.id;
    let n = state.db(move |c| notify::unread_count(c, user_id)).await?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(n.to_string()))
}

pub struct DeliveryRow {
    event_id: String,
    kind: String,
    summary: String,
    state: String,
    attempts: i64,
    last_error: String,
    last_attempt: String,
    next_attempt: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_notifications.html")]
pub struct DeliveriesPage {
    nav: Option<Nav>,
    csrf: String,
    webhook: Option<String>,
    advisories_url: Option<String>,
    deliveries: Vec<DeliveryRow>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    #[serde(default)]
    fetched: Option<String>,
}

pub async fn deliveries(auth: Page<Admin>, state: web::Data<AppState>, q: web::Query<DeliveriesQuery>) -> Result<DeliveriesPage, AppError> {
    let rows = state.db(|c| notify::deliveries(c, 200)).await?;
    Ok(DeliveriesPage {
        webhook: state.config.webhook.as_ref().map(|w| w.url.clone()),
        advisories_url: state.config.advisories_url.clone(),
        message: q.fetched.as_ref().map(|_| "An advisories fetch is queued; matches show on the overview when it has run.".to_string()),
        deliveries: rows
            .into_iter()
            .map(|d| DeliveryRow {
                event_id: d.notification.event_id,
                kind: d.notification.kind,
                summary: d.notification.summary,
                last_error: d.last_error.unwrap_or_default(),
                last_attempt: d.last_attempt_at.map(format_time).unwrap_or_default(),
                next_attempt: if d.state == "pending" { format_time(d.next_attempt_at) } else { String::new() },
                state: d.state,
                attempts: d.attempts,
            })
            .collect(),
        nav: Nav::new(&auth.user, &auth.csrf),
        csrf: auth.csrf,
    })
}

#[derive(Deserialize)]
pub struct Empty {}

/// Queue a fetch of `advisories_url` now.
pub async fn fetch_advisories(post: FormPost<Admin, Empty>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let Some(url) = state.config.advisories_url.clone() else {
        return Err(AppError::BadRequest("no advisories_url is configured; import files with `airlock advisories import`".into()));
    };
    let (actor, attempts) = (post.user.name.clone(), state.config.job_max_attempts);
    state
        .db(move |c| {
            tasks::enqueue(c, &FetchAdvisories { url: url.clone() }, attempts)?;
            airlock_store::audit::record(c, Some(&actor), "advisories.fetch", &url, "fetch queued from the admin page")
        })
        .await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin/notifications?fetched=1")).finish())
}
