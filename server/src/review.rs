//! What an auditor must read to review a release. With a trusted version of
//! the project at hand, that is the delta from it; the base is the approved
//! version nearest to the release (the closest older or newer one) whose
//! delta is smallest, as cargo-vet picks a base for crates. Without one, it
//! is every text line of the release.
//!
//! Blocking (reads archives from the blob store): run on a blocking thread.
//! Sizes are cached in the store per (release, base) pair, and a background
//! task ([`measure_backlog`]) measures each release awaiting review soon
//! after its inspection, so pages rarely have to.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use airlock_inspect::archive::Archive;
use airlock_inspect::delta::{self, Change, FileDelta, Side};
use airlock_store::audit_size::{self, AuditSize};
use airlock_store::domain::ReleaseStatus;
use airlock_store::files::{files_of_release, FileRow};
use airlock_store::releases::{nearest_approved, release_by_id, Release};
use airlock_store::{AnyConnection, StoreError, StoreResult};
use serde::Serialize;

use crate::archives::{self, Reader};
use crate::memory::{self, Held, MemoryError};

/// The size of a review, and the base it is measured from.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    pub lines: i64,
    /// The approved version the delta is taken from; None: every line.
    pub base: Option<String>,
    #[serde(skip)]
    pub base_release_id: Option<i64>,
    pub files_added: i64,
    pub files_removed: i64,
    pub files_changed: i64,
}

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
            (Some(f), Some(a)) => Some(Side { archive: a, kind: archives::dist_kind(f) }),
            _ => None,
        };
        delta::compare(base, Side { archive: &self.new_archive, kind: archives::dist_kind(&self.new_file) })
    }
}

/// What a file is, ignoring the version: its kind and, for a wheel, its tags.
fn file_key(f: &FileRow) -> (String, String) {
    let name = f.filename.as_str();
    let rest = if let Some(stem) = name.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        parts[parts.len().saturating_sub(3)..].join("-")
    } else {
        [".tar.gz", ".tar.bz2", ".tgz", ".zip", ".tar"].iter().find(|ext| name.ends_with(*ext)).map(|e| e.to_string()).unwrap_or_default()
    };
    (f.dist_kind.clone(), rest)
}

/// Match each file of the release with the base's file of the same kind
/// and tags, else of the same kind.
pub fn pair_files(new: &[FileRow], base: &[FileRow]) -> Vec<(FileRow, Option<FileRow>)> {
    new.iter()
        .map(|f| {
            let same = base.iter().find(|b| file_key(b) == file_key(f)).or_else(|| base.iter().find(|b| b.dist_kind == f.dist_kind));
            (f.clone(), same.cloned())
        })
        .collect()
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
    fill(&mut pair.new_archive, reader.load(&pair.new_file, &new_paths)?);
    if let (Some(base), Some(file)) = (&mut pair.base_archive, &pair.base_file) {
        fill(base, reader.load(file, &old_paths)?);
    }
    Ok(pair)
}

/// Put the content `loaded` kept into the members `scanned` measured.
fn fill(scanned: &mut Archive, loaded: Archive) {
    for got in loaded.members {
        if let Some(m) = scanned.members.iter_mut().find(|m| m.path == got.path && m.sha256 == got.sha256) {
            m.truncated = got.truncated;
            m.content = got.content;
        }
    }
}

fn measure(deltas: &[FileDelta]) -> (i64, i64, i64, i64) {
    let mut seen: HashSet<(&str, Change)> = HashSet::new();
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for d in deltas {
        if !seen.insert((d.path.as_str(), d.change)) {
            continue;
        }
        match d.change {
            Change::Added => added += 1,
            Change::Removed => removed += 1,
            Change::Changed => changed += 1,
            Change::Unchanged => {}
        }
    }
    (delta::review_lines(deltas) as i64, added, removed, changed)
}

/// True once every file of a release is inspected and it can be measured.
fn measurable(release: &Release) -> bool {
    !matches!(release.status.parse(), Ok(ReleaseStatus::Requested | ReleaseStatus::Mirroring | ReleaseStatus::Inspecting | ReleaseStatus::Failed))
}

/// The deltas of a release against a base's files, pair by pair, holding
/// one pair's changed texts at a time (added and removed files are counted
/// as they stream by, never held; a changed file too large to hold counts
/// as every line of both versions).
fn release_deltas(reader: &Reader, new_files: &[FileRow], base_files: &[FileRow]) -> Result<Vec<FileDelta>, ReviewError> {
    let mut deltas = Vec::new();
    for (new_file, base_file) in pair_files(new_files, base_files) {
        let pair = read_pair(reader, new_file, base_file, reader.memory.budget(), |d| d.change == Change::Changed)?;
        deltas.extend(pair.deltas());
    }
    Ok(deltas)
}

/// The audit size of a release: against the nearest approved version with
/// the smallest delta, or every line when the project has none. None while
/// the release is still being mirrored or inspected.
pub fn audit_size(conn: &mut AnyConnection, reader: &Reader, release_id: i64) -> Result<Option<AuditSummary>, ReviewError> {
    let (project, release) = release_by_id(conn, release_id)?;
    if !measurable(&release) {
        return Ok(None);
    }
    let candidates = nearest_approved(conn, project.id, &release.version)?;
    let mut files: Option<Vec<FileRow>> = None;
    let mut best: Option<(AuditSize, String)> = None;
    let bases: Vec<Option<Release>> = if candidates.is_empty() { vec![None] } else { candidates.into_iter().map(Some).collect() };
    for base in bases {
        let base_id = base.as_ref().map(|b| b.id);
        let size = match audit_size::get(conn, release_id, base_id)? {
            Some(size) => size,
            None => {
                let new_files = match &files {
                    Some(f) => f.clone(),
                    None => files.insert(files_of_release(conn, release_id)?).clone(),
                };
                let base_files = match base_id {
                    Some(id) => files_of_release(conn, id)?,
                    None => Vec::new(),
                };
                let (lines, added, removed, changed) = measure(&release_deltas(reader, &new_files, &base_files)?);
                audit_size::put(conn, release_id, base_id, lines, added, removed, changed)?
            }
        };
        let version = base.map(|b| b.version).unwrap_or_default();
        if best.as_ref().is_none_or(|(b, _)| size.lines < b.lines) {
            best = Some((size, version));
        }
    }
    Ok(best.map(|(size, version)| AuditSummary {
        lines: size.lines,
        base: (size.base_release_id != audit_size::NO_BASE).then_some(version),
        base_release_id: (size.base_release_id != audit_size::NO_BASE).then_some(size.base_release_id),
        files_added: size.files_added,
        files_removed: size.files_removed,
        files_changed: size.files_changed,
    }))
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

/// Decide on a release after measuring what reviewing it reads, so the
/// decision records its audit base and lines (a busy memory budget or an
/// unreadable archive leaves them unrecorded, never blocks the decision).
#[allow(clippy::too_many_arguments)]
pub fn measured_decide(
    conn: &mut AnyConnection,
    reader: &Reader,
    release_id: i64,
    user: &airlock_store::auth::User,
    verdict: airlock_store::decisions::Verdict,
    comment: &str,
    policy: &airlock_store::decisions::ReviewPolicy,
    reviewed: Option<&[String]>,
    criteria: &str,
) -> StoreResult<(Release, airlock_store::decisions::Outcome)> {
    if let Err(e) = audit_size(conn, reader, release_id) {
        tracing::warn!(release_id, error = %e, "deciding without a measured audit size");
    }
    airlock_store::decisions::decide_for(conn, release_id, user, verdict, comment, policy, reviewed, Some(criteria), None)
}

/// Audit sizes of several releases, within a time budget: what is not yet
/// measured when it runs out is left out (and measured on a later call,
/// since every finished measurement is cached).
pub fn audit_sizes(
    conn: &mut AnyConnection,
    reader: &Reader,
    release_ids: &[i64],
    budget: Duration,
) -> StoreResult<std::collections::HashMap<i64, AuditSummary>> {
    let started = Instant::now();
    let mut out = std::collections::HashMap::new();
    for id in release_ids {
        if started.elapsed() > budget {
            break;
        }
        match audit_size(conn, reader, *id) {
            Ok(Some(size)) => {
                out.insert(*id, size);
            }
            Ok(None) => {}
            // Measured later, by the background task or another page.
            Err(ReviewError::Memory(_)) => break,
            // One unreadable archive must not hide the whole queue.
            Err(e) => tracing::warn!(release_id = id, error = %e, "cannot measure the audit size"),
        }
    }
    Ok(out)
}

/// Weigh a measured release awaiting review against the `small-update`
/// policy, when it is configured and the delta has a base; the policy's
/// decision is an ordinary one, and a refusal is logged with its reason.
fn apply_policy(c: &mut AnyConnection, state: &crate::state::AppState, release_id: i64, size: &AuditSummary) {
    let (Some(policy), Some(base)) = (&state.config.auto_approve, size.base_release_id) else { return };
    match airlock_store::policy::apply(c, policy, &state.review_policy(), release_id, base, size.lines) {
        Ok(Ok(outcome)) => tracing::info!(release_id, ?outcome, policy = airlock_store::policy::SMALL_UPDATE, "approved by policy"),
        Ok(Err(why)) => tracing::info!(release_id, %why, policy = airlock_store::policy::SMALL_UPDATE, "left for a person"),
        Err(e) => tracing::warn!(release_id, error = %e, "applying the auto-approval policy"),
    }
}

/// How often the background task looks for releases to measure.
const MEASURE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Measure every release awaiting review that has no cached audit size
/// yet, for as long as the server runs. Measurements are cached, so after
/// the first pass each round costs a queue query and one cache query.
pub async fn measure_backlog(state: crate::state::AppState) {
    use airlock_store::queue::{self as review_queue, QueueFilter};
    // Releases whose archives could not be read: warned about once, not every round.
    let mut unreadable: HashSet<i64> = HashSet::new();
    // Releases the auto-approval policy has weighed in this process.
    let mut weighed: HashSet<i64> = HashSet::new();
    loop {
        tokio::time::sleep(MEASURE_EVERY).await;
        let reader = state.reader();
        let skip = unreadable.clone();
        let (state2, mut weighing) = (state.clone(), std::mem::take(&mut weighed));
        let result = state
            .db(move |c| {
                let state = state2;
                let filter = QueueFilter { statuses: vec![ReleaseStatus::AwaitingReview], ..QueueFilter::default() };
                let ids: Vec<i64> = review_queue::queue(c, &filter, 5000)?.into_iter().map(|i| i.release_id).collect();
                // Releases with any cached size were measured already (pages
                // re-measure against a newer base on demand): one query per round.
                let measured: HashSet<i64> = audit_size::of_releases(c, &ids)?.into_iter().map(|s| s.release_id).collect();
                let mut failed = Vec::new();
                // Measured by a page already: only the policy is left to apply.
                let unweighing: Vec<i64> = ids.iter().copied().filter(|id| measured.contains(id) && !weighing.contains(id)).collect();
                for id in unweighing {
                    weighing.insert(id);
                    if let Ok(Some(size)) = audit_size(c, &reader, id) {
                        apply_policy(c, &state, id, &size);
                    }
                }
                for id in ids.into_iter().filter(|id| !measured.contains(id) && !skip.contains(id)) {
                    match audit_size(c, &reader, id) {
                        Ok(Some(size)) => {
                            weighing.insert(id);
                            apply_policy(c, &state, id, &size);
                        }
                        Ok(None) => {}
                        // Pages hold the budget for now: the next round measures it.
                        Err(ReviewError::Memory(_)) => break,
                        Err(ReviewError::Store(e)) => {
                            tracing::warn!(release_id = id, error = %e, "cannot measure the audit size");
                            failed.push(id);
                        }
                    }
                }
                Ok((failed, weighing))
            })
            .await;
        match result {
            Ok((failed, w)) => {
                unreadable.extend(failed);
                weighed = w;
            }
            Err(e) => tracing::warn!(error = %e, "measuring the review backlog"),
        }
    }
}
