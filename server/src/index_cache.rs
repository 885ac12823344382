//! The simple index's pages, rendered once per change and served from
//! memory. Each format of a page is rendered the first time a client asks
//! for it (from the query result the page keeps). Each body keeps a strong ETag and is compressed (gzip, brotli)
//! the first time a client asks for that encoding. Alongside the pages, the
//! approved files they list, so a download needs no database query either.
//!
//! Eviction is per project (plus the root). A page rendered from a read
//! that raced with an eviction is served but not kept: every fill records
//! the eviction epoch before reading the database and is only stored if no
//! eviction happened since.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use actix_web::http::header::HeaderValue;
use actix_web::web::Bytes;
use airlock_store::index::IndexFile;
use sha2::Digest;

use crate::error::AppError;
use crate::index_render::{PageFormat, PageSource};
use crate::negotiate::Encoding;

/// A response body with its ETags and lazily compressed forms.
#[derive(Debug)]
pub struct Body {
    identity: Bytes,
    /// The strong ETag of each encoding (identity, gzip, brotli), quoted and
    /// ready to send.
    tags: [HeaderValue; 3],
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

/// Below this size compression saves less than the headers it adds.
const COMPRESS_MIN: usize = 512;

impl Body {
    pub fn new(text: String) -> Body {
        let digest = sha2::Sha256::digest(text.as_bytes());
        let tag = hex::encode(&digest[..12]);
        let header = |suffix: &str| HeaderValue::from_str(&format!("\"{tag}{suffix}\"")).expect("hex is a valid header value");
        let tags = [header(""), header("-gz"), header("-br")];
        Body { identity: Bytes::from(text), tags, gzip: OnceLock::new(), brotli: OnceLock::new() }
    }

    /// The bytes to send for `encoding` and the encoding they are in (a
    /// small body is always sent as is).
    pub fn encoded(&self, encoding: Encoding) -> (Bytes, Encoding) {
        if self.identity.len() < COMPRESS_MIN {
            return (self.identity.clone(), Encoding::Identity);
        }
        match encoding {
            Encoding::Identity => (self.identity.clone(), Encoding::Identity),
            Encoding::Gzip => (self.gzip.get_or_init(|| gzip(&self.identity)).clone(), Encoding::Gzip),
            Encoding::Brotli => (self.brotli.get_or_init(|| brotli(&self.identity)).clone(), Encoding::Brotli),
        }
    }

    /// The strong ETag of this body in `encoding` (each encoding is its own
    /// representation, so each has its own tag).
    pub fn etag(&self, encoding: Encoding) -> &HeaderValue {
        match encoding {
            Encoding::Identity => &self.tags[0],
            Encoding::Gzip => &self.tags[1],
            Encoding::Brotli => &self.tags[2],
        }
    }

    pub fn len(&self) -> usize {
        self.identity.len()
    }

    pub fn is_empty(&self) -> bool {
        self.identity.is_empty()
    }
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::new(6));
    enc.write_all(bytes).expect("writing to memory");
    Bytes::from(enc.finish().expect("writing to memory"))
}

fn brotli(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() / 4);
    let params = brotli::enc::BrotliEncoderParams { quality: 6, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("writing to memory");
    Bytes::from(out)
}

/// One page of the index, each format rendered on first use.
#[derive(Debug)]
pub struct CachedPage {
    source: PageSource,
    html: OnceLock<Body>,
    json: OnceLock<Body>,
}

impl CachedPage {
    pub fn new(source: PageSource) -> CachedPage {
        CachedPage { source, html: OnceLock::new(), json: OnceLock::new() }
    }

    /// The page's body in `format`, rendered now if no request needed it yet.
    pub fn body(&self, format: PageFormat) -> Result<&Body, AppError> {
        let cell = match format {
            PageFormat::Html => &self.html,
            PageFormat::Json => &self.json,
        };
        if let Some(body) = cell.get() {
            return Ok(body);
        }
        // Two requests may render at once; both results are equal and one is kept.
        let body = Body::new(self.source.render(format)?);
        Ok(cell.get_or_init(|| body))
    }

    /// The approved files the page lists.
    pub fn files(&self) -> &[IndexFile] {
        self.source.files()
    }
}

/// An approved file as the download route needs it.
#[derive(Debug, Clone)]
pub struct ServableFile {
    pub project: String,
    pub file: IndexFile,
}

#[derive(Default)]
struct Inner {
    root: Option<Arc<CachedPage>>,
    projects: HashMap<String, Arc<CachedPage>>,
    /// Every approved file known to a cached page, by sha256 (a lookup by
    /// `&str` allocates nothing; the same bytes may carry two names).
    files: HashMap<String, Vec<Arc<ServableFile>>>,
}

impl Inner {
    /// Keep one approved file, replacing an entry of the same hash and name.
    fn keep_file(&mut self, servable: ServableFile) {
        let names = self.files.entry(servable.file.sha256.clone()).or_default();
        names.retain(|f| f.file.filename != servable.file.filename);
        names.push(Arc::new(servable));
    }
}

/// A lookup's answer, counted as a hit or a miss for `/metrics`.
fn counted<T>(found: Option<T>) -> Option<T> {
    airlock_store::metrics::PROCESS.index_cache(found.is_some());
    found
}

/// The per-process cache of rendered pages and approved files.
#[derive(Default)]
pub struct IndexCache {
    inner: RwLock<Inner>,
    epoch: AtomicU64,
}

/// A token taken before reading the database for a fill.
#[derive(Debug, Clone, Copy)]
pub struct FillTicket(u64);

impl IndexCache {
    pub fn new() -> IndexCache {
        IndexCache::default()
    }

    /// Take before reading what a fill will store.
    pub fn ticket(&self) -> FillTicket {
        FillTicket(self.epoch.load(Ordering::Acquire))
    }

    pub fn root(&self) -> Option<Arc<CachedPage>> {
        counted(self.inner.read().expect("index cache lock").root.clone())
    }

    pub fn project(&self, name: &str) -> Option<Arc<CachedPage>> {
        counted(self.inner.read().expect("index cache lock").projects.get(name).cloned())
    }

    pub fn file(&self, sha256: &str, filename: &str) -> Option<Arc<ServableFile>> {
        let inner = self.inner.read().expect("index cache lock");
        counted(inner.files.get(sha256).and_then(|names| names.iter().find(|f| f.file.filename == filename).cloned()))
    }

    pub fn store_root(&self, ticket: FillTicket, page: Arc<CachedPage>) {
        let mut inner = self.inner.write().expect("index cache lock");
        if self.epoch.load(Ordering::Acquire) == ticket.0 {
            inner.root = Some(page);
        }
    }

    /// Keep a project's page and the files it lists.
    pub fn store_project(&self, ticket: FillTicket, name: &str, page: Arc<CachedPage>) {
        let mut inner = self.inner.write().expect("index cache lock");
        if self.epoch.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        inner.projects.insert(name.to_string(), page.clone());
        for f in page.files() {
            inner.keep_file(ServableFile { project: name.to_string(), file: f.clone() });
        }
    }

    /// Keep one file found by a download that missed the cache.
    pub fn store_file(&self, ticket: FillTicket, servable: ServableFile) {
        let mut inner = self.inner.write().expect("index cache lock");
        if self.epoch.load(Ordering::Acquire) == ticket.0 {
            inner.keep_file(servable);
        }
    }

    /// Drop a project's page, its files and the root page.
    pub fn evict_project(&self, name: &str) {
        let mut inner = self.inner.write().expect("index cache lock");
        self.epoch.fetch_add(1, Ordering::AcqRel);
        inner.root = None;
        inner.projects.remove(name);
        inner.files.retain(|_, names| {
            names.retain(|f| f.project != name);
            !names.is_empty()
        });
    }

    /// Drop everything (the change feed lost track).
    pub fn clear(&self) {
        let mut inner = self.inner.write().expect("index cache lock");
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *inner = Inner::default();
    }

    /// Cached pages (root included) and files, for logs and tests.
    pub fn sizes(&self) -> (usize, usize) {
        let inner = self.inner.read().expect("index cache lock");
        (inner.projects.len() + usize::from(inner.root.is_some()), inner.files.values().map(Vec::len).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn index_file(sha: &str, name: &str) -> IndexFile {
        IndexFile {
            release_id: 1,
            version: "1.0".into(),
            filename: name.into(),
            sha256: sha.into(),
            size: 1,
            requires_python: None,
            yanked: None,
            upload_time: None,
            metadata_sha256: None,
        }
    }

    fn root_page(text: &str) -> Arc<CachedPage> {
        Arc::new(CachedPage::new(PageSource::Root(vec![text.into()])))
    }

    fn page(name: &str, files: &[IndexFile]) -> Arc<CachedPage> {
        Arc::new(CachedPage::new(PageSource::Project(airlock_store::domain::ProjectName::parse(name).unwrap(), files.to_vec())))
    }

    #[test]
    fn compressed_forms_decode_to_the_body_and_have_their_own_tags() {
        let text = "<a href=\"x\">demo</a>\n".repeat(100);
        let body = Body::new(text.clone());
        let (gz, enc) = body.encoded(Encoding::Gzip);
        assert_eq!(enc, Encoding::Gzip);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
        let (br, _) = body.encoded(Encoding::Brotli);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut out).unwrap();
        assert_eq!(out, text.as_bytes());
        assert!(br.len() < text.len() / 5);
        let tags = [body.etag(Encoding::Identity), body.etag(Encoding::Gzip), body.etag(Encoding::Brotli)];
        assert!(tags[0] != tags[1] && tags[1] != tags[2], "{tags:?}");
        assert_eq!(Body::new(text).etag(Encoding::Identity), tags[0], "the tag depends on the content only");
        let small = Body::new("tiny".into());
        assert_eq!(small.encoded(Encoding::Brotli).1, Encoding::Identity);
    }

    #[test]
    fn eviction_drops_the_project_its_files_and_the_root_only() {
        let cache = IndexCache::new();
        let t = cache.ticket();
        cache.store_root(t, root_page("root"));
        cache.store_project(t, "a", page("a", &[index_file("1", "a.whl")]));
        cache.store_project(t, "b", page("b", &[index_file("2", "b.whl")]));
        assert!(cache.file("1", "a.whl").is_some());
        assert!(cache.file("1", "b.whl").is_none(), "the name must match the hash");
        cache.evict_project("a");
        assert!(cache.root().is_none());
        assert!(cache.project("a").is_none() && cache.file("1", "a.whl").is_none());
        assert!(cache.project("b").is_some() && cache.file("2", "b.whl").is_some());
    }

    #[test]
    fn each_format_is_rendered_on_first_use_and_then_kept() {
        let page = page("demo", &[index_file(&"ab".repeat(32), "demo-1.0-py3-none-any.whl")]);
        let json = page.body(PageFormat::Json).unwrap();
        let (bytes, _) = json.encoded(Encoding::Identity);
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["name"], "demo");
        assert_eq!(value["files"][0]["filename"], "demo-1.0-py3-none-any.whl");
        assert!(std::ptr::eq(json, page.body(PageFormat::Json).unwrap()), "the rendered body is kept");
        let (html, _) = page.body(PageFormat::Html).unwrap().encoded(Encoding::Identity);
        assert!(std::str::from_utf8(&html).unwrap().contains(">demo-1.0-py3-none-any.whl</a>"));
    }

    #[test]
    fn a_fill_that_raced_an_eviction_is_not_kept() {
        let cache = IndexCache::new();
        let stale = cache.ticket();
        cache.evict_project("a");
        cache.store_project(stale, "a", page("a", &[index_file("1", "a.whl")]));
        cache.store_root(stale, root_page("old root"));
        assert!(cache.project("a").is_none() && cache.root().is_none() && cache.file("1", "a.whl").is_none());
        let fresh = cache.ticket();
        cache.store_project(fresh, "a", page("a", &[]));
        assert!(cache.project("a").is_some());
    }
}
