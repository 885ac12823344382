//! Keeping mirrored files' upstream facts in step with the upstream after
//! mirroring: a file the upstream yanks (PEP 592) after Airlock mirrored it
//! is shown yanked by Airlock's index too, and an upstream un-yank clears
//! it. Only files whose name and sha256 both match are touched; the
//! change feed's triggers then drop the affected index pages everywhere.

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::domain::{ProjectName, Sha256};
use crate::error::StoreResult;
use crate::schema::{files, projects, releases};

/// What the upstream says of one file today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamState {
    pub filename: String,
    pub sha256: Option<Sha256>,
    /// PEP 592: the reason (possibly empty) when yanked.
    pub yanked: Option<String>,
}

/// One file whose upstream yank changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YankChange {
    pub filename: String,
    pub version: String,
    pub yanked: Option<String>,
}

/// Apply the upstream's current yanks to `project`'s mirrored files, in one
/// transaction, with an audit event per change. A file the upstream lists
/// with a different hash, or no longer lists, is left as it is (never
/// trusted over what was verified).
pub fn apply_upstream_yanks(conn: &mut AnyConnection, project: &ProjectName, upstream: &[UpstreamState]) -> StoreResult<Vec<YankChange>> {
    crate::db::write_transaction(conn, |conn| {
        let mirrored: Vec<(i64, String, String, String, Option<String>)> = files::table
            .inner_join(releases::table.inner_join(projects::table))
            .filter(projects::name.eq(project.as_str()))
            .select((files::id, releases::version, files::filename, files::sha256, files::yanked))
            .load(conn)?;
        let mut changes = Vec::new();
        for (id, version, filename, sha256, yanked) in mirrored {
            let Some(now) = upstream.iter().find(|u| u.filename == filename) else { continue };
            if now.sha256.as_ref().is_some_and(|h| h.as_str() != sha256) {
                tracing::warn!(%filename, "the upstream now lists another hash for a mirrored file; its yank state is not synced");
                continue;
            }
            if now.yanked == yanked {
                continue;
            }
            diesel::update(files::table.find(id)).set(files::yanked.eq(&now.yanked)).execute(conn)?;
            let (action, detail) = match &now.yanked {
                Some(reason) => ("upstream.yank", format!("{filename}: yanked upstream ({reason})")),
                None => ("upstream.unyank", format!("{filename}: no longer yanked upstream")),
            };
            crate::audit::record(conn, None, action, &format!("{} {version}", project.as_str()), &detail)?;
            changes.push(YankChange { filename, version, yanked: now.yanked.clone() });
        }
        Ok(changes)
    })
}

/// Mark `project`'s mirrored files the upstream no longer lists (`listed`:
/// every file name on its page now) as removed upstream, and clear the mark
/// of those listed again, with an audit event per change. Nothing is
/// deleted: an approved file stays served. Returns the files newly marked.
pub fn mark_removed_upstream(conn: &mut AnyConnection, project: &ProjectName, listed: &[String], now: i64) -> StoreResult<Vec<String>> {
    crate::db::write_transaction(conn, |conn| {
        let mirrored: Vec<(i64, String, String, Option<i64>)> = files::table
            .inner_join(releases::table.inner_join(projects::table))
            .filter(projects::name.eq(project.as_str()))
            .select((files::id, releases::version, files::filename, files::upstream_removed_at))
            .load(conn)?;
        let mut removed = Vec::new();
        for (id, version, filename, was) in mirrored {
            let gone = !listed.contains(&filename);
            if gone == was.is_some() {
                continue;
            }
            diesel::update(files::table.find(id)).set(files::upstream_removed_at.eq(gone.then_some(now))).execute(conn)?;
            let (action, detail) = if gone {
                ("upstream.removed", format!("{filename}: no longer listed upstream; kept (served if approved)"))
            } else {
                ("upstream.relisted", format!("{filename}: listed upstream again"))
            };
            crate::audit::record(conn, None, action, &format!("{} {version}", project.as_str()), &detail)?;
            if gone {
                removed.push(filename);
            }
        }
        Ok(removed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PinnedRequirement, Version};
    use crate::files::{add_file, NewFile};
    use crate::index::{changes_after, latest_change_id};
    use crate::releases::{find_release, request_release};
    use crate::testdb::TestDb;

    fn state(filename: &str, sha: &Sha256, yanked: Option<&str>) -> UpstreamState {
        UpstreamState { filename: filename.into(), sha256: Some(sha.clone()), yanked: yanked.map(str::to_string) }
    }

    #[test]
    fn upstream_yanks_are_applied_only_to_files_with_the_same_hash() {
        for db in TestDb::all() {
            let pool = db.pool();
            let conn = &mut pool.get().unwrap();
            request_release(conn, &PinnedRequirement::parse("demo==1.0").unwrap(), None, 3, &Default::default()).unwrap();
            let name = ProjectName::parse("demo").unwrap();
            let (_, r) = find_release(conn, &name, &Version::parse("1.0").unwrap()).unwrap().unwrap();
            let (wheel, sdist) = (Sha256::of(b"wheel"), Sha256::of(b"sdist"));
            for (filename, sha) in [("demo-1.0-py3-none-any.whl", &wheel), ("demo-1.0.tar.gz", &sdist)] {
                let f = NewFile {
                    release_id: r.id,
                    filename: filename.into(),
                    sha256: sha.clone(),
                    size: 1,
                    upstream_url: "http://up.test/x".into(),
                    requires_python: None,
                    yanked: None,
                    upload_time: None,
                };
                add_file(conn, &f).unwrap();
            }
            let before = latest_change_id(conn).unwrap();
            let upstream = [state("demo-1.0-py3-none-any.whl", &wheel, Some("broken")), state("demo-1.0.tar.gz", &Sha256::of(b"other"), Some("x"))];
            let changes = apply_upstream_yanks(conn, &name, &upstream).unwrap();
            assert_eq!(
                changes,
                [YankChange { filename: "demo-1.0-py3-none-any.whl".into(), version: "1.0".into(), yanked: Some("broken".into()) }],
                "on {}",
                db.label
            );
            assert!(!changes_after(conn, before, 10).unwrap().is_empty(), "the feed drops the page");
            assert!(apply_upstream_yanks(conn, &name, &upstream).unwrap().is_empty(), "applying twice changes nothing");
            let unyanked = apply_upstream_yanks(conn, &name, &[state("demo-1.0-py3-none-any.whl", &wheel, None)]).unwrap();
            assert_eq!(unyanked[0].yanked, None);
            let events = crate::audit::list(conn, 10, 0).unwrap();
            assert!(events.iter().any(|e| e.action == "upstream.yank") && events.iter().any(|e| e.action == "upstream.unyank"), "{events:?}");

            // The sdist leaves the upstream's listing: marked, kept; listed again: unmarked.
            let wheel_only = vec!["demo-1.0-py3-none-any.whl".to_string()];
            assert_eq!(mark_removed_upstream(conn, &name, &wheel_only, 5).unwrap(), ["demo-1.0.tar.gz"]);
            assert!(mark_removed_upstream(conn, &name, &wheel_only, 6).unwrap().is_empty(), "marked once");
            let rows = crate::files::files_of_release(conn, r.id).unwrap();
            assert_eq!(
                rows.iter().map(|f| f.upstream_removed_at).collect::<Vec<_>>(),
                [None, Some(5)],
                "by file name: the wheel, then the sdist; {}",
                db.label
            );
            let both = vec!["demo-1.0-py3-none-any.whl".to_string(), "demo-1.0.tar.gz".to_string()];
            mark_removed_upstream(conn, &name, &both, 7).unwrap();
            assert!(crate::files::files_of_release(conn, r.id).unwrap().iter().all(|f| f.upstream_removed_at.is_none()));
        }
    }
}
