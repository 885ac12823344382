//! Which files' full content the rules need. Text the rules read (Python,
//! `.pth`, metadata, config, scripts) is kept whole; everything else keeps
//! only its head, enough to recognize executables by their magic bytes.

/// Bytes kept of a file the rules do not read as text.
pub const HEAD_BYTES: u64 = 4096;

const TEXT_SUFFIXES: [&str; 20] = [
    ".py", ".pyw", ".pyi", ".pth", ".pyx", ".pxd", ".txt", ".cfg", ".toml", ".ini", ".json", ".sh", ".bat", ".cmd", ".ps1", ".js", ".yml", ".yaml", ".in",
    ".spec",
];

const TEXT_NAMES: [&str; 6] = ["METADATA", "PKG-INFO", "RECORD", "WHEEL", "setup.py", "Makefile"];

/// True when the rules read this file's whole text.
pub fn keep_whole(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    TEXT_NAMES.contains(&name) || TEXT_SUFFIXES.iter().any(|s| lower.ends_with(s)) || !name.contains('.')
}
