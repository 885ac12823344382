//! `airlock fsck`: do the database and the blob store agree? Every file
//! row's blob (and its PEP 658 metadata blob) must exist and, when asked,
//! still hash to its name; every blob in the store should be named by a row;
//! nothing should be left in the store's `tmp/` (a write that a crash cut
//! short). Reports drift; repairs nothing (an approved file whose blob is
//! missing or corrupt is refused by the index already, and a person decides
//! what to do).

use std::collections::HashSet;
use std::path::PathBuf;

use diesel::prelude::*;
use serde::Serialize;

use crate::blobs::{BlobError, BlobStore};
use crate::db::AnyConnection;
use crate::domain::Sha256;
use crate::error::{StoreError, StoreResult};
use crate::schema::{files, projects, releases};

/// One file row whose blob is not what it should be.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BadBlob {
    pub project: String,
    pub version: String,
    pub filename: String,
    /// `file` or `metadata`.
    pub kind: &'static str,
    pub sha256: String,
    /// The release's status: an approved one is served, so it matters most.
    pub release_status: String,
    /// `missing` or `corrupt` (its content hashes to something else).
    pub problem: &'static str,
}

/// What `fsck` found.
#[derive(Debug, Default, Serialize)]
pub struct FsckReport {
    pub file_rows: usize,
    pub blobs_in_store: usize,
    /// Blobs whose content was hashed (all of them with `verify`).
    pub blobs_hashed: usize,
    pub bad: Vec<BadBlob>,
    /// Blobs no file row names (harmless: never served; space only).
    pub unreferenced: Vec<String>,
    /// Leftovers in `tmp/` of writes a crash cut short (never renamed into
    /// place, so never a blob; safe to delete when no Airlock process runs).
    pub interrupted_writes: Vec<PathBuf>,
    /// Files elsewhere under the store that are not blobs at their place.
    pub strays: Vec<PathBuf>,
}

impl FsckReport {
    /// True when the database and the store agree.
    pub fn clean(&self) -> bool {
        self.bad.is_empty() && self.strays.is_empty()
    }
}

/// Compare the file rows with the blob store. With `verify`, every blob a
/// row names is hashed (reads the whole store).
pub fn fsck(conn: &mut AnyConnection, blobs: &BlobStore, verify: bool) -> StoreResult<FsckReport> {
    let rows: Vec<(String, String, String, String, Option<String>, String)> = files::table
        .inner_join(releases::table.inner_join(projects::table))
        .select((projects::name, releases::version, files::filename, files::sha256, files::metadata_sha256, releases::status))
        .order(files::id)
        .load(conn)?;
    let mut report = FsckReport { file_rows: rows.len(), ..FsckReport::default() };
    let mut named = HashSet::new();
    for (project, version, filename, sha, metadata, status) in rows {
        for (kind, digest) in [("file", Some(sha)), ("metadata", metadata)] {
            let Some(digest) = digest else { continue };
            named.insert(digest.clone());
            let problem = match Sha256::parse(&digest) {
                Err(_) => Some("corrupt"),
                Ok(sha) if !verify => (!blobs.contains(&sha)).then_some("missing"),
                Ok(sha) => {
                    report.blobs_hashed += 1;
                    match blobs.open_verified(&sha) {
                        Ok(_) => None,
                        Err(BlobError::Missing(_)) => Some("missing"),
                        Err(BlobError::HashMismatch { .. }) => Some("corrupt"),
                        Err(e) => return Err(StoreError::Invalid(format!("reading blob {digest}: {e}"))),
                    }
                }
            };
            if let Some(problem) = problem {
                let bad = BadBlob {
                    project: project.clone(),
                    version: version.clone(),
                    filename: filename.clone(),
                    kind,
                    sha256: digest,
                    release_status: status.clone(),
                    problem,
                };
                report.bad.push(bad);
            }
        }
    }
    walk_store(blobs, &named, &mut report)?;
    Ok(report)
}

/// Every file under the store's root: blobs at `ab/cd/abcd…`, anything else a stray.
fn walk_store(blobs: &BlobStore, named: &HashSet<String>, report: &mut FsckReport) -> StoreResult<()> {
    let io = |path: &std::path::Path, e: std::io::Error| StoreError::Invalid(format!("reading {}: {e}", path.display()));
    let tmp = blobs.root().join("tmp");
    let mut stack = vec![blobs.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            match Sha256::parse(&name) {
                Ok(sha) if !kind.is_symlink() && blobs.path_of(&sha) == path && sha.as_str() == name => {
                    report.blobs_in_store += 1;
                    if !named.contains(&name) {
                        report.unreferenced.push(name);
                    }
                }
                _ if path.parent() == Some(tmp.as_path()) => report.interrupted_writes.push(path),
                _ => report.strays.push(path),
            }
        }
    }
    report.unreferenced.sort();
    report.strays.sort();
    report.interrupted_writes.sort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PinnedRequirement, ReleaseStatus};
    use crate::files::{self, NewFile};
    use crate::testdb::each_backend;

    #[test]
    fn fsck_reports_missing_corrupt_unreferenced_and_stray_files() {
        each_backend(|conn| {
            let dir = tempfile::tempdir().unwrap();
            let blobs = BlobStore::open(dir.path()).unwrap();
            let req = PinnedRequirement::parse("demo==1.0").unwrap();
            let release = crate::releases::request_release(conn, &req, Some("alice"), 3, &Default::default()).unwrap();
            let (_, row) = crate::releases::find_release(conn, &req.name, &req.version).unwrap().unwrap();
            assert_eq!(release.status, ReleaseStatus::Requested);
            let mut add = |name: &str, bytes: &[u8]| {
                let sha = blobs.put(bytes).unwrap();
                let new = NewFile {
                    release_id: row.id,
                    filename: name.into(),
                    sha256: sha.clone(),
                    size: bytes.len() as i64,
                    upstream_url: format!("http://up.test/{name}"),
                    requires_python: None,
                    yanked: None,
                    upload_time: None,
                };
                files::add_file(conn, &new).unwrap();
                sha
            };
            add("demo-1.0.tar.gz", b"sdist bytes");
            let wheel = add("demo-1.0-py3-none-any.whl", b"wheel bytes");
            let gone = add("demo-1.0.zip", b"zip bytes");
            let clean = fsck(conn, &blobs, true).unwrap();
            assert!(clean.clean() && clean.unreferenced.is_empty(), "{clean:?}");
            assert_eq!((clean.file_rows, clean.blobs_in_store, clean.blobs_hashed), (3, 3, 3));

            std::fs::write(blobs.path_of(&wheel), b"tampered").unwrap();
            std::fs::remove_file(blobs.path_of(&gone)).unwrap();
            blobs.put(b"nobody's").unwrap();
            std::fs::write(dir.path().join("tmp").join(".tmpXYZ"), b"half a download").unwrap();
            std::fs::create_dir_all(dir.path().join("ab")).unwrap();
            std::fs::write(dir.path().join("ab").join("stranger"), b"?").unwrap();
            let drift = fsck(conn, &blobs, true).unwrap();
            assert!(!drift.clean());
            let problems: Vec<(&str, &str)> = drift.bad.iter().map(|b| (b.filename.as_str(), b.problem)).collect();
            assert_eq!(problems, [("demo-1.0-py3-none-any.whl", "corrupt"), ("demo-1.0.zip", "missing")]);
            assert_eq!(drift.unreferenced, [Sha256::of(b"nobody's").to_string()]);
            assert_eq!(drift.interrupted_writes, [dir.path().join("tmp").join(".tmpXYZ")]);
            assert_eq!(drift.strays, [dir.path().join("ab").join("stranger")]);
            // Without hashing, only what is missing shows.
            let quick = fsck(conn, &blobs, false).unwrap();
            assert_eq!(quick.bad.iter().map(|b| b.problem).collect::<Vec<_>>(), ["missing"]);
        });
    }
}
