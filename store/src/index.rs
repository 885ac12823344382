//! What the simple index may serve: approved files only, exactly as
//! approved. A file is servable when its release is `approved` and the
//! release's latest decision is an approval that lists the file's sha256.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::domain::{ProjectName, ReleaseStatus, Sha256};
use crate::error::StoreResult;
use crate::files::FileRow;
use crate::schema::{decisions, files, projects, releases};

/// An approved file with its release's version.
#[derive(Debug, Clone)]
pub struct ServableFile {
    pub version: String,
    pub file: FileRow,
}

/// Names of projects that have at least one approved file, sorted.
pub fn approved_projects(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    Ok(projects::table
        .inner_join(releases::table)
        .filter(releases::status.eq(ReleaseStatus::Approved.as_str()))
        .select(projects::name)
        .distinct()
        .order(projects::name)
        .load(conn)?)
}

/// The hashes each release's latest decision approved (absent when the
/// latest decision is not an approval).
fn approved_hashes(conn: &mut AnyConnection, release_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String, String)> = decisions::table
        .filter(decisions::release_id.eq_any(release_ids))
        .order(decisions::id)
        .select((decisions::release_id, decisions::decision, decisions::sha256s))
        .load(conn)?;
    let mut latest: HashMap<i64, (String, String)> = HashMap::new();
    for (release_id, decision, sha256s) in rows {
        latest.insert(release_id, (decision, sha256s));
    }
    Ok(latest
        .into_iter()
        .filter(|(_, (decision, _))| decision == "approve")
        .map(|(id, (_, sha256s))| (id, serde_json::from_str(&sha256s).unwrap_or_default()))
        .collect())
}

fn keep_approved(conn: &mut AnyConnection, rows: Vec<(String, FileRow)>) -> StoreResult<Vec<ServableFile>> {
    let mut ids: Vec<i64> = rows.iter().map(|(_, f)| f.release_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let approved = approved_hashes(conn, &ids)?;
    Ok(rows
        .into_iter()
        .filter(|(_, f)| approved.get(&f.release_id).is_some_and(|h| h.contains(&f.sha256)))
        .map(|(version, file)| ServableFile { version, file })
        .collect())
}

/// A project's servable files, sorted by file name.
pub fn approved_files(conn: &mut AnyConnection, project: &ProjectName) -> StoreResult<Vec<ServableFile>> {
    let rows: Vec<(String, FileRow)> = files::table
        .inner_join(releases::table.inner_join(projects::table))
        .filter(projects::name.eq(project.as_str()))
        .filter(releases::status.eq(ReleaseStatus::Approved.as_str()))
        .order(files::filename)
        .select((releases::version, FileRow::as_select()))
        .load(conn)?;
    keep_approved(conn, rows)
}

/// The servable file with this hash and name, if any.
pub fn approved_file(conn: &mut AnyConnection, sha256: &Sha256, filename: &str) -> StoreResult<Option<ServableFile>> {
    let rows: Vec<(String, FileRow)> = files::table
        .inner_join(releases::table)
        .filter(files::sha256.eq(sha256.as_str()))
        .filter(files::filename.eq(filename))
        .filter(releases::status.eq(ReleaseStatus::Approved.as_str()))
        .select((releases::version, FileRow::as_select()))
        .load(conn)?;
    Ok(keep_approved(conn, rows)?.into_iter().next())
}
