use super::*;
use crate::auth::{create_user, User};
use crate::domain::{PinnedRequirement, ProjectName, Sha256, Version};
use crate::files::{add_file, NewFile};
use crate::index::approved_files;
use crate::releases::{find_release, request_release};
use crate::testdb::each_backend;

/// A release of `name` awaiting review with two files and this max severity.
pub(crate) fn awaiting(conn: &mut AnyConnection, name: &str, version: &str, severity: &str) -> i64 {
    request_release(conn, &PinnedRequirement::parse(&format!("{name}=={version}")).unwrap(), None, 3, &Default::default()).unwrap();
    let (_, r) = find_release(conn, &ProjectName::parse(name).unwrap(), &Version::parse(version).unwrap()).unwrap().unwrap();
    for (i, ext) in ["whl", "tar.gz"].iter().enumerate() {
        let new = NewFile {
            release_id: r.id,
            filename: format!("{name}-{version}.{ext}"),
            sha256: Sha256::of(format!("{name}{version}{i}").as_bytes()),
            size: 10,
            upstream_url: "http://up.test/x".into(),
            requires_python: None,
            yanked: None,
            upload_time: None,
        };
        add_file(conn, &new).unwrap();
    }
    diesel::update(crate::schema::files::table.filter(crate::schema::files::release_id.eq(r.id)))
        .set(crate::schema::files::inspected.eq(true))
        .execute(conn)
        .unwrap();
    diesel::update(releases::table.find(r.id)).set((releases::status.eq("awaiting_review"), releases::max_severity.eq(severity))).execute(conn).unwrap();
    r.id
}

fn served(conn: &mut AnyConnection, name: &str) -> usize {
    approved_files(conn, &ProjectName::parse(name).unwrap()).unwrap().len()
}

#[test]
fn an_approval_records_the_exact_hashes_and_serves_the_files() {
    each_backend(|conn| {
        let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
        let id = awaiting(conn, "demo", "1.0", "medium");
        let hashes: Vec<String> = files_of_release(conn, id).unwrap().into_iter().map(|f| f.sha256).collect();
        let wrong = vec![hashes[0].clone()];
        let refused = decide(conn, id, &alice, Verdict::Approve, "ok", &ReviewPolicy::default(), Some(&wrong));
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "hashes the auditor did not see are refused");
        let empty = decide(conn, id, &alice, Verdict::Approve, "  ", &ReviewPolicy::default(), None);
        assert!(matches!(empty, Err(StoreError::Invalid(_))), "a comment is required");
        let (r, outcome) = decide(conn, id, &alice, Verdict::Approve, "reviewed", &ReviewPolicy::default(), Some(&hashes)).unwrap();
        assert_eq!((r.status.as_str(), outcome), ("approved", Outcome::Approved));
        let mut recorded = decisions_of(conn, id).unwrap()[0].sha256s.clone();
        let mut expected = hashes.clone();
        recorded.sort();
        expected.sort();
        assert_eq!(recorded, expected);
        assert_eq!(served(conn, "demo"), 2);
    });
}

#[test]
fn four_eyes_needs_two_different_auditors_at_or_above_the_severity() {
    each_backend(|conn| {
        let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
        let bob = create_user(conn, "bob", Role::Auditor, "password1").unwrap();
        let policy = ReviewPolicy { four_eyes_severity: Some(airlock_inspect::Severity::High), ..ReviewPolicy::default() };
        let risky = awaiting(conn, "risky", "1.0", "critical");
        let (r, outcome) = decide(conn, risky, &alice, Verdict::Approve, "first look", &policy, None).unwrap();
        assert_eq!((r.status.as_str(), outcome), ("awaiting_review", Outcome::ApprovalRecorded { have: 1, needed: 2 }));
        assert_eq!(served(conn, "risky"), 0, "one approval is not enough");
        let again = decide(conn, risky, &alice, Verdict::Approve, "me again", &policy, None);
        assert!(matches!(again, Err(StoreError::Conflict(_))), "the same auditor cannot approve twice");
        let (r, outcome) = decide(conn, risky, &bob, Verdict::Approve, "second look", &policy, None).unwrap();
        assert_eq!((r.status.as_str(), outcome), ("approved", Outcome::Approved));
        assert_eq!(served(conn, "risky"), 2);

        // Below the threshold one approval suffices.
        let mild = awaiting(conn, "mild", "1.0", "medium");
        let (r, _) = decide(conn, mild, &alice, Verdict::Approve, "fine", &policy, None).unwrap();
        assert_eq!(r.status, crate::domain::ReleaseStatus::Approved);
        let log = crate::audit::list(conn, 10, 0).unwrap();
        assert!(log.iter().any(|e| e.detail.contains("approval 1 of 2")), "{log:?}");
    });
}

#[test]
fn approvals_required_per_severity_needs_that_many_distinct_auditors() {
    each_backend(|conn| {
        let auditors: Vec<User> = ["ann", "ben", "cat"].iter().map(|n| create_user(conn, n, Role::Auditor, "password1").unwrap()).collect();
        let required = vec![(Severity::Critical, 3), (Severity::High, 2), (Severity::Medium, 1)];
        let policy = ReviewPolicy { approvals_required: required, ..ReviewPolicy::default() };
        assert_eq!([Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::None].map(|s| policy.approvals_needed(s)), [3, 2, 1, 1, 1]);
        // The shorthand and the map together: the larger count wins.
        let both = ReviewPolicy { four_eyes_severity: Some(airlock_inspect::Severity::Medium), ..policy.clone() };
        assert_eq!([Severity::Critical, Severity::High, Severity::Medium, Severity::Low].map(|s| both.approvals_needed(s)), [3, 2, 2, 1]);

        let worst = awaiting(conn, "worst", "1.0", "critical");
        let (_, first) = decide(conn, worst, &auditors[0], Verdict::Approve, "one", &policy, None).unwrap();
        assert_eq!(first, Outcome::ApprovalRecorded { have: 1, needed: 3 });
        let twice = decide(conn, worst, &auditors[0], Verdict::Approve, "one again", &policy, None);
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "the same auditor counts once");
        let (r, second) = decide(conn, worst, &auditors[1], Verdict::Approve, "two", &policy, None).unwrap();
        assert_eq!((r.status.as_str(), second), ("awaiting_review", Outcome::ApprovalRecorded { have: 2, needed: 3 }));
        assert_eq!(served(conn, "worst"), 0, "two of three approvals serve nothing");
        let (r, third) = decide(conn, worst, &auditors[2], Verdict::Approve, "three", &policy, None).unwrap();
        assert_eq!((r.status.as_str(), third), ("approved", Outcome::Approved));
        assert_eq!(served(conn, "worst"), 2);

        let high = awaiting(conn, "high", "1.0", "high");
        decide(conn, high, &auditors[2], Verdict::Approve, "one", &policy, None).unwrap();
        let (r, _) = decide(conn, high, &auditors[0], Verdict::Approve, "two", &policy, None).unwrap();
        assert_eq!(r.status, crate::domain::ReleaseStatus::Approved, "high needs two");
        assert_eq!(approvals_recorded(conn, &[worst, high]).unwrap().get(&worst), None, "an approved release has no round in progress");
    });
}

#[test]
fn revoking_an_approval_takes_the_files_out_of_the_index() {
    each_backend(|conn| {
        let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
        let viewer = create_user(conn, "vic", Role::Viewer, "password1").unwrap();
        let id = awaiting(conn, "demo", "1.0", "low");
        assert!(matches!(decide(conn, id, &alice, Verdict::Revoke, "no", &ReviewPolicy::default(), None), Err(StoreError::Conflict(_))));
        decide(conn, id, &alice, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
        assert_eq!(served(conn, "demo"), 2);
        assert!(decide(conn, id, &viewer, Verdict::Revoke, "no", &ReviewPolicy::default(), None).is_err(), "viewers cannot revoke");
        let (r, outcome) = decide(conn, id, &alice, Verdict::Revoke, "compromised upstream account", &ReviewPolicy::default(), None).unwrap();
        assert_eq!((r.status.as_str(), outcome), ("revoked", Outcome::Revoked));
        assert_eq!(served(conn, "demo"), 0);
        let decisions = decisions_of(conn, id).unwrap();
        assert_eq!(decisions.last().unwrap().decision, "revoke");
        assert_eq!(decisions.last().unwrap().sha256s.len(), 2, "a revocation names the hashes it withdraws");
        let log = crate::audit::list(conn, 1, 0).unwrap();
        assert_eq!((log[0].action.as_str(), log[0].actor.as_deref()), ("release.revoke", Some("alice")));

        // Reviewed again: approved anew (the four-eyes round restarts), or rejected.
        let bob = create_user(conn, "bob", Role::Auditor, "password1").unwrap();
        let policy = ReviewPolicy { four_eyes_severity: Some(airlock_inspect::Severity::Low), ..ReviewPolicy::default() };
        let (r, outcome) = decide(conn, id, &alice, Verdict::Approve, "the account was recovered; files unchanged", &policy, None).unwrap();
        assert_eq!((r.status.as_str(), outcome), ("revoked", Outcome::ApprovalRecorded { have: 1, needed: 2 }), "the earlier approval does not count");
        assert_eq!(served(conn, "demo"), 0);
        let (r, _) = decide(conn, id, &bob, Verdict::Approve, "agreed", &policy, None).unwrap();
        assert_eq!(r.status, crate::domain::ReleaseStatus::Approved);
        assert_eq!(served(conn, "demo"), 2);
    });
}

#[test]
fn the_nearest_approved_versions_are_found_on_both_sides() {
    each_backend(|conn| {
        let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
        for v in ["1.0", "1.2", "2.0", "1.10"] {
            let id = awaiting(conn, "demo", v, "low");
            decide(conn, id, &alice, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
        }
        let id = awaiting(conn, "demo", "1.5", "low");
        let (project, _) = release_by_id(conn, id).unwrap();
        let near: Vec<String> = crate::releases::nearest_approved(conn, project.id, "1.5").unwrap().into_iter().map(|r| r.version).collect();
        assert_eq!(near, ["1.2", "1.10"], "PEP 440 order, not text order");
    });
}
