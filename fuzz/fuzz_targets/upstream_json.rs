//! The upstream's PEP 691 JSON project page: `upstream::parse_json_page`.
//! The first byte picks the mode:
//! - even: the rest is the body. It parses or is a permanent error, never a
//!   panic, and the free text kept is bounded.
//! - odd: the rest describes files, which the target writes as a JSON page.
//!   The parser must give back each file whose URL resolves, with its name,
//!   its URL resolved against the page, its sha256 when that is one, its
//!   size, and its free text (cut to the bound, at a character boundary).
#![no_main]

use airlock_worker::upstream::{parse_json_page, UpstreamFile, MAX_UPSTREAM_TEXT};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use url::Url;

#[derive(Arbitrary, Debug)]
enum Hash {
    /// A real digest, in upper or lower case, maybe padded with spaces.
    Digest([u8; 32], bool, bool),
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum Yanked {
    Flag(bool),
    Reason(String),
}

#[derive(Arbitrary, Debug)]
struct File {
    filename: String,
    url: String,
    sha256: Option<Hash>,
    md5: Option<String>,
    requires_python: Option<String>,
    yanked: Option<Yanked>,
    size: Option<u64>,
    upload_time: Option<String>,
    /// Absent optional fields written as `null` instead of left out.
    nulls: bool,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let page = Url::parse("https://upstream.test/simple/demo/").unwrap();
    if mode % 2 == 0 {
        match parse_json_page(rest, &page) {
            Ok(files) => files.iter().for_each(assert_bounded),
            Err(e) => assert!(e.permanent, "a malformed page is a permanent error: {e:?}"),
        }
        return;
    }
    let Ok(files) = Vec::<File>::arbitrary_take_rest(Unstructured::new(rest)) else { return };
    let body = serde_json::to_vec(&json!({
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": files.iter().map(to_json).collect::<Vec<_>>(),
    }))
    .unwrap();
    let parsed = parse_json_page(&body, &page).expect("a well-formed page parses");
    let wanted: Vec<(Url, &File)> = files.iter().filter_map(|f| Some((page.join(&f.url).ok()?, f))).collect();
    assert_eq!(parsed.len(), wanted.len());
    for (got, (url, want)) in parsed.iter().zip(wanted) {
        assert_eq!(got.filename, want.filename);
        assert_eq!(got.url, url);
        assert_eq!(got.sha256.as_ref().map(|s| s.as_str().to_string()), want.sha256.as_ref().and_then(digest));
        assert_eq!(got.size, want.size);
        let yanked = match &want.yanked {
            None | Some(Yanked::Flag(false)) => None,
            Some(Yanked::Flag(true)) => Some(String::new()),
            Some(Yanked::Reason(r)) => Some(r.clone()),
        };
        assert_cut(&got.yanked, &yanked);
        assert_cut(&got.requires_python, &want.requires_python);
        assert_cut(&got.upload_time, &want.upload_time);
        assert_bounded(got);
    }
});

fn to_json(f: &File) -> Value {
    let mut o = Map::new();
    o.insert("filename".into(), json!(f.filename));
    o.insert("url".into(), json!(f.url));
    let mut hashes = Map::new();
    if let Some(h) = &f.sha256 {
        hashes.insert("sha256".into(), json!(hash_text(h)));
    }
    if let Some(md5) = &f.md5 {
        hashes.insert("md5".into(), json!(md5));
    }
    o.insert("hashes".into(), Value::Object(hashes));
    let mut optional = |key: &str, value: Option<Value>| match value {
        Some(v) => drop(o.insert(key.into(), v)),
        None if f.nulls => drop(o.insert(key.into(), Value::Null)),
        None => {}
    };
    optional("requires-python", f.requires_python.as_ref().map(|v| json!(v)));
    optional(
        "yanked",
        f.yanked.as_ref().map(|y| match y {
            Yanked::Flag(b) => json!(b),
            Yanked::Reason(r) => json!(r),
        }),
    );
    optional("size", f.size.map(|v| json!(v)));
    optional("upload-time", f.upload_time.as_ref().map(|v| json!(v)));
    Value::Object(o)
}

fn hash_text(h: &Hash) -> String {
    match h {
        Hash::Digest(bytes, upper, padded) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let hex = if *upper { hex.to_ascii_uppercase() } else { hex };
            if *padded {
                format!(" {hex}\t")
            } else {
                hex
            }
        }
        Hash::Text(t) => t.clone(),
    }
}

/// The digest a hash field names, in lower case: None unless it is 64 hex
/// digits (around spaces).
fn digest(h: &Hash) -> Option<String> {
    let t = hash_text(h).trim().to_ascii_lowercase();
    (t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).then_some(t)
}

/// `kept` is `had`, or when that was too long, its longest prefix within
/// the bound.
fn assert_cut(kept: &Option<String>, had: &Option<String>) {
    assert_eq!(kept.is_some(), had.is_some());
    if let (Some(kept), Some(had)) = (kept, had) {
        assert!(had.starts_with(kept.as_str()), "{kept:?} is not a prefix of {had:?}");
        assert!(kept.len() == had.len() || kept.len() + 4 > MAX_UPSTREAM_TEXT, "{kept:?} was cut short");
    }
}

fn assert_bounded(f: &UpstreamFile) {
    for text in [&f.requires_python, &f.yanked, &f.upload_time] {
        assert!(text.as_ref().is_none_or(|t| t.len() <= MAX_UPSTREAM_TEXT));
    }
}
