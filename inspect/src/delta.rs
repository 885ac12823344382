//! What changed between two versions of a distribution: files added,
//! removed and changed, with line counts and unified diffs for text. This
//! is what an auditor reads when a project already has a trusted version,
//! so it is also how Airlock measures the size of a review.
//!
//! Paths are compared without their version: an sdist's top folder
//! (`name-1.0/`) is dropped and a wheel's `name-1.0.dist-info/` becomes
//! `name.dist-info/`, so a new version's files line up with the old one's.
//! Pure: archives in, numbers and lines out.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::archive::{Archive, Member};
use crate::report::DistKind;

/// Bytes of a file looked at to tell text from binary.
const SNIFF_BYTES: usize = 8192;

/// Longest a single file's diff may take before it falls back to a coarser one.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// True when the bytes read as text: UTF-8 without NUL bytes near the start.
pub fn is_text(content: &[u8]) -> bool {
    !content[..content.len().min(SNIFF_BYTES)].contains(&0) && std::str::from_utf8(content).is_ok()
}

/// Lines in a text (a last line without a newline counts).
pub fn line_count(text: &[u8]) -> usize {
    if text.is_empty() {
        return 0;
    }
    text.iter().filter(|&&b| b == b'\n').count() + usize::from(!text.ends_with(b"\n"))
}

/// A path as both versions share it (see the module docs).
pub fn version_free_path(kind: DistKind, path: &str) -> String {
    match kind {
        DistKind::Sdist => path.split_once('/').map(|(_, rest)| rest).unwrap_or(path).to_string(),
        _ => {
            let (first, rest) = path.split_once('/').unwrap_or((path, ""));
            for suffix in [".dist-info", ".data", ".egg-info"] {
                if let Some(stem) = first.strip_suffix(suffix) {
                    let name = stem.split_once('-').map(|(n, _)| n).unwrap_or(stem);
                    return if rest.is_empty() { format!("{name}{suffix}") } else { format!("{name}{suffix}/{rest}") };
                }
            }
            path.to_string()
        }
    }
}

/// Files an auditor never reads by hand: a wheel's RECORD lists hashes that
/// change with every build and are verified by a rule instead.
pub fn is_machine_written(path: &str) -> bool {
    path.ends_with(".dist-info/RECORD")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
    Unchanged,
}

/// One file's fate between the two versions.
#[derive(Debug, Clone, Serialize)]
pub struct FileDelta {
    /// The version-free path both sides share.
    pub path: String,
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    pub change: Change,
    /// Either side is not text (or was cut short by a limit).
    pub binary: bool,
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
    pub old_sha256: Option<[u8; 32]>,
    pub new_sha256: Option<[u8; 32]>,
    /// Lines only in the new version (every line of an added text file).
    pub added_lines: usize,
    /// Lines only in the old version.
    pub removed_lines: usize,
    /// A changed text whose contents were not held, so not diffed: the
    /// counts are every line of both versions, the most it can take to read.
    pub estimated: bool,
}

impl FileDelta {
    /// Lines the auditor must read for this file.
    pub fn review_lines(&self) -> usize {
        if self.binary || is_machine_written(&self.path) {
            0
        } else {
            self.added_lines + self.removed_lines
        }
    }
}

/// One distribution file's archive and kind.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub archive: &'a Archive,
    pub kind: DistKind,
}

fn members_by_path<'a>(side: &Side<'a>) -> BTreeMap<String, &'a Member> {
    side.archive.members.iter().map(|m| (version_free_path(side.kind, &m.path), m)).collect()
}

/// True when both versions of a changed text are held whole, to be diffed.
fn held(a: &Member, b: &Member) -> bool {
    !a.truncated && !b.truncated
}

/// Lines added and removed between two texts.
fn diffstat(old: &str, new: &str) -> (usize, usize) {
    let diff = TextDiff::configure().timeout(DIFF_TIMEOUT).diff_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

/// Compare a distribution with its base (None: no base, every file is new).
/// Files come out sorted by path. Sizes, hashes and line counts come from
/// the reading; contents are needed only to diff a changed text, and one
/// not held is counted as every line of both versions (see
/// [`FileDelta::estimated`]).
pub fn compare(base: Option<Side>, new: Side) -> Vec<FileDelta> {
    let old = base.as_ref().map(members_by_path).unwrap_or_default();
    let cur = members_by_path(&new);
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(cur.keys()).collect();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let (o, n) = (old.get(path).copied(), cur.get(path).copied());
        let binary = o.is_some_and(|m| !m.text) || n.is_some_and(|m| !m.text);
        let text = |m: &Member| String::from_utf8_lossy(&m.content).into_owned();
        let lines = |m: &Member| if binary { 0 } else { m.lines as usize };
        let mut estimated = false;
        let (change, added, removed) = match (o, n) {
            (None, Some(m)) => (Change::Added, lines(m), 0),
            (Some(m), None) => (Change::Removed, 0, lines(m)),
            (Some(a), Some(b)) if a.sha256.is_some() && a.sha256 == b.sha256 => (Change::Unchanged, 0, 0),
            (Some(_), Some(_)) if binary => (Change::Changed, 0, 0),
            (Some(a), Some(b)) if held(a, b) => {
                let (added, removed) = diffstat(&text(a), &text(b));
                (Change::Changed, added, removed)
            }
            (Some(a), Some(b)) => {
                estimated = true;
                (Change::Changed, lines(b), lines(a))
            }
            (None, None) => continue,
        };
        out.push(FileDelta {
            path: path.clone(),
            old_path: o.map(|m| m.path.clone()),
            new_path: n.map(|m| m.path.clone()),
            change,
            binary,
            old_size: o.map(|m| m.size),
            new_size: n.map(|m| m.size),
            old_sha256: o.and_then(|m| m.sha256),
            new_sha256: n.and_then(|m| m.sha256),
            added_lines: added,
            removed_lines: removed,
            estimated,
        });
    }
    out
}

/// Lines an auditor must read over several distribution files of one
/// release (a wheel and an sdist share most of their files): each distinct
/// change (old content, new content) is counted once.
pub fn review_lines<'a>(deltas: impl IntoIterator<Item = &'a FileDelta>) -> usize {
    let lines = split_review_lines(deltas);
    lines.code + lines.data
}

/// [`review_lines`], as code to read and data to look over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewLines {
    pub code: usize,
    /// Lines of files that are data rather than code (see [`is_data`]).
    pub data: usize,
}

/// [`review_lines`], code and data counted apart.
pub fn split_review_lines<'a>(deltas: impl IntoIterator<Item = &'a FileDelta>) -> ReviewLines {
    // (old content, new content), by hash.
    type ContentChange = (Option<[u8; 32]>, Option<[u8; 32]>);
    let mut seen: HashSet<ContentChange> = HashSet::new();
    let mut lines = ReviewLines::default();
    for d in deltas
        .into_iter()
        .filter(|d| d.change != Change::Unchanged)
        .filter(|d| d.old_sha256.is_none() && d.new_sha256.is_none() || seen.insert((d.old_sha256, d.new_sha256)))
    {
        if is_data(&d.path) {
            lines.data += d.review_lines();
        } else {
            lines.code += d.review_lines();
        }
    }
    lines
}

/// File endings of data: translations, documentation and plain text, images.
const DATA_ENDINGS: [&str; 15] = ["po", "mo", "pot", "txt", "rst", "md", "png", "jpg", "jpeg", "gif", "svg", "ico", "bmp", "webp", "tiff"];

/// Folders whose files are data: translations and documentation.
const DATA_FOLDERS: [&str; 4] = ["locale", "locales", "doc", "docs"];

/// True when a file is data an auditor looks over rather than code to
/// read: translations (`.po`, `.mo`, anything under a `locale` folder),
/// documentation (`docs/`, `.rst`, `.md`, `.txt`) and images.
pub fn is_data(path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    let (folders, name) = path.rsplit_once('/').unwrap_or(("", &path));
    let ending = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    DATA_ENDINGS.contains(&ending) || folders.split('/').any(|f| DATA_FOLDERS.contains(&f))
}

/// One line of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `' '` context, `'+'` added, `'-'` removed, `'@'` a hunk header.
    pub tag: char,
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
    pub text: String,
}

/// A unified diff of two texts with `context` lines around each change,
/// at most `max_lines` lines of it (hunk headers included).
pub fn unified(old: &str, new: &str, context: usize, max_lines: usize) -> Vec<DiffLine> {
    let diff = TextDiff::configure().timeout(DIFF_TIMEOUT).diff_lines(old, new);
    let mut out = Vec::new();
    for group in diff.grouped_ops(context) {
        if out.len() >= max_lines {
            break;
        }
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (oe, ne) = (last.old_range().end, last.new_range().end);
        out.push(DiffLine { tag: '@', old_line: None, new_line: None, text: format!("@@ -{},{} +{},{} @@", o + 1, oe - o, n + 1, ne - n) });
        for op in &group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Insert => '+',
                    ChangeTag::Delete => '-',
                };
                if out.len() >= max_lines {
                    return out;
                }
                let text = change.value().trim_end_matches(['\n', '\r']).to_string();
                out.push(DiffLine { tag, old_line: change.old_index().map(|i| i + 1), new_line: change.new_index().map(|i| i + 1), text });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(path: &str, content: &str) -> Member {
        use sha2::Digest;
        Member {
            path: path.into(),
            content: content.as_bytes().to_vec(),
            truncated: false,
            size: content.len() as u64,
            sha256: Some(sha2::Sha256::digest(content.as_bytes()).into()),
            text: true,
            lines: line_count(content.as_bytes()) as u64,
        }
    }

    fn archive(members: Vec<Member>) -> Archive {
        Archive { members, ..Archive::default() }
    }

    #[test]
    fn paths_lose_their_version() {
        assert_eq!(version_free_path(DistKind::Sdist, "demo-1.0/demo/__init__.py"), "demo/__init__.py");
        assert_eq!(version_free_path(DistKind::Wheel, "demo-1.0.dist-info/METADATA"), "demo.dist-info/METADATA");
        assert_eq!(version_free_path(DistKind::Wheel, "demo/__init__.py"), "demo/__init__.py");
    }

    #[test]
    fn a_delta_counts_changed_lines_and_new_files() {
        let old = archive(vec![member("demo-1.0/a.py", "one\ntwo\nthree\n"), member("demo-1.0/gone.py", "x\n")]);
        let new = archive(vec![member("demo-1.1/a.py", "one\n2\nthree\n"), member("demo-1.1/new.py", "a\nb")]);
        let d = compare(Some(Side { archive: &old, kind: DistKind::Sdist }), Side { archive: &new, kind: DistKind::Sdist });
        let changes: Vec<(&str, Change, usize)> = d.iter().map(|f| (f.path.as_str(), f.change, f.review_lines())).collect();
        assert_eq!(changes, [("a.py", Change::Changed, 2), ("gone.py", Change::Removed, 1), ("new.py", Change::Added, 2)]);
        assert_eq!(review_lines(&d), 5);
    }

    #[test]
    fn the_same_change_in_wheel_and_sdist_is_read_once() {
        let wheel = archive(vec![member("demo/a.py", "1\n2\n"), member("demo-1.0.dist-info/RECORD", "a,b,c\n")]);
        let sdist = archive(vec![member("demo-1.0/demo/a.py", "1\n2\n")]);
        let mut all = compare(None, Side { archive: &wheel, kind: DistKind::Wheel });
        all.extend(compare(None, Side { archive: &sdist, kind: DistKind::Sdist }));
        assert_eq!(review_lines(&all), 2, "RECORD is machine-written and a.py counts once");
    }

    #[test]
    fn binaries_are_never_diffed_as_text() {
        let mut bin = member("demo/lib.so", "");
        bin.content = vec![0x7f, b'E', b'L', b'F', 0, 0, 1];
        bin.text = false;
        let d = compare(None, Side { archive: &archive(vec![bin]), kind: DistKind::Wheel });
        assert!(d[0].binary);
        assert_eq!(d[0].review_lines(), 0);
    }

    #[test]
    fn unified_diffs_number_their_lines() {
        let lines = unified("a\nb\nc\n", "a\nB\nc\n", 1, usize::MAX);
        let shown: Vec<(char, Option<usize>, Option<usize>, &str)> = lines.iter().map(|l| (l.tag, l.old_line, l.new_line, l.text.as_str())).collect();
        assert_eq!(
            shown,
            [
                ('@', None, None, "@@ -1,3 +1,3 @@"),
                (' ', Some(1), Some(1), "a"),
                ('-', Some(2), None, "b"),
                ('+', None, Some(2), "B"),
                (' ', Some(3), Some(3), "c"),
            ]
        );
    }

    #[test]
    fn translations_docs_images_and_text_are_data_and_code_is_not() {
        for data in [
            "demo/locale/de/LC_MESSAGES/demo.po",
            "demo/locale/de/messages.json",
            "demo/i18n/fr.mo",
            "docs/index.html",
            "README.md",
            "CHANGES.rst",
            "demo/static/logo.PNG",
            "notes.txt",
        ] {
            assert!(is_data(data), "{data}");
        }
        for code in ["demo/__init__.py", "setup.py", "demo/docstring.py", "demo/docs.py", "LICENSE", "demo/_native.c"] {
            assert!(!is_data(code), "{code}");
        }
    }
}
