//! Tar archives (`.tar.gz`, `.tar.bz2`, plain `.tar` sdists). The
//! decompressed stream passes through a counting reader with a hard cap, so
//! a bomb stops at the cap instead of filling memory.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use tar::EntryType;

use super::paths::{is_absolute_target, link_escapes};
use super::{Archive, ArchiveEntry, Budget, EntryKind, Keep, Limits, Member, BOMB_MIN_BYTES};
use crate::finding::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Bzip2,
    None,
}

/// Counts decompressed bytes and fails the stream past `cap`.
struct Capped<R> {
    inner: R,
    count: Rc<Cell<u64>>,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.count.get() >= self.cap {
            return Err(io::Error::other("decompressed size limit reached"));
        }
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Read a tar from a stream of `len` compressed bytes (a file): only the
/// members' kept content is held in memory, never the whole archive.
pub fn read_tar_from<'a, R: Read + 'a>(source: R, len: u64, compression: Compression, limits: &Limits, keep_what: Keep<'_>) -> Archive {
    let decoder: Box<dyn Read + 'a> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(source)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(source)),
        Compression::None => Box::new(source),
    };
    let count = Rc::new(Cell::new(0));
    let ratio_cap = len.saturating_mul(limits.max_ratio).max(BOMB_MIN_BYTES * 16);
    let cap = ratio_cap.min(limits.max_total_bytes.saturating_add(1024 * 1024));
    let reader = Capped { inner: decoder, count: count.clone(), cap };
    let mut tar = tar::Archive::new(reader);
    let mut archive = Archive::default();
    // Symlinks out of the archive: (path, target, number of entries before it).
    let mut escaping_symlinks: Vec<(String, String, usize)> = Vec::new();
    let mut budget = Budget::new(limits);
    let entries = match tar.entries() {
        Ok(e) => e,
        Err(e) => {
            archive.finding("archive/corrupt", Severity::High, None, format!("not a readable tar archive: {e}"));
            return archive;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report_stream_error(&mut archive, &e, count.get() >= cap, ratio_cap <= cap, limits);
                break;
            }
        };
        let header_type = entry.header().entry_type();
        let kind = match header_type {
            EntryType::Regular | EntryType::Continuous => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::Hardlink,
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => continue,
            _ => EntryKind::Other,
        };
        let raw_path = entry.path_bytes().into_owned();
        let path = match String::from_utf8(raw_path) {
            Ok(p) => p,
            Err(e) => {
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                archive.finding("archive/non-utf8-name", Severity::Medium, Some(&lossy), "entry name is not valid UTF-8".into());
                lossy
            }
        };
        let size = entry.header().size().unwrap_or(0);
        if !budget.admit(&mut archive, ArchiveEntry { path: path.clone(), size, kind }) {
            break;
        }
        match kind {
            EntryKind::Dir => continue,
            EntryKind::Other => {
                archive.finding(
                    "archive/special-entry",
                    Severity::High,
                    Some(&path),
                    format!("entry is a {header_type:?} (device, fifo or unknown type): never expected in a distribution"),
                );
                continue;
            }
            EntryKind::Symlink | EntryKind::Hardlink => {
                let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                // A hardlink's target is relative to the archive root, a symlink's to its folder.
                let escapes = match kind {
                    EntryKind::Hardlink => link_escapes("_", &target),
                    _ => link_escapes(&path, &target),
                };
                if escapes && kind == EntryKind::Symlink {
                    // Judged once every entry is known: is anything written through it?
                    escaping_symlinks.push((path, target, archive.entries.len()));
                } else if escapes {
                    archive.finding("archive/link-escape", Severity::High, Some(&path), format!("hardlink points outside the archive, to {target:?}"));
                }
                continue;
            }
            EntryKind::File => {}
        }
        let Some(keep) = keep_what.bytes(&path, size, budget.allowance()) else {
            continue;
        };
        let member = match super::read_member(&mut entry, keep, budget.allowance(), keep_what.text_only()) {
            Ok(r) => r,
            Err(e) => {
                report_stream_error(&mut archive, &e, count.get() >= cap, ratio_cap <= cap, limits);
                break;
            }
        };
        let within = budget.spend(&mut archive, member.size.max(size.min(budget.allowance())));
        archive.members.push(Member::from_read(path, member));
        if !within {
            break;
        }
    }
    judge_escaping_symlinks(&mut archive, escaping_symlinks);
    archive
}

/// A symlink out of the archive is high when an extractor that follows it
/// would write or read outside its folder on purpose: the target is an
/// absolute path, or a later entry is written through the link (a second
/// entry of the same name, or one inside it as a folder). A relative link
/// nothing goes through (`LICENSE -> ../../LICENSE`, a monorepo's file) is
/// a packaging slip that extractors refuse: medium.
fn judge_escaping_symlinks(archive: &mut Archive, links: Vec<(String, String, usize)>) {
    for (path, target, seen) in links {
        let absolute = is_absolute_target(&target);
        let inside = format!("{path}/");
        let written_through = archive.entries.iter().skip(seen).any(|e| e.path == path || e.path.starts_with(&inside));
        let (severity, why) = if written_through {
            (Severity::High, ", and a later entry is written through it")
        } else if absolute {
            (Severity::High, "")
        } else {
            (Severity::Medium, "; no entry is written through it")
        };
        archive.finding("archive/link-escape", severity, Some(&path), format!("symlink points outside the archive, to {target:?}{why}"));
    }
}

fn report_stream_error(archive: &mut Archive, e: &io::Error, capped: bool, ratio_bound: bool, limits: &Limits) {
    if capped && ratio_bound {
        archive.finding(
            "archive/decompression-bomb",
            Severity::High,
            None,
            format!("the archive expands more than {} times its size; reading stopped", limits.max_ratio),
        );
    } else if capped {
        archive.finding(
            "archive/too-large",
            Severity::High,
            None,
            format!("the archive unpacks to more than {} bytes; reading stopped", limits.max_total_bytes),
        );
    } else {
        archive.finding("archive/corrupt", Severity::High, None, format!("the archive is corrupt or truncated: {e}"));
    }
}
