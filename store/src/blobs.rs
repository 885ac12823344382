//! Content-addressed blob storage on a local folder: `ab/cd/abcd…`.
//! Writes go to a temp file in the same folder tree, are hashed while they
//! stream, fsynced, checked against the expected digest and only then renamed
//! into place, so a blob's path always holds exactly the bytes its name says.
//! Never writes outside its root.
//!
//! With `blob_store = "s3://…"` the blobs live in object storage
//! ([`crate::blob_remote`]) and the folder is this node's cache of them: a
//! write lands in the bucket (through a temporary key) before it lands in
//! the cache, and a read of a blob the cache lacks streams it from the
//! bucket into the cache, checked against its name, first. Blobs never
//! change, so the cache never goes stale; its size is bounded
//! ([`crate::blob_cache`]).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use sha2::{Digest, Sha256 as Sha256Hasher};
use thiserror::Error;

use crate::blob_cache::CacheBound;
use crate::blob_remote::Remote;
use crate::config::BlobLocation;
use crate::domain::Sha256;

#[derive(Debug, Error)]
pub enum BlobError {
    #[error("i/o on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("sha256 mismatch: expected {expected}, got {actual}")]
    HashMismatch { expected: Sha256, actual: Sha256 },
    #[error("blob {0} is not in the store")]
    Missing(Sha256),
    #[error("object store: {what}: {message}")]
    Remote { what: String, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io { path: path.to_path_buf(), source }
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    /// The blobs, or this node's cache of the object store's.
    root: PathBuf,
    remote: Option<Arc<Remote>>,
    /// With an object store: the bound on the cache folder.
    bound: Option<Arc<CacheBound>>,
}

impl BlobStore {
    /// Blobs in the folder `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp")).map_err(io_err(&root))?;
        Ok(BlobStore { root, remote: None, bound: None })
    }

    /// Blobs where `location` says; `cache` is the local folder an object
    /// store's blobs are cached in, holding at most `cache_limit` bytes.
    pub fn open_location(location: &BlobLocation, cache: &Path, cache_limit: u64) -> Result<Self, BlobError> {
        match location {
            BlobLocation::Folder(root) => BlobStore::open(root),
            BlobLocation::S3 { bucket, prefix } => {
                let remote = Remote::new(bucket, prefix)?;
                BlobStore::cached(Arc::new(remote), cache, Some(cache_limit))
            }
        }
    }

    /// An object store's blobs, cached in the folder `cache` (bounded when a limit is given).
    fn cached(remote: Arc<Remote>, cache: &Path, limit: Option<u64>) -> Result<Self, BlobError> {
        let local = BlobStore::open(cache)?;
        let bound = limit.map(|limit| Arc::new(CacheBound::new(&local.root, limit)));
        Ok(BlobStore { remote: Some(remote), bound, ..local })
    }

    /// The blob folder (with an object store: the local cache).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `folder PATH` or `s3://bucket/prefix`, for logs and messages.
    pub fn describe(&self) -> String {
        match &self.remote {
            Some(remote) => remote.url.clone(),
            None => format!("folder {}", self.root.display()),
        }
    }

    /// Whether blobs live in an object store (the folder is only a cache).
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// Readiness: the folder is there (and, with an object store, the bucket answers).
    pub fn check(&self) -> Result<(), BlobError> {
        let tmp = self.root.join("tmp");
        if !tmp.is_dir() {
            return Err(BlobError::Io { path: tmp, source: io::Error::new(io::ErrorKind::NotFound, "the blob folder is gone") });
        }
        match &self.remote {
            Some(remote) => remote.check(),
            None => Ok(()),
        }
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path_of(&self, sha: &Sha256) -> PathBuf {
        blob_path(&self.root, sha)
    }

    /// Whether the blob is stored. With an object store, a blob not in the
    /// cache costs one request (and an unreachable bucket answers false).
    pub fn contains(&self, sha: &Sha256) -> bool {
        if self.path_of(sha).is_file() {
            return true;
        }
        match &self.remote {
            Some(remote) => remote.exists(sha).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not look a blob up");
                false
            }),
            None => false,
        }
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
        if let Some(remote) = &self.remote {
            if !path.is_file() {
                self.fetch(remote, sha)?;
            }
        }
        match File::open(&path) {
            // Trimmed from the cache between the check and the open: once more.
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.remote.is_some() => {
                self.fetch(self.remote.as_deref().expect("checked"), sha)?;
                File::open(&path)
            }
            opened => opened,
        }
        .map_err(|e| match e.kind() {
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

/// Where the blob with this digest lives under the folder `root`: `ab/cd/abcd…`.
pub(crate) fn blob_path(root: &Path, sha: &Sha256) -> PathBuf {
    let s = sha.as_str();
    root.join(&s[0..2]).join(&s[2..4]).join(s)
}

/// The variable naming a local S3-compatible server and bucket for tests,
/// as `http://host:port/bucket` (CI starts one; see `.ci/run`).
pub const TEST_S3_VAR: &str = "AIRLOCK_TEST_S3";

impl BlobStore {
    /// A store in a fresh prefix of the bucket that `AIRLOCK_TEST_S3` names,
    /// cached in `cache`; None when the variable is unset. For tests.
    #[doc(hidden)]
    pub fn on_test_s3(cache: &Path) -> Option<BlobStore> {
        let named = std::env::var(TEST_S3_VAR).ok().filter(|v| !v.is_empty())?;
        let url = url::Url::parse(&named).unwrap_or_else(|e| panic!("{TEST_S3_VAR}={named:?} is not a URL: {e}"));
        let bucket = url.path().trim_matches('/').to_string();
        assert!(!bucket.is_empty(), "{TEST_S3_VAR} must name the bucket: http://host:port/bucket");
        let endpoint = format!("{}://{}", url.scheme(), &url[url::Position::BeforeHost..url::Position::AfterPort]);
        let prefix = format!("test-{}/", hex::encode(rand::random::<[u8; 8]>()));
        let remote = Remote::at_endpoint(&endpoint, &bucket, &prefix).expect("test object store");
        Some(BlobStore::cached(Arc::new(remote), cache, None).expect("cache folder"))
    }

    /// The same bucket and prefix with another cache folder: a second node.
    #[doc(hidden)]
    pub fn with_cache(&self, cache: &Path) -> Result<BlobStore, BlobError> {
        self.with_bounded_cache(cache, None)
    }

    /// The same bucket and prefix with another cache folder of at most `limit` bytes.
    #[doc(hidden)]
    pub fn with_bounded_cache(&self, cache: &Path, limit: Option<u64>) -> Result<BlobStore, BlobError> {
        let remote = self.remote.clone().ok_or_else(|| BlobError::Remote { what: "cache".into(), message: "not an object store".into() })?;
        BlobStore::cached(remote, cache, limit)
    }

    /// Stream a blob from the object store into the cache, checked against its name.
    fn fetch(&self, remote: &Remote, sha: &Sha256) -> Result<(), BlobError> {
        let writer = remote.download(sha, self.writer()?)?;
        writer.commit_local(Some(sha)).map(|_| ())
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
    pub fn commit(self, expected: Option<&Sha256>) -> Result<(Sha256, u64), BlobError> {
        let Some(remote) = self.store.remote.clone() else {
            return self.commit_local(expected);
        };
        let actual = self.digest();
        if let Some(expected) = expected {
            if expected != &actual {
                return Err(BlobError::HashMismatch { expected: expected.clone(), actual });
            }
        }
        let tmp_path = self.file.path().to_path_buf();
        let upload = self.file.reopen().map_err(io_err(&tmp_path))?;
        remote.upload(upload, self.len, &actual)?;
        self.commit_local(Some(&actual))
    }

    /// Fsync and move into the folder (only: for a blob the object store
    /// already holds, or when there is none).
    fn commit_local(mut self, expected: Option<&Sha256>) -> Result<(Sha256, u64), BlobError> {
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
        if let Some(bound) = &self.store.bound {
            bound.added(&self.store.root, &dest, self.len);
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

    /// Run `test` on a local folder store, and on the test object store when
    /// `AIRLOCK_TEST_S3` names one (CI always does).
    fn each_blob_store(test: impl Fn(&BlobStore, &Path)) {
        let dir = tempfile::tempdir().unwrap();
        eprintln!("-- on a folder");
        test(&BlobStore::open(dir.path().join("local")).unwrap(), &dir.path().join("local"));
        match BlobStore::on_test_s3(&dir.path().join("cache")) {
            Some(s3) => {
                eprintln!("-- on {}", s3.describe());
                test(&s3, &dir.path().join("cache"));
            }
            None => eprintln!("-- {TEST_SKIP}"),
        }
    }

    const TEST_SKIP: &str = "AIRLOCK_TEST_S3 is unset: the object store half of this test is skipped (CI sets it; see .ci/run)";

    fn read_all(mut f: File) -> Vec<u8> {
        let mut read = Vec::new();
        f.read_to_end(&mut read).unwrap();
        read
    }

    #[test]
    fn blobs_are_stored_under_their_digest() {
        each_blob_store(|store, root| {
            let sha = store.put(b"hello").unwrap();
            assert_eq!(sha, Sha256::of(b"hello"));
            let path = store.path_of(&sha);
            assert!(path.starts_with(root.join(&sha.as_str()[..2]).join(&sha.as_str()[2..4])));
            assert!(store.contains(&sha));
            assert_eq!(read_all(store.open_verified(&sha).unwrap()), b"hello");
            assert!(store.check().is_ok());
        });
    }

    #[test]
    fn a_wrong_expected_hash_stores_nothing() {
        each_blob_store(|store, root| {
            let mut w = store.writer().unwrap();
            w.write_all(b"payload").unwrap();
            let wrong = Sha256::of(b"other");
            assert!(matches!(w.commit(Some(&wrong)), Err(BlobError::HashMismatch { .. })));
            assert!(!store.contains(&Sha256::of(b"payload")));
            assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0, "temp file left behind");
            if let Some(remote) = &store.remote {
                assert_eq!(remote.keys().unwrap(), Vec::<String>::new(), "nothing reaches the bucket");
            }
        });
    }

    #[test]
    fn a_tampered_blob_fails_verification() {
        each_blob_store(|store, _| {
            let sha = store.put(b"original").unwrap();
            fs::write(store.path_of(&sha), b"tampered").unwrap();
            assert!(matches!(store.open_verified(&sha), Err(BlobError::HashMismatch { .. })));
        });
    }

    #[test]
    fn missing_blobs_are_reported_as_missing() {
        each_blob_store(|store, _| {
            assert!(matches!(store.open_blob(&Sha256::of(b"x")), Err(BlobError::Missing(_))));
            assert!(!store.contains(&Sha256::of(b"x")));
        });
    }

    #[test]
    fn another_node_streams_a_blob_from_the_object_store_and_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        let Some(first) = BlobStore::on_test_s3(&dir.path().join("a")) else { return eprintln!("{TEST_SKIP}") };
        let second = first.with_cache(&dir.path().join("b")).unwrap();
        // Larger than one part: the multipart upload path.
        let big: Vec<u8> = (0..(17 * 1024 * 1024 + 123)).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let (small, large) = (first.put(b"shared bytes").unwrap(), first.put(&big).unwrap());
        assert!(!second.path_of(&small).exists(), "the second node's cache starts empty");
        assert!(second.contains(&small) && second.contains(&large), "the bucket has them");
        assert_eq!(read_all(second.open_verified(&small).unwrap()), b"shared bytes");
        assert_eq!(read_all(second.open_verified(&large).unwrap()), big);
        assert!(second.path_of(&large).is_file(), "a read fills the cache");
        let remote = first.remote.as_ref().unwrap();
        let keys = remote.keys().unwrap();
        assert_eq!(keys.len(), 2, "only the two content addresses, no temporary keys: {keys:?}");
        assert!(keys.iter().all(|k| !k.contains("/tmp/")), "{keys:?}");
        // Bytes changed in the bucket are refused by a node that fetches them.
        let evil = first.put(b"good").unwrap();
        remote.overwrite(&evil, b"evil".to_vec()).unwrap();
        let third = first.with_cache(&dir.path().join("c")).unwrap();
        assert!(matches!(third.open_verified(&evil), Err(BlobError::HashMismatch { .. })));
        assert!(!third.path_of(&evil).exists(), "refused bytes are not cached");
    }

    #[test]
    fn a_bounded_cache_lets_the_oldest_blobs_go_and_fetches_them_again() {
        let dir = tempfile::tempdir().unwrap();
        let Some(first) = BlobStore::on_test_s3(&dir.path().join("a")) else { return eprintln!("{TEST_SKIP}") };
        let blobs: Vec<(Sha256, Vec<u8>)> = (0..5u8)
            .map(|i| {
                let bytes = vec![i; 400];
                (first.put(&bytes).unwrap(), bytes)
            })
            .collect();
        // A node whose cache holds at most 1,000 bytes reads all five.
        let node = first.with_bounded_cache(&dir.path().join("b"), Some(1_000)).unwrap();
        for (sha, bytes) in &blobs {
            assert_eq!(&read_all(node.open_verified(sha).unwrap()), bytes);
            let held: u64 = blobs.iter().filter(|(s, _)| node.path_of(s).is_file()).map(|(_, b)| b.len() as u64).sum();
            assert!(held <= 1_000, "the cache holds {held} bytes, over its bound");
            assert!(node.path_of(sha).is_file(), "the blob just read stays");
        }
        let (first_sha, first_bytes) = &blobs[0];
        assert!(!node.path_of(first_sha).exists(), "the first fetched left the cache");
        assert_eq!(&read_all(node.open_verified(first_sha).unwrap()), first_bytes, "and is fetched again on demand");
    }
}
