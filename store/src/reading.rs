//! What an auditor read to decide on a release, as cargo-vet records it:
//! the audit base (the approved version the delta was read against, or the
//! whole release), the lines read, and the criteria it was judged for. And
//! the consequence when a base is revoked: every release approved on top
//! of it rests on something no longer trusted, and is marked **base
//! revoked** until it is reviewed again (against another approved version).
//!
//! Reads only the audit-size cache; it never opens an archive (the server
//! measures, see `worker/src/measure_audit.rs`).

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::audit;
use crate::audit_size;
use crate::auth::User;
use crate::db::AnyConnection;
use crate::decisions::Verdict;
use crate::domain::ReleaseStatus;
use crate::error::StoreResult;
use crate::releases::release_by_id;
use crate::schema::{decisions, releases};

/// The criteria a decision is made for when none is named: what ships.
pub const DEFAULT_CRITERIA: &str = "safe-to-deploy";
/// The criteria names known by default (cargo-vet's two).
pub const DEFAULT_CRITERIA_NAMES: [&str; 2] = ["safe-to-run", "safe-to-deploy"];
/// The audit base recorded when the whole release was read.
pub const FULL: &str = "full";

/// What was read for a decision. All None when nothing was measured yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// The approved version the delta was read against, or [`FULL`].
    pub base: Option<String>,
    pub base_release_id: Option<i64>,
    pub lines: Option<i64>,
}

/// What reviewing `release_id` (of `project_id`, at `version`) reads now,
/// from the cached audit sizes: the smallest delta from one of the nearest
/// approved versions, or the whole release when there is none. Nothing
/// when that size is not measured yet.
pub fn what_is_read(conn: &mut AnyConnection, project_id: i64, release_id: i64, version: &str) -> StoreResult<Reading> {
    Ok(match audit_size::best(conn, project_id, release_id, version)? {
        Some((size, Some(b))) => Reading { base: Some(b.version), base_release_id: Some(b.id), lines: Some(size.lines) },
        Some((size, None)) => Reading { base: Some(FULL.into()), base_release_id: None, lines: Some(size.lines) },
        None => Reading::default(),
    })
}

/// An approved release whose approval was read against a base since revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseRevoked {
    pub release_id: i64,
    /// The revoked base's version and id.
    pub base: String,
    pub base_release_id: i64,
}

/// The approved releases (among `only`, or all when None) whose approval
/// in force was read against a base that is now revoked.
pub fn base_revoked(conn: &mut AnyConnection, only: Option<&[i64]>) -> StoreResult<HashMap<i64, BaseRevoked>> {
    let mut query = decisions::table
        .inner_join(releases::table)
        .filter(releases::status.eq(ReleaseStatus::Approved))
        .filter(decisions::in_force.eq(true))
        .select((decisions::release_id, decisions::decision, decisions::audit_base_release_id))
        .order(decisions::id)
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(decisions::release_id.eq_any(ids.to_vec()));
    }
    let mut latest: HashMap<i64, (String, Option<i64>)> = HashMap::new();
    for (release_id, decision, base) in query.load::<(i64, String, Option<i64>)>(conn)? {
        latest.insert(release_id, (decision, base));
    }
    let bases: Vec<i64> = latest.values().filter(|(d, _)| d == "approve").filter_map(|(_, b)| *b).collect();
    if bases.is_empty() {
        return Ok(HashMap::new());
    }
    let revoked: HashMap<i64, String> = releases::table
        .filter(releases::id.eq_any(bases))
        .filter(releases::status.eq(ReleaseStatus::Revoked))
        .select((releases::id, releases::version))
        .load(conn)?
        .into_iter()
        .collect();
    Ok(latest
        .into_iter()
        .filter(|(_, (d, _))| d == "approve")
        .filter_map(|(release_id, (_, base))| {
            let base_release_id = base?;
            revoked.get(&base_release_id).map(|v| (release_id, BaseRevoked { release_id, base: v.clone(), base_release_id }))
        })
        .collect())
}

/// Revoke `release_id`, approved on the base `base` just revoked by
/// `user`, under `base_revoked_policy = "withhold"`: its files leave the
/// index until an auditor reviews it again.
pub(crate) fn withhold(conn: &mut AnyConnection, release_id: i64, user: &User, base: &str, now: i64) -> StoreResult<()> {
    let (project, release) = release_by_id(conn, release_id)?;
    let hashes: String = decisions::table
        .filter(decisions::release_id.eq(release_id))
        .filter(decisions::in_force.eq(true))
        .order(decisions::id.desc())
        .select(decisions::sha256s)
        .first(conn)?;
    let comment = format!("withheld: its audit base {base} was revoked (base_revoked_policy = withhold); review it again to serve it");
    diesel::insert_into(decisions::table)
        .values((
            decisions::release_id.eq(release_id),
            decisions::user_id.eq(user.id),
            decisions::decision.eq(Verdict::Revoke.as_str()),
            decisions::comment.eq(&comment),
            decisions::sha256s.eq(&hashes),
            decisions::created_at.eq(now),
            decisions::in_force.eq(true),
        ))
        .execute(conn)?;
    diesel::update(releases::table.find(release_id)).set((releases::status.eq(ReleaseStatus::Revoked), releases::updated_at.eq(now))).execute(conn)?;
    audit::record(conn, Some(&user.name), "release.revoke", &format!("{} {}", project.name, release.version), &comment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{create_user, User};
    use crate::decisions::{decide, decide_for, decisions_of, ReviewPolicy, Verdict};
    use crate::domain::Role;
    use crate::testdb::each_backend;

    /// A release of demo awaiting review, with its files inspected.
    fn awaiting(conn: &mut AnyConnection, version: &str) -> i64 {
        crate::decisions::tests::awaiting(conn, "demo", version, "low")
    }

    /// Lines of code to read, files added and files changed.
    fn measured(lines: i64, added: i64, changed: i64) -> audit_size::Measurement {
        audit_size::Measurement { lines, files_added: added, files_changed: changed, ..Default::default() }
    }

    fn approve(conn: &mut AnyConnection, user: &User, id: i64, criteria: Option<&str>) {
        decide_for(conn, id, user, Verdict::Approve, "read", &ReviewPolicy::default(), None, criteria, None).unwrap();
    }

    #[test]
    fn a_decision_records_its_base_lines_and_criteria_and_a_revoked_base_marks_its_dependents() {
        each_backend(|conn| {
            let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
            let one = awaiting(conn, "1.0");
            audit_size::put(conn, one, None, measured(34_122, 10, 0)).unwrap();
            approve(conn, &alice, one, Some("safe-to-run"));
            let d = decisions_of(conn, one).unwrap().remove(0);
            assert_eq!((d.audit_base.as_deref(), d.audit_lines, d.criteria.as_deref()), (Some(FULL), Some(34_122), Some("safe-to-run")));

            let two = awaiting(conn, "1.1");
            let three = awaiting(conn, "1.2");
            audit_size::put(conn, two, Some(one), measured(530, 0, 2)).unwrap();
            approve(conn, &alice, two, None);
            let d = decisions_of(conn, two).unwrap().remove(0);
            assert_eq!((d.audit_base.as_deref(), d.audit_lines, d.criteria.as_deref()), (Some("1.0"), Some(530), Some(DEFAULT_CRITERIA)));
            // Nothing measured: the decision says so rather than guessing.
            approve(conn, &alice, three, None);
            assert_eq!(decisions_of(conn, three).unwrap()[0].audit_lines, None);
            assert!(base_revoked(conn, None).unwrap().is_empty());

            decide(conn, one, &alice, Verdict::Revoke, "compromised", &ReviewPolicy::default(), None).unwrap();
            let marked = base_revoked(conn, None).unwrap();
            assert_eq!(marked.len(), 1, "only the release read against 1.0: {marked:?}");
            assert_eq!(marked[&two].base, "1.0");
            assert_eq!(base_revoked(conn, Some(&[three])).unwrap().len(), 0);
            let events = crate::notify::recent(conn, 10).unwrap();
            let told: Vec<&str> = events.iter().filter(|e| e.kind == "base.revoked").map(|e| e.summary.as_str()).collect();
            assert_eq!(told, ["demo 1.0 was revoked: 1 approval(s) read against it need a new review"], "one event names the dependents");

            // Under "withhold", revoking a base revokes what was read against it.
            let four = awaiting(conn, "1.3");
            audit_size::put(conn, four, Some(three), measured(12, 0, 1)).unwrap();
            approve(conn, &alice, four, None);
            let withhold = ReviewPolicy { withhold_on_base_revoked: true, ..ReviewPolicy::default() };
            decide(conn, three, &alice, Verdict::Revoke, "bad", &withhold, None).unwrap();
            let (_, r) = crate::releases::release_by_id(conn, four).unwrap();
            assert_eq!(r.status, crate::domain::ReleaseStatus::Revoked, "withheld with its base");
            assert!(decisions_of(conn, four).unwrap().last().unwrap().comment.contains("audit base demo 1.2 was revoked"));
            assert_eq!(
                crate::releases::release_by_id(conn, two).unwrap().1.status,
                crate::domain::ReleaseStatus::Approved,
                "1.1 was read against 1.0, not 1.2"
            );
            // Re-reviewed whole (no approved version is left): no longer marked.
            audit_size::put(conn, two, None, measured(900, 3, 0)).unwrap();
            approve(conn, &alice, two, None);
            assert_eq!(decisions_of(conn, two).unwrap().last().unwrap().audit_base.as_deref(), Some(FULL));
            assert!(base_revoked(conn, None).unwrap().is_empty(), "a new approval read against no revoked base clears the mark");
        });
    }
}
