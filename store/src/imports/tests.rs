use super::*;
use crate::audit;
use crate::jobs;
use crate::testdb::each_backend;

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn import(conn: &mut AnyConnection, content: &str, options: ImportOptions) -> i64 {
    let parsed = Format::Requirements.read("requirements.txt", content, &mut airlock_resolve::requirements_txt::no_includes("off"));
    let new = NewImport { format: Format::Requirements, source: "requirements.txt", requested_by: Some("alice"), options };
    create(conn, &new, &parsed, &Targets::default(), 3, &Default::default()).unwrap()
}

fn states(conn: &mut AnyConnection, id: i64) -> Vec<(String, Option<String>)> {
    report(conn, id).unwrap().lines.into_iter().map(|l| (l.state, l.reason)).collect()
}

/// The line ids of `id`'s lines in file order.
fn line_ids(conn: &mut AnyConnection, id: i64) -> Vec<i64> {
    import_lines::table.filter(import_lines::import_id.eq(id)).order(import_lines::position).select(import_lines::id).load(conn).unwrap()
}

#[test]
fn lines_are_recorded_in_order_and_only_requestable_ones_are_queued() {
    each_backend(|conn| {
        let content = format!("pinned==1.0 --hash=sha256:{A}\nbare==2.0\nloose>=1.0\n-e ./local\nwin-only==1.0 ; sys_platform == 'cygwin'\nDemo.Pkg[x]==3.0\n");
        let id = import(conn, &content, ImportOptions::default());
        let got = states(conn, id);
        let kinds: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(kinds, ["checking", "checking", "refused", "refused", "skipped", "checking"]);
        assert!(got[2].1.as_deref().unwrap().contains("unpinned: >=1.0"), "{got:?}");
        assert!(got[3].1.as_deref().unwrap().contains("editable"), "{got:?}");
        assert!(got[4].1.as_deref().unwrap().contains("none of the targets"), "{got:?}");
        let r = report(conn, id).unwrap();
        assert_eq!((r.counts.lines, r.counts.checking, r.counts.refused, r.counts.skipped, r.counts.pending), (6, 3, 2, 1, 3));
        assert!(!r.done);
        assert_eq!(r.lines[5].project.as_deref(), Some("demo-pkg"));
        assert_eq!(r.lines[5].extras, ["x"]);
        assert_eq!(r.lines[0].hashes, 1);
        let queued = jobs::list_in_state(conn, jobs::QUEUED, 100).unwrap();
        assert_eq!(queued.iter().filter(|j| j.kind == "check_import_line").count(), 3);
        let events = audit::list(conn, 10, 0).unwrap();
        assert_eq!((events[0].action.as_str(), events[0].target.clone()), ("import.create", format!("import #{id}")));
    });
}

#[test]
fn resolve_unpinned_sends_unpinned_lines_to_the_worker() {
    each_backend(|conn| {
        let id = import(conn, "loose>=1.0\nbare\n", ImportOptions { resolve_unpinned: true, with_dependencies: false });
        assert_eq!(report(conn, id).unwrap().counts.checking, 2);
    });
}

#[test]
fn a_checked_line_requests_its_release_once() {
    each_backend(|conn| {
        let id = import(conn, "demo==1.0\nother==2.0\n", ImportOptions::default());
        let [demo, other] = line_ids(conn, id)[..] else { panic!() };
        let v = Version::parse("1.0").unwrap();
        assert_eq!(request_line(conn, demo, &v, 3, &Default::default()).unwrap(), LineState::Requested);
        assert_eq!(request_line(conn, demo, &v, 3, &Default::default()).unwrap(), LineState::Requested, "a second run changes nothing");
        let (_, release) = releases::find_release(conn, &ProjectName::parse("demo").unwrap(), &v).unwrap().unwrap();
        assert_eq!(release.requested_by.as_deref(), Some("alice"));
        assert_eq!(release.request_source, "import", "the release says it came from an import");
        let mirror_jobs = jobs::list_in_state(conn, jobs::QUEUED, 100).unwrap().into_iter().filter(|j| j.kind == "mirror_release").count();
        assert_eq!(mirror_jobs, 1);

        // A release approved before the import is reported as such.
        let v2 = Version::parse("2.0").unwrap();
        let name = ProjectName::parse("other").unwrap();
        releases::request_release(conn, &PinnedRequirement { name: name.clone(), version: v2.clone() }, None, 3, &Default::default()).unwrap();
        let (_, r) = releases::find_release(conn, &name, &v2).unwrap().unwrap();
        releases::set_status(conn, r.id, ReleaseStatus::Approved, None).unwrap();
        assert_eq!(request_line(conn, other, &v2, 3, &Default::default()).unwrap(), LineState::AlreadyApproved);

        let r = report(conn, id).unwrap();
        assert_eq!((r.counts.requested, r.counts.already_approved, r.counts.approved, r.counts.pending), (1, 1, 1, 1));
        assert_eq!(r.lines[0].release_status.as_deref(), Some("requested"));
        releases::set_status(conn, release.id, ReleaseStatus::Failed, Some("upstream down")).unwrap();
        let r = report(conn, id).unwrap();
        assert!(r.done);
        assert_eq!(r.counts.release_failed, 1);
        assert_eq!(r.lines[0].release_error.as_deref(), Some("upstream down"));
    });
}

#[test]
fn a_refused_line_is_recorded_on_the_line_and_in_the_audit_log_once() {
    each_backend(|conn| {
        let id = import(conn, &format!("demo==1.0 --hash=sha256:{A}\n"), ImportOptions::default());
        let [line] = line_ids(conn, id)[..] else { panic!() };
        let why = format!("hash sha256:{A} of demo 1.0 matches none of the upstream's files");
        refuse_line(conn, line, LineState::Refused, "import.hash_mismatch", "demo 1.0", &why).unwrap();
        refuse_line(conn, line, LineState::Refused, "import.hash_mismatch", "demo 1.0", &why).unwrap();
        assert_eq!(states(conn, id), [("refused".to_string(), Some(why.clone()))]);
        let events: Vec<_> = audit::list(conn, 10, 0).unwrap().into_iter().filter(|e| e.action == "import.hash_mismatch").collect();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].actor.as_deref(), events[0].target.as_str()), (Some("alice"), "demo 1.0"));
        assert_eq!(events[0].detail, format!("{why} (import #{id}, requirements.txt line 1)"));
        // A refused line is never requested afterwards.
        assert_eq!(request_line(conn, line, &Version::parse("1.0").unwrap(), 3, &Default::default()).unwrap(), LineState::Refused);
        assert!(releases::find_release(conn, &ProjectName::parse("demo").unwrap(), &Version::parse("1.0").unwrap()).unwrap().is_none());
    });
}

#[test]
fn empty_and_oversized_imports_are_refused() {
    each_backend(|conn| {
        let new = NewImport { format: Format::Requirements, source: "r.txt", requested_by: None, options: ImportOptions::default() };
        let empty = Format::Requirements.read("r.txt", "# nothing\n", &mut airlock_resolve::requirements_txt::no_includes("off"));
        assert!(
            matches!(create(conn, &new, &empty, &Targets::default(), 3, &Default::default()), Err(StoreError::Invalid(m)) if m.contains("no requirements"))
        );
        let big: String = (0..=MAX_LINES).map(|i| format!("p{i}==1.0\n")).collect();
        let big = Format::Requirements.read("r.txt", &big, &mut airlock_resolve::requirements_txt::no_includes("off"));
        assert!(matches!(create(conn, &new, &big, &Targets::default(), 3, &Default::default()), Err(StoreError::Invalid(m)) if m.contains("at most")));
        assert!(recent(conn, 10).unwrap().is_empty());
    });
}

#[test]
fn formats_parse_and_follow_file_names() {
    assert_eq!(Format::parse("pylock").unwrap(), Format::Pylock);
    assert!(Format::parse("poetry.lock").is_err());
    assert_eq!(Format::of_filename("deploy/pylock.toml"), Format::Pylock);
    assert_eq!(Format::of_filename("pylock.prod.toml"), Format::Pylock);
    assert_eq!(Format::of_filename("requirements/base.txt"), Format::Requirements);
}

#[test]
fn a_reserved_name_in_an_import_is_refused_before_any_check_and_audited() {
    each_backend(|conn| {
        let names = NamePolicy::new(crate::names::ReservedNames::parse(&["acme-*"]).unwrap(), |_, _| None);
        let parsed =
            Format::Requirements.read("requirements.txt", "acme-billing==1.0\nopen==2.0\n", &mut airlock_resolve::requirements_txt::no_includes("off"));
        let new = NewImport { format: Format::Requirements, source: "requirements.txt", requested_by: Some("alice"), options: ImportOptions::default() };
        let id = create(conn, &new, &parsed, &Targets::default(), 3, &names).unwrap();
        let got = states(conn, id);
        assert_eq!(got[0].0, "refused");
        assert!(got[0].1.as_deref().unwrap().contains("reserved name"), "{got:?}");
        assert_eq!(got[1].0, "checking");
        let queued = jobs::list_in_state(conn, jobs::QUEUED, 100).unwrap();
        assert_eq!(queued.len(), 1, "only the open name is checked upstream");
        let events = audit::list(conn, 50, 0).unwrap();
        assert!(events.iter().any(|e| e.target.contains("acme-billing")), "{events:?}");
    });
}
