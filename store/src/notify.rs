//! Notifications: events people should hear about (releases waiting for
//! review, a revoked audit base, an advisory match, a policy's decision, a
//! job failed for good, a reserved name refused), kept in an outbox.
//!
//! [`record`] is called inside the transaction that makes the change, so
//! an event exists exactly when its change does. The dashboard's inbox
//! reads the events (each user has a read mark); a worker task delivers
//! each one to the configured webhook at least once ([`due_deliveries`],
//! [`delivered`], [`delivery_failed`]), with exponential backoff, and the
//! admin page shows every delivery's attempts and last error. This module
//! never talks to the network.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::error::StoreResult;
use crate::now_ms;
use crate::schema::{notification_reads, notifications, webhook_deliveries};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Releases entered the review queue (one event per batch).
    ReviewWaiting,
    /// An approval's audit base was revoked.
    BaseRevoked,
    /// An advisory matched a release.
    AdvisoryMatched,
    /// A policy (small-update, advisory) decided on a release.
    PolicyDecision,
    /// A background job failed for good.
    JobFailed,
    /// A request for a reserved name was refused.
    NameReserved,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ReviewWaiting => "review.waiting",
            Kind::BaseRevoked => "base.revoked",
            Kind::AdvisoryMatched => "advisory.matched",
            Kind::PolicyDecision => "policy.decision",
            Kind::JobFailed => "job.failed",
            Kind::NameReserved => "name.reserved",
        }
    }
}

/// One event, as the inbox and the webhook show it.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct Notification {
    pub id: i64,
    pub event_id: String,
    pub kind: String,
    pub summary: String,
    pub payload: String,
    pub created_at: i64,
}

impl Notification {
    /// The webhook's body: event id, type, timestamp (RFC 3339), summary
    /// and data.
    pub fn webhook_body(&self) -> String {
        let data: serde_json::Value = serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null);
        let timestamp = chrono::DateTime::from_timestamp_millis(self.created_at).map(|t| t.to_rfc3339()).unwrap_or_default();
        serde_json::json!({ "id": self.event_id, "type": self.kind, "timestamp": timestamp, "summary": self.summary, "data": data }).to_string()
    }
}

/// One webhook delivery, for the admin page.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub notification: Notification,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
}

/// Record an event and its pending webhook delivery. Call it inside the
/// transaction that makes the change it reports.
pub fn record(conn: &mut AnyConnection, kind: Kind, summary: &str, payload: serde_json::Value) -> StoreResult<i64> {
    let now = now_ms();
    let event_id = format!("evt_{}", hex::encode(rand::random::<[u8; 16]>()));
    let id: i64 = diesel::insert_into(notifications::table)
        .values((
            notifications::event_id.eq(&event_id),
            notifications::kind.eq(kind.as_str()),
            notifications::summary.eq(summary),
            notifications::payload.eq(payload.to_string()),
            notifications::created_at.eq(now),
        ))
        .returning(notifications::id)
        .get_result(conn)?;
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::notification_id.eq(id),
            webhook_deliveries::state.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The newest events, newest first.
pub fn recent(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<Notification>> {
    Ok(notifications::table.order(notifications::id.desc()).limit(limit).load(conn)?)
}

/// The id of the last event `user_id` has read (0: none).
pub fn last_read(conn: &mut AnyConnection, user_id: i64) -> StoreResult<i64> {
    Ok(notification_reads::table.find(user_id).select(notification_reads::last_read_id).first(conn).optional()?.unwrap_or(0))
}

/// Events `user_id` has not read.
pub fn unread_count(conn: &mut AnyConnection, user_id: i64) -> StoreResult<i64> {
    let mark = last_read(conn, user_id)?;
    Ok(notifications::table.filter(notifications::id.gt(mark)).count().get_result(conn)?)
}

/// Mark every event up to `up_to` read for `user_id` (the mark never goes back).
pub fn mark_read(conn: &mut AnyConnection, user_id: i64, up_to: i64) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        let mark = last_read(conn, user_id)?;
        let latest: Option<i64> = notifications::table.select(diesel::dsl::max(notifications::id)).first(conn)?;
        let up_to = up_to.min(latest.unwrap_or(0));
        if up_to <= mark {
            return Ok(());
        }
        let updated = diesel::update(notification_reads::table.find(user_id)).set(notification_reads::last_read_id.eq(up_to)).execute(conn)?;
        if updated == 0 {
            diesel::insert_into(notification_reads::table)
                .values((notification_reads::user_id.eq(user_id), notification_reads::last_read_id.eq(up_to)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// How long a claimed delivery is left to its claimant before another
/// worker may try it.
const CLAIM_MS: i64 = 60_000;

/// Claim up to `limit` deliveries that are due: each is pushed
/// [`CLAIM_MS`] into the future, so another worker leaves it alone while
/// this one tries.
pub fn due_deliveries(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<(Notification, i64)>> {
    let now = now_ms();
    let due: Vec<(i64, i64, i64)> = webhook_deliveries::table
        .filter(webhook_deliveries::state.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::notification_id)
        .limit(limit)
        .select((webhook_deliveries::notification_id, webhook_deliveries::next_attempt_at, webhook_deliveries::attempts))
        .load(conn)?;
    let mut out = Vec::new();
    for (id, at, attempts) in due {
        let claimed = diesel::update(webhook_deliveries::table.find(id).filter(webhook_deliveries::next_attempt_at.eq(at)))
            .set(webhook_deliveries::next_attempt_at.eq(now + CLAIM_MS))
            .execute(conn)?;
        if claimed == 1 {
            out.push((notifications::table.find(id).first(conn)?, attempts));
        }
    }
    Ok(out)
}

/// The delivery of event `id` succeeded.
pub fn delivered(conn: &mut AnyConnection, id: i64) -> StoreResult<()> {
    let now = now_ms();
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::state.eq("delivered"),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::last_attempt_at.eq(now),
            webhook_deliveries::delivered_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The delay before retry number `attempts` (1: the first retry):
/// `base` doubled per attempt, at most an hour.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    base_ms.max(1).saturating_mul(1i64 << (attempts - 1).clamp(0, 20)).min(3_600_000)
}

/// The delivery of event `id` failed with `error`: retried after the
/// backoff, or failed for good after `max_attempts`. Returns the new state.
pub fn delivery_failed(conn: &mut AnyConnection, id: i64, error: &str, base_ms: i64, max_attempts: i64) -> StoreResult<&'static str> {
    let now = now_ms();
    let attempts: i64 = webhook_deliveries::table.find(id).select(webhook_deliveries::attempts).first::<i64>(conn)? + 1;
    let state = if attempts >= max_attempts { "failed" } else { "pending" };
    let error: String = error.chars().take(1000).collect();
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::state.eq(state),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::last_attempt_at.eq(now),
            webhook_deliveries::last_error.eq(&error),
            webhook_deliveries::next_attempt_at.eq(now + backoff_ms(base_ms, attempts)),
        ))
        .execute(conn)?;
    Ok(state)
}

/// Deliveries, newest first, for the admin page.
pub fn deliveries(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<Delivery>> {
    type Row = (Notification, (String, i64, i64, Option<String>, Option<i64>, Option<i64>));
    let rows: Vec<Row> = webhook_deliveries::table
        .inner_join(notifications::table)
        .order(webhook_deliveries::notification_id.desc())
        .limit(limit)
        .select((
            notifications::all_columns,
            (
                webhook_deliveries::state,
                webhook_deliveries::attempts,
                webhook_deliveries::next_attempt_at,
                webhook_deliveries::last_error,
                webhook_deliveries::last_attempt_at,
                webhook_deliveries::delivered_at,
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(notification, (state, attempts, next_attempt_at, last_error, last_attempt_at, delivered_at))| Delivery {
            notification,
            state,
            attempts,
            next_attempt_at,
            last_error,
            last_attempt_at,
            delivered_at,
        })
        .collect())
}

/// Releases that entered review since the last `review.waiting` event:
/// one event names them all (a batch, not one event per release). None
/// when there are none. `since_ms` bounds the first batch.
pub fn batch_review_waiting(conn: &mut AnyConnection) -> StoreResult<Option<i64>> {
    use crate::schema::{projects, releases};
    crate::db::write_transaction(conn, |conn| {
        let last: Option<String> = notifications::table
            .filter(notifications::kind.eq(Kind::ReviewWaiting.as_str()))
            .order(notifications::id.desc())
            .select(notifications::payload)
            .first(conn)
            .optional()?;
        let after_id: i64 = last.and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok()).and_then(|v| v["up_to_release_id"].as_i64()).unwrap_or(0);
        let waiting: Vec<(i64, String, String)> = releases::table
            .inner_join(projects::table)
            .filter(releases::status.eq(crate::domain::ReleaseStatus::AwaitingReview))
            .filter(releases::id.gt(after_id))
            .order(releases::id)
            .limit(1000)
            .select((releases::id, projects::name, releases::version))
            .load(conn)?;
        let Some(up_to) = waiting.iter().map(|(id, _, _)| *id).max() else { return Ok(None) };
        let names: Vec<String> = waiting.iter().map(|(_, p, v)| format!("{p} {v}")).collect();
        let shown = if names.len() > 5 { format!("{} and {} more", names[..5].join(", "), names.len() - 5) } else { names.join(", ") };
        let summary = format!("{} release{} waiting for review: {shown}", names.len(), if names.len() == 1 { "" } else { "s" });
        let payload = serde_json::json!({ "releases": names, "up_to_release_id": up_to });
        record(conn, Kind::ReviewWaiting, &summary, payload).map(Some)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::each_backend;

    #[test]
    fn events_are_unread_until_marked_and_deliveries_back_off_then_fail() {
        each_backend(|conn| {
            let alice = crate::auth::create_user(conn, "alice", crate::domain::Role::Auditor, "password1").unwrap();
            let first = record(conn, Kind::JobFailed, "job 1 failed", serde_json::json!({"job": 1})).unwrap();
            let second = record(conn, Kind::NameReserved, "refused acme-x", serde_json::json!({})).unwrap();
            assert_eq!(unread_count(conn, alice.id).unwrap(), 2);
            mark_read(conn, alice.id, first).unwrap();
            assert_eq!(unread_count(conn, alice.id).unwrap(), 1);
            mark_read(conn, alice.id, 0).unwrap();
            assert_eq!(unread_count(conn, alice.id).unwrap(), 1, "the mark never goes back");
            mark_read(conn, alice.id, i64::MAX).unwrap();
            assert_eq!(unread_count(conn, alice.id).unwrap(), 0);

            let due = due_deliveries(conn, 10).unwrap();
            assert_eq!(due.iter().map(|(n, _)| n.id).collect::<Vec<_>>(), [first, second]);
            assert!(due_deliveries(conn, 10).unwrap().is_empty(), "claimed deliveries are not handed out twice");
            let body: serde_json::Value = serde_json::from_str(&due[0].0.webhook_body()).unwrap();
            assert_eq!((body["type"].as_str(), body["data"]["job"].as_i64()), (Some("job.failed"), Some(1)));
            assert!(body["id"].as_str().unwrap().starts_with("evt_") && body["timestamp"].as_str().unwrap().contains('T'));
            delivered(conn, first).unwrap();
            assert_eq!(delivery_failed(conn, second, "HTTP 500", 1000, 2).unwrap(), "pending");
            assert_eq!(delivery_failed(conn, second, "HTTP 500", 1000, 2).unwrap(), "failed");
            let shown = deliveries(conn, 10).unwrap();
            assert_eq!(
                shown.iter().map(|d| (d.state.as_str(), d.attempts, d.last_error.as_deref())).collect::<Vec<_>>(),
                [("failed", 2, Some("HTTP 500")), ("delivered", 1, None)]
            );
            assert_eq!([1, 2, 3, 30].map(|a| backoff_ms(1000, a)), [1000, 2000, 4000, 3_600_000]);
        });
    }
}
