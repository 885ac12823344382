//! Rendering the simple index's pages, pure and fast: the `/simple/` root
//! and one project's page, each as PEP 503 HTML and PEP 691 JSON (API 1.1,
//! with PEP 592 yanks, PEP 658/714 metadata hashes and PEP 700 `versions`,
//! `size`, `upload-time`). Everything from a package is escaped: askama
//! escapes the HTML, serde_json the JSON, and file names are percent-encoded
//! in URLs.

use std::collections::BTreeMap;
use std::str::FromStr;

use airlock_store::domain::ProjectName;
use airlock_store::index::IndexFile;
use askama::Template;
use serde_json::{json, Value};

use crate::error::AppError;

/// The API version both formats declare (PEP 700 fields need 1.1).
pub const API_VERSION: &str = "1.1";

/// One page in both formats.
#[derive(Debug, Clone)]
pub struct RenderedPage {
    pub html: String,
    pub json: String,
}

#[derive(Template)]
#[template(path = "simple_root.html")]
struct RootHtml<'a> {
    projects: &'a [String],
}

/// The `/simple/` root: every project with an approved release.
pub fn render_root(projects: &[String]) -> Result<RenderedPage, AppError> {
    let html = RootHtml { projects }.render().map_err(|e| AppError::Internal(e.to_string()))?;
    let json = json!({
        "meta": {"api-version": API_VERSION},
        "projects": projects.iter().map(|p| json!({"name": p})).collect::<Vec<_>>(),
    })
    .to_string();
    Ok(RenderedPage { html, json })
}

struct FileLink<'a> {
    filename: &'a str,
    url: String,
    sha256: &'a str,
    requires_python: Option<&'a str>,
    yanked: Option<&'a str>,
    metadata_sha256: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "simple_project.html")]
struct ProjectHtml<'a> {
    name: &'a str,
    files: Vec<FileLink<'a>>,
}

/// Characters escaped in a URL path segment (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'+')
    .remove(b'!')
    .remove(b'@');

/// Where a file is downloaded from: its approved hash, then its name.
pub fn file_url(sha256: &str, filename: &str) -> String {
    format!("/files/{}/{}", sha256, percent_encoding::utf8_percent_encode(filename, SEGMENT))
}

/// PEP 440 order of the versions that have files (PEP 700 `versions`).
fn sorted_versions(files: &[IndexFile]) -> Vec<&str> {
    let mut by_version: BTreeMap<pep440_rs::Version, &str> = BTreeMap::new();
    let mut unparsable: Vec<&str> = Vec::new();
    for f in files {
        match pep440_rs::Version::from_str(&f.version) {
            Ok(v) => {
                by_version.entry(v).or_insert(f.version.as_str());
            }
            Err(_) => unparsable.push(f.version.as_str()),
        }
    }
    unparsable.sort_unstable();
    unparsable.dedup();
    by_version.into_values().chain(unparsable).collect()
}

/// PEP 691: `yanked` is false, true, or a non-empty reason.
fn yanked_json(reason: Option<&str>) -> Value {
    match reason {
        None => Value::Bool(false),
        Some("") => Value::Bool(true),
        Some(r) => Value::String(r.to_string()),
    }
}

/// One project's page. `files` are its approved files, sorted by name.
pub fn render_project(name: &ProjectName, files: &[IndexFile]) -> Result<RenderedPage, AppError> {
    let links = files
        .iter()
        .map(|f| FileLink {
            filename: &f.filename,
            url: file_url(&f.sha256, &f.filename),
            sha256: &f.sha256,
            requires_python: f.requires_python.as_deref(),
            yanked: f.yanked.as_deref(),
            metadata_sha256: f.metadata_sha256.as_deref(),
        })
        .collect::<Vec<_>>();
    let json_files: Vec<Value> = files
        .iter()
        .zip(&links)
        .map(|(f, link)| {
            let mut entry = json!({
                "filename": f.filename,
                "url": link.url,
                "hashes": {"sha256": f.sha256},
                "requires-python": f.requires_python,
                "size": f.size,
                "yanked": yanked_json(f.yanked.as_deref()),
            });
            match &f.metadata_sha256 {
                Some(m) => {
                    entry["core-metadata"] = json!({"sha256": m});
                    entry["dist-info-metadata"] = json!({"sha256": m});
                }
                None => {
                    entry["core-metadata"] = Value::Bool(false);
                    entry["dist-info-metadata"] = Value::Bool(false);
                }
            }
            if let Some(t) = &f.upload_time {
                entry["upload-time"] = json!(t);
            }
            entry
        })
        .collect();
    let json = json!({
        "meta": {"api-version": API_VERSION},
        "name": name.as_str(),
        "versions": sorted_versions(files),
        "files": json_files,
    })
    .to_string();
    let html = ProjectHtml { name: name.as_str(), files: links }.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(RenderedPage { html, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: &str, filename: &str) -> IndexFile {
        IndexFile {
            release_id: 1,
            version: version.into(),
            filename: filename.into(),
            sha256: "ab".repeat(32),
            size: 123,
            requires_python: Some(">=3.8,<4".into()),
            yanked: None,
            upload_time: Some("2026-01-02T03:04:05.000000Z".into()),
            metadata_sha256: Some("cd".repeat(32)),
        }
    }

    #[test]
    fn versions_follow_pep_440_not_text_order() {
        let files = [file("10.0", "a"), file("9.0", "b"), file("1.0rc1", "c"), file("1.0", "d"), file("9.0", "e")];
        assert_eq!(sorted_versions(&files), ["1.0rc1", "1.0", "9.0", "10.0"]);
    }

    #[test]
    fn html_escapes_requires_python_and_hostile_file_names() {
        let name = ProjectName::parse("demo").unwrap();
        let mut hostile = file("1.0", "demo-1.0\"><script>alert(1)</script>.tar.gz");
        hostile.yanked = Some("a \"quoted\" <reason>".into());
        let page = render_project(&name, &[hostile]).unwrap();
        assert!(page.html.contains("data-requires-python=\"&#62;=3.8,&#60;4\""), "{}", page.html);
        assert!(!page.html.contains("<script>"), "{}", page.html);
        assert!(page.html.contains("&#60;script&#62;"), "{}", page.html);
        assert!(page.html.contains("%22%3E%3Cscript%3E"), "the URL is percent-encoded: {}", page.html);
        assert!(page.html.contains("data-yanked=\"a &#34;quoted&#34; &#60;reason&#62;\""), "{}", page.html);
        let json: Value = serde_json::from_str(&page.json).unwrap();
        assert_eq!(json["files"][0]["filename"], "demo-1.0\"><script>alert(1)</script>.tar.gz");
        assert_eq!(json["files"][0]["yanked"], "a \"quoted\" <reason>");
    }

    #[test]
    fn json_carries_pep_658_700_and_592_fields() {
        let name = ProjectName::parse("demo").unwrap();
        let mut yanked = file("1.0", "demo-1.0.tar.gz");
        yanked.yanked = Some(String::new());
        yanked.metadata_sha256 = None;
        let page = render_project(&name, &[yanked, file("1.1", "demo-1.1-py3-none-any.whl")]).unwrap();
        let json: Value = serde_json::from_str(&page.json).unwrap();
        assert_eq!(json["meta"]["api-version"], "1.1");
        assert_eq!(json["versions"], json!(["1.0", "1.1"]));
        assert_eq!(json["files"][0]["yanked"], json!(true));
        assert_eq!(json["files"][0]["core-metadata"], json!(false));
        assert_eq!(json["files"][1]["yanked"], json!(false));
        assert_eq!(json["files"][1]["core-metadata"]["sha256"], "cd".repeat(32));
        assert_eq!(json["files"][1]["dist-info-metadata"]["sha256"], "cd".repeat(32));
        assert_eq!(json["files"][1]["size"], 123);
        assert_eq!(json["files"][1]["upload-time"], "2026-01-02T03:04:05.000000Z");
        assert!(page.html.contains("data-yanked=\"\""), "{}", page.html);
        assert!(page.html.contains(&format!("data-core-metadata=\"sha256={}\"", "cd".repeat(32))));
    }
}
