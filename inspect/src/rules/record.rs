//! Wheel integrity: every file must be listed in `*.dist-info/RECORD` with
//! the sha256 and size it really has (PEP 376, PEP 427). A wheel whose
//! content was changed after it was built, or that carries files its RECORD
//! hides, fails here. And the metadata must name the project and version
//! the file name says.

use std::collections::HashMap;
use std::str::FromStr;

use crate::archive::Member;
use crate::filename::DistFilename;
use crate::finding::{Finding, Severity};
use crate::report::{Dist, DistKind};
use crate::rules::finding;

/// Files RECORD may leave unhashed: itself and its signatures.
fn exempt(path: &str) -> bool {
    path.ends_with("/RECORD") || path.ends_with("/RECORD.jws") || path.ends_with("/RECORD.p7s")
}

/// urlsafe base64 without padding, as RECORD writes digests.
fn b64_urlsafe(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// True when a RECORD digest is the file's sha256: urlsafe base64 as PEP 376
/// writes it, or the hex digest some build tools write instead (a different
/// spelling of the same hash, not a changed file).
fn same_digest(recorded: &str, actual: &[u8]) -> bool {
    let recorded = recorded.trim_end_matches('=');
    recorded == b64_urlsafe(actual) || recorded.len() == 2 * actual.len() && recorded.eq_ignore_ascii_case(&hex::encode(actual))
}

/// One RECORD row: path, then `sha256=<digest>` and size when given. Paths
/// with commas are quoted, as CSV does.
fn parse_row(line: &str) -> Option<(String, Option<String>, Option<u64>)> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    let path = fields.first()?.clone();
    if path.is_empty() {
        return None;
    }
    let hash = fields.get(1).filter(|h| !h.is_empty()).cloned();
    let size = fields.get(2).and_then(|s| s.trim().parse().ok());
    Some((path, hash, size))
}

pub fn run(dist: &Dist, out: &mut Vec<Finding>) {
    name_and_version(dist, out);
    if dist.kind != DistKind::Wheel {
        return;
    }
    let records: Vec<&Member> = dist.archive.members.iter().filter(|m| m.path.ends_with(".dist-info/RECORD") && m.path.matches('/').count() == 1).collect();
    let [record] = records.as_slice() else {
        out.push(Finding {
            rule: "metadata/record".into(),
            severity: Severity::Medium,
            file: None,
            line: None,
            message: "the wheel has no single *.dist-info/RECORD, so its content cannot be checked against it".into(),
            snippet: None,
            also: Vec::new(),
        });
        return;
    };
    let text = String::from_utf8_lossy(&record.content);
    let mut listed: HashMap<String, (u32, Option<String>, Option<u64>)> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some((path, hash, size)) = parse_row(line) {
            listed.insert(path, (i as u32 + 1, hash, size));
        }
    }
    let mut mismatches = 0;
    for member in &dist.archive.members {
        if exempt(&member.path) {
            continue;
        }
        let Some((line, hash, size)) = listed.get(&member.path) else {
            out.push(finding(
                "metadata/record",
                changed_file_severity(&member.path),
                &member.path,
                None,
                "this file is not listed in RECORD: it was added after the wheel was built".into(),
            ));
            continue;
        };
        let Some(actual) = member.sha256 else { continue };
        let expected = hash.as_deref().and_then(|h| h.strip_prefix("sha256="));
        let size_differs = size.is_some_and(|s| s != member.size);
        let hash_differs = expected.is_some_and(|h| !same_digest(h, &actual));
        if (hash_differs || size_differs) && mismatches < 20 {
            mismatches += 1;
            let row = text.lines().nth(*line as usize - 1).unwrap_or("");
            let (severity, what) = if edited_after_build_by_tools(&member.path) {
                (Severity::Medium, "changed after the wheel was built (tag rewrites and library grafting do this; no Python code changed)")
            } else {
                (changed_file_severity(&member.path), "changed after the wheel was built")
            };
            out.push(finding(
                "metadata/record",
                severity,
                &record.path,
                Some((*line, row)),
                format!("{} does not match its RECORD entry (hash or size differs): {what}", member.path),
            ));
        }
    }
}

/// How much a file changed or added after the build weighs. A native
/// library is re-signed (macOS code signing rewrites a `.so` after the
/// build) or joined by builds for other platforms by release steps, and its
/// content is judged by the binary rules as it is: medium. Changed Python
/// code, a `.pth` file or command metadata is a changed program: high.
fn changed_file_severity(path: &str) -> Severity {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let native = [".so", ".dylib", ".dll", ".pyd"].iter().any(|e| name.ends_with(e)) || name.contains(".so.");
    if native {
        Severity::Medium
    } else {
        Severity::High
    }
}

/// A file that wheel tools rewrite after the build without touching code:
/// the `.dist-info` metadata Python does not run (`METADATA`, `WHEEL`,
/// licences; not `entry_points.txt`, which installs commands) and the
/// shared libraries grafted into a `*.libs/` folder by a repair tool. A
/// mismatch there is a sloppy release step; one in code is a changed program.
fn edited_after_build_by_tools(path: &str) -> bool {
    let mut parts = path.split('/');
    let (Some(top), Some(rest)) = (parts.next(), parts.next()) else { return false };
    let deeper = parts.next().is_some();
    let metadata = top.ends_with(".dist-info") && !deeper && matches!(rest, "METADATA" | "WHEEL" | "top_level.txt")
        || top.ends_with(".dist-info") && rest.to_ascii_lowercase().starts_with("licen");
    let grafted_library = top.ends_with(".libs") && !deeper && (rest.contains(".so") || rest.ends_with(".dll") || rest.ends_with(".dylib"));
    metadata || grafted_library
}

/// The core metadata must name the project and version the file name says.
fn name_and_version(dist: &Dist, out: &mut Vec<Finding>) {
    let Some(meta) = dist.metadata else { return };
    let stem = dist.filename.rsplit('/').next().unwrap_or(dist.filename);
    if dist.kind == DistKind::Sdist && names_the_release_loosely(stem, meta.name.as_deref(), meta.version.as_deref()) {
        return;
    }
    let (file_name, file_version): (String, String) = match dist.kind {
        // Eggs are no format `DistFilename` reads: `name-version-pyX.Y.egg`.
        DistKind::Egg => {
            let mut parts = stem.split('-');
            (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string())
        }
        // A legacy sdist name is ambiguous (`pkg-1.0-post1.tar.gz`): it is
        // split after the metadata's name where it starts with it.
        DistKind::Wheel | DistKind::Sdist => {
            let parsed = match meta.name.as_deref() {
                Some(name) => DistFilename::parse_for_project(stem, name),
                None => DistFilename::parse(stem),
            };
            match parsed {
                Some(f) => (f.name, f.version),
                None => return,
            }
        }
        DistKind::Unknown => return,
    };
    let norm = crate::name::normalize;
    let (file_name, file_version) = (file_name.as_str(), file_version.as_str());
    if let Some(name) = meta.name.as_deref() {
        if !file_name.is_empty() && norm(name) != norm(file_name) {
            out.push(Finding {
                rule: "metadata/name-mismatch".into(),
                severity: Severity::High,
                file: None,
                line: None,
                message: format!("the metadata names project {name:?}, the file name says {file_name:?}"),
                snippet: None,
                also: Vec::new(),
            });
        }
    }
    if let Some(version) = meta.version.as_deref() {
        if !file_version.is_empty() && !same_version(version, file_version) {
            out.push(Finding {
                rule: "metadata/name-mismatch".into(),
                severity: Severity::Medium,
                file: None,
                line: None,
                message: format!("the metadata says version {version:?}, the file name says {file_version:?}"),
                snippet: None,
                also: Vec::new(),
            });
        }
    }
}

/// An sdist named for exactly its metadata's name and version with other
/// separators (`reformat-gherkin 2.1.0.tar.gz`, an upload tool's space for
/// the dash): the same release, which no split of the name at a dash reads.
fn names_the_release_loosely(stem: &str, name: Option<&str>, version: Option<&str>) -> bool {
    let (Some(name), Some(version)) = (name, version) else { return false };
    let base = [".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"].iter().find_map(|ext| {
        stem.len().checked_sub(ext.len()).filter(|&at| stem.is_char_boundary(at) && stem[at..].eq_ignore_ascii_case(ext)).map(|at| &stem[..at])
    });
    let loose = |s: &str| {
        let mut out = String::new();
        for c in s.trim().chars() {
            if matches!(c, '-' | '_' | '.' | ' ') {
                if !out.ends_with('-') {
                    out.push('-');
                }
            } else {
                out.extend(c.to_lowercase());
            }
        }
        out
    };
    base.is_some_and(|base| loose(base) == loose(&format!("{name}-{version}")))
}

/// True when two version strings name the same PEP 440 version (`1.0rc1`
/// and `1.0.0rc1`, `2024.01.05` and `2024.1.5`); versions that are not PEP
/// 440 compare as written, ignoring case and surrounding space.
fn same_version(a: &str, b: &str) -> bool {
    match (pep440_rs::Version::from_str(a.trim()), pep440_rs::Version::from_str(b.trim())) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The findings `name_and_version` reports for a file name and the
    /// name and version its metadata gives.
    fn mismatches(filename: &str, kind: DistKind, name: &str, version: &str) -> Vec<String> {
        let archive = crate::archive::Archive::default();
        let meta = crate::metadata::CoreMetadata { name: Some(name.into()), version: Some(version.into()), ..Default::default() };
        let limits = crate::Limits::default();
        let dist = Dist {
            filename,
            kind,
            archive: &archive,
            metadata: Some(&meta),
            root: String::new(),
            analysis: crate::rules::budget::AnalysisBudget::new(&limits),
        };
        let mut out = Vec::new();
        name_and_version(&dist, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn equal_pep_440_versions_written_differently_are_no_mismatch() {
        assert_eq!(mismatches("demo-1.0.0rc1-py3-none-any.whl", DistKind::Wheel, "demo", "1.0rc1"), Vec::<String>::new());
        assert_eq!(mismatches("calver-2024.01.05.tar.gz", DistKind::Sdist, "calver", "2024.1.5"), Vec::<String>::new());
        let wrong = mismatches("demo-1.0.1-py3-none-any.whl", DistKind::Wheel, "demo", "1.0rc1");
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(wrong[0].contains("version"), "{wrong:?}");
    }

    #[test]
    fn ambiguous_legacy_sdist_names_are_read_with_the_metadata_name() {
        assert_eq!(mismatches("pkg-1.0-post1.tar.gz", DistKind::Sdist, "pkg", "1.0.post1"), Vec::<String>::new());
        assert_eq!(mismatches("foo-bar-1.0.tar.gz", DistKind::Sdist, "foo-bar", "1.0"), Vec::<String>::new());
        // `foo-bar-1.0` is not project `foo` version 1.0: the version differs.
        let other = mismatches("foo-bar-1.0.tar.gz", DistKind::Sdist, "foo", "1.0");
        assert_eq!(other.len(), 1, "{other:?}");
        assert!(other[0].contains("\"bar-1.0\""), "{other:?}");
        let renamed = mismatches("evil-1.0.tar.gz", DistKind::Sdist, "requests", "1.0");
        assert_eq!(renamed, vec!["the metadata names project \"requests\", the file name says \"evil\"".to_string()]);
    }

    #[test]
    fn versions_compare_as_pep_440_versions() {
        assert!(same_version("1.0.0rc1", "1.0rc1"));
        assert!(same_version("2024.01.05", "2024.1.5"));
        assert!(same_version("v1.2", "1.2.0"));
        assert!(!same_version("1.0.1", "1.0"));
        assert!(!same_version("1.0rc1", "1.0"));
        assert!(same_version("not-a-version", "NOT-A-VERSION"));
    }

    #[test]
    fn record_rows_parse_with_quoted_paths() {
        assert_eq!(parse_row("a/b.py,sha256=abc,12"), Some(("a/b.py".into(), Some("sha256=abc".into()), Some(12))));
        assert_eq!(parse_row("\"a,b.py\",sha256=x,1").unwrap().0, "a,b.py");
        assert_eq!(parse_row("pkg.dist-info/RECORD,,"), Some(("pkg.dist-info/RECORD".into(), None, None)));
    }

    #[test]
    fn base64_matches_record_encoding() {
        assert_eq!(b64_urlsafe(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64_urlsafe(b"foo"), "Zm9v");
    }
}
