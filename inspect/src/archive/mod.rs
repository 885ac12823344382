//! Safe, bounded reading of distribution archives (zip for wheels, eggs and
//! zip sdists; tar.gz and tar.bz2 for sdists) into an in-memory list of
//! entries. Nothing is ever extracted to disk. Every limit is enforced while
//! reading (a lying header cannot make it read more), and every suspicious
//! path, link or entry type becomes a finding.

mod content;
mod paths;
mod tar;
mod zip;

use std::collections::HashSet;
use std::io::Read;

use serde::Serialize;

use self::content::{keep_whole, TextProbe, HEAD_BYTES};
use crate::finding::{Finding, Severity};

pub use self::tar::{read_tar_from, Compression};
pub use self::zip::read_zip_from;

/// How much of each file's content a reading keeps. Whatever is kept,
/// every file that is read is hashed, sized, and told text or binary with
/// its lines counted as it streams by (see [`Member`]).
#[derive(Debug, Clone, Copy)]
pub enum Keep<'a> {
    /// Whole text files the rules read, the head of everything else.
    RulesText,
    /// No content at all: for measuring a review without holding it.
    Nothing,
    /// These files only, for showing them to people: each is kept whole
    /// when it declares at most `max_bytes` (never more than it declares),
    /// and only its head when it is larger or turns out binary. Other files
    /// are listed as entries but not read.
    Only { paths: &'a HashSet<String>, max_bytes: u64 },
    /// Like `Only`, for the files whose path `wanted` accepts: for reading
    /// a few files whose exact names are not known beforehand (metadata).
    Matching { wanted: fn(&str) -> bool, max_bytes: u64 },
    /// One file kept whole, binary or not, when it declares at most
    /// `max_bytes` (only its head when larger): for describing a native
    /// binary. Other files are listed but not read.
    Whole { path: &'a str, max_bytes: u64 },
}

impl Keep<'_> {
    /// Bytes to keep of the file at `path` that declares `size` bytes, when
    /// up to `allowance` may be read; None: skip the file unread.
    fn bytes(&self, path: &str, size: u64, allowance: u64) -> Option<u64> {
        match self {
            Keep::RulesText if keep_whole(path) => Some(allowance),
            Keep::RulesText => Some(HEAD_BYTES),
            Keep::Nothing => Some(0),
            Keep::Only { paths, max_bytes } if paths.contains(path) => Some(if size <= *max_bytes { size } else { HEAD_BYTES }),
            Keep::Only { .. } => None,
            Keep::Matching { wanted, max_bytes } if wanted(path) => Some(if size <= *max_bytes { size } else { HEAD_BYTES }),
            Keep::Matching { .. } => None,
            Keep::Whole { path: wanted, max_bytes } if *wanted == path => Some(if size <= *max_bytes { size } else { HEAD_BYTES }),
            Keep::Whole { .. } => None,
        }
    }

    /// True when a file that turns out binary keeps only its head.
    fn text_only(&self) -> bool {
        matches!(self, Keep::Only { .. } | Keep::Matching { .. })
    }
}

/// Resource bounds for reading one archive.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total uncompressed bytes read from all entries.
    pub max_total_bytes: u64,
    /// Number of entries.
    pub max_entries: usize,
    /// Uncompressed / compressed size beyond which an entry (or a whole tar
    /// stream) is treated as a decompression bomb.
    pub max_ratio: u64,
    /// Characters in one path.
    pub max_path_len: usize,
    /// Components in one path.
    pub max_depth: usize,
    /// Bytes kept from one file.
    pub max_file_bytes: u64,
    /// Work the Python analysis may spend on one file, in units of syntax
    /// nodes visited. A file that needs more gets an
    /// `analysis/budget-exceeded` finding, and the other files are still analysed.
    pub analysis_budget_per_file: u64,
    /// Work the Python analysis may spend on the whole archive, in the same
    /// units. Files after the one where it runs out are not analysed; one
    /// `analysis/budget-exceeded` finding says which and how many.
    pub analysis_budget_per_archive: u64,
}

/// Analysis work allowed per Python file by default. Real code costs
/// about 0.3 units per byte (metaflow's 4.6 MB of Python: 1.3M units), so
/// this is some eight times what the largest file analysed (8 MiB) needs.
pub const DEFAULT_ANALYSIS_BUDGET_PER_FILE: u64 = 20_000_000;
/// Analysis work allowed per archive by default: at that rate, some 700 MB
/// of Python, far beyond the largest real wheels.
pub const DEFAULT_ANALYSIS_BUDGET_PER_ARCHIVE: u64 = 200_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 2 * 1024 * 1024 * 1024,
            max_entries: 100_000,
            max_ratio: 200,
            max_path_len: 1024,
            max_depth: 64,
            max_file_bytes: 512 * 1024 * 1024,
            analysis_budget_per_file: DEFAULT_ANALYSIS_BUDGET_PER_FILE,
            analysis_budget_per_archive: DEFAULT_ANALYSIS_BUDGET_PER_ARCHIVE,
        }
    }
}

/// Entries smaller than this are never called bombs, whatever their ratio
/// (shared libraries padded with zeros by auditwheel compress 300:1 and are
/// harmless; a bomb's point is to be big).
pub const BOMB_MIN_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

/// One entry as listed by the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveEntry {
    pub path: String,
    pub size: u64,
    pub kind: EntryKind,
}

/// A regular file's content, as far as it was read.
#[derive(Debug, Clone)]
pub struct Member {
    pub path: String,
    /// What the reading kept (see [`Keep`]): the whole file, its head, or nothing.
    pub content: Vec<u8>,
    /// True when `content` is not the whole file.
    pub truncated: bool,
    /// Bytes in the file, as read (not as declared).
    pub size: u64,
    /// sha256 of the whole file; None when a limit stopped the reading.
    pub sha256: Option<[u8; 32]>,
    /// The whole file is text: UTF-8, without NUL bytes near its start.
    /// False when a limit stopped the reading.
    pub text: bool,
    /// Lines in the file (a last line without a newline counts); counted
    /// only while the file reads as text, so meaningful only when `text`.
    pub lines: u64,
}

/// One file as [`read_member`] read it.
struct ReadMember {
    kept: Vec<u8>,
    size: u64,
    sha256: Option<[u8; 32]>,
    text: bool,
    lines: u64,
}

/// Read one file's bytes (at most `allowance`), hashing and probing all of
/// them and keeping the first `keep` (only the head when `text_only` and
/// the file turns out binary).
fn read_member(reader: &mut impl Read, keep: u64, allowance: u64, text_only: bool) -> std::io::Result<ReadMember> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut probe = TextProbe::default();
    let mut kept = Vec::new();
    let mut total = 0u64;
    let mut buf = [0u8; 64 * 1024];
    let mut limited = reader.take(allowance.saturating_add(1));
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        probe.feed(chunk);
        let keep = if text_only && !probe.may_be_text() { keep.min(HEAD_BYTES) } else { keep };
        if (kept.len() as u64) < keep {
            let room = (keep - kept.len() as u64).min(n as u64) as usize;
            kept.extend_from_slice(&chunk[..room]);
        } else if (kept.len() as u64) > keep {
            kept.truncate(keep as usize);
            kept.shrink_to_fit();
        }
        total += n as u64;
    }
    let complete = total <= allowance;
    Ok(ReadMember {
        kept,
        size: total.min(allowance),
        sha256: complete.then(|| hasher.finalize().into()),
        text: complete && probe.is_text(),
        lines: probe.lines(),
    })
}

impl Member {
    fn from_read(path: String, r: ReadMember) -> Member {
        let truncated = (r.kept.len() as u64) < r.size || r.sha256.is_none();
        Member { path, content: r.kept, truncated, size: r.size, sha256: r.sha256, text: r.text, lines: r.lines }
    }
}

/// What reading an archive produced.
#[derive(Debug, Default)]
pub struct Archive {
    pub entries: Vec<ArchiveEntry>,
    pub members: Vec<Member>,
    pub findings: Vec<Finding>,
}

impl Archive {
    pub fn member(&self, path: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.path == path)
    }

    /// Put the content that a second read of the same archive kept
    /// (`loaded`, with [`Keep::Only`]) into the members this one measured.
    pub fn fill(&mut self, loaded: Archive) {
        for got in loaded.members {
            if let Some(m) = self.members.iter_mut().find(|m| m.path == got.path && m.sha256 == got.sha256) {
                m.truncated = got.truncated;
                m.content = got.content;
            }
        }
    }

    pub(crate) fn finding(&mut self, rule: &str, severity: Severity, file: Option<&str>, message: String) {
        self.findings.push(Finding { rule: rule.to_string(), severity, file: file.map(str::to_string), line: None, message, snippet: None, also: Vec::new() });
    }
}

/// Shared bookkeeping of both readers: counts, limits, duplicate names.
struct Budget<'a> {
    limits: &'a Limits,
    total: u64,
    seen: std::collections::HashSet<String>,
    stopped: bool,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits) -> Self {
        Budget { limits, total: 0, seen: std::collections::HashSet::new(), stopped: false }
    }

    /// Record an entry; false when the entry limit stops the reading.
    fn admit(&mut self, archive: &mut Archive, entry: ArchiveEntry) -> bool {
        if archive.entries.len() >= self.limits.max_entries {
            archive.finding(
                "archive/too-many-entries",
                Severity::High,
                None,
                format!("the archive has more than {} entries; the rest was not read", self.limits.max_entries),
            );
            self.stopped = true;
            return false;
        }
        paths::check(&entry.path, self.limits, archive);
        if !self.seen.insert(entry.path.clone()) && entry.kind != EntryKind::Dir {
            archive.finding(
                "archive/duplicate-entry",
                Severity::Medium,
                Some(&entry.path),
                "the archive holds two entries with this name; installers may pick either".into(),
            );
        }
        archive.entries.push(entry);
        true
    }

    /// How many more bytes one file may contribute.
    fn allowance(&self) -> u64 {
        self.limits.max_file_bytes.min(self.limits.max_total_bytes.saturating_sub(self.total))
    }

    /// Count bytes read; false once the total limit is reached.
    fn spend(&mut self, archive: &mut Archive, n: u64) -> bool {
        self.total += n;
        if self.total >= self.limits.max_total_bytes {
            archive.finding(
                "archive/too-large",
                Severity::High,
                None,
                format!("the archive unpacks to more than {} bytes; the rest was not read", self.limits.max_total_bytes),
            );
            self.stopped = true;
            return false;
        }
        true
    }
}
