//! Replays every input the fuzzers once crashed on (`fuzz/regressions/<target>/`):
//! each must now give a report that serializes, with no panic, and that
//! shows what the crash was about was fixed (each file's expectation is
//! below; a new regression file needs one).

use std::path::Path;

use airlock_inspect::{inspect_archive, Capability, DistKind, Limits, Severity};

const NAMES: [&str; 6] = ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0.tar.bz2", "demo-1.0.zip", "demo-1.0.tar", "demo-1.0-py3.11.egg"];

#[test]
fn archive_regressions_give_reports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/archive");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // Same framing as fuzz_targets/archive.rs: the first byte picks the reader.
        let Some((&selector, archive)) = data.split_first() else { continue };
        let name = NAMES[selector as usize % NAMES.len()];
        // The fuzz target's own limits, so a replay takes the path the crash took.
        let limits = Limits {
            max_total_bytes: 64 * 1024 * 1024,
            max_entries: 10_000,
            max_ratio: 200,
            max_path_len: 1024,
            max_depth: 64,
            max_file_bytes: 16 * 1024 * 1024,
            analysis_budget_per_file: 2_000_000,
            analysis_budget_per_archive: 10_000_000,
        };
        let report = inspect_archive(name, archive, &limits);
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"findings\""), "{}: {json}", path.display());
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let entries: Vec<&str> = report.entries.iter().map(|e| e.path.as_str()).collect();
        let rules: Vec<(&str, Option<&str>)> = report.findings.iter().map(|f| (f.rule.as_str(), f.file.as_deref())).collect();
        match file.as_str() {
            // Slicing a text inside a multi-byte character panicked: the file
            // is now read whole and analysed, with nothing reported against it.
            "capabilities-of-text-char-boundary.bin" => {
                assert_eq!((report.kind, entries.as_slice()), (DistKind::Sdist, ["demo-1.0/a.py"].as_slice()), "{json}");
                assert!(rules.iter().all(|(_, f)| f.is_none()), "only archive-wide findings (no metadata), none on a.py: {json}");
                assert!(report.capabilities.is_empty(), "{json}");
            }
            // A panic on a bad file later in the archive cost the payload's
            // findings: they must survive, with the bad file still listed.
            "capabilities-of-text-hides-findings.bin" => {
                assert!(entries.contains(&"demo/zz.py"), "the later file is still read: {json}");
                assert!(rules.contains(&("payload/exec-decoded", Some("demo/payload.py"))), "{json}");
                assert!(report.max_severity == Severity::Critical, "{json}");
                assert!(report.capabilities.contains(&Capability::Exec) && report.capabilities.contains(&Capability::Subprocess), "{json}");
            }
            other => panic!("{other}: add what this regression was about to the expectations here"),
        }
        replayed += 1;
    }
    assert!(replayed >= 2, "the regression corpus is missing from {}", dir.display());
}
