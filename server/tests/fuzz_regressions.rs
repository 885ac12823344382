//! Replays the files that once broke the file viewer's highlighter, kept at
//! the workspace root in `fuzz/regressions/highlight/`: crashes the fuzz
//! target found, and reproducers of defects fixed by hand. Each must now
//! highlight, with each line's spans joining back to the line.

use std::path::{Path, PathBuf};

use airlock_server::highlight;

#[test]
fn highlight_regressions_keep_every_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/highlight");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert!(!paths.is_empty(), "the regression corpus is missing from {}", dir.display());
    for path in paths {
        // Decoded as the viewer decodes a file.
        let source = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let lines = highlight::python(&source);
        let joined: Vec<String> = lines.iter().map(|spans| spans.iter().map(|s| s.text.as_str()).collect()).collect();
        let want: Vec<&str> = source.lines().collect();
        assert_eq!(joined, want, "{}", path.display());
    }
}
