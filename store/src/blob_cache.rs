//! The bound on a node's cache of an object store's blobs (`blob_cache_mb`).
//!
//! With `blob_store = "s3://…"` every blob a node reads or writes lands in
//! its local folder too, and without a bound that folder grows until the
//! disk is full: every file ever served or inspected, on every node. The
//! bound counts the bytes the folder holds (from one walk when the store
//! opens, then from each blob the cache gains) and, once over it, removes
//! the blobs fetched longest ago until the folder is back under nine
//! tenths of the bound. A removed blob is only a cache miss: the next read
//! streams it from the bucket again, checked against its name.
//!
//! Order by fetch time, not by last use: a blob's mtime is when it landed
//! here, and touching it on every read would change the identity the file
//! server verified (see `airlock_server::file_serving`), costing a rehash.
//! Several processes of one node share the folder; each trim walks it, so
//! each process's count is corrected to what is really there.
//!
//! Never removes anything but blob files under the cache's `ab/cd/` folders
//! (temporary files being written are not blobs), and never the blob that
//! was just added (its reader needs it).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::blobs::blob_path;
use crate::domain::Sha256;

/// A cache folder's byte count and its bound.
#[derive(Debug)]
pub struct CacheBound {
    limit: u64,
    used: AtomicU64,
    trimming: Mutex<()>,
}

/// What a trim did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub removed: u64,
    pub freed_bytes: u64,
    pub left_bytes: u64,
}

/// One cached blob: its path, size and when it was fetched.
struct Entry {
    path: PathBuf,
    len: u64,
    fetched: SystemTime,
}

/// Every blob file in the cache folder `root`: a file named by its sha256
/// at its place in the `ab/cd/` tree (what is elsewhere, `tmp/` included, is
/// not a blob).
fn blobs_in(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let dirs = |p: &Path| fs::read_dir(p).into_iter().flatten().flatten();
    for first in dirs(root) {
        for second in dirs(&first.path()) {
            for blob in dirs(&second.path()) {
                let at_its_place = Sha256::parse(&blob.file_name().to_string_lossy()).is_ok_and(|sha| blob.path() == blob_path(root, &sha));
                let Ok(meta) = blob.metadata() else { continue };
                if at_its_place && meta.is_file() {
                    out.push(Entry { path: blob.path(), len: meta.len(), fetched: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH) });
                }
            }
        }
    }
    out
}

impl CacheBound {
    /// A bound of `limit` bytes on the folder `root`, counting what it holds now.
    pub fn new(root: &Path, limit: u64) -> CacheBound {
        let used = blobs_in(root).iter().map(|e| e.len).sum();
        CacheBound { limit, used: AtomicU64::new(used), trimming: Mutex::new(()) }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The bytes this process believes the folder holds.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Count a blob of `len` bytes that just landed at `keep`, and trim the
    /// folder when that takes it over the bound. A trim already running in
    /// this process is not waited for.
    pub fn added(&self, root: &Path, keep: &Path, len: u64) -> Option<Trimmed> {
        let used = self.used.fetch_add(len, Ordering::Relaxed) + len;
        if used <= self.limit {
            return None;
        }
        let _one_at_a_time = self.trimming.try_lock().ok()?;
        let trimmed = self.trim(root, keep);
        tracing::info!(
            removed = trimmed.removed,
            freed_bytes = trimmed.freed_bytes,
            left_bytes = trimmed.left_bytes,
            limit = self.limit,
            "trimmed the blob cache"
        );
        if trimmed.left_bytes > self.limit {
            tracing::warn!(
                left_bytes = trimmed.left_bytes,
                limit = self.limit,
                "the blob cache holds more than its bound: blob_cache_mb is smaller than the blobs in use"
            );
        }
        Some(trimmed)
    }

    /// Remove the blobs fetched longest ago until the folder holds at most
    /// nine tenths of the bound; never `keep`.
    fn trim(&self, root: &Path, keep: &Path) -> Trimmed {
        let mut entries = blobs_in(root);
        let mut left: u64 = entries.iter().map(|e| e.len).sum();
        let target = self.limit / 10 * 9;
        entries.sort_by_key(|e| e.fetched);
        let mut trimmed = Trimmed::default();
        for e in entries {
            if left <= target {
                break;
            }
            if e.path == keep {
                continue;
            }
            match fs::remove_file(&e.path) {
                Ok(()) => {
                    left -= e.len;
                    trimmed.removed += 1;
                    trimmed.freed_bytes += e.len;
                }
                // Another process of this node removed it first.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => left -= e.len,
                Err(err) => tracing::warn!(path = %e.path.display(), error = %err, "could not remove a cached blob"),
            }
        }
        trimmed.left_bytes = left;
        self.used.store(left, Ordering::Relaxed);
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Write a fake blob of `len` bytes, fetched `age_s` seconds ago.
    fn blob(root: &Path, n: u8, len: usize, age_s: u64) -> PathBuf {
        let name = format!("{n:02x}{}", "0".repeat(62));
        let dir = root.join(&name[0..2]).join(&name[2..4]);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(&name);
        fs::write(&path, vec![n; len]).unwrap();
        let when = SystemTime::now() - Duration::from_secs(age_s);
        fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        path
    }

    #[test]
    fn counts_what_the_folder_holds_and_ignores_what_is_not_a_blob() {
        let dir = tempfile::tempdir().unwrap();
        blob(dir.path(), 1, 100, 10);
        blob(dir.path(), 2, 50, 10);
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        fs::write(dir.path().join("tmp").join("partial"), vec![0; 1000]).unwrap();
        fs::write(dir.path().join("README"), b"not a blob").unwrap();
        assert_eq!(CacheBound::new(dir.path(), 1_000).used(), 150);
    }

    #[test]
    fn under_the_bound_nothing_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let bound = CacheBound::new(dir.path(), 1_000);
        let a = blob(dir.path(), 1, 400, 10);
        assert_eq!(bound.added(dir.path(), &a, 400), None);
        let b = blob(dir.path(), 2, 600, 5);
        assert_eq!(bound.added(dir.path(), &b, 600), None, "exactly at the bound is not over it");
        assert!(a.is_file() && b.is_file());
    }

    #[test]
    fn over_the_bound_the_oldest_fetched_leave_first_down_to_nine_tenths() {
        let dir = tempfile::tempdir().unwrap();
        let oldest = blob(dir.path(), 1, 300, 300);
        let older = blob(dir.path(), 2, 300, 200);
        let newer = blob(dir.path(), 3, 300, 100);
        let bound = CacheBound::new(dir.path(), 1_000);
        assert_eq!(bound.used(), 900);
        let just_fetched = blob(dir.path(), 4, 300, 0);
        let trimmed = bound.added(dir.path(), &just_fetched, 300).expect("1,200 bytes is over the bound");
        // 1,200 → 900 (at most 9/10 of 1,000): only the oldest leaves.
        assert_eq!(trimmed, Trimmed { removed: 1, freed_bytes: 300, left_bytes: 900 });
        assert!(!oldest.exists());
        assert!(older.is_file() && newer.is_file() && just_fetched.is_file());
        assert_eq!(bound.used(), 900);
    }

    #[test]
    fn the_blob_just_added_stays_even_when_it_alone_exceeds_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let old = blob(dir.path(), 1, 100, 100);
        let bound = CacheBound::new(dir.path(), 1_000);
        // Its mtime says older than everything: it must still stay.
        let huge = blob(dir.path(), 2, 5_000, 1_000);
        let trimmed = bound.added(dir.path(), &huge, 5_000).unwrap();
        assert_eq!(trimmed, Trimmed { removed: 1, freed_bytes: 100, left_bytes: 5_000 });
        assert!(huge.is_file() && !old.exists());
    }

    #[test]
    fn a_trim_corrects_a_count_that_drifted() {
        let dir = tempfile::tempdir().unwrap();
        let bound = CacheBound::new(dir.path(), 1_000);
        // Another process of the node removed blobs this one counted.
        bound.used.store(5_000, Ordering::Relaxed);
        let only = blob(dir.path(), 1, 100, 0);
        let trimmed = bound.added(dir.path(), &only, 100).unwrap();
        assert_eq!(trimmed, Trimmed { removed: 0, freed_bytes: 0, left_bytes: 100 });
        assert_eq!(bound.used(), 100);
    }
}
