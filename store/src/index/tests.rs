use super::*;
use crate::auth::create_user;
use crate::decisions::{decide, ReviewPolicy, Verdict};
use crate::domain::{PinnedRequirement, Version};
use crate::files::tests::inspect_clean;
use crate::files::{add_file, NewFile};
use crate::releases::{find_release, request_release};
use crate::testdb::TestDb;

/// `name==version` mirrored with `n` files and inspected: awaiting review.
fn reviewed_release(conn: &mut AnyConnection, name: &str, version: &str, n: u8) -> i64 {
    request_release(conn, &PinnedRequirement::parse(&format!("{name}=={version}")).unwrap(), None, 3, &Default::default()).unwrap();
    let (_, r) = find_release(conn, &ProjectName::parse(name).unwrap(), &Version::parse(version).unwrap()).unwrap().unwrap();
    let ids: Vec<i64> = (0..n)
        .map(|i| {
            let f = NewFile {
                release_id: r.id,
                filename: format!("{name}-{version}-{i}-py3-none-any.whl"),
                sha256: Sha256::of(format!("{name}{version}{i}").as_bytes()),
                size: 10 + i as i64,
                upstream_url: "http://up.test/x".into(),
                requires_python: Some(">=3.8".into()),
                yanked: None,
                upload_time: None,
            };
            add_file(conn, &f).unwrap().id
        })
        .collect();
    inspect_clean(conn, r.id, &ids);
    r.id
}

fn auditor(conn: &mut AnyConnection) -> User {
    create_user(conn, "ada", Role::Auditor, "correct horse battery").unwrap()
}

#[test]
fn only_approved_releases_are_listed_and_each_approval_is_a_change() {
    for db in TestDb::all() {
        let pool = db.pool();
        let conn = &mut pool.get().unwrap();
        let ada = auditor(conn);
        let before = latest_change_id(conn).unwrap();
        let one = reviewed_release(conn, "demo", "1.0", 2);
        reviewed_release(conn, "demo", "2.0", 1);
        let name = ProjectName::parse("demo").unwrap();
        assert!(approved_files(conn, &name).unwrap().is_empty(), "{}", db.label);
        assert!(approved_projects(conn).unwrap().is_empty());

        decide(conn, one, &ada, Verdict::Approve, "read it all", &ReviewPolicy::default(), None).unwrap();
        let files = approved_files(conn, &name).unwrap();
        assert_eq!(files.iter().map(|f| f.filename.as_str()).collect::<Vec<_>>(), ["demo-1.0-0-py3-none-any.whl", "demo-1.0-1-py3-none-any.whl"]);
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(approved_projects(conn).unwrap(), ["demo"]);

        let changes = changes_after(conn, before, 100).unwrap();
        assert!(!changes.is_empty() && changes.iter().all(|c| c.project == "demo"), "{changes:?} on {}", db.label);
        assert_eq!(latest_change_id(conn).unwrap(), changes.last().unwrap().id);
    }
}

#[test]
fn a_file_whose_hash_the_decision_did_not_cover_is_not_servable() {
    for db in TestDb::all() {
        let pool = db.pool();
        let conn = &mut pool.get().unwrap();
        let ada = auditor(conn);
        let id = reviewed_release(conn, "demo", "1.0", 1);
        decide(conn, id, &ada, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
        let good = Sha256::of(b"demo1.00");
        let (project, file) = approved_file(conn, &good, "demo-1.0-0-py3-none-any.whl").unwrap().unwrap();
        assert_eq!((project.as_str(), file.version.as_str()), ("demo", "1.0"));
        assert!(approved_file(conn, &good, "demo-1.0-1-py3-none-any.whl").unwrap().is_none(), "hash and name must both match");
        // The row's hash changes after approval (a bug or tampering): not servable, and a change.
        let before = latest_change_id(conn).unwrap();
        diesel::update(files::table.filter(files::release_id.eq(id))).set(files::sha256.eq(Sha256::of(b"other").as_str())).execute(conn).unwrap();
        assert!(latest_change_id(conn).unwrap() > before, "{}", db.label);
        assert!(approved_files(conn, &ProjectName::parse("demo").unwrap()).unwrap().is_empty());
        assert!(approved_file(conn, &Sha256::of(b"other"), "demo-1.0-0-py3-none-any.whl").unwrap().is_none());
        assert!(approved_file(conn, &good, "demo-1.0-0-py3-none-any.whl").unwrap().is_none());
    }
}

#[test]
fn an_auditors_yank_marks_every_file_and_can_be_taken_back() {
    for db in TestDb::all() {
        let pool = db.pool();
        let conn = &mut pool.get().unwrap();
        let ada = auditor(conn);
        let viewer = create_user(conn, "vic", Role::Viewer, "correct horse battery").unwrap();
        let id = reviewed_release(conn, "demo", "1.0", 2);
        decide(conn, id, &ada, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
        let name = ProjectName::parse("demo").unwrap();
        assert!(yank(conn, &viewer, &name, "1.0", "no").is_err());
        assert!(yank(conn, &ada, &name, "1.0", "  ").is_err());
        assert!(matches!(yank(conn, &ada, &name, "9.9", "x"), Err(StoreError::NotFound(_))));

        let before = latest_change_id(conn).unwrap();
        yank(conn, &ada, &name, "1.0", "breaks <imports>").unwrap();
        assert!(latest_change_id(conn).unwrap() > before, "{}", db.label);
        let files = approved_files(conn, &name).unwrap();
        assert!(files.iter().all(|f| f.yanked.as_deref() == Some("breaks <imports>")), "{files:?}");
        assert_eq!(yank_reason(conn, id).unwrap().as_deref(), Some("breaks <imports>"));

        let before = latest_change_id(conn).unwrap();
        assert!(unyank(conn, &ada, &name, "1.0").unwrap());
        assert!(!unyank(conn, &ada, &name, "1.0").unwrap());
        assert!(latest_change_id(conn).unwrap() > before);
        assert!(approved_files(conn, &name).unwrap().iter().all(|f| f.yanked.is_none()));
    }
}

#[test]
fn availability_says_why_a_project_is_missing() {
    for db in TestDb::all() {
        let pool = db.pool();
        let conn = &mut pool.get().unwrap();
        let ada = auditor(conn);
        let never = availability(conn, &ProjectName::parse("nothing").unwrap()).unwrap();
        assert_eq!((never.state.as_str(), never.releases.len()), ("never_requested", 0));

        let id = reviewed_release(conn, "demo", "1.0", 1);
        let name = ProjectName::parse("demo").unwrap();
        assert_eq!(availability(conn, &name).unwrap().state, "pending", "{}", db.label);
        decide(conn, id, &ada, Verdict::Reject, "no", &ReviewPolicy::default(), None).unwrap();
        let rejected = availability(conn, &name).unwrap();
        assert_eq!(rejected.state, "rejected");
        assert_eq!(rejected.releases[0].status, crate::domain::ReleaseStatus::Rejected);
        let refusal = rejected.releases[0].decided.clone().expect("who rejected it");
        assert_eq!((refusal.by.as_str(), refusal.policy.as_deref()), ("ada", None));
        assert!((now_ms() - refusal.at).abs() < 60_000, "{refusal:?}");

        // A revoked release names the auditor of the revocation, not of the approval.
        let id = reviewed_release(conn, "demo", "2.0", 1);
        decide(conn, id, &ada, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
        assert!(availability(conn, &name).unwrap().releases[0].decided.is_none(), "an approved release has no refusal");
        let bob = create_user(conn, "bob", Role::Auditor, "correct horse battery").unwrap();
        decide(conn, id, &bob, Verdict::Revoke, "bad", &ReviewPolicy::default(), None).unwrap();
        let revoked = availability(conn, &name).unwrap();
        assert_eq!(revoked.releases[0].version, "2.0");
        assert_eq!(revoked.releases[0].status, crate::domain::ReleaseStatus::Revoked);
        assert_eq!(revoked.releases[0].decided.as_ref().map(|d| d.by.as_str()), Some("bob"));
    }
}

#[test]
fn old_changes_are_pruned() {
    for db in TestDb::all() {
        let pool = db.pool();
        let conn = &mut pool.get().unwrap();
        let ada = auditor(conn);
        let id = reviewed_release(conn, "demo", "1.0", 1);
        decide(conn, id, &ada, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
        assert!(!changes_after(conn, 0, 10).unwrap().is_empty());
        assert_eq!(prune_changes(conn, 60_000).unwrap(), 0, "{}", db.label);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(prune_changes(conn, 0).unwrap() > 0);
        assert!(changes_after(conn, 0, 10).unwrap().is_empty());
    }
}

#[test]
fn revoking_a_token_or_disabling_a_user_is_an_access_change_on_the_feed() {
    for db in TestDb::all() {
        let pool = db.pool();
        let conn = &mut pool.get().unwrap();
        let reader = create_user(conn, "ci", Role::Viewer, "correct horse battery").unwrap();
        crate::auth::create_api_token(conn, "ci", "pip").unwrap();
        let before = latest_change_id(conn).unwrap();
        assert!(changes_after(conn, before, 10).unwrap().is_empty(), "creating a token changes no access");
        let token = crate::auth::list_api_tokens(conn).unwrap().remove(0);
        crate::auth::revoke_api_token(conn, "admin", token.id).unwrap();
        let after_revoke = changes_after(conn, before, 10).unwrap();
        assert_eq!(after_revoke.iter().map(|c| c.project.as_str()).collect::<Vec<_>>(), [""], "on {}", db.label);
        crate::auth::set_disabled(conn, "admin", reader.id, true).unwrap();
        let all = changes_after(conn, before, 10).unwrap();
        assert_eq!(all.len(), 2, "{all:?} on {}", db.label);
        assert!(all.iter().all(|c| c.project.is_empty()));
    }
}
