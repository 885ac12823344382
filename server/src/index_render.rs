//! Rendering the simple index's pages, pure and fast: the `/simple/` root
//! and one project's page, each as PEP 503 HTML and PEP 691 JSON (API 1.1,
//! with PEP 592 yanks, PEP 658/714 metadata hashes and PEP 700 `versions`,
//! `size`, `upload-time`). Everything from a package is escaped: askama
//! the HTML is escaped by hand (these pages are hot), serde_json escapes the JSON, and file names are percent-encoded
//! in URLs.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use airlock_store::domain::ProjectName;
use airlock_store::index::IndexFile;
use serde::Serialize;

use crate::error::AppError;

/// The API version both formats declare (PEP 700 fields need 1.1).
pub const API_VERSION: &str = "1.1";

/// One page in both formats.
#[derive(Debug, Clone)]
pub struct RenderedPage {
    pub html: String,
    pub json: String,
}

/// The two formats of an index page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    /// PEP 503 HTML.
    Html,
    /// PEP 691 JSON.
    Json,
}

/// What a page is rendered from. The cache keeps it so that each format is
/// rendered only when a client first asks for it: an uncached request pays
/// for the query and one format, not both.
#[derive(Debug, Clone)]
pub enum PageSource {
    /// The `/simple/` root: projects with an approved release, sorted.
    Root(Vec<String>),
    /// A project's page: its approved files, sorted by name.
    Project(ProjectName, Vec<IndexFile>),
}

impl PageSource {
    pub fn render(&self, format: PageFormat) -> Result<String, AppError> {
        match (self, format) {
            (PageSource::Root(projects), PageFormat::Html) => Ok(root_html(projects)),
            (PageSource::Root(projects), PageFormat::Json) => root_json(projects),
            (PageSource::Project(name, files), PageFormat::Html) => Ok(project_html(name, files)),
            (PageSource::Project(name, files), PageFormat::Json) => project_json(name, files),
        }
    }

    /// The approved files a project page lists (none for the root).
    pub fn files(&self) -> &[IndexFile] {
        match self {
            PageSource::Root(_) => &[],
            PageSource::Project(_, files) => files,
        }
    }
}

#[derive(Serialize)]
struct Meta {
    #[serde(rename = "api-version")]
    api_version: &'static str,
}

const META: Meta = Meta { api_version: API_VERSION };

#[derive(Serialize)]
struct RootJson<'a> {
    meta: Meta,
    projects: Vec<ProjectEntry<'a>>,
}

#[derive(Serialize)]
struct ProjectEntry<'a> {
    name: &'a str,
}

/// HTML-escape `text` into `out`: the five characters that matter in text
/// and in double- or single-quoted attribute values.
fn escape_into(out: &mut String, text: &str) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(entity);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

fn to_json<T: Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(format!("rendering JSON: {e}")))
}

/// The `/simple/` root: every project with an approved release.
pub fn render_root(projects: &[String]) -> Result<RenderedPage, AppError> {
    Ok(RenderedPage { html: root_html(projects), json: root_json(projects)? })
}

fn root_html(projects: &[String]) -> String {
    let mut html = String::with_capacity(256 + projects.len() * 64);
    html.push_str("<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Simple index</title></head>\n<body>\n");
    for p in projects {
        // Project names are normalized (letters, digits and dashes), but escape anyway.
        html.push_str("<a href=\"/simple/");
        escape_into(&mut html, p);
        html.push_str("/\">");
        escape_into(&mut html, p);
        html.push_str("</a><br>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn root_json(projects: &[String]) -> Result<String, AppError> {
    to_json(&RootJson { meta: META, projects: projects.iter().map(|name| ProjectEntry { name }).collect() })
}

/// Characters escaped in a URL path segment (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'+').remove(b'!').remove(b'@');

/// Where a file is downloaded from: its approved hash, then its name.
pub fn file_url(sha256: &str, filename: &str) -> String {
    let mut url = String::with_capacity(8 + sha256.len() + filename.len());
    push_file_url(&mut url, sha256, filename);
    url
}

fn push_file_url(out: &mut String, sha256: &str, filename: &str) {
    out.push_str("/files/");
    out.push_str(sha256);
    out.push('/');
    out.extend(percent_encoding::utf8_percent_encode(filename, SEGMENT));
}

/// PEP 440 order of the versions that have files (PEP 700 `versions`).
fn sorted_versions(files: &[IndexFile]) -> Vec<&str> {
    let mut by_version: BTreeMap<pep440_rs::Version, &str> = BTreeMap::new();
    let mut unparsable: Vec<&str> = Vec::new();
    // Parse each distinct version once: a release has several files.
    let distinct: HashSet<&str> = files.iter().map(|f| f.version.as_str()).collect();
    for version in distinct {
        match pep440_rs::Version::from_str(version) {
            Ok(v) => {
                by_version.entry(v).or_insert(version);
            }
            Err(_) => unparsable.push(version),
        }
    }
    unparsable.sort_unstable();
    unparsable.dedup();
    by_version.into_values().chain(unparsable).collect()
}

/// PEP 691 `yanked`: false, true, or a non-empty reason.
#[derive(Serialize)]
#[serde(untagged)]
enum Yanked<'a> {
    Flag(bool),
    Reason(&'a str),
}

impl<'a> Yanked<'a> {
    fn of(reason: Option<&'a str>) -> Yanked<'a> {
        match reason {
            None => Yanked::Flag(false),
            Some("") => Yanked::Flag(true),
            Some(r) => Yanked::Reason(r),
        }
    }
}

/// PEP 658/714 metadata: `{"sha256": …}` or false.
#[derive(Serialize)]
#[serde(untagged)]
enum CoreMetadata<'a> {
    Absent(bool),
    Hashes { sha256: &'a str },
}

impl<'a> CoreMetadata<'a> {
    fn of(sha256: Option<&'a str>) -> CoreMetadata<'a> {
        sha256.map_or(CoreMetadata::Absent(false), |sha256| CoreMetadata::Hashes { sha256 })
    }
}

#[derive(Serialize)]
struct Hashes<'a> {
    sha256: &'a str,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    filename: &'a str,
    url: &'a str,
    hashes: Hashes<'a>,
    #[serde(rename = "requires-python", skip_serializing_if = "Option::is_none")]
    requires_python: Option<&'a str>,
    size: i64,
    yanked: Yanked<'a>,
    #[serde(rename = "core-metadata")]
    core_metadata: CoreMetadata<'a>,
    #[serde(rename = "dist-info-metadata")]
    dist_info_metadata: CoreMetadata<'a>,
    #[serde(rename = "upload-time", skip_serializing_if = "Option::is_none")]
    upload_time: Option<&'a str>,
}

#[derive(Serialize)]
struct ProjectJson<'a> {
    meta: Meta,
    name: &'a str,
    versions: Vec<&'a str>,
    files: Vec<JsonFile<'a>>,
}

/// One project's page. `files` are its approved files, sorted by name.
pub fn render_project(name: &ProjectName, files: &[IndexFile]) -> Result<RenderedPage, AppError> {
    Ok(RenderedPage { html: project_html(name, files), json: project_json(name, files)? })
}

fn project_html(name: &ProjectName, files: &[IndexFile]) -> String {
    let mut html = String::with_capacity(256 + files.len() * 400);
    html.push_str("<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for ");
    escape_into(&mut html, name.as_str());
    html.push_str("</title></head>\n<body>\n<h1>Links for ");
    escape_into(&mut html, name.as_str());
    html.push_str("</h1>\n");
    for f in files {
        // The URL is percent-encoded (no character that needs escaping survives).
        html.push_str("<a href=\"");
        push_file_url(&mut html, &f.sha256, &f.filename);
        html.push_str("#sha256=");
        escape_into(&mut html, &f.sha256);
        html.push('"');
        if let Some(rp) = &f.requires_python {
            html.push_str(" data-requires-python=\"");
            escape_into(&mut html, rp);
            html.push('"');
        }
        if let Some(reason) = &f.yanked {
            html.push_str(" data-yanked=\"");
            escape_into(&mut html, reason);
            html.push('"');
        }
        if let Some(m) = &f.metadata_sha256 {
            let _ = write!(html, " data-dist-info-metadata=\"sha256={m}\" data-core-metadata=\"sha256={m}\"", m = Escaped(m));
        }
        html.push('>');
        escape_into(&mut html, &f.filename);
        html.push_str("</a><br>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn project_json(name: &ProjectName, files: &[IndexFile]) -> Result<String, AppError> {
    let urls: Vec<String> = files.iter().map(|f| file_url(&f.sha256, &f.filename)).collect();
    to_json(&ProjectJson {
        meta: META,
        name: name.as_str(),
        versions: sorted_versions(files),
        files: files
            .iter()
            .zip(&urls)
            .map(|(f, url)| JsonFile {
                filename: &f.filename,
                url,
                hashes: Hashes { sha256: &f.sha256 },
                requires_python: f.requires_python.as_deref(),
                size: f.size,
                yanked: Yanked::of(f.yanked.as_deref()),
                core_metadata: CoreMetadata::of(f.metadata_sha256.as_deref()),
                dist_info_metadata: CoreMetadata::of(f.metadata_sha256.as_deref()),
                upload_time: f.upload_time.as_deref(),
            })
            .collect(),
    })
}

/// Display adapter that HTML-escapes.
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(self.0.len());
        escape_into(&mut s, self.0);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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
        assert!(page.html.contains("data-requires-python=\"&gt;=3.8,&lt;4\""), "{}", page.html);
        assert!(!page.html.contains("<script>"), "{}", page.html);
        assert!(page.html.contains("&lt;script&gt;"), "{}", page.html);
        assert!(page.html.contains("%22%3E%3Cscript%3E"), "the URL is percent-encoded: {}", page.html);
        assert!(page.html.contains("data-yanked=\"a &quot;quoted&quot; &lt;reason&gt;\""), "{}", page.html);
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
