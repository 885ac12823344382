//! Whole-instance backup and restore for the embedded default (SQLite and
//! a local blob folder): `airlock backup DEST` and `airlock restore SRC`.
//!
//! A backup is a folder: `airlock.db`, a consistent snapshot taken with
//! SQLite's `VACUUM INTO` (safe while the server runs), and `blobs/`, a
//! copy of every blob, each checked against its name as it is copied. The
//! blobs are copied after the snapshot, so every file the snapshot names is
//! in the backup. Restore copies both into an empty data folder; the
//! database keeps everything, decisions and the append-only audit log
//! included. On PostgreSQL, back the database up with `pg_dump` and the
//! blob folder with any file copy (blobs are immutable and content-addressed).

use std::fs;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use serde::Serialize;

use crate::blobs::BlobStore;
use crate::db::AnyConnection;
use crate::domain::Sha256;
use crate::error::{StoreError, StoreResult};

/// What a backup or a restore copied.
#[derive(Debug, Default, Serialize)]
pub struct Copied {
    pub database_bytes: u64,
    pub blobs: u64,
    pub blob_bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Invalid(format!("{}: {e}", path.display()))
}

/// An empty or new folder at `path`.
fn empty_folder(path: &Path) -> StoreResult<()> {
    if path.exists() && fs::read_dir(path).map_err(io(path))?.next().is_some() {
        return Err(StoreError::Invalid(format!("{} is not empty: a backup or restore writes only into an empty folder", path.display())));
    }
    fs::create_dir_all(path).map_err(io(path))
}

/// Back up the instance whose database is `conn` (SQLite) and whose blobs
/// are `blobs` into the new folder `dest`.
pub fn backup(conn: &mut AnyConnection, blobs: &BlobStore, dest: &Path) -> StoreResult<Copied> {
    let AnyConnection::Sqlite(sqlite) = conn else {
        return Err(StoreError::Invalid(
            "airlock backup covers the embedded SQLite database; on PostgreSQL use pg_dump for the database and copy the blob folder".into(),
        ));
    };
    empty_folder(dest)?;
    let db = dest.join("airlock.db");
    let quoted = db.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not UTF-8", db.display())))?.replace('\'', "''");
    sqlite.batch_execute(&format!("VACUUM INTO '{quoted}'"))?;
    let mut copied = Copied { database_bytes: fs::metadata(&db).map_err(io(&db))?.len(), ..Copied::default() };
    copy_blobs(blobs.root(), &dest.join("blobs"), &mut copied)?;
    Ok(copied)
}

/// Restore the backup in `src` into `database` (a SQLite file that must not
/// exist yet) and the blob folder `blob_dir` (empty or new).
pub fn restore(src: &Path, database: &Path, blob_dir: &Path) -> StoreResult<Copied> {
    let db = src.join("airlock.db");
    if !db.is_file() || !src.join("blobs").is_dir() {
        return Err(StoreError::Invalid(format!("{} is not an Airlock backup (airlock.db and blobs/ expected)", src.display())));
    }
    if database.exists() {
        return Err(StoreError::Invalid(format!("{} exists: restore only into a new instance", database.display())));
    }
    empty_folder(blob_dir)?;
    if let Some(parent) = database.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut copied = Copied { database_bytes: fs::copy(&db, database).map_err(io(&db))?, ..Copied::default() };
    copy_blobs(&src.join("blobs"), blob_dir, &mut copied)?;
    Ok(copied)
}

/// Copy every blob under `from` (at `ab/cd/abcd…`) to the same place under
/// `to`, refusing one whose content does not hash to its name. Interrupted
/// writes in `tmp/` are not blobs and are left behind.
fn copy_blobs(from: &Path, to: &Path, copied: &mut Copied) -> StoreResult<()> {
    let source = BlobStore::open(from).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let target = BlobStore::open(to).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut stack: Vec<PathBuf> = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            if entry.file_type().map_err(io(&path))?.is_dir() {
                if path != from.join("tmp") {
                    stack.push(path);
                }
                continue;
            }
            let Ok(sha) = Sha256::parse(&entry.file_name().to_string_lossy()) else { continue };
            if source.path_of(&sha) != path {
                continue;
            }
            let mut file = source.open_verified(&sha).map_err(|e| StoreError::Invalid(format!("blob {sha} cannot be backed up: {e}")))?;
            let mut writer = target.writer().map_err(|e| StoreError::Invalid(e.to_string()))?;
            let bytes = std::io::copy(&mut file, &mut writer).map_err(io(&path))?;
            writer.commit(Some(&sha)).map_err(|e| StoreError::Invalid(e.to_string()))?;
            copied.blobs += 1;
            copied.blob_bytes += bytes;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_refuses_a_full_folder_and_a_restore_an_existing_database() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), b"x").unwrap();
        assert!(empty_folder(dir.path()).unwrap_err().to_string().contains("not empty"));
        let db = dir.path().join("x");
        let err = restore(dir.path(), &db, &dir.path().join("b")).unwrap_err().to_string();
        assert!(err.contains("not an Airlock backup"), "{err}");
    }

    #[test]
    fn a_corrupt_blob_is_not_copied_into_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("from")).unwrap();
        let good = blobs.put(b"good").unwrap();
        let bad = blobs.put(b"bad").unwrap();
        fs::write(blobs.path_of(&bad), b"tampered").unwrap();
        let mut copied = Copied::default();
        let err = copy_blobs(blobs.root(), &dir.path().join("to"), &mut copied).unwrap_err().to_string();
        assert!(err.contains(bad.as_str()), "{err}");
        fs::write(blobs.path_of(&bad), b"bad").unwrap();
        let mut copied = Copied::default();
        copy_blobs(blobs.root(), &dir.path().join("to2"), &mut copied).unwrap();
        assert_eq!(copied.blobs, 2);
        assert!(BlobStore::open(dir.path().join("to2")).unwrap().open_verified(&good).is_ok());
    }
}
