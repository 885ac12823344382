//! Small synthetic packages for the rule tests, built in memory: wheels
//! with a correct RECORD, sdists with PKG-INFO, and readers of what the
//! inspection found. Shared by the test files (each uses a part of it).
#![allow(dead_code)]

use std::io::Write;

use sha2::Digest;

use airlock_inspect::{inspect_archive, Limits, Report, Severity};

pub const METADATA: &str = "Metadata-Version: 2.1\nName: acme\nVersion: 1.0\nSummary: Acme tools\nAuthor: Ann\n";
/// Where a module and a setup script land in the archives built below.
pub const MOD: &str = "acme/mod.py";
pub const SETUP: &str = "acme-1.0/setup.py";

/// A wheel `<stem>-py3-none-any.whl` of `files`, with `metadata` and a correct RECORD.
pub fn wheel_named(stem: &str, metadata: &str, files: &[(&str, &str)]) -> Report {
    let info = format!("{stem}.dist-info");
    let mut all: Vec<(String, String)> = vec![(format!("{info}/METADATA"), metadata.into())];
    all.extend(files.iter().map(|(p, c)| (p.to_string(), c.to_string())));
    let mut record: String = all.iter().map(|(p, c)| format!("{p},sha256={},{}\n", b64(&sha2::Sha256::digest(c)), c.len())).collect();
    record.push_str(&format!("{info}/RECORD,,\n"));
    all.push((format!("{info}/RECORD"), record));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in &all {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    inspect_archive(&format!("{stem}-py3-none-any.whl"), &zip.finish().unwrap().into_inner(), &Limits::default())
}

/// A wheel `acme-1.0` of METADATA and `files` whose RECORD lists each file
/// with the digest `digest` gives it (its real size beside it), or leaves
/// it out when that is None: RECORDs that tell the truth or do not.
pub fn wheel_with_record(files: &[(&str, &[u8])], digest: impl Fn(&str, &[u8]) -> Option<String>) -> Report {
    let mut all: Vec<(String, Vec<u8>)> = vec![("acme-1.0.dist-info/METADATA".into(), METADATA.as_bytes().to_vec())];
    all.extend(files.iter().map(|(p, c)| (p.to_string(), c.to_vec())));
    let mut record: String = all.iter().filter_map(|(p, c)| Some(format!("{p},sha256={},{}\n", digest(p, c)?, c.len()))).collect();
    record.push_str("acme-1.0.dist-info/RECORD,,\n");
    all.push(("acme-1.0.dist-info/RECORD".into(), record.into_bytes()));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in &all {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    inspect_archive("acme-1.0-py3-none-any.whl", &zip.finish().unwrap().into_inner(), &Limits::default())
}

pub fn wheel(files: &[(&str, &str)]) -> Report {
    wheel_named("acme-1.0", METADATA, files)
}

/// A wheel with `source` as `acme/mod.py`.
pub fn module(source: &str) -> Report {
    wheel(&[("acme/__init__.py", ""), (MOD, source)])
}

/// An sdist `acme-1.0.tar.gz`: `files` under `acme-1.0/`, with PKG-INFO.
pub fn sdist(files: &[(&str, &str)]) -> Report {
    sdist_named("acme-1.0", METADATA, files)
}

/// An sdist `<stem>.tar.gz` with `metadata` as PKG-INFO and `files` under `<stem>/`.
pub fn sdist_named(stem: &str, metadata: &str, files: &[(&str, &str)]) -> Report {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, content) in [("PKG-INFO", metadata)].iter().chain(files) {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{stem}/{path}"), content.as_bytes()).unwrap();
    }
    inspect_archive(&format!("{stem}.tar.gz"), &tar.into_inner().unwrap().finish().unwrap(), &Limits::default())
}

/// An sdist whose setup.py is `source`.
pub fn setup_py(source: &str) -> Report {
    sdist(&[("setup.py", source), ("acme/__init__.py", "")])
}

/// (line, severity) of each finding of `rule` in `file`, in line order; line 0 when there is none.
pub fn hits(report: &Report, rule: &str, file: &str) -> Vec<(u32, Severity)> {
    // A finding groups the places where its rule found the same at the same severity.
    let places = report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .flat_map(|f| std::iter::once((f.file.as_deref(), f.line, f.severity)).chain(f.also.iter().map(move |p| (p.file.as_deref(), p.line, f.severity))));
    let mut v: Vec<(u32, Severity)> = places.filter(|(f, _, _)| f.unwrap_or("") == file).map(|(_, line, severity)| (line.unwrap_or(0), severity)).collect();
    v.sort();
    v
}

#[track_caller]
pub fn none(report: &Report, rule: &str) {
    let found: Vec<_> = report.findings.iter().filter(|f| f.rule == rule).collect();
    assert!(found.is_empty(), "{rule} should not fire: {found:#?}");
}

/// urlsafe base64 without padding (RECORD digests, and blobs of random bytes).
pub fn b64(bytes: &[u8]) -> String {
    // The base64 crate, not a copy of the encoder under test.
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` reproducible bytes that look random (xorshift).
pub fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}
