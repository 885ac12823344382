//! Every code rule over arbitrary Python: the input is the sdist's setup.py
//! (install-time role) and its package's `__init__.py` (import-time role),
//! inside an uncompressed tar built here, so the whole inspection (roles,
//! data flow, embedded and encoded code, capabilities, scoring) runs on it.
#![no_main]

use airlock_inspect::{inspect_archive, Limits};
use libfuzzer_sys::fuzz_target;

fn sdist(source: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let pkg_info = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: fuzz\n";
    for (path, content) in [("demo-1.0/PKG-INFO", &pkg_info[..]), ("demo-1.0/setup.py", source), ("demo-1.0/demo/__init__.py", source)] {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, content).expect("writing to memory");
    }
    tar.into_inner().expect("writing to memory")
}

fuzz_target!(|data: &[u8]| {
    let report = inspect_archive("demo-1.0.tar", &sdist(data), &Limits::default());
    // The report is stored and served as JSON: it must always serialize.
    serde_json::to_string(&report).expect("a report serializes");
});
