//! The audit log: who did what, when and why. Append-only: this module only
//! inserts and reads, and both backends reject UPDATE and DELETE with a
//! trigger, so not even a bug elsewhere can rewrite history.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::error::StoreResult;
use crate::now_ms;
use crate::schema::audit_events;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Append one event. `actor` is the user name, or None for the system.
pub fn record(conn: &mut AnyConnection, actor: Option<&str>, action: &str, target: &str, detail: &str) -> StoreResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::at.eq(now_ms()),
            audit_events::actor.eq(actor),
            audit_events::action.eq(action),
            audit_events::target.eq(target),
            audit_events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// Newest events first.
pub fn list(conn: &mut AnyConnection, limit: i64, offset: i64) -> StoreResult<Vec<AuditEvent>> {
    Ok(audit_events::table.order(audit_events::id.desc()).limit(limit).offset(offset).select(AuditEvent::as_select()).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::each_backend;

    #[test]
    fn the_audit_log_refuses_updates_and_deletes() {
        each_backend(|conn| {
            record(conn, Some("alice"), "release.approve", "six 1.16.0", "looks fine").unwrap();
            let update = diesel::update(audit_events::table).set(audit_events::detail.eq("rewritten")).execute(conn);
            assert!(update.is_err(), "update of the audit log must fail");
            let delete = diesel::delete(audit_events::table).execute(conn);
            assert!(delete.is_err(), "delete from the audit log must fail");
            let events = list(conn, 10, 0).unwrap();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].detail, "looks fine");
        });
    }
}
