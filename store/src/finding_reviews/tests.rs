use super::*;
use crate::domain::{PinnedRequirement, ProjectName, Sha256, Version};
use crate::files::{add_file, findings_of_release, record_inspection, start_inspection, Finding, Inspection, NewFile};
use crate::releases::{find_release, request_release};
use crate::testdb::each_backend;

/// A finding at a line of a file (`path`, `line`, `text`).
pub(crate) fn at(rule: &str, severity: &str, path: &str, line: i64, text: &str) -> Finding {
    Finding {
        rule: rule.into(),
        severity: airlock_inspect::Severity::parse(severity).expect("a severity name"),
        file: Some(path.into()),
        line: Some(u32::try_from(line).expect("a line number")),
        message: format!("{rule} here"),
        snippet: Some(text.into()),
        also: Vec::new(),
    }
}

/// A release of `name` with a wheel and an sdist, inspected with these
/// findings (the sdist's paths under its `name-version/` folder), awaiting review.
pub(crate) fn inspected(conn: &mut AnyConnection, name: &str, version: &str, wheel: Vec<Finding>, sdist: Vec<Finding>) -> i64 {
    request_release(conn, &PinnedRequirement::parse(&format!("{name}=={version}")).unwrap(), None, 3, &Default::default()).unwrap();
    let (_, r) = find_release(conn, &ProjectName::parse(name).unwrap(), &Version::parse(version).unwrap()).unwrap().unwrap();
    let mut ids = Vec::new();
    for ext in ["-py3-none-any.whl", ".tar.gz"] {
        let new = NewFile {
            release_id: r.id,
            filename: format!("{name}-{version}{ext}"),
            sha256: Sha256::of(format!("{name}{version}{ext}").as_bytes()),
            size: 10,
            upstream_url: "http://up.test/x".into(),
            requires_python: None,
            yanked: None,
            upload_time: None,
        };
        ids.push(add_file(conn, &new).unwrap().id);
    }
    start_inspection(conn, r.id, &ids, 3).unwrap();
    let top = format!("{name}-{version}/");
    let sdist = sdist.into_iter().map(|mut f| {
        f.file = f.file.map(|p| format!("{top}{p}"));
        f
    });
    for (id, (kind, findings)) in ids.iter().zip([(DistKind::Wheel, wheel), (DistKind::Sdist, sdist.collect())]) {
        let inspection = Inspection { dist_kind: kind, core_metadata: None, metadata_sha256: None, capabilities: None, entries: None, findings };
        record_inspection(conn, *id, &inspection, &|_| Vec::new()).unwrap();
    }
    r.id
}

fn finding_ids(conn: &mut AnyConnection, release_id: i64, rule: &str) -> Vec<i64> {
    findings_of_release(conn, release_id).unwrap().into_iter().filter(|(f, _)| f.rule == rule).map(|(f, _)| f.id).collect()
}

fn keys_of(conn: &mut AnyConnection, release_id: i64) -> Vec<FindingKey> {
    let kinds: std::collections::HashMap<String, DistKind> =
        crate::files::files_of_release(conn, release_id).unwrap().into_iter().map(|f| (f.filename, f.dist_kind)).collect();
    findings_of_release(conn, release_id).unwrap().iter().map(|(f, file)| FindingKey::of(f, kinds[file])).collect()
}

#[test]
fn package_paths_ignore_the_sdist_folder_and_src_layout() {
    assert_eq!(package_path(DistKind::Sdist, "demo-1.0/src/demo/x.py"), "demo/x.py");
    assert_eq!(package_path(DistKind::Sdist, "demo-1.0/demo/x.py"), "demo/x.py");
    assert_eq!(package_path(DistKind::Wheel, "demo/x.py"), "demo/x.py");
    assert_eq!(package_path(DistKind::Wheel, "demo-1.0.dist-info/RECORD"), "demo-1.0.dist-info/RECORD");
}

#[test]
fn a_verdict_is_logged_shown_on_its_release_and_carried_while_the_code_is_unchanged() {
    each_backend(|conn| {
        let exec = |line, text: &str| at("payload/exec-dynamic", "medium", "demo/run.py", line, text);
        let v1 = inspected(conn, "demo", "1.0", vec![exec(3, "exec(code)"), exec(9, "eval(expr)")], vec![exec(3, "exec(code)")]);
        let ids = finding_ids(conn, v1, "payload/exec-dynamic");
        assert_eq!(ids.len(), 3);
        // The wheel's and the sdist's copy of one line are one verdict.
        let recorded = record(conn, v1, &ids, Verdict::Acknowledged, "builds a plugin registry from our own table", "alice").unwrap();
        assert_eq!(recorded, 2);
        let event = &crate::audit::list(conn, 1, 0).unwrap()[0];
        assert_eq!((event.actor.as_deref(), event.action.as_str(), event.target.as_str()), (Some("alice"), "finding.review", "demo 1.0"));
        assert!(event.detail.starts_with("acknowledged payload/exec-dynamic at demo/run.py") && event.detail.ends_with("own table"), "{}", event.detail);

        let (project, _) = crate::releases::release_by_id(conn, v1).unwrap();
        let notes = in_force(conn, project.id, v1).unwrap();
        for key in keys_of(conn, v1) {
            let note = &notes[&key];
            assert_eq!((note.user.as_str(), note.version.as_str(), note.verdict), ("alice", "1.0", Verdict::Acknowledged));
        }

        // 1.1: line 3 moved to line 4 unchanged, line 9's text changed.
        let v2 = inspected(conn, "demo", "1.1", vec![exec(4, "exec(code)"), exec(9, "eval(expr + suffix)")], vec![]);
        let notes = in_force(conn, project.id, v2).unwrap();
        let keys = keys_of(conn, v2);
        let carried: Vec<&str> = keys.iter().filter(|k| notes.contains_key(*k)).map(|k| k.cited.as_str()).collect();
        assert_eq!(carried, ["exec(code)"], "only the unchanged line keeps its verdict");
        assert_eq!(notes[&keys.iter().find(|k| k.cited == "exec(code)").unwrap().clone()].version, "1.0");

        // A verdict on 1.1 itself wins over the carried one there, not on 1.0.
        let unchanged: Vec<i64> = findings_of_release(conn, v2).unwrap().into_iter().filter(|(f, _)| f.line == Some(4)).map(|(f, _)| f.id).collect();
        record(conn, v2, &unchanged, Verdict::FalsePositive, "the code is a constant", "bob").unwrap();
        let key = FindingKey { rule: "payload/exec-dynamic".into(), place: "demo/run.py".into(), cited: "exec(code)".into() };
        assert_eq!(in_force(conn, project.id, v2).unwrap()[&key].verdict, Verdict::FalsePositive);
        assert_eq!(in_force(conn, project.id, v1).unwrap()[&key].user, "alice");
    });
}

#[test]
fn a_verdict_needs_a_comment_and_findings_of_its_release() {
    each_backend(|conn| {
        let f = at("payload/exec-dynamic", "medium", "a/x.py", 1, "exec(x)");
        let one = inspected(conn, "one", "1.0", vec![f.clone()], vec![]);
        let other = inspected(conn, "other", "1.0", vec![f], vec![]);
        let ids = finding_ids(conn, one, "payload/exec-dynamic");
        assert!(matches!(record(conn, one, &ids, Verdict::Acknowledged, "  ", "alice"), Err(StoreError::Invalid(_))));
        assert!(matches!(record(conn, other, &ids, Verdict::Acknowledged, "fine", "alice"), Err(StoreError::NotFound(_))));
        assert!(matches!(record(conn, one, &[], Verdict::Acknowledged, "fine", "alice"), Err(StoreError::Invalid(_))));
        assert!("maybe".parse::<Verdict>().is_err());
        // Nothing was written by the refusals; verdicts cannot be rewritten.
        assert!(in_force(conn, 1, one).unwrap().is_empty() && in_force(conn, 2, other).unwrap().is_empty());
        record(conn, one, &ids, Verdict::Acknowledged, "fine", "alice").unwrap();
        assert!(diesel::sql_query("UPDATE finding_reviews SET comment = 'x'").execute(conn).is_err(), "append-only");
        assert!(diesel::sql_query("DELETE FROM finding_reviews").execute(conn).is_err(), "append-only");
    });
}
