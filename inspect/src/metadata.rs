//! Core metadata (METADATA in wheels, PKG-INFO in sdists): RFC 822-style
//! headers, continuation lines folded, repeated fields collected, the body
//! after the first blank line ignored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreMetadata {
    pub metadata_version: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub author_email: Option<String>,
    pub home_page: Option<String>,
    pub license: Option<String>,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub project_urls: Vec<String>,
}

/// The header fields of a metadata file, in order.
pub fn headers(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            out.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

impl CoreMetadata {
    pub fn parse(bytes: &[u8]) -> CoreMetadata {
        let text = String::from_utf8_lossy(bytes);
        let mut m = CoreMetadata::default();
        for (key, value) in headers(&text) {
            let v = Some(value.clone()).filter(|v| !v.is_empty() && v != "UNKNOWN");
            match key.to_ascii_lowercase().as_str() {
                "metadata-version" => m.metadata_version = v,
                "name" => m.name = v,
                "version" => m.version = v,
                "summary" => m.summary = v,
                "author" => m.author = v,
                "author-email" => m.author_email = v,
                "home-page" => m.home_page = v,
                "license" => m.license = v.map(|l| l.lines().next().unwrap_or("").chars().take(200).collect()),
                "requires-python" => m.requires_python = v,
                "requires-dist" => m.requires_dist.extend(v),
                "project-url" => m.project_urls.extend(v),
                _ => {}
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fold_continuations_and_collect_repeats() {
        let text = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: first\n  continued\nRequires-Dist: a>=1\nRequires-Dist: b; extra == \"x\"\nLicense: UNKNOWN\n\nName: body-is-ignored\n";
        let m = CoreMetadata::parse(text.as_bytes());
        assert_eq!(m.name.as_deref(), Some("demo"));
        assert_eq!(m.summary.as_deref(), Some("first\ncontinued"));
        assert_eq!(m.requires_dist, ["a>=1", "b; extra == \"x\""]);
        assert_eq!(m.license, None, "UNKNOWN is no value");
    }

    #[test]
    fn garbage_gives_empty_metadata() {
        let m = CoreMetadata::parse(&[0xff, 0xfe, b'\n', b':']);
        assert_eq!(m.name, None);
    }
}
