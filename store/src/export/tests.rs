use super::*;
use crate::auth::{create_user, User};
use crate::decisions::{decide, ReviewPolicy, Verdict};
use crate::domain::{ProjectName, Role, Sha256};
use crate::files::tests::inspect_clean;
use crate::files::{add_file, NewFile};
use crate::testdb::each_backend;

/// `name==version` with these files, mirrored, inspected and approved.
fn approved(conn: &mut AnyConnection, ada: &User, name: &str, version: &str, files: &[(&str, Option<&str>)]) -> i64 {
    let req = PinnedRequirement::parse(&format!("{name}=={version}")).unwrap();
    releases::request_release(conn, &req, None, 3, &Default::default()).unwrap();
    let (_, r) = releases::find_release(conn, &req.name, &req.version).unwrap().unwrap();
    let ids: Vec<i64> = files
        .iter()
        .map(|(filename, requires_python)| {
            let f = NewFile {
                release_id: r.id,
                filename: filename.to_string(),
                sha256: sha(filename),
                size: 10,
                upstream_url: "http://up.test/x".into(),
                requires_python: requires_python.map(str::to_string),
                yanked: None,
                upload_time: None,
            };
            add_file(conn, &f).unwrap().id
        })
        .collect();
    inspect_clean(conn, r.id, &ids);
    decide(conn, r.id, ada, Verdict::Approve, "reviewed", &ReviewPolicy::default(), None).unwrap();
    r.id
}

fn sha(filename: &str) -> Sha256 {
    Sha256::of(filename.as_bytes())
}

fn summary(releases: &[ExportRelease]) -> Vec<(String, String, Vec<String>)> {
    releases.iter().map(|r| (r.project.clone(), r.version.clone(), r.files.iter().map(|f| f.filename.clone()).collect())).collect()
}

fn linux_312() -> Targets {
    Targets::parse(&["3.12"], &["linux_x86_64"]).unwrap()
}

#[test]
fn the_approved_set_is_each_projects_newest_usable_release_with_files_for_the_targets() {
    each_backend(|conn| {
        let ada = create_user(conn, "ada", Role::Auditor, "correct horse battery").unwrap();
        approved(conn, &ada, "demo", "1.9", &[("demo-1.9-py3-none-any.whl", None)]);
        approved(
            conn,
            &ada,
            "demo",
            "1.10",
            &[("demo-1.10-cp312-cp312-manylinux_2_17_x86_64.whl", None), ("demo-1.10-cp312-cp312-win_amd64.whl", None), ("demo-1.10.tar.gz", Some(">=3.8"))],
        );
        // Its newest release is yanked, so the one before is exported.
        approved(conn, &ada, "yanky", "1.0", &[("yanky-1.0-py3-none-any.whl", None)]);
        approved(conn, &ada, "yanky", "2.0", &[("yanky-2.0-py3-none-any.whl", None)]);
        crate::index::yank(conn, &ada, &ProjectName::parse("yanky").unwrap(), "2.0", "broken").unwrap();
        // Nothing of it installs on the targets.
        approved(conn, &ada, "winonly", "1.0", &[("winonly-1.0-cp312-cp312-win_amd64.whl", None), ("winonly-1.0.tar.gz", Some(">=3.13"))]);
        // Awaiting review only: not in the set.
        releases::request_release(conn, &PinnedRequirement::parse("pending==1.0").unwrap(), None, 3, &Default::default()).unwrap();

        let set = approved_set(conn, &linux_312()).unwrap();
        assert_eq!(
            summary(&set),
            [
                ("demo".into(), "1.10".into(), vec!["demo-1.10-cp312-cp312-manylinux_2_17_x86_64.whl".to_string(), "demo-1.10.tar.gz".into()]),
                ("yanky".into(), "1.0".into(), vec!["yanky-1.0-py3-none-any.whl".to_string()]),
            ]
        );
        assert_eq!(set[0].files[0].sha256, sha("demo-1.10-cp312-cp312-manylinux_2_17_x86_64.whl").as_str());

        let text = render(Format::Requirements, &set, &linux_312(), "http://airlock.test/simple/", &|_| unreachable!());
        let parsed = airlock_resolve::requirements_txt::parse("export.txt", &text, &mut airlock_resolve::requirements_txt::no_includes("off"));
        assert!(parsed.errors().is_empty(), "{text}");
        let pins: Vec<(String, usize)> = parsed.entries().iter().map(|e| (e.text.split(' ').next().unwrap().to_string(), e.hashes.len())).collect();
        assert_eq!(pins, [("demo==1.10".to_string(), 2), ("yanky==1.0".to_string(), 1)], "{text}");
    });
}

#[test]
fn roots_export_exactly_those_releases_or_say_why_not() {
    each_backend(|conn| {
        let ada = create_user(conn, "ada", Role::Auditor, "correct horse battery").unwrap();
        approved(conn, &ada, "demo", "1.0", &[("demo-1.0-py3-none-any.whl", None)]);
        approved(conn, &ada, "demo", "2.0", &[("demo-2.0-py3-none-any.whl", None)]);
        approved(conn, &ada, "other", "1.0", &[("other-1.0-py3-none-any.whl", None)]);
        approved(conn, &ada, "winonly", "1.0", &[("winonly-1.0-cp312-cp312-win_amd64.whl", None)]);
        releases::request_release(conn, &PinnedRequirement::parse("pending==1.0").unwrap(), None, 3, &Default::default()).unwrap();
        let t = linux_312();

        let got = of_roots(conn, &parse_roots("demo==1.0").unwrap(), &t).unwrap();
        assert_eq!(summary(&got), [("demo".into(), "1.0".into(), vec!["demo-1.0-py3-none-any.whl".to_string()])]);
        assert!(matches!(of_roots(conn, &parse_roots("pending==1.0").unwrap(), &t), Err(StoreError::Conflict(m)) if m.contains("requested, not approved")));
        assert!(matches!(of_roots(conn, &parse_roots("nope==1.0").unwrap(), &t), Err(StoreError::NotFound(_))));
        assert!(matches!(of_roots(conn, &parse_roots("winonly==1.0").unwrap(), &t), Err(StoreError::Conflict(m)) if m.contains("installs on the targets")));
        assert!(parse_roots(" , ").is_err() && parse_roots("demo>=1").is_err());
    });
}

#[test]
fn pylock_exports_carry_absolute_file_urls_and_read_back() {
    each_backend(|conn| {
        let ada = create_user(conn, "ada", Role::Auditor, "correct horse battery").unwrap();
        approved(conn, &ada, "demo", "1.0", &[("demo-1.0-py3-none-any.whl", None), ("demo-1.0.tar.gz", None)]);
        let set = approved_set(conn, &linux_312()).unwrap();
        let url = |f: &IndexFile| format!("http://airlock.test/files/{}/{}", f.sha256, f.filename);
        let text = render(Format::Pylock, &set, &linux_312(), "http://airlock.test/simple/", &url);
        assert!(text.contains(&format!("url = \"http://airlock.test/files/{}/demo-1.0.tar.gz\"", sha("demo-1.0.tar.gz"))), "{text}");
        assert!(text.contains("index = \"http://airlock.test/simple/\""), "{text}");
        let parsed = airlock_resolve::pylock::parse("pylock.toml", &text);
        let entries = parsed.entries();
        assert_eq!(entries.len(), 1, "{text}");
        assert_eq!(entries[0].hashes.len(), 2);
        assert_eq!(entries[0].pin, airlock_resolve::lockfile::Pin::Exact("1.0".parse().unwrap()));
    });
}
