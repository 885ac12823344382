//! Files a release lists upstream that Airlock left out, because they fit
//! none of the configured targets, and adding one of them on request.
//!
//! Adding a file never serves it: the file is mirrored (its sha256 checked
//! as usual), inspected, and waits for an approval that covers its hash. A
//! release already approved stays approved meanwhile, so the files its
//! approval covered keep being served (see `decisions` and `index`).

use diesel::prelude::*;
use serde::Serialize;

use crate::audit;
use crate::db::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::{StoreError, StoreResult};
use crate::files::{self, FileRow, NewFile};
use crate::now_ms;
use crate::releases::release_by_id;
use crate::schema::{files as files_table, unmirrored_files};
use crate::tasks::{self, AddFile, InspectFile};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = unmirrored_files)]
pub struct UnmirroredRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub release_id: i64,
    /// The file and why it was left out.
    #[diesel(embed)]
    #[serde(flatten)]
    pub file: LeftOut,
    pub requested_by: Option<String>,
    pub requested_at: Option<i64>,
    pub error: Option<String>,
    #[serde(skip)]
    pub created_at: i64,
}

/// A listed file the mirror job left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = unmirrored_files)]
pub struct LeftOut {
    pub filename: String,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub upstream_url: String,
    pub requires_python: Option<String>,
    pub reason: String,
}

/// Replace the release's record of left-out files (a mirror job that runs
/// again chooses again). Files already mirrored are never listed.
pub fn record(conn: &mut AnyConnection, release_id: i64, left_out: &[LeftOut]) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| replace(conn, release_id, left_out))
}

fn replace(conn: &mut AnyConnection, release_id: i64, left_out: &[LeftOut]) -> StoreResult<()> {
    diesel::delete(unmirrored_files::table.filter(unmirrored_files::release_id.eq(release_id))).execute(conn)?;
    let mirrored: Vec<String> = files_table::table.filter(files_table::release_id.eq(release_id)).select(files_table::filename).load(conn)?;
    let now = now_ms();
    for f in left_out.iter().filter(|f| !mirrored.contains(&f.filename)) {
        insert(conn, release_id, f, now)?;
    }
    Ok(())
}

/// Record one left-out file of a release.
fn insert(conn: &mut AnyConnection, release_id: i64, f: &LeftOut, now: i64) -> StoreResult<()> {
    diesel::insert_into(unmirrored_files::table)
        .values((unmirrored_files::release_id.eq(release_id), f, unmirrored_files::created_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Files the upstream published for `release_id` after it was mirrored
/// (seen by a watched project's sync): each is listed as not mirrored with
/// its reason, unless already known. Returns the names newly listed.
/// Requesting the ones the targets install is [`request_add`]'s.
pub fn note_late(conn: &mut AnyConnection, release_id: i64, late: &[LeftOut]) -> StoreResult<Vec<String>> {
    crate::db::write_transaction(conn, |conn| {
        let mirrored: Vec<String> = files_table::table.filter(files_table::release_id.eq(release_id)).select(files_table::filename).load(conn)?;
        let listed: Vec<String> = unmirrored_files::table.filter(unmirrored_files::release_id.eq(release_id)).select(unmirrored_files::filename).load(conn)?;
        let now = now_ms();
        let mut noted = Vec::new();
        for f in late.iter().filter(|f| !mirrored.contains(&f.filename) && !listed.contains(&f.filename)) {
            insert(conn, release_id, f, now)?;
            noted.push(f.filename.clone());
        }
        Ok(noted)
    })
}

/// Mirroring is done: record what was left out, move the release to
/// `inspecting` and queue one `inspect_file` job per file, atomically.
pub fn finish_mirroring(conn: &mut AnyConnection, release_id: i64, file_ids: &[i64], left_out: &[LeftOut], max_attempts: i64) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        replace(conn, release_id, left_out)?;
        files::queue_inspection(conn, release_id, file_ids, max_attempts)
    })
}

/// The release's left-out files, by name.
pub fn of_release(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Vec<UnmirroredRow>> {
    Ok(unmirrored_files::table
        .filter(unmirrored_files::release_id.eq(release_id))
        .order(unmirrored_files::filename)
        .select(UnmirroredRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut AnyConnection, release_id: i64, filename: &str) -> StoreResult<Option<UnmirroredRow>> {
    Ok(unmirrored_files::table
        .filter(unmirrored_files::release_id.eq(release_id))
        .filter(unmirrored_files::filename.eq(filename))
        .select(UnmirroredRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a request to add a file did.
#[derive(Debug, Clone, Serialize)]
pub struct AddOutcome {
    pub project: String,
    pub version: String,
    pub filename: String,
    /// False when the same request is already under way.
    pub queued: bool,
}

/// Ask for a left-out file of a release to be mirrored, inspected and
/// reviewed, as `user`. Refused while the release is still being mirrored
/// (its choice of files is not made yet) and once it is rejected.
pub fn request_add(conn: &mut AnyConnection, release_id: i64, filename: &str, user: &str, max_attempts: i64) -> StoreResult<AddOutcome> {
    crate::db::write_transaction(conn, |conn| {
        let (project, release) = release_by_id(conn, release_id)?;
        let target = format!("{} {}", project.name, release.version);
        let status = release.status;
        if matches!(status, ReleaseStatus::Requested | ReleaseStatus::Mirroring | ReleaseStatus::Rejected) {
            return Err(StoreError::Conflict(format!("{target} is {status}; files can be added once it is mirrored, and never to a rejected release")));
        }
        if status == ReleaseStatus::Failed && !files::files_of_release(conn, release_id)?.is_empty() {
            return Err(StoreError::Conflict(format!("{target} failed after mirroring some files; retry it first")));
        }
        let row = find(conn, release_id, filename)?;
        let Some(row) = row else {
            let mirrored =
                files_table::table.filter(files_table::release_id.eq(release_id)).filter(files_table::filename.eq(filename)).count().get_result::<i64>(conn)?;
            return Err(if mirrored > 0 {
                StoreError::Conflict(format!("{filename} is already mirrored"))
            } else {
                StoreError::NotFound(format!("{target} has no file {filename:?} that was left out"))
            });
        };
        let now = now_ms();
        diesel::update(unmirrored_files::table.find(row.id))
            .set((unmirrored_files::requested_by.eq(user), unmirrored_files::requested_at.eq(now), unmirrored_files::error.eq(None::<String>)))
            .execute(conn)?;
        let queued = tasks::enqueue(conn, &AddFile { release_id, filename: row.file.filename.clone() }, max_attempts)?.is_some();
        if queued {
            let detail = format!("{} (left out: {}); it is served only once an auditor approves it", row.file.filename, row.file.reason);
            audit::record(conn, Some(user), "file.add_request", &target, &detail)?;
        }
        Ok(AddOutcome { project: project.name, version: release.version, filename: row.file.filename, queued })
    })
}

/// A requested file is stored and verified: record it, forget that it was
/// left out, and queue its inspection, atomically. A release that is
/// approved (or revoked) keeps its status, so what its approval covered is
/// still served and the added file waits for an approval of its own; one
/// awaiting review, or failed because nothing fit, goes back to inspecting.
pub fn add_mirrored(conn: &mut AnyConnection, new: &NewFile, max_attempts: i64) -> StoreResult<FileRow> {
    crate::db::write_transaction(conn, |conn| {
        let (project, release) = release_by_id(conn, new.release_id)?;
        let status = release.status;
        if status == ReleaseStatus::Rejected {
            return Err(StoreError::Conflict(format!("{} {} was rejected meanwhile", project.name, release.version)));
        }
        let file = files::insert_file(conn, new)?;
        diesel::delete(unmirrored_files::table.filter(unmirrored_files::release_id.eq(new.release_id)).filter(unmirrored_files::filename.eq(&new.filename)))
            .execute(conn)?;
        match status {
            ReleaseStatus::Approved | ReleaseStatus::Revoked | ReleaseStatus::Inspecting => {
                tasks::enqueue(conn, &InspectFile { file_id: file.id }, max_attempts)?;
            }
            _ => files::queue_inspection(conn, new.release_id, &[file.id], max_attempts)?,
        }
        let detail = format!("{} sha256 {} ({} bytes), mirrored on request; awaiting inspection and review", new.filename, new.sha256, new.size);
        audit::record(conn, None, "file.add", &format!("{} {}", project.name, release.version), &detail)?;
        Ok(file)
    })
}

/// Adding a file failed for good: say why on its row; the release is untouched.
pub fn add_failed(conn: &mut AnyConnection, release_id: i64, filename: &str, error: &str) -> StoreResult<()> {
    diesel::update(unmirrored_files::table.filter(unmirrored_files::release_id.eq(release_id)).filter(unmirrored_files::filename.eq(filename)))
        .set(unmirrored_files::error.eq(error))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::create_user;
    use crate::decisions::{decide, Outcome, ReviewPolicy, Verdict};
    use crate::domain::{PinnedRequirement, ProjectName, Role, Sha256, Version};
    use crate::files::{record_inspection, Inspection};
    use crate::index::approved_files;
    use crate::releases::{find_release, request_release};
    use crate::testdb::each_backend;

    fn new_file(release_id: i64, filename: &str) -> NewFile {
        NewFile {
            release_id,
            filename: filename.into(),
            sha256: Sha256::of(filename.as_bytes()),
            size: 10,
            upstream_url: format!("http://up.test/{filename}"),
            requires_python: None,
            yanked: None,
            upload_time: None,
        }
    }

    fn left_out(filename: &str) -> LeftOut {
        LeftOut {
            filename: filename.into(),
            size: Some(10),
            sha256: Some(Sha256::of(filename.as_bytes()).as_str().to_string()),
            upstream_url: format!("http://up.test/{filename}"),
            requires_python: None,
            reason: "fits none of the targets".into(),
        }
    }

    /// An inspection with one finding of `severity`.
    fn inspected(severity: &str) -> Inspection {
        let finding = crate::files::tests::test_finding(severity);
        Inspection {
            dist_kind: airlock_inspect::DistKind::Wheel,
            core_metadata: None,
            metadata_sha256: None,
            capabilities: None,
            entries: None,
            findings: vec![finding],
        }
    }

    fn served(conn: &mut AnyConnection) -> Vec<String> {
        approved_files(conn, &ProjectName::parse("demo").unwrap()).unwrap().into_iter().map(|f| f.filename).collect()
    }

    /// `demo 1.0` mirrored with one wheel, one wheel left out, inspected and
    /// awaiting review; returns the release id.
    fn mirrored_release(conn: &mut AnyConnection) -> i64 {
        request_release(conn, &PinnedRequirement::parse("demo==1.0").unwrap(), None, 3, &Default::default()).unwrap();
        let (_, r) = find_release(conn, &ProjectName::parse("demo").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
        let kept = files::add_file(conn, &new_file(r.id, "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")).unwrap();
        finish_mirroring(conn, r.id, &[kept.id], &[left_out("demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl")], 3).unwrap();
        record_inspection(conn, kept.id, &inspected("high"), &|_| Vec::new()).unwrap();
        r.id
    }

    #[test]
    fn a_file_added_to_an_approved_release_is_served_only_after_its_own_approval() {
        each_backend(|conn| {
            let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
            let id = mirrored_release(conn);
            let musl = "demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl";
            assert_eq!(of_release(conn, id).unwrap().len(), 1);
            decide(conn, id, &alice, Verdict::Approve, "ok", &ReviewPolicy::default(), None).unwrap();
            assert_eq!(served(conn), ["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"]);

            assert!(matches!(request_add(conn, id, "nope.whl", "vic", 3), Err(StoreError::NotFound(_))));
            let out = request_add(conn, id, musl, "vic", 3).unwrap();
            assert!(out.queued);
            assert!(!request_add(conn, id, musl, "vic", 3).unwrap().queued, "one job per file");
            let file = add_mirrored(conn, &new_file(id, musl), 3).unwrap();
            assert!(of_release(conn, id).unwrap().is_empty());
            let (_, r) = release_by_id(conn, id).unwrap();
            assert_eq!(r.status, crate::domain::ReleaseStatus::Approved, "the release stays approved while the added file waits");
            assert_eq!(served(conn), ["demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"], "the added file is not served");
            assert_eq!(crate::queue::with_added_files(conn).unwrap(), [id], "the release is back in the review queue");
            let early = decide(conn, id, &alice, Verdict::Approve, "ok", &ReviewPolicy::default(), None);
            assert!(matches!(early, Err(StoreError::Conflict(ref m)) if m.contains("still being inspected")), "{early:?}");
            record_inspection(conn, file.id, &inspected("low"), &|_| Vec::new()).unwrap();
            assert_eq!(served(conn).len(), 1, "inspected is not approved");
            assert!(matches!(decide(conn, id, &alice, Verdict::Reject, "no", &ReviewPolicy::default(), None), Err(StoreError::Conflict(_))));
            let (_, outcome) = decide(conn, id, &alice, Verdict::Approve, "musl wheel read", &ReviewPolicy::default(), None).unwrap();
            assert_eq!(outcome, Outcome::Approved);
            assert_eq!(served(conn).len(), 2);
            assert!(crate::queue::with_added_files(conn).unwrap().is_empty());
            let again = decide(conn, id, &alice, Verdict::Approve, "again", &ReviewPolicy::default(), None);
            assert!(matches!(again, Err(StoreError::Conflict(_))), "nothing left to approve");
            let log = crate::audit::list(conn, 20, 0).unwrap();
            assert!(log.iter().any(|e| e.action == "file.add_request" && e.detail.contains(musl)), "{log:?}");
            assert!(log.iter().any(|e| e.action == "file.add" && e.detail.contains(Sha256::of(musl.as_bytes()).as_str())), "{log:?}");
        });
    }

    #[test]
    fn under_four_eyes_the_first_approval_of_an_added_file_serves_nothing_new() {
        each_backend(|conn| {
            let alice = create_user(conn, "alice", Role::Auditor, "password1").unwrap();
            let bob = create_user(conn, "bob", Role::Auditor, "password1").unwrap();
            let policy = ReviewPolicy { four_eyes_severity: Some(airlock_inspect::Severity::High), ..ReviewPolicy::default() };
            let id = mirrored_release(conn);
            decide(conn, id, &alice, Verdict::Approve, "one", &policy, None).unwrap();
            decide(conn, id, &bob, Verdict::Approve, "two", &policy, None).unwrap();
            assert_eq!(served(conn).len(), 1);
            request_add(conn, id, "demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "vic", 3).unwrap();
            let file = add_mirrored(conn, &new_file(id, "demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl"), 3).unwrap();
            record_inspection(conn, file.id, &inspected("low"), &|_| Vec::new()).unwrap();
            let (_, outcome) = decide(conn, id, &alice, Verdict::Approve, "added file read", &policy, None).unwrap();
            assert_eq!(outcome, Outcome::ApprovalRecorded { have: 1, needed: 2 }, "her approval of fewer files does not count");
            assert_eq!(served(conn).len(), 1, "an approval waiting for a second auditor is not in force");
            let (_, outcome) = decide(conn, id, &bob, Verdict::Approve, "agreed", &policy, None).unwrap();
            assert_eq!(outcome, Outcome::Approved);
            assert_eq!(served(conn).len(), 2);
            // A revocation withdraws what is in force: both files.
            decide(conn, id, &bob, Verdict::Revoke, "pulled", &policy, None).unwrap();
            assert!(served(conn).is_empty());
        });
    }

    #[test]
    fn adding_is_refused_while_mirroring_and_for_rejected_releases() {
        each_backend(|conn| {
            request_release(conn, &PinnedRequirement::parse("demo==1.0").unwrap(), None, 3, &Default::default()).unwrap();
            let (_, r) = find_release(conn, &ProjectName::parse("demo").unwrap(), &Version::parse("1.0").unwrap()).unwrap().unwrap();
            record(conn, r.id, &[left_out("demo-1.0-py2-none-any.whl")]).unwrap();
            assert!(matches!(request_add(conn, r.id, "demo-1.0-py2-none-any.whl", "vic", 3), Err(StoreError::Conflict(_))));
            crate::releases::set_status(conn, r.id, ReleaseStatus::Failed, Some("nothing fits")).unwrap();
            request_add(conn, r.id, "demo-1.0-py2-none-any.whl", "vic", 3).unwrap();
            add_mirrored(conn, &new_file(r.id, "demo-1.0-py2-none-any.whl"), 3).unwrap();
            let (_, r) = release_by_id(conn, r.id).unwrap();
            assert_eq!(r.status, crate::domain::ReleaseStatus::Inspecting, "a release that failed because nothing fit is inspected with the added file");
        });
    }
}
