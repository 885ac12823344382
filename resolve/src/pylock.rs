//! Reading and writing PEP 751 lock files (`pylock.toml`, `lock-version = "1.0"`).
//!
//! The reader takes each `[[packages]]` entry's name, version, marker and
//! the sha256 digests of its wheels and sdist. A package Airlock cannot
//! mirror (from a VCS, a directory or an archive URL, or without a version)
//! is an error on that package, never skipped; the others still import.
//! The writer emits one package per release with its files' absolute URLs,
//! sizes and digests, which installers that read PEP 751 install from.

use std::str::FromStr;

use serde::Serialize;
use toml::{Table, Value};

use crate::lockfile::{sha256_hex, shorten, Entry, LineError, Parsed, Pin};

/// The lock-file version this module reads (any 1.x) and writes.
pub const LOCK_VERSION: &str = "1.0";

/// Read a `pylock.toml` named `source`.
pub fn parse(source: &str, content: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let whole_file_error = |line: usize, message: String| Parsed::unreadable(source, line, message);
    let doc: Table = match toml::from_str(content) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|s| content[..s.start.min(content.len())].lines().count().max(1)).unwrap_or(1);
            return whole_file_error(line, format!("not a TOML file: {}", e.message()));
        }
    };
    match doc.get("lock-version").and_then(Value::as_str) {
        Some(v) if v.split('.').next() == Some("1") => {}
        Some(v) => return whole_file_error(1, format!("lock-version {:?} is not supported (only 1.x, PEP 751)", shorten(v))),
        None => return whole_file_error(1, "no lock-version: not a PEP 751 lock file".into()),
    }
    let Some(packages) = doc.get("packages") else { return parsed };
    let Some(packages) = packages.as_array() else { return whole_file_error(1, "packages is not an array of tables".into()) };
    let headers = header_lines(content);
    for (i, package) in packages.iter().enumerate() {
        // The header's line when the file writes `[[packages]]` tables.
        let line = if headers.len() == packages.len() { headers[i] } else { 0 };
        match package_entry(package) {
            Ok(mut entry) => {
                entry.source = source.to_string();
                entry.line = line;
                parsed.lines.push(Ok(entry));
            }
            Err((text, message)) => {
                let message = if line == 0 { format!("package #{}: {message}", i + 1) } else { message };
                parsed.lines.push(Err(LineError { source: source.to_string(), line, text: shorten(&text), message }));
            }
        }
    }
    parsed
}

/// The 1-based lines of the `[[packages]]` headers, in order.
fn header_lines(content: &str) -> Vec<usize> {
    content.lines().enumerate().filter(|(_, l)| l.split('#').next().unwrap_or("").trim().replace(' ', "") == "[[packages]]").map(|(i, _)| i + 1).collect()
}

/// One package as an entry, or (its name as far as known, why not).
fn package_entry(package: &Value) -> Result<Entry, (String, String)> {
    let table = package.as_table().ok_or_else(|| (String::new(), "a package is not a table".to_string()))?;
    let name = table.get("name").and_then(Value::as_str).ok_or_else(|| (String::new(), "a package has no name".to_string()))?;
    let text = match table.get("version").and_then(Value::as_str) {
        Some(v) => format!("{name}=={v}"),
        None => name.to_string(),
    };
    let fail = |message: String| (text.clone(), message);
    let name = pep508_rs::PackageName::from_str(name).map_err(|e| fail(format!("not a valid project name: {e}")))?;
    for source in ["vcs", "directory", "archive"] {
        if table.contains_key(source) {
            return Err(fail(format!("{name} comes from a {source} source: only releases of the upstream index are supported")));
        }
    }
    let version = table.get("version").and_then(Value::as_str).ok_or_else(|| fail(format!("{name} has no version")))?;
    let version = pep440_rs::Version::from_str(version).map_err(|e| fail(format!("{name}: not a PEP 440 version: {e}")))?;
    let marker = match table.get("marker") {
        None => None,
        Some(Value::String(m)) => {
            let marker = pep508_rs::MarkerTree::from_str(m).map_err(|e| fail(format!("{name}: not a PEP 508 marker: {}", e.message)))?;
            marker.try_to_string()
        }
        Some(_) => return Err(fail(format!("{name}: marker is not a string"))),
    };
    let mut hashes = Vec::new();
    let wheels = match table.get("wheels") {
        None => Vec::new(),
        Some(Value::Array(w)) => w.iter().collect(),
        Some(_) => return Err(fail(format!("{name}: wheels is not an array of tables"))),
    };
    for file in wheels.into_iter().chain(table.get("sdist")) {
        hashes.push(file_sha256(file).map_err(|m| fail(format!("{name}: {m}")))?);
    }
    Ok(Entry { source: String::new(), line: 0, text, name: name.to_string(), extras: Vec::new(), pin: Pin::Exact(version), marker, hashes })
}

/// A wheel's or sdist's sha256, which Airlock needs to check it.
fn file_sha256(file: &Value) -> Result<String, String> {
    let file = file.as_table().ok_or("a file entry is not a table")?;
    let label = file.get("name").and_then(Value::as_str).or_else(|| file.get("url").and_then(Value::as_str)).unwrap_or("a file");
    let hashes = file.get("hashes").and_then(Value::as_table).ok_or_else(|| format!("{} has no hashes", shorten(label)))?;
    match hashes.get("sha256").and_then(Value::as_str) {
        Some(h) => sha256_hex(h).ok_or_else(|| format!("{}: sha256 {:?} is not 64 hex characters", shorten(label), shorten(h))),
        None => Err(format!("{} lists no sha256 hash (Airlock checks sha256 only)", shorten(label))),
    }
}

/// One file of a package in a written lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockedFile {
    pub name: String,
    /// The absolute URL installers download it from.
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub hashes: Hashes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hashes {
    pub sha256: String,
}

/// One release in a written lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// The simple index the files come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdist: Option<LockedFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wheels: Vec<LockedFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct LockFile<'a> {
    lock_version: &'static str,
    created_by: &'a str,
    packages: &'a [LockedPackage],
}

/// Render a PEP 751 lock file of `packages`, with `header` as comment lines on top.
pub fn write(header: &str, created_by: &str, packages: &[LockedPackage]) -> String {
    let body = toml::to_string(&LockFile { lock_version: LOCK_VERSION, created_by, packages }).unwrap_or_else(|e| {
        // Plain strings, numbers and tables always serialize.
        unreachable!("a lock file of strings cannot fail to serialize: {e}")
    });
    let mut out: String = header.lines().map(|l| format!("# {l}\n")).collect();
    out.push_str(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn packages_are_read_with_versions_markers_and_file_hashes() {
        let content = format!(
            r#"lock-version = "1.0"
created-by = "some-locker"
requires-python = ">=3.10"

[[packages]]
name = "Demo_Pkg"
version = "1.0"
marker = "sys_platform == 'win32'"
index = "https://mirror.invalid/simple"
wheels = [
  {{ name = "demo_pkg-1.0-py3-none-any.whl", url = "https://mirror.invalid/demo_pkg-1.0-py3-none-any.whl", size = 10, hashes = {{ sha256 = "{A}" }} }},
]
[packages.sdist]
name = "demo_pkg-1.0.tar.gz"
url = "https://mirror.invalid/demo_pkg-1.0.tar.gz"
hashes = {{ sha256 = "{B}" }}

[[packages]]
name = "from-git"
vcs = {{ type = "git", url = "https://git.invalid/x.git", commit-id = "abc" }}

[[packages]]
name = "no-sha"
version = "2.0"
wheels = [ {{ name = "no_sha-2.0-py3-none-any.whl", hashes = {{ sha512 = "00" }} }} ]

[[packages]]
name = "plain"
version = "3.0"
"#
        );
        let p = parse("pylock.toml", &content);
        let entries = p.entries();
        let [demo, plain] = entries.as_slice() else { panic!("{p:?}") };
        assert_eq!(
            (demo.name.as_str(), demo.pin.clone(), demo.line),
            ("demo-pkg", Pin::Exact("1.0".parse().unwrap()), 5),
            "the header line of the first package"
        );
        assert_eq!(demo.hashes, [A, B]);
        assert_eq!(demo.marker.as_deref(), Some("sys_platform == 'win32'"));
        assert_eq!(demo.text, "Demo_Pkg==1.0");
        let at = |needle: &str| content.lines().position(|l| l.contains(needle)).unwrap();
        assert_eq!((plain.name.as_str(), plain.hashes.len(), plain.line), ("plain", 0, at("\"plain\"")));
        let errors: Vec<(usize, &str)> = p.errors().iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].0, at("\"from-git\""));
        assert!(errors[0].1.contains("vcs source"), "{}", errors[0].1);
        assert_eq!(errors[1].0, at("\"no-sha\""));
        assert!(errors[1].1.contains("no sha256"), "{}", errors[1].1);
    }

    #[test]
    fn files_that_are_not_pep_751_are_refused_whole() {
        let p = parse("x.toml", "lock-version = \"2.0\"\n");
        assert!(p.errors()[0].message.contains("not supported"), "{:?}", p.errors());
        let p = parse("x.toml", "[tool]\n");
        assert!(p.errors()[0].message.contains("no lock-version"), "{:?}", p.errors());
        let p = parse("x.toml", "lock-version = \"1.0\"\n\n[[packages]\n");
        assert_eq!(p.errors()[0].line, 3, "{:?}", p.errors());
        assert!(p.errors()[0].message.starts_with("not a TOML file"), "{:?}", p.errors());
    }

    #[test]
    fn inline_package_arrays_are_numbered_instead_of_lined() {
        let p = parse("x.toml", "lock-version = \"1.0\"\npackages = [ { name = \"a\", version = \"1\" }, { name = \"b\" } ]\n");
        assert_eq!(p.entries().len(), 1);
        assert_eq!((p.errors()[0].line, p.errors()[0].message.as_str()), (0, "package #2: b has no version"));
    }

    #[test]
    fn written_lock_files_read_back_the_same() {
        let file = |name: &str, sha: &str| LockedFile {
            name: name.into(),
            url: format!("http://airlock.test/files/{sha}/{name}"),
            size: Some(123),
            hashes: Hashes { sha256: sha.into() },
        };
        let packages = vec![
            LockedPackage {
                name: "demo".into(),
                version: "1.0".into(),
                marker: None,
                index: Some("http://airlock.test/simple/".into()),
                sdist: Some(file("demo-1.0.tar.gz", B)),
                wheels: vec![file("demo-1.0-py3-none-any.whl", A)],
            },
            LockedPackage {
                name: "other".into(),
                version: "2.0".into(),
                marker: Some("python_full_version >= '3.11'".into()),
                index: None,
                sdist: None,
                wheels: vec![file("other-2.0-py3-none-any.whl", A)],
            },
        ];
        let text = write("Exported by Airlock", "airlock", &packages);
        assert!(text.starts_with("# Exported by Airlock\nlock-version = \"1.0\"\ncreated-by = \"airlock\"\n"), "{text}");
        let p = parse("pylock.toml", &text);
        assert!(p.errors().is_empty(), "{:?}\n{text}", p.errors());
        let back: Vec<(String, String, Option<String>, Vec<String>)> =
            p.entries().iter().map(|e| (e.name.clone(), e.text.clone(), e.marker.clone(), e.hashes.clone())).collect();
        assert_eq!(
            back,
            [
                ("demo".into(), "demo==1.0".into(), None, vec![A.to_string(), B.to_string()]),
                ("other".into(), "other==2.0".into(), Some("python_full_version >= '3.11'".into()), vec![A.to_string()]),
            ]
        );
        let doc: Table = toml::from_str(&text).unwrap();
        let url = doc["packages"][0]["wheels"][0]["url"].as_str().unwrap();
        assert_eq!(url, format!("http://airlock.test/files/{A}/demo-1.0-py3-none-any.whl"));
    }
}
