//! Content-addressed blob storage on a local folder: `ab/cd/abcd…`.
//! Writes go to a temp file in the same folder tree, are hashed while they
//! stream, fsynced, checked against the expected digest and only then renamed
//! into place, so a blob's path always holds exactly the bytes its name says.
//! Never writes outside its root.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256 as Sha256Hasher};
use thiserror::Error;

use crate::domain::Sha256;

#[derive(Debug, Error)]
pub enum BlobError {
    #[error("i/o on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("sha256 mismatch: expected {expected}, got {actual}")]
    HashMismatch { expected: Sha256, actual: Sha256 },
    #[error("blob {0} is not in the store")]
    Missing(Sha256),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io { path: path.to_path_buf(), source }
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp")).map_err(io_err(&root))?;
        Ok(BlobStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path_of(&self, sha: &Sha256) -> PathBuf {
        let s = sha.as_str();
        self.root.join(&s[0..2]).join(&s[2..4]).join(s)
    }

    pub fn contains(&self, sha: &Sha256) -> bool {
        self.path_of(sha).is_file()
    }

    /// Start writing a new blob; finish it with [`BlobWriter::commit`].
    pub fn writer(&self) -> Result<BlobWriter, BlobError> {
        let tmp_dir = self.root.join("tmp");
        let file = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        Ok(BlobWriter { store: self.clone(), file, hasher: Sha256Hasher::new(), len: 0 })
    }

    /// Store `bytes` and return their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Sha256, BlobError> {
        let mut w = self.writer()?;
        w.write_all(bytes).map_err(io_err(&self.root))?;
        w.commit(None).map(|(sha, _)| sha)
    }

    /// Open the blob for streaming. Callers that serve it must check the
    /// digest themselves or use [`BlobStore::open_verified`].
    pub fn open_blob(&self, sha: &Sha256) -> Result<File, BlobError> {
        let path = self.path_of(sha);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BlobError::Missing(sha.clone()),
            _ => BlobError::Io { path, source: e },
        })
    }

    /// Open the blob for reading after checking, by streaming it once, that
    /// its content still hashes to its name; the file is rewound to the start.
    /// For large blobs: nothing is held in memory.
    pub fn open_verified(&self, sha: &Sha256) -> Result<File, BlobError> {
        use std::io::Seek;
        let path = self.path_of(sha);
        let mut file = self.open_blob(sha)?;
        let actual = Sha256::of_reader(&mut file).map_err(io_err(&path))?;
        if &actual != sha {
            return Err(BlobError::HashMismatch { expected: sha.clone(), actual });
        }
        file.rewind().map_err(io_err(&path))?;
        Ok(file)
    }
}

/// A blob being written: hashes as it goes, lands atomically on commit, and
/// leaves nothing behind when dropped uncommitted.
pub struct BlobWriter {
    store: BlobStore,
    file: tempfile::NamedTempFile,
    hasher: Sha256Hasher,
    len: u64,
}

impl BlobWriter {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of what was written so far.
    pub fn digest(&self) -> Sha256 {
        Sha256::from_digest(&self.hasher.clone().finalize())
    }

    /// Fsync and move into place. With `expected`, a digest mismatch discards
    /// the bytes and fails; nothing is stored.
    pub fn commit(mut self, expected: Option<&Sha256>) -> Result<(Sha256, u64), BlobError> {
        let actual = self.digest();
        if let Some(expected) = expected {
            if expected != &actual {
                return Err(BlobError::HashMismatch { expected: expected.clone(), actual });
            }
        }
        let tmp_path = self.file.path().to_path_buf();
        self.file.as_file_mut().sync_all().map_err(io_err(&tmp_path))?;
        let dest = self.store.path_of(&actual);
        let parent = dest.parent().unwrap_or(self.store.root.as_path()).to_path_buf();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        self.file.persist(&dest).map_err(|e| BlobError::Io { path: dest.clone(), source: e.error })?;
        if let Ok(dir) = File::open(&parent) {
            let _ = dir.sync_all();
        }
        Ok((actual, self.len))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn blobs_are_stored_under_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let sha = store.put(b"hello").unwrap();
        assert_eq!(sha, Sha256::of(b"hello"));
        let path = store.path_of(&sha);
        assert!(path.starts_with(dir.path().join(&sha.as_str()[..2]).join(&sha.as_str()[2..4])));
        let mut read = Vec::new();
        store.open_verified(&sha).unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, b"hello");
    }

    #[test]
    fn a_wrong_expected_hash_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let mut w = store.writer().unwrap();
        w.write_all(b"payload").unwrap();
        let wrong = Sha256::of(b"other");
        assert!(matches!(w.commit(Some(&wrong)), Err(BlobError::HashMismatch { .. })));
        assert!(!store.contains(&Sha256::of(b"payload")));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "temp file left behind");
    }

    #[test]
    fn a_tampered_blob_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let sha = store.put(b"original").unwrap();
        fs::write(store.path_of(&sha), b"tampered").unwrap();
        assert!(matches!(store.open_verified(&sha), Err(BlobError::HashMismatch { .. })));
    }

    #[test]
    fn missing_blobs_are_reported_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert!(matches!(store.open_blob(&Sha256::of(b"x")), Err(BlobError::Missing(_))));
    }
}
