//! The audit log: who did what, when and why. Append-only: this module only
//! inserts and reads, and both backends reject UPDATE and DELETE with a
//! trigger, so not even a bug elsewhere can rewrite history.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::ProjectName;
use crate::error::{StoreError, StoreResult};
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
    search(conn, &AuditFilter::default(), limit, offset)
}

/// The longest free-text search accepted.
pub const MAX_SEARCH: usize = 200;

/// Which events to read. Every field is optional; the events shown meet
/// all the ones given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// A user name, or `system` for the events no user caused.
    pub actor: Option<String>,
    /// An action (`release.approve`), or a family of them (`release`).
    pub action: Option<String>,
    /// Events about this project: its own (`project.watch`) and its
    /// releases' (`release.approve` of `name version`).
    pub project: Option<ProjectName>,
    /// From this time on (milliseconds since the epoch, inclusive).
    pub since: Option<i64>,
    /// Before this time (exclusive).
    pub until: Option<i64>,
    /// Text anywhere in the actor, action, target or detail, in any ASCII case.
    pub text: Option<String>,
}

impl AuditFilter {
    /// Refuse a filter no query should run: an over-long search text.
    pub fn check(&self) -> StoreResult<()> {
        if self.text.as_ref().is_some_and(|t| t.chars().count() > MAX_SEARCH) {
            return Err(StoreError::Invalid(format!("a search is at most {MAX_SEARCH} characters")));
        }
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since >= until {
                return Err(StoreError::Invalid("the date range ends before it starts".into()));
            }
        }
        Ok(())
    }
}

diesel::define_sql_function! {
    /// SQL `lower()`: ASCII case folding on SQLite, full on PostgreSQL.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

type Db = <AnyConnection as diesel::Connection>::Backend;

/// `text` for a LIKE pattern: its own `%`, `_` and `\` match themselves.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn filtered(filter: &AuditFilter) -> audit_events::BoxedQuery<'static, Db> {
    let mut query = audit_events::table.into_boxed();
    match filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some("system") => query = query.filter(audit_events::actor.is_null().or(audit_events::actor.eq("system"))),
        Some(actor) => query = query.filter(audit_events::actor.eq(actor.to_string())),
        None => {}
    }
    if let Some(action) = filter.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        let family = action.trim_end_matches('.');
        if action.contains('.') && !action.ends_with('.') {
            query = query.filter(audit_events::action.eq(action.to_string()));
        } else {
            query = query.filter(audit_events::action.like(format!("{}.%", like_escaped(family))).escape('\\'));
        }
    }
    if let Some(project) = &filter.project {
        let name = project.as_str().to_string();
        let releases = format!("{} %", like_escaped(&name));
        query = query.filter(audit_events::target.eq(name).or(audit_events::target.like(releases).escape('\\')));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", like_escaped(&text.to_ascii_lowercase()));
        query = query.filter(
            lower(audit_events::action)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(audit_events::target).like(pattern.clone()).escape('\\'))
                .or(lower(audit_events::detail).like(pattern.clone()).escape('\\'))
                .or(audit_events::actor.is_not_null().and(lower(audit_events::actor.assume_not_null()).like(pattern).escape('\\'))),
        );
    }
    query
}

/// The events `filter` selects, newest first.
pub fn search(conn: &mut AnyConnection, filter: &AuditFilter, limit: i64, offset: i64) -> StoreResult<Vec<AuditEvent>> {
    filter.check()?;
    Ok(filtered(filter).order(audit_events::id.desc()).limit(limit).offset(offset).select(AuditEvent::as_select()).load(conn)?)
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

#[cfg(test)]
mod search_tests {
    use super::*;
    use crate::testdb::each_backend;

    fn targets(events: &[AuditEvent]) -> Vec<String> {
        events.iter().map(|e| format!("{} {}", e.action, e.target)).collect()
    }

    #[test]
    fn the_log_filters_by_actor_action_project_time_and_text() {
        each_backend(|conn| {
            record(conn, Some("alice"), "release.approve", "six 1.16.0", "Looks fine [files: aa, bb]").unwrap();
            record(conn, Some("bob"), "release.reject", "sixty 2.0", "100% malicious_payload").unwrap();
            record(conn, None, "file.add", "six 1.17.0", "upstream added a wheel").unwrap();
            record(conn, Some("alice"), "project.watch", "six", ">=1; backfill 0").unwrap();
            record(conn, Some("carol"), "token.create", "alice", "token #1 (ci)").unwrap();
            let all = search(conn, &AuditFilter::default(), 100, 0).unwrap();
            assert_eq!(all.len(), 5);
            assert_eq!(all[0].action, "token.create", "newest first");

            let mut by = |f: AuditFilter| targets(&search(conn, &f, 100, 0).unwrap());
            let f = |build: fn(&mut AuditFilter)| {
                let mut f = AuditFilter::default();
                build(&mut f);
                f
            };
            assert_eq!(by(f(|f| f.actor = Some("alice".into()))), ["project.watch six", "release.approve six 1.16.0"]);
            assert_eq!(by(f(|f| f.actor = Some("system".into()))), ["file.add six 1.17.0"]);
            assert_eq!(by(f(|f| f.action = Some("release".into()))), ["release.reject sixty 2.0", "release.approve six 1.16.0"]);
            assert_eq!(by(f(|f| f.action = Some("release.reject".into()))), ["release.reject sixty 2.0"]);
            assert!(by(f(|f| f.action = Some("release.%".into()))).is_empty(), "LIKE wildcards match themselves");
            // A project: its own events and its releases', not a project whose name it begins.
            assert_eq!(
                by(f(|f| f.project = Some(ProjectName::parse("Six").unwrap()))),
                ["project.watch six", "file.add six 1.17.0", "release.approve six 1.16.0"]
            );
            // Text in any field, any ASCII case; % and _ are literal.
            assert_eq!(by(f(|f| f.text = Some("LOOKS".into()))), ["release.approve six 1.16.0"]);
            assert_eq!(by(f(|f| f.text = Some("100%".into()))), ["release.reject sixty 2.0"]);
            assert_eq!(by(f(|f| f.text = Some("s_x".into()))), Vec::<String>::new());
            assert_eq!(by(f(|f| f.text = Some("carol".into()))), ["token.create alice"], "the actor is searched too");
            // Filters combine.
            let both = AuditFilter { actor: Some("alice".into()), action: Some("release".into()), ..Default::default() };
            assert_eq!(by(both), ["release.approve six 1.16.0"]);

            // Time: everything is within the last minute, nothing after now.
            let now = now_ms();
            assert_eq!(by(AuditFilter { since: Some(now - 60_000), ..Default::default() }).len(), 5);
            assert!(by(AuditFilter { since: Some(now + 60_000), ..Default::default() }).is_empty());
            assert!(by(AuditFilter { until: Some(now - 60_000), ..Default::default() }).is_empty());

            // Paging.
            let page: Vec<String> = search(conn, &AuditFilter::default(), 2, 3).unwrap().into_iter().map(|e| e.target).collect();
            assert_eq!(page, ["sixty 2.0", "six 1.16.0"]);

            // Bad filters are refused, not run.
            let long = AuditFilter { text: Some("x".repeat(MAX_SEARCH + 1)), ..Default::default() };
            assert!(matches!(search(conn, &long, 10, 0), Err(StoreError::Invalid(_))));
            let backwards = AuditFilter { since: Some(now), until: Some(now - 1), ..Default::default() };
            assert!(matches!(search(conn, &backwards, 10, 0), Err(StoreError::Invalid(_))));
        });
    }
}
