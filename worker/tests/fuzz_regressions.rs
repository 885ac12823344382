//! Replays the inputs that once broke the upstream parsers, kept at the
//! workspace root in `fuzz/regressions/upstream_{html,json}/`: crashes the
//! fuzz targets found, and reproducers of defects fixed by hand. Each must
//! now parse, or fail with a clean error, with no panic, and keep its free
//! text within the bound.

use std::path::{Path, PathBuf};

use airlock_worker::upstream::{parse_html_page, parse_json_page, UpstreamFile, MAX_UPSTREAM_TEXT};
use url::Url;

/// Every input kept for `target`, with its path, in name order. The framing
/// is the fuzz targets': a mode byte, then the page. Only the page-as-is
/// mode (an even byte) is kept here; a crash in the generated-page mode is
/// kept as the page the target wrote.
fn pages(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let pages: Vec<(PathBuf, Vec<u8>)> = paths
        .into_iter()
        .map(|path| {
            let data = std::fs::read(&path).unwrap();
            assert_eq!(data.first().map(|m| m % 2), Some(0), "{}: keep a page, after the mode byte 0", path.display());
            (path, data[1..].to_vec())
        })
        .collect();
    assert!(!pages.is_empty(), "the regression corpus is missing from {}", dir.display());
    pages
}

fn page_url() -> Url {
    Url::parse("https://upstream.test/simple/demo/").unwrap()
}

fn assert_bounded(path: &Path, files: &[UpstreamFile]) {
    for f in files {
        for text in [&f.requires_python, &f.yanked, &f.upload_time] {
            assert!(text.as_ref().is_none_or(|t| t.len() <= MAX_UPSTREAM_TEXT), "{}: {f:?}", path.display());
        }
    }
}

#[test]
fn upstream_html_regressions_parse() {
    for (path, page) in pages("upstream_html") {
        let files = parse_html_page(&String::from_utf8_lossy(&page), &page_url());
        assert_bounded(&path, &files);
    }
}

#[test]
fn upstream_json_regressions_parse_or_fail_cleanly() {
    for (path, page) in pages("upstream_json") {
        match parse_json_page(&page, &page_url()) {
            Ok(files) => assert_bounded(&path, &files),
            Err(e) => assert!(e.permanent, "{}: {e:?}", path.display()),
        }
    }
}
