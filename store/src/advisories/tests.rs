use super::*;
use crate::auth::create_user;
use crate::decisions::tests::awaiting;
use crate::decisions::{decide, Outcome};
use crate::domain::Role;
use crate::testdb::each_backend;

fn osv(json: &str) -> Vec<Advisory> {
    osv::parse("test", json.as_bytes()).unwrap()
}

const RANGED: &str = r#"{"id": "GHSA-rang-ed00-0001", "summary": "Path traversal in ranged",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "Ranged"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.1"}, {"fixed": "1.3"}]}], "versions": ["0.5"]}],
  "database_specific": {"severity": "HIGH"}}"#;

fn statuses(conn: &mut AnyConnection, ids: &[i64]) -> Vec<&'static str> {
    ids.iter().map(|id| crate::releases::release_by_id(conn, *id).unwrap().1.status.as_str()).collect()
}

#[test]
fn an_import_flags_exactly_the_versions_its_ranges_and_lists_cover() {
    each_backend(|conn| {
        let ids: Vec<i64> = ["0.5", "1.0", "1.1", "1.2.9", "1.3", "2.0"].iter().map(|v| awaiting(conn, "ranged", v, "low")).collect();
        let other = awaiting(conn, "unrelated", "1.2", "low");
        let report = import(conn, "advisories.json", &osv(RANGED), vec![], &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap();
        assert_eq!(report.advisories, 1);
        let mut flagged: Vec<String> = report.matches.clone();
        flagged.sort();
        assert_eq!(flagged, ["GHSA-rang-ed00-0001 ranged 0.5", "GHSA-rang-ed00-0001 ranged 1.1", "GHSA-rang-ed00-0001 ranged 1.2.9"]);
        let shown = of_release(conn, ids[2]).unwrap();
        assert_eq!((shown[0].severity.as_str(), shown[0].fixed.clone(), shown[0].action.as_str()), ("high", vec!["1.3".to_string()], "flagged"));
        assert!(of_release(conn, ids[4]).unwrap().is_empty() && of_release(conn, other).unwrap().is_empty());
        assert_eq!(statuses(conn, &ids), ["awaiting_review"; 6], "a vulnerability alone decides nothing");

        // Importing again finds nothing new, and the log has one line per match.
        let again = import(conn, "advisories.json", &osv(RANGED), vec![], &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap();
        assert!(again.matches.is_empty(), "{again:?}");
        let log = crate::audit::list(conn, 100, 0).unwrap();
        assert_eq!(log.iter().filter(|e| e.action == "advisory.match").count(), 3);

        // A corrected record narrows the range; a withdrawn one matches nothing.
        let narrowed = RANGED.replace(r#"{"introduced": "1.1"}"#, r#"{"introduced": "1.2"}"#);
        import(conn, "advisories.json", &osv(&narrowed), vec![], &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap();
        assert!(of_release(conn, ids[2]).unwrap().is_empty(), "1.1 is no longer covered");
        assert_eq!(of_release(conn, ids[3]).unwrap().len(), 1, "1.2.9 still is");
        let withdrawn = RANGED.replace(r#""summary""#, r#""withdrawn": "2026-11-30T00:00:00Z", "summary""#);
        import(conn, "advisories.json", &osv(&withdrawn), vec![], &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap();
        assert!(ids.iter().all(|id| of_release(conn, *id).unwrap().is_empty()), "a withdrawn advisory flags nothing");
        assert_eq!(count(conn).unwrap(), 0);
        import(conn, "advisories.json", &osv(RANGED), vec![], &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap();

        // A release entering review later is checked then.
        let late = awaiting(conn, "ranged", "1.1.5", "low");
        assert_eq!(check_release(conn, late, &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap(), ["GHSA-rang-ed00-0001 ranged 1.1.5"]);
    });
}

#[test]
fn a_malware_record_rejects_pending_and_revokes_approved_releases() {
    each_backend(|conn| {
        let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
        let approved = awaiting(conn, "evil-pkg", "1.0", "low");
        decide(conn, approved, &alice, Verdict::Approve, "looked fine", &ReviewPolicy::default(), None).unwrap();
        let pending = awaiting(conn, "evil-pkg", "1.1", "low");
        let clean = awaiting(conn, "evil-pkg", "0.9", "low");
        let mal = r#"{"id": "MAL-2026-77", "summary": "Malicious code in evil-pkg (PyPI)",
          "affected": [{"package": {"ecosystem": "PyPI", "name": "evil_pkg"}, "versions": ["1.0", "1.1"]}]}"#;
        let report = import(conn, "mal.json", &osv(mal), vec![], &AdvisoryPolicy::default(), &ReviewPolicy::default()).unwrap();
        assert_eq!(report.matches.len(), 2);
        assert_eq!(statuses(conn, &[approved, pending, clean]), ["revoked", "rejected", "awaiting_review"]);
        let d = crate::decisions::decisions_of(conn, pending).unwrap();
        let last = d.last().unwrap();
        assert_eq!((last.user.as_str(), last.policy.as_deref()), ("policy:advisory", Some(ADVISORY_POLICY)));
        assert!(last.comment.contains("MAL-2026-77"), "{last:?}");
        let log = crate::audit::list(conn, 100, 0).unwrap();
        assert!(log.iter().any(|e| e.action == "release.revoke" && e.detail.contains("MAL-2026-77") && e.target == "evil-pkg 1.0"), "{log:?}");
        // Reviewing the malware again cannot approve it.
        let refused = decide(conn, approved, &alice, Verdict::Approve, "again", &ReviewPolicy::default(), None);
        assert!(matches!(refused, Err(crate::StoreError::Conflict(ref m)) if m.contains("MAL-2026-77")), "{refused:?}");
        assert_eq!(of_release(conn, approved).unwrap()[0].action, "revoked");
        let events = crate::notify::recent(conn, 20).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "advisory.matched").count(), 2, "{kinds:?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == "policy.decision").count(),
            2,
            "the person's approval is no event; the policy's two decisions are: {kinds:?}"
        );
    });
}

#[test]
fn configured_severities_block_approvals_and_revoke_approved_releases() {
    each_backend(|conn| {
        let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
        let policy = AdvisoryPolicy { block_severity: Some(airlock_inspect::Severity::High), revoke_severity: Some(airlock_inspect::Severity::Critical) };
        let review = ReviewPolicy { advisory_block_severity: policy.block_severity, ..ReviewPolicy::default() };
        let served = awaiting(conn, "ranged", "1.2", "low");
        decide(conn, served, &alice, Verdict::Approve, "ok", &review, None).unwrap();
        let pending = awaiting(conn, "ranged", "1.1", "low");
        import(conn, "a.json", &osv(RANGED), vec![], &policy, &review).unwrap();
        assert_eq!(statuses(conn, &[served, pending]), ["approved", "awaiting_review"], "high is below the revoke severity");
        let blocked = decide(conn, pending, &alice, Verdict::Approve, "ok", &review, None);
        assert!(matches!(blocked, Err(crate::StoreError::Conflict(ref m)) if m.contains("GHSA-rang-ed00-0001")), "{blocked:?}");
        assert_eq!(of_release(conn, pending).unwrap()[0].action, "blocked");
        let (_, outcome) = decide(conn, pending, &alice, Verdict::Reject, "vulnerable", &review, None).unwrap();
        assert_eq!(outcome, Outcome::Rejected, "rejecting stays possible");

        let critical = RANGED.replace("HIGH", "CRITICAL").replace("GHSA-rang-ed00-0001", "GHSA-crit-0000-0002");
        import(conn, "b.json", &osv(&critical), vec![], &policy, &review).unwrap();
        assert_eq!(statuses(conn, &[served]), ["revoked"]);
    });
}
