//! What an auditor must read to review a release. With a trusted version of
//! the project at hand, that is the delta from it; the base is the approved
//! version nearest to the release (the closest older or newer one) whose
//! delta is smallest, as cargo-vet picks a base for crates. Without one, it
//! is every text line of the release.
//!
//! The worker measures audit sizes (its `measure_audit` job) and stores
//! them; pages here only read them ([`audit_size`]). What is left here is
//! reading a pair of archives for the diff page, which is blocking (it
//! reads archives from the blob store): run it on a blocking thread.

use std::collections::HashSet;

use airlock_inspect::archive::Archive;
use airlock_inspect::delta::{self, Change, FileDelta, Side};
pub use airlock_store::audit_size::AuditSummary;
pub use airlock_store::files::pair_files;
use airlock_store::files::FileRow;
use airlock_store::releases::Release;
use airlock_store::{AnyConnection, StoreError, StoreResult};

use crate::archives::{self, Reader};
use crate::memory::{self, Held, MemoryError};

/// Why a review could not be read: the store failed, or the memory budget
/// is momentarily spent (try again shortly).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

/// A distribution file of the release, its counterpart in the base (same
/// kind and tags), and both archives as read: every file measured, and the
/// content kept of those worth reading, whose memory `held` pays for.
pub struct FilePair {
    pub new_file: FileRow,
    pub base_file: Option<FileRow>,
    pub new_archive: Archive,
    pub base_archive: Option<Archive>,
    pub held: Held,
}

impl FilePair {
    pub fn deltas(&self) -> Vec<FileDelta> {
        let base = match (&self.base_file, &self.base_archive) {
            (Some(f), Some(a)) => Some(Side { archive: a, kind: f.dist_kind }),
            _ => None,
        };
        delta::compare(base, Side { archive: &self.new_archive, kind: self.new_file.dist_kind })
    }
}

/// What the content of a file's two versions costs to hold while diffed.
pub fn diff_cost(d: &FileDelta) -> u64 {
    let bytes = d.old_size.unwrap_or(0) + d.new_size.unwrap_or(0);
    memory::text_cost(bytes, (d.added_lines + d.removed_lines) as u64, DIFF_COST_PER_BYTE)
}

/// Bytes held per byte of text being diffed: both versions as bytes and as
/// text, and the diff's lines.
const DIFF_COST_PER_BYTE: u64 = 4;

/// True when a file's versions are text small enough to be held and diffed.
pub fn showable(d: &FileDelta) -> bool {
    !d.binary && d.change != Change::Unchanged && d.old_size.max(d.new_size).unwrap_or(0) <= archives::MAX_SHOWN_BYTES
}

/// Read a pair of files. Both archives are first measured without keeping
/// anything; then the content of the files `pick` chooses (from those
/// [`showable`], in path order) is loaded, as far as their [`diff_cost`]
/// fits in `room` bytes, after taking that cost from the budget. Busy when
/// the budget cannot give it now.
pub fn read_pair(
    reader: &Reader,
    new_file: FileRow,
    base_file: Option<FileRow>,
    room: u64,
    mut pick: impl FnMut(&FileDelta) -> bool,
) -> Result<FilePair, ReviewError> {
    let mut pair = FilePair {
        new_archive: reader.scan(&new_file)?,
        base_archive: base_file.as_ref().map(|b| reader.scan(b)).transpose()?,
        new_file,
        base_file,
        held: Held::default(),
    };
    let (mut cost, mut old_paths, mut new_paths) = (0, HashSet::new(), HashSet::new());
    for d in pair.deltas().iter().filter(|d| showable(d)) {
        let c = diff_cost(d);
        if cost + c > room || !pick(d) {
            continue;
        }
        cost += c;
        old_paths.extend(d.old_path.clone());
        new_paths.extend(d.new_path.clone());
    }
    if cost == 0 {
        return Ok(pair);
    }
    pair.held = reader.memory.hold(cost)?;
    pair.new_archive.fill(reader.load(&pair.new_file, &new_paths)?);
    if let (Some(base), Some(file)) = (&mut pair.base_archive, &pair.base_file) {
        base.fill(reader.load(file, &old_paths)?);
    }
    Ok(pair)
}

/// The audit size of a release as the worker measured it (see
/// [`airlock_store::audit_size::summary`]); None until it has.
pub fn audit_size(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Option<AuditSummary>> {
    airlock_store::audit_size::summary(conn, release_id)
}

/// The criteria a decision is made for: one of the configured names, or
/// the default when none is given.
pub fn criteria(config: &airlock_store::Config, asked: Option<&str>) -> StoreResult<String> {
    match asked.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(config.default_criteria.clone()),
        Some(c) if config.criteria.iter().any(|k| k == c) => Ok(c.to_string()),
        Some(c) => Err(StoreError::Invalid(format!("criteria must be one of {}, got {c:?}", config.criteria.join(", ")))),
    }
}

/// Decide on a release; the decision records the audit base and lines the
/// worker measured (unrecorded when not measured yet, never blocking it).
#[allow(clippy::too_many_arguments)]
pub fn measured_decide(
    conn: &mut AnyConnection,
    release_id: i64,
    user: &airlock_store::auth::User,
    verdict: airlock_store::decisions::Verdict,
    comment: &str,
    policy: &airlock_store::decisions::ReviewPolicy,
    reviewed: Option<&[String]>,
    criteria: &str,
) -> StoreResult<(Release, airlock_store::decisions::Outcome)> {
    airlock_store::decisions::decide_for(conn, release_id, user, verdict, comment, policy, reviewed, Some(criteria), None)
}
