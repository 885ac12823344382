use super::*;
use crate::testdb::each_backend;

fn names() -> NamePolicy {
    NamePolicy { reserved: crate::names::ReservedNames::parse(&["acme-*"]).unwrap(), resembles: None }
}

fn lv(version: &str, uploaded_ms: Option<i64>, yanked: bool) -> ListedVersion {
    ListedVersion { version: Version::parse(version).unwrap(), uploaded_ms, yanked }
}

fn w(specifier: &str, baseline: Option<&str>, backfill: i64) -> Watch {
    Watch {
        project: "demo".into(),
        specifier: specifier.into(),
        created_by: None,
        created_at: 0,
        backfill,
        baseline: baseline.map(String::from),
        etag: None,
        last_modified: None,
        last_serial: None,
        last_checked_at: None,
        next_check_at: 0,
        last_outcome: None,
        newest_upstream: None,
        upstream_versions: None,
        cooldown_version: None,
        cooldown_until: None,
    }
}

#[test]
fn specifiers_select_final_unyanked_versions_above_the_baseline() {
    let listed =
        [lv("1.9", None, false), lv("2.0", None, false), lv("2.1", None, true), lv("2.2rc1", None, false), lv("2.3", None, false), lv("3.0", None, false)];
    let p = plan(&w(">=2,<3", Some("2.0"), 0), &listed, &[], 0, 0).unwrap();
    assert_eq!(p.request, ["2.3"], "yanked, pre-release and out-of-range versions are not requested");
    assert_eq!(p.newest.as_deref(), Some("3.0"));
    assert_eq!(p.within, ["2.3", "2.0"]);
    let everything = plan(&w("", Some("1.9"), 0), &listed, &[Version::parse("3.0").unwrap()], 0, 0).unwrap();
    assert_eq!(everything.request, ["2.3", "2.0"], "versions Airlock has are left alone");
    assert!(parse_specifier(">=2,<3").is_ok() && parse_specifier("").is_ok());
    assert!(matches!(parse_specifier("=>2"), Err(StoreError::Invalid(_))));
}

#[test]
fn the_first_sync_sets_the_baseline_and_backfills_newest_first() {
    let listed = [lv("1.0", None, false), lv("1.1", None, false), lv("1.2", None, false)];
    let first = plan(&w("", None, 2), &listed, &[], 0, 0).unwrap();
    assert_eq!((first.request.clone(), first.baseline.as_deref()), (vec!["1.2".to_string(), "1.1".to_string()], Some("1.2")));
    assert!(plan(&w("", None, 0), &listed, &[], 0, 0).unwrap().request.is_empty(), "no backfill: nothing old is requested");
}

#[test]
fn the_cooldown_holds_a_young_release_until_it_is_old_enough() {
    let day = 86_400_000;
    let now = 10 * day;
    let listed = [lv("1.0", Some(0), false), lv("1.1", Some(now - day), false), lv("1.2", Some(now - 2 * day), false), lv("1.3", None, false)];
    let p = plan(&w("", Some("1.0"), 0), &listed, &[], 3 * day, now).unwrap();
    assert_eq!(p.request, ["1.3"], "no upload time: nothing to wait from");
    assert_eq!(p.cooling, Some(("1.2".to_string(), now + day)), "the earliest due is shown");
    let later = plan(&w("", Some("1.0"), 0), &listed, &[], 3 * day, now + 2 * day).unwrap();
    assert_eq!(later.request, ["1.3", "1.2", "1.1"]);
    assert_eq!(later.cooling, None);
    // Grouping: a version's earliest upload counts, and it is yanked only when every file is.
    let grouped = listed_versions([("1.0", Some("2024-01-02T00:00:00Z"), true), ("1.0", Some("2024-01-01T00:00:00Z"), false)]);
    assert_eq!((grouped.len(), grouped[0].yanked, grouped[0].uploaded_ms), (1, false, Some(1_704_067_200_000)));
}

#[test]
fn conditional_requests_are_skipped_before_the_first_sync_and_when_a_cooldown_is_due() {
    let mut watch = w("", None, 0);
    watch.etag = Some("\"abc\"".into());
    assert_eq!(watch.validators(0), None, "the first sync reads the page whole");
    watch.baseline = Some("1.0".into());
    assert_eq!(watch.validators(0).and_then(|v| v.etag).as_deref(), Some("\"abc\""));
    watch.cooldown_until = Some(50);
    assert!(watch.validators(49).is_some());
    assert_eq!(watch.validators(50), None, "a held-back release is due: read the page again");
    watch.etag = None;
    watch.cooldown_until = None;
    assert_eq!(watch.validators(0), None, "no validators, no condition");
}

#[test]
fn watches_are_claimed_once_and_record_their_checks() {
    each_backend(|conn| {
        let demo = ProjectName::parse("Demo_Pkg").unwrap();
        assert!(matches!(watch(conn, &demo, "=>1", 0, Some("ada"), &names()), Err(StoreError::Invalid(_))));
        let reserved = ProjectName::parse("acme-auth").unwrap();
        assert!(matches!(watch(conn, &reserved, "", 0, Some("ada"), &names()), Err(StoreError::Conflict(_))));
        let made = watch(conn, &demo, ">=1", 2, Some("ada"), &names()).unwrap();
        assert_eq!((made.project.as_str(), made.specifier.as_str(), made.backfill), ("demo-pkg", ">=1", 2));
        let claimed = claim_due(conn, 1_000_000_000_000_000, 60_000, false).unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(claim_due(conn, 1_000_000_000_000_000, 60_000, false).unwrap().is_empty(), "claimed once until due again");
        let plan = Plan { request: vec!["1.1".into()], newest: Some("1.1".into()), baseline: Some("1.1".into()), within: vec!["1.1".into()], cooling: None };
        let validators = Validators { etag: Some("\"v1\"".into()), last_modified: Some("Tue, 01 Dec 2026 00:00:00 GMT".into()), serial: Some("41".into()) };
        record_check(conn, "demo-pkg", 5, &Checked::Listed { validators: validators.clone(), plan }).unwrap();
        let now = get(conn, &demo).unwrap().unwrap();
        assert_eq!((now.backfill, now.baseline.as_deref(), now.etag.as_deref()), (0, Some("1.1"), Some("\"v1\"")));
        assert_eq!(now.validators(6), Some(validators.clone()));
        assert!(now.same_serial(&validators, 6), "the same serial: nothing to read");
        let next = Validators { serial: Some("42".into()), ..validators.clone() };
        assert!(!now.same_serial(&next, 6) && !now.same_serial(&Validators::default(), 6), "a new serial, or none, is read");
        record_check(conn, "demo-pkg", 7, &Checked::Unchanged).unwrap();
        assert_eq!(get(conn, &demo).unwrap().unwrap().last_outcome.as_deref(), Some("unchanged"));
        let far = 1_000_000_000_000_000 + 3_600_000;
        record_check(conn, "demo-pkg", 8, &Checked::Failed { error: "429".into(), retry_at: Some(far) }).unwrap();
        assert_eq!(get(conn, &demo).unwrap().unwrap().next_check_at, far, "backs off as the upstream asked");
        assert_eq!(standing(&now, &[Version::parse("1.0").unwrap()]).behind, 1);
        assert!(unwatch(conn, &demo, Some("ada")).unwrap());
        assert!(!unwatch(conn, &demo, Some("ada")).unwrap());
        let log = crate::audit::list(conn, 10, 0).unwrap();
        assert!(log.iter().any(|e| e.action == "project.watch") && log.iter().any(|e| e.action == "project.unwatch"));
    });
}
