//! What an imported lockfile says, whatever its format: one [`Entry`] per
//! requirement (a name, a pin or the lack of one, a marker, extras, the
//! sha256 digests the file promises), and one [`LineError`] per line that
//! could not be read. The requirements.txt and pylock.toml readers both
//! produce a [`Parsed`], so the import that records and checks the lines
//! knows one shape.

use std::fmt;

/// A requirement read from a lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file it was read from (the imported file, or one it includes).
    pub source: String,
    /// The 1-based line it starts on (for pylock.toml, the line of its
    /// `[[packages]]` header, or 0 when the file does not use headers).
    pub line: usize,
    /// The requirement as written, shortened to [`MAX_TEXT`] bytes.
    pub text: String,
    /// The project name, normalized (PEP 503).
    pub name: String,
    pub extras: Vec<String>,
    pub pin: Pin,
    /// The PEP 508 environment marker, when the line has one.
    pub marker: Option<String>,
    /// sha256 digests (64 lowercase hex characters), in the file's order.
    pub hashes: Vec<String>,
}

/// Whether a requirement names one exact release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// `==VERSION`: exactly one release.
    Exact(pep440_rs::Version),
    /// Anything else: the specifiers as written (empty for a bare name).
    Unpinned(String),
}

impl Pin {
    /// Why an unpinned requirement cannot be imported as it stands.
    pub fn unpinned_reason(&self) -> Option<String> {
        match self {
            Pin::Exact(_) => None,
            Pin::Unpinned(spec) if spec.is_empty() => Some("unpinned: no version given; Airlock reviews exact releases, so pin it with ==".into()),
            Pin::Unpinned(spec) => Some(format!("unpinned: {spec} allows more than one version; Airlock reviews exact releases, so pin it with ==")),
        }
    }
}

/// A line that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub source: String,
    pub line: usize,
    /// The line as written, shortened to [`MAX_TEXT`] bytes.
    pub text: String,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.source, self.line, self.message)
    }
}

/// A whole lockfile, read: each requirement or unreadable line, in file
/// order (included files where their `-r` line stands).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub lines: Vec<Result<Entry, LineError>>,
}

impl Parsed {
    /// The requirements that were read.
    pub fn entries(&self) -> Vec<&Entry> {
        self.lines.iter().filter_map(|l| l.as_ref().ok()).collect()
    }

    /// The lines that could not be read.
    pub fn errors(&self) -> Vec<&LineError> {
        self.lines.iter().filter_map(|l| l.as_ref().err()).collect()
    }

    fn error(source: &str, line: usize, message: String) -> Parsed {
        Parsed { lines: vec![Err(LineError { source: source.to_string(), line, text: String::new(), message })] }
    }

    /// A file that cannot be read at all: one error, on `line`.
    pub fn unreadable(source: &str, line: usize, message: impl Into<String>) -> Parsed {
        Parsed::error(source, line, message.into())
    }
}

/// True when `marker` holds on at least one of `targets` (a marker that
/// does not parse holds, so that the import reports the line rather than
/// skip it).
pub fn marker_fits(marker: &str, targets: &crate::Targets) -> bool {
    use std::str::FromStr;
    match pep508_rs::MarkerTree::from_str(marker) {
        Ok(tree) => targets.iter().any(|t| tree.evaluate(&t.marker_environment(), &[])),
        Err(_) => true,
    }
}

/// Longest text kept of a line (requirement lines with many hashes are long;
/// the hashes are kept separately).
pub const MAX_TEXT: usize = 300;

/// `text` cut to [`MAX_TEXT`] bytes on a character boundary, with `…` when cut.
pub fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.len() <= MAX_TEXT {
        return text.to_string();
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A sha256 digest as lockfiles write it (hex, any case), lowercased; None
/// when it is not 64 hex characters.
pub fn sha256_hex(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    (lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit())).then_some(lower)
}
