//! Whole-archive inspection: the first byte picks the file name's suffix
//! (and so the reader: zip, tar, tar.gz, tar.bz2), the rest is the archive.
#![no_main]

use airlock_inspect::{inspect_archive, Limits};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "demo-1.0-py3-none-any.whl",
    "demo-1.0.tar.gz",
    "demo-1.0.tar.bz2",
    "demo-1.0.zip",
    "demo-1.0.tar",
    "demo-1.0-py3.11.egg",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, archive)) = data.split_first() else { return };
    let name = NAMES[selector as usize % NAMES.len()];
    // Small limits keep every run fast; the bounds are what is under test.
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
    // The report is stored and served as JSON: it must always serialize.
    std::hint::black_box(serde_json::to_vec(&report).expect("a report serializes to JSON"));
});
