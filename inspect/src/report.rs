//! The entry point: recognize the distribution type, read the archive, find
//! the core metadata, run the rules, and sum it all up in a [`Report`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::capabilities::Capability;

use crate::archive::{self, Archive, ArchiveEntry, Compression, Limits};
use crate::finding::{Finding, Severity};
use crate::metadata::CoreMetadata;
use crate::rules;
use crate::rules::budget::AnalysisBudget;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DistKind {
    Wheel,
    Sdist,
    Egg,
    Unknown,
}

impl DistKind {
    /// The kind of distribution a file name says it is, by its ending.
    pub fn of(filename: &str) -> DistKind {
        classify(filename).0
    }

    /// The kind [`DistKind::as_str`] names, `unknown` included; None for any other text.
    pub fn parse(s: &str) -> Option<DistKind> {
        [DistKind::Wheel, DistKind::Sdist, DistKind::Egg, DistKind::Unknown].into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DistKind::Wheel => "wheel",
            DistKind::Sdist => "sdist",
            DistKind::Egg => "egg",
            DistKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for DistKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub kind: DistKind,
    pub metadata: Option<CoreMetadata>,
    /// The raw bytes of a wheel's `*.dist-info/METADATA` (served as the PEP 658 metadata file).
    #[serde(skip)]
    pub metadata_file: Option<Vec<u8>>,
    pub entries: Vec<ArchiveEntry>,
    pub findings: Vec<Finding>,
    pub max_severity: Severity,
    /// Sum of the findings' weights (critical 100, high 40, medium 10, low 3),
    /// findings of one rule and severity counted once (they are grouped).
    pub risk_score: u64,
    /// The top one or two behaviours behind the severity, one line each
    /// ([`crate::finding::why`]): what the review queue shows.
    pub why: Vec<String>,
    /// What the whole distribution can do.
    pub capabilities: BTreeSet<Capability>,
    /// What each Python file can do (files with none are left out).
    pub file_capabilities: BTreeMap<String, BTreeSet<Capability>>,
}

/// What the rules see: the distribution's kind, name, files and metadata.
pub struct Dist<'a> {
    pub filename: &'a str,
    pub kind: DistKind,
    pub archive: &'a Archive,
    pub metadata: Option<&'a CoreMetadata>,
    /// The path prefix of the sdist's top folder (`name-1.0/`), or "" for wheels.
    pub root: String,
    /// The work the Python analysis may still spend.
    pub analysis: AnalysisBudget,
}

pub(crate) fn classify(filename: &str) -> (DistKind, Option<Compression>) {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        (DistKind::Wheel, None)
    } else if lower.ends_with(".egg") {
        (DistKind::Egg, None)
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        (DistKind::Sdist, Some(Compression::Gzip))
    } else if lower.ends_with(".tar.bz2") {
        (DistKind::Sdist, Some(Compression::Bzip2))
    } else if lower.ends_with(".tar") {
        (DistKind::Sdist, Some(Compression::None))
    } else if lower.ends_with(".zip") {
        (DistKind::Sdist, None)
    } else {
        (DistKind::Unknown, None)
    }
}

/// Read a distribution's archive (the format picked by `filename`) without
/// running any rule: for viewers and diffs. None when the name is not a
/// distribution's.
pub fn read_distribution(filename: &str, bytes: &[u8], limits: &Limits, keep: archive::Keep) -> Option<Archive> {
    read_distribution_from(filename, std::io::Cursor::new(bytes), limits, keep)
}

/// [`read_distribution`] from a seekable source (an open file), streamed.
pub fn read_distribution_from<R: std::io::Read + std::io::Seek>(filename: &str, mut source: R, limits: &Limits, keep: archive::Keep) -> Option<Archive> {
    match classify(filename) {
        (DistKind::Unknown, _) => None,
        (_, Some(c)) => {
            let len = source.seek(std::io::SeekFrom::End(0)).and_then(|len| source.rewind().map(|_| len));
            Some(match len {
                Ok(len) => archive::read_tar_from(source, len, c, limits, keep),
                Err(e) => {
                    let mut a = Archive::default();
                    a.finding("archive/corrupt", Severity::High, None, format!("cannot read the archive: {e}"));
                    a
                }
            })
        }
        (_, None) => Some(archive::read_zip_from(source, limits, keep)),
    }
}

/// Inspect one distribution file held in memory. `filename` decides how it is read.
pub fn inspect_archive(filename: &str, bytes: &[u8], limits: &Limits) -> Report {
    inspect_source(filename, std::io::Cursor::new(bytes), limits)
}

/// Inspect one distribution file read from `source` (an open file): the
/// archive is streamed, so memory holds what the rules read, not the
/// whole file. `filename` decides how it is read.
pub fn inspect_source<R: std::io::Read + std::io::Seek>(filename: &str, source: R, limits: &Limits) -> Report {
    let (kind, _) = classify(filename);
    let archive = match read_distribution_from(filename, source, limits, archive::Keep::RulesText) {
        Some(archive) => archive,
        None => {
            let mut a = Archive::default();
            a.findings.push(Finding {
                rule: "archive/unknown-format".into(),
                severity: Severity::Medium,
                file: None,
                line: None,
                message: format!("{filename:?} is not a wheel, sdist or egg file name"),
                snippet: None,
                also: Vec::new(),
            });
            a
        }
    };
    let (metadata_path, root) = locate_metadata(kind, &archive);
    let metadata_file = metadata_path.as_ref().and_then(|p| archive.member(p)).map(|m| m.content.clone());
    let metadata = metadata_file.as_deref().map(CoreMetadata::parse);
    let mut findings = archive.findings.clone();
    let dist = Dist { filename, kind, archive: &archive, metadata: metadata.as_ref(), root, analysis: AnalysisBudget::new(limits) };
    let output = rules::run(&dist);
    findings.extend(output.findings);
    let file_capabilities = output.file_capabilities;
    let mut capabilities: BTreeSet<Capability> = file_capabilities.values().flatten().copied().collect();
    if findings.iter().any(|f| f.rule == "native/binary") {
        capabilities.insert(Capability::NativeCode);
    }
    if findings.iter().any(|f| f.rule.starts_with("install-hook/")) {
        capabilities.insert(Capability::InstallHooks);
    }
    if metadata.is_none() && kind != DistKind::Unknown {
        findings.push(Finding {
            rule: "metadata/missing".into(),
            severity: Severity::Medium,
            file: None,
            line: None,
            message: match kind {
                DistKind::Wheel => "the wheel has no single *.dist-info/METADATA".into(),
                _ => "the distribution has no PKG-INFO at its top level".into(),
            },
            snippet: None,
            also: Vec::new(),
        });
    }
    let findings = crate::finding::group(findings);
    let max_severity = findings.iter().map(|f| f.severity).max().unwrap_or(Severity::None);
    let why = crate::finding::why(&findings);
    let risk_score = findings.iter().map(|f| f.severity.weight()).sum();
    Report {
        kind,
        metadata_file: if kind == DistKind::Wheel { metadata_file } else { None },
        metadata,
        entries: archive.entries,
        findings,
        max_severity,
        risk_score,
        why,
        capabilities,
        file_capabilities,
    }
}

/// The core metadata file's path, and the sdist root folder prefix.
fn locate_metadata(kind: DistKind, archive: &Archive) -> (Option<String>, String) {
    match kind {
        DistKind::Wheel => {
            let candidates: Vec<&str> =
                archive.members.iter().map(|m| m.path.as_str()).filter(|p| p.ends_with(".dist-info/METADATA") && p.matches('/').count() == 1).collect();
            (if candidates.len() == 1 { Some(candidates[0].to_string()) } else { None }, String::new())
        }
        DistKind::Egg => (archive.member("EGG-INFO/PKG-INFO").map(|m| m.path.clone()), String::new()),
        DistKind::Sdist => {
            let top = archive.members.iter().find_map(|m| {
                let (first, rest) = m.path.split_once('/')?;
                (rest == "PKG-INFO").then(|| first.to_string())
            });
            match top {
                Some(t) => (Some(format!("{t}/PKG-INFO")), format!("{t}/")),
                None => {
                    let root = archive.entries.first().and_then(|e| e.path.split_once('/')).map(|(t, _)| format!("{t}/")).unwrap_or_default();
                    (None, root)
                }
            }
        }
        DistKind::Unknown => (None, String::new()),
    }
}
