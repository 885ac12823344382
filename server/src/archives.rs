//! Reading a stored distribution file for people: the file viewer and the
//! diff. The archive comes from the blob store (its hash checked) and is
//! streamed through the inspect crate's bounded reader; nothing is unpacked
//! to disk and nothing from the archive is ever run. Content is kept only
//! for the files asked for, each at most [`MAX_SHOWN_BYTES`]: everything
//! else is measured as it streams by (size, hash, text or binary, lines)
//! and dropped, so a release of zeros costs no memory to look at.

use std::collections::HashSet;

use airlock_inspect::archive::{Archive, Keep};
use airlock_inspect::{read_distribution_from, Limits};
use airlock_store::domain::Sha256;
use airlock_store::files::FileRow;
use airlock_store::{BlobStore, StoreError};

use crate::memory::ReviewMemory;

/// Largest file shown or diffed whole: larger ones are "too large to show"
/// and never read whole (their lines are still counted).
pub const MAX_SHOWN_BYTES: u64 = 1024 * 1024;

/// Bounds for reading an archive to show it: smaller than the inspection's,
/// since a person reads it. They bound what is read, not what is kept.
pub fn viewer_limits() -> Limits {
    Limits { max_total_bytes: 256 * 1024 * 1024, max_file_bytes: 32 * 1024 * 1024, ..Limits::default() }
}

/// What reading archives for people needs: the blobs, and the memory
/// budget that whatever keeps their content takes its bytes from.
#[derive(Clone)]
pub struct Reader {
    pub blobs: BlobStore,
    pub memory: ReviewMemory,
}

impl Reader {
    /// Every file of `file`'s archive measured (size, hash, text or binary,
    /// lines) and none kept. Blocking: call it from a blocking thread.
    pub fn scan(&self, file: &FileRow) -> Result<Archive, StoreError> {
        self.read(file, Keep::Nothing)
    }

    /// The listing of `file`'s archive and the content of `paths` in it,
    /// each up to [`MAX_SHOWN_BYTES`] and only the head of a binary; other
    /// files are not read. Hold their memory first. Blocking.
    pub fn load(&self, file: &FileRow, paths: &HashSet<String>) -> Result<Archive, StoreError> {
        self.read(file, Keep::Only { paths, max_bytes: MAX_SHOWN_BYTES })
    }

    /// The listing of `file`'s archive and the whole content of the binary
    /// at `path`, when it is at most `max_bytes` (its head otherwise). Hold
    /// its memory first. Blocking.
    pub fn load_whole(&self, file: &FileRow, path: &str, max_bytes: u64) -> Result<Archive, StoreError> {
        self.read(file, Keep::Whole { path, max_bytes })
    }

    fn read(&self, file: &FileRow, keep: Keep<'_>) -> Result<Archive, StoreError> {
        let sha = Sha256::parse(&file.sha256)?;
        let blob = self.blobs.open_verified(&sha)?;
        read_distribution_from(&file.filename, std::io::BufReader::new(blob), &viewer_limits(), keep)
            .ok_or_else(|| StoreError::Invalid(format!("{} is not a distribution archive", file.filename)))
    }
}

/// A short description of what a binary file is, from its first bytes.
pub fn binary_type(content: &[u8]) -> &'static str {
    const MAGIC: [(&[u8], &str); 12] = [
        (b"\x7fELF", "ELF executable or shared library"),
        (b"MZ", "Windows executable (PE)"),
        (b"\xcf\xfa\xed\xfe", "Mach-O binary"),
        (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
        (b"PK\x03\x04", "zip archive"),
        (b"\x1f\x8b", "gzip data"),
        (b"BZh", "bzip2 data"),
        (b"\x89PNG", "PNG image"),
        (b"\xff\xd8\xff", "JPEG image"),
        (b"GIF8", "GIF image"),
        (b"%PDF", "PDF document"),
        (b"\x00asm", "WebAssembly module"),
    ];
    if content.len() >= 4 && content[2..4] == [0x0d, 0x0a] {
        return "compiled Python bytecode";
    }
    MAGIC.iter().find(|(magic, _)| content.starts_with(magic)).map(|(_, name)| *name).unwrap_or("binary data")
}
