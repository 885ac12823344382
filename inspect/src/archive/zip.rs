//! Zip archives (wheels, eggs, zip sdists), read through the zip crate's
//! parser of the central directory (never by scanning for signatures:
//! deflate streams can contain signature bytes).

use std::io::{Read, Seek, SeekFrom};

use zip::ZipArchive;

use super::paths::link_escapes;
use super::{Archive, ArchiveEntry, Budget, EntryKind, Keep, Limits, Member, BOMB_MIN_BYTES};
use crate::finding::Severity;

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

/// Read a zip from a seekable source (a file): only the members' kept
/// content is held in memory, never the whole archive.
pub fn read_zip_from<R: Read + Seek>(mut source: R, limits: &Limits, keep_what: Keep<'_>) -> Archive {
    let mut archive = Archive::default();
    let tail = directory_tail(&mut source);
    if let Err(e) = source.seek(SeekFrom::Start(0)) {
        archive.finding("archive/corrupt", Severity::High, None, format!("cannot read the archive: {e}"));
        return archive;
    }
    let mut zip = match ZipArchive::new(source) {
        Ok(z) => z,
        Err(e) => {
            archive.finding("archive/corrupt", Severity::High, None, format!("not a readable zip archive: {e}"));
            return archive;
        }
    };
    if let Some(tail) = tail {
        report_duplicate_names(&tail, &mut archive);
    }
    let mut budget = Budget::new(limits);
    for index in 0..zip.len() {
        if budget.stopped {
            break;
        }
        let mut file = match zip.by_index(index) {
            Ok(f) => f,
            Err(e) => {
                archive.finding("archive/corrupt", Severity::High, None, format!("zip entry #{index} cannot be read: {e}"));
                continue;
            }
        };
        let path = match std::str::from_utf8(file.name_raw()) {
            Ok(name) => name.to_string(),
            Err(_) => {
                let lossy = String::from_utf8_lossy(file.name_raw()).into_owned();
                archive.finding("archive/non-utf8-name", Severity::Medium, Some(&lossy), "entry name is not valid UTF-8".into());
                lossy
            }
        };
        let mode = file.unix_mode().unwrap_or(0) & S_IFMT;
        let kind = if file.is_dir() || mode == S_IFDIR {
            EntryKind::Dir
        } else if mode == S_IFLNK {
            EntryKind::Symlink
        } else if mode == 0 || mode == S_IFREG {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        let size = file.size();
        if !budget.admit(&mut archive, ArchiveEntry { path: path.clone(), size, kind }) {
            break;
        }
        match kind {
            EntryKind::Dir => continue,
            EntryKind::Other => {
                archive.finding("archive/special-entry", Severity::High, Some(&path), format!("entry has unusual file type bits {mode:o}"));
                continue;
            }
            EntryKind::Symlink => {
                let mut target = String::new();
                let _ = (&mut file).take(4096).read_to_string(&mut target);
                if link_escapes(&path, &target) {
                    archive.finding("archive/link-escape", Severity::High, Some(&path), format!("symlink points outside the archive, to {target:?}"));
                }
                continue;
            }
            EntryKind::File | EntryKind::Hardlink => {}
        }
        let compressed = file.compressed_size();
        if size >= BOMB_MIN_BYTES && (compressed == 0 || size / compressed.max(1) > limits.max_ratio) {
            archive.finding(
                "archive/decompression-bomb",
                Severity::High,
                Some(&path),
                format!("entry expands {compressed} bytes into {size} (ratio over {}); not read", limits.max_ratio),
            );
            continue;
        }
        let Some(keep) = keep_what.bytes(&path, size, budget.allowance()) else {
            continue;
        };
        let member = match super::read_member(&mut file, keep, budget.allowance(), keep_what.text_only()) {
            Ok(r) => r,
            Err(e) => {
                archive.finding("archive/corrupt", Severity::High, Some(&path), format!("entry cannot be decompressed: {e}"));
                continue;
            }
        };
        // Declared sizes can lie: judge the ratio on what was really inflated too.
        if member.size > size && member.size >= BOMB_MIN_BYTES && member.size / compressed.max(1) > limits.max_ratio {
            archive.finding(
                "archive/decompression-bomb",
                Severity::High,
                Some(&path),
                format!("entry declared {size} bytes but inflated to {} from {compressed}", member.size),
            );
        }
        let within = budget.spend(&mut archive, member.size);
        archive.members.push(Member::from_read(path, member));
        if !within {
            break;
        }
    }
    archive
}

/// The zip crate keeps one entry per name, so a second entry of the same
/// name (which other extractors may prefer) is invisible through it. Walk
/// the central directory records by hand to find such names.
fn report_duplicate_names(bytes: &[u8], archive: &mut Archive) {
    let Some(names) = central_directory_names(bytes) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    let mut reported = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name.clone()) && reported.insert(name.clone()) {
            let shown = String::from_utf8_lossy(&name).into_owned();
            archive.finding(
                "archive/duplicate-entry",
                Severity::Medium,
                Some(&shown),
                "the zip holds two entries with this name; extractors disagree on which one wins".into(),
            );
        }
    }
}

/// Largest central directory read for the duplicate-name check.
const MAX_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;

/// The end of the archive from the start of its central directory: what
/// [`central_directory_names`] walks. None when it cannot be found simply.
fn directory_tail<R: Read + Seek>(source: &mut R) -> Option<Vec<u8>> {
    let len = source.seek(SeekFrom::End(0)).ok()?;
    let window = len.min(65_536 + 22);
    source.seek(SeekFrom::Start(len - window)).ok()?;
    let mut last = vec![0u8; window as usize];
    source.read_exact(&mut last).ok()?;
    let eocd = (0..last.len().saturating_sub(21)).rev().find(|&i| last[i..].starts_with(b"PK\x05\x06"))?;
    let cd_size = u32_at(&last, eocd + 12)? as u64;
    let eocd_at = len - window + eocd as u64;
    if cd_size > MAX_DIRECTORY_BYTES || cd_size > eocd_at {
        return None;
    }
    let start = eocd_at - cd_size;
    source.seek(SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::with_capacity((len - start) as usize);
    source.take(len - start).read_to_end(&mut tail).ok()?;
    Some(tail)
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// The raw names of the central directory's records, or None when the
/// directory cannot be walked simply (zip64, damage): then the zip crate's
/// own parse stands alone.
fn central_directory_names(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes;
    // search backwards from the end, as readers do.
    let floor = bytes.len().saturating_sub(65_536 + 22);
    let eocd = (floor..bytes.len().saturating_sub(21)).rev().find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))?;
    let entries = u16_at(bytes, eocd + 10)?;
    let cd_size = u32_at(bytes, eocd + 12)?;
    if entries == 0xFFFF || cd_size == 0xFFFF_FFFF {
        return None;
    }
    let mut at = eocd.checked_sub(cd_size)?;
    let mut names = Vec::with_capacity(entries);
    for _ in 0..entries {
        if !bytes.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (name_len, extra_len, comment_len) = (u16_at(bytes, at + 28)?, u16_at(bytes, at + 30)?, u16_at(bytes, at + 32)?);
        names.push(bytes.get(at + 46..at + 46 + name_len)?.to_vec());
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(names)
}
