use super::*;
use crate::finding_reviews::tests::{at, inspected};
use crate::queue::{queue, QueueFilter};
use crate::testdb::each_backend;

fn known(rule: &str) -> bool {
    rule.contains('/')
}

fn ranked(conn: &mut AnyConnection) -> Vec<(String, &'static str, i64)> {
    queue(conn, &QueueFilter::default(), 100).unwrap().into_iter().map(|i| (i.project, i.max_severity.as_str(), i.risk_score)).collect()
}

#[test]
fn a_suppressed_rule_leaves_the_score_and_rank_until_it_is_removed() {
    each_backend(|conn| {
        let native = |p: &str| at("native/binary", "high", p, 1, "");
        let fast = inspected(
            conn,
            "fastlib",
            "1.0",
            vec![native("fastlib/_a.so"), native("fastlib/_b.so"), at("access/raw-ip-url", "medium", "fastlib/x.py", 2, "u")],
            vec![],
        );
        inspected(
            conn,
            "plain",
            "1.0",
            vec![at("access/raw-ip-url", "medium", "plain/x.py", 2, "u"), at("hiding/long-line", "medium", "plain/y.py", 1, "z")],
            vec![],
        );
        // A rule counts once per file and severity: 40 + 10.
        assert_eq!(ranked(conn)[0], ("fastlib".to_string(), "high", 50));

        let why_rules =
            |conn: &mut AnyConnection| -> Vec<String> { crate::files::serious_findings_of(conn, &[fast]).unwrap().into_iter().map(|(_, f)| f.rule).collect() };
        assert!(why_rules(conn).contains(&"native/binary".to_string()));
        let project = ProjectName::parse("FastLib").unwrap();
        let s = create(conn, &project, "native/binary", "a C extension by design", "root", known).unwrap();
        assert_eq!((s.project.as_str(), s.rule.as_str()), ("fastlib", "native/binary"));
        assert_eq!(why_rules(conn), ["access/raw-ip-url"], "the queue's why leaves it out too");
        assert_eq!(ranked(conn), [("plain".to_string(), "medium", 20), ("fastlib".to_string(), "medium", 10)]);
        let event = &crate::audit::list(conn, 1, 0).unwrap()[0];
        assert_eq!(
            (event.action.as_str(), event.target.as_str(), event.detail.as_str()),
            ("suppression.create", "fastlib", "native/binary: a C extension by design")
        );
        // Findings are kept, and a release inspected later is scored without them.
        inspected(conn, "fastlib", "1.1", vec![native("fastlib/_a.so")], vec![]);
        let later = ranked(conn).into_iter().find(|r| r.0 == "fastlib" && r.1 == "none");
        assert_eq!(later, Some(("fastlib".to_string(), "none", 0)));

        assert!(matches!(create(conn, &project, "native/binary", "again", "root", known), Err(StoreError::Conflict(_))));
        assert!(matches!(create(conn, &project, "nonsense", "why", "root", known), Err(StoreError::Invalid(_))));
        assert!(matches!(create(conn, &project, "hiding/long-line", " ", "root", known), Err(StoreError::Invalid(_))));
        assert_eq!(list(conn).unwrap().len(), 1);

        remove(conn, s.id, "root").unwrap();
        assert_eq!(ranked(conn)[0], ("fastlib".to_string(), "high", 50));
        assert_eq!(crate::audit::list(conn, 1, 0).unwrap()[0].action, "suppression.remove");
        assert!(matches!(remove(conn, s.id, "root"), Err(StoreError::NotFound(_))));
        assert!(of_project(conn, "fastlib").unwrap().is_empty());
    });
}
