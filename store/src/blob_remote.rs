//! Blobs on S3-compatible object storage (`blob_store = "s3://bucket/prefix"`),
//! for several nodes sharing one store. Built on the `object_store` crate;
//! credentials, region and endpoint come from the usual `AWS_*` variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, …), never from Airlock's own config.
//!
//! A blob's key is its content address under the prefix (`ab/cd/abcd…`).
//! Nothing is ever visible at a content address half-written: the bytes are
//! hashed and checked locally first, uploaded to a temporary key
//! (`tmp/<random>`, each part carrying its sha256 for the server to check),
//! their size checked, and only then copied to the content address in one
//! server-side step; the temporary key is deleted after.
//!
//! The blob store's interface is synchronous (its callers are blocking
//! threads), so these calls run on a small runtime of their own and the
//! caller's thread waits for the answer.

use std::future::Future;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path as Key;
#[cfg(test)]
use object_store::ObjectStore;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};

use crate::blobs::{BlobError, BlobWriter};
use crate::domain::Sha256;

/// Up to this size a blob is uploaded in one request; larger ones in parts
/// of this size (S3 wants parts of at least 5 MiB).
const PART_BYTES: usize = 16 * 1024 * 1024;
/// Parts of one blob in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// A bucket and prefix on S3-compatible storage.
#[derive(Debug)]
pub(crate) struct Remote {
    store: Arc<AmazonS3>,
    /// `s3://bucket/prefix`, for messages.
    pub(crate) url: String,
    prefix: String,
}

/// The runtime the object store's requests run on; never dropped (dropping
/// a runtime from within another one panics).
fn io_runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("airlock-blob-io")
            .enable_all()
            .build()
            .expect("cannot start the blob store's I/O runtime")
    })
}

impl Remote {
    pub(crate) fn new(bucket: &str, prefix: &str) -> Result<Remote, BlobError> {
        let url = format!("s3://{bucket}/{prefix}");
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_checksum_algorithm(Checksum::SHA256)
            .build()
            .map_err(|e| BlobError::Remote { what: format!("configuring {url}"), message: e.to_string() })?;
        Ok(Remote { store: Arc::new(store), url, prefix: prefix.to_string() })
    }

    /// A bucket on the S3-compatible server at `endpoint` (plain HTTP allowed,
    /// throwaway credentials): for tests against a local server.
    pub(crate) fn at_endpoint(endpoint: &str, bucket: &str, prefix: &str) -> Result<Remote, BlobError> {
        let url = format!("s3://{bucket}/{prefix}");
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_bucket_name(bucket)
            .with_checksum_algorithm(Checksum::SHA256)
            .build()
            .map_err(|e| BlobError::Remote { what: format!("configuring {url}"), message: e.to_string() })?;
        Ok(Remote { store: Arc::new(store), url, prefix: prefix.to_string() })
    }

    /// Every key under the prefix (for tests: what a write left behind).
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Result<Vec<String>, BlobError> {
        let (store, prefix, url) = (self.store.clone(), Key::from(self.prefix.as_str()), self.url.clone());
        self.wait("listing", async move {
            let mut keys = Vec::new();
            let mut listing = store.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(|e| BlobError::Remote { what: format!("listing {url}"), message: e.to_string() })?;
                keys.push(meta.location.to_string());
            }
            Ok(keys)
        })
    }

    /// Replace a blob's bytes behind the store's back (for tests: tampering).
    #[cfg(test)]
    pub(crate) fn overwrite(&self, sha: &Sha256, bytes: Vec<u8>) -> Result<(), BlobError> {
        let (store, key, err) = (self.store.clone(), self.key(sha), self.err("overwriting"));
        self.wait("overwriting", async move { store.put(&key, PutPayload::from(bytes)).await.map(|_| ()).map_err(err) })
    }

    /// Run `fut` on the I/O runtime; this thread waits for its answer.
    fn wait<T: Send + 'static>(&self, what: &str, fut: impl Future<Output = Result<T, BlobError>> + Send + 'static) -> Result<T, BlobError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        io_runtime().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().unwrap_or_else(|_| Err(BlobError::Remote { what: what.to_string(), message: "the request's task stopped".into() }))
    }

    fn err(&self, what: &str) -> impl FnOnce(object_store::Error) -> BlobError + use<> {
        let what = format!("{what} on {}", self.url);
        move |e| BlobError::Remote { what, message: e.to_string() }
    }

    fn key(&self, sha: &Sha256) -> Key {
        let s = sha.as_str();
        Key::from(format!("{}{}/{}/{s}", self.prefix, &s[0..2], &s[2..4]))
    }

    /// Whether the blob is stored.
    pub(crate) fn exists(&self, sha: &Sha256) -> Result<bool, BlobError> {
        let (store, key, err) = (self.store.clone(), self.key(sha), self.err(&format!("looking up blob {sha}")));
        self.wait("looking up a blob", async move {
            match store.head(&key).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(err(e)),
            }
        })
    }

    /// The bucket answers (a missing probe key is an answer).
    pub(crate) fn check(&self) -> Result<(), BlobError> {
        let (store, key, err) = (self.store.clone(), Key::from(format!("{}readyz", self.prefix)), self.err("checking the bucket"));
        self.wait("checking the bucket", async move {
            match store.head(&key).await {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(err(e)),
            }
        })
    }

    /// Upload `len` bytes from `file` (already hashed to `sha`) to the
    /// blob's content address, through a temporary key.
    pub(crate) fn upload(&self, mut file: std::fs::File, len: u64, sha: &Sha256) -> Result<(), BlobError> {
        let tmp = Key::from(format!("{}tmp/{}", self.prefix, hex::encode(rand::random::<[u8; 16]>())));
        let (store, dest, url) = (self.store.clone(), self.key(sha), self.url.clone());
        let fail = move |what: &str, message: String| BlobError::Remote { what: format!("{what} on {url}"), message };
        self.wait("uploading a blob", async move {
            let uploaded = async {
                if len as usize <= PART_BYTES {
                    let mut bytes = Vec::with_capacity(len as usize);
                    file.read_to_end(&mut bytes).map_err(|e| fail("reading the blob to upload", e.to_string()))?;
                    store.put(&tmp, PutPayload::from(bytes)).await.map_err(|e| fail("uploading", e.to_string()))?;
                } else {
                    let upload = store.put_multipart(&tmp).await.map_err(|e| fail("starting an upload", e.to_string()))?;
                    let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
                    let mut buf = vec![0u8; 1024 * 1024];
                    loop {
                        let n = match file.read(&mut buf) {
                            Ok(n) => n,
                            Err(e) => {
                                let _ = parts.abort().await;
                                return Err(fail("reading the blob to upload", e.to_string()));
                            }
                        };
                        if n == 0 {
                            break;
                        }
                        parts.write(&buf[..n]);
                        parts.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| fail("uploading a part", e.to_string()))?;
                    }
                    parts.finish().await.map_err(|e| fail("finishing an upload", e.to_string()))?;
                }
                let stored = store.head(&tmp).await.map_err(|e| fail("checking an upload", e.to_string()))?;
                if stored.size != len {
                    return Err(fail("checking an upload", format!("{} bytes arrived of {len}", stored.size)));
                }
                store.copy(&tmp, &dest).await.map_err(|e| fail("committing an upload", e.to_string()))
            }
            .await;
            if let Err(e) = store.delete(&tmp).await {
                if !matches!(e, object_store::Error::NotFound { .. }) {
                    tracing::warn!(error = %e, key = %tmp, "could not delete a temporary upload");
                }
            }
            uploaded
        })
    }

    /// Stream the blob `sha` into `writer` (which hashes what it is given)
    /// and hand the writer back.
    pub(crate) fn download(&self, sha: &Sha256, mut writer: BlobWriter) -> Result<BlobWriter, BlobError> {
        let (store, key, missing, err) = (self.store.clone(), self.key(sha), sha.clone(), self.err(&format!("reading blob {sha}")));
        self.wait("reading a blob", async move {
            let got = match store.get(&key).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Err(BlobError::Missing(missing)),
                Err(e) => return Err(err(e)),
            };
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| BlobError::Remote { what: format!("reading blob {missing}"), message: e.to_string() })?;
                std::io::Write::write_all(&mut writer, &chunk)
                    .map_err(|e| BlobError::Remote { what: format!("caching blob {missing}"), message: e.to_string() })?;
            }
            Ok(writer)
        })
    }
}
