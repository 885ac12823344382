//! Replays every input the fuzzers once crashed on (`fuzz/regressions/<target>/`):
//! each must now give a report that serializes, with no panic.

use std::path::Path;

use airlock_inspect::{inspect_archive, Limits};

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
        if path.file_name().unwrap().to_string_lossy().contains("hides-findings") {
            // A bad file later in the archive must not cost the payload's findings.
            assert!(report.findings.iter().any(|f| f.file.as_deref() == Some("demo/payload.py")), "{json}");
        }
        replayed += 1;
    }
    assert!(replayed >= 2, "the regression corpus is missing from {}", dir.display());
}
