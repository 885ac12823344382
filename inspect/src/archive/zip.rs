//! Zip archives (wheels, eggs, zip sdists), read through the zip crate's
//! parser of the central directory (never by scanning for signatures:
//! deflate streams can contain signature bytes).

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::content::{keep_whole, HEAD_BYTES};
use super::paths::link_escapes;
use super::{Archive, ArchiveEntry, Budget, EntryKind, Limits, Member, BOMB_MIN_BYTES};
use crate::finding::Severity;

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

pub fn read_zip(bytes: &[u8], limits: &Limits) -> Archive {
    let mut archive = Archive::default();
    let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z,
        Err(e) => {
            archive.finding("archive/corrupt", Severity::High, None, format!("not a readable zip archive: {e}"));
            return archive;
        }
    };
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
                    archive.finding(
                        "archive/link-escape",
                        Severity::High,
                        Some(&path),
                        format!("symlink points outside the archive, to {target:?}"),
                    );
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
        let want = if keep_whole(&path) { budget.allowance() } else { HEAD_BYTES.min(budget.allowance()) };
        let mut content = Vec::with_capacity(size.min(want).min(64 * 1024 * 1024) as usize);
        if let Err(e) = (&mut file).take(want).read_to_end(&mut content) {
            archive.finding("archive/corrupt", Severity::High, Some(&path), format!("entry cannot be decompressed: {e}"));
            continue;
        }
        let truncated = (content.len() as u64) < size;
        if !budget.spend(&mut archive, size.max(content.len() as u64)) {
            archive.members.push(Member { path, content, truncated });
            break;
        }
        archive.members.push(Member { path, content, truncated });
    }
    archive
}
