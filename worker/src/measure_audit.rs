//! The `measure_audit` job: how many lines an auditor must read to review
//! a release, against each of its audit bases (the nearest approved
//! versions, or nothing: every line). It reads both releases' archives
//! from the blob store and diffs them, which is why it is worker work: the
//! server only reads the sizes this job stores. Queued when a release's
//! inspection finishes, and again when its project's approved versions
//! change. Idempotent: a size already stored is not measured again.
//!
//! Once measured, a release awaiting review is weighed against the
//! `small-update` auto-approval policy when it is configured, with the
//! binary files its delta adds or changes (which count as no lines).

use std::collections::{BTreeSet, HashMap, HashSet};

use airlock_inspect::archive::{Archive, Keep};
use airlock_inspect::delta::{self, Change, FileDelta, Side};
use airlock_inspect::{read_distribution_from, Limits};
use airlock_store::audit_size::{self, Measurement};
use airlock_store::domain::Sha256;
use airlock_store::files::{files_of_release, pair_files, FileRow};
use airlock_store::releases::release_by_id;
use airlock_store::tasks::MeasureAudit;
use airlock_store::BlobStore;

use crate::context::Context;
use crate::error::JobError;

/// Largest text diffed line by line; a larger changed file counts as every
/// line of both versions (the most it can take to read).
const MAX_DIFFED_BYTES: u64 = 1024 * 1024;

/// Bytes held per byte of text being diffed: both versions as bytes and as
/// text, and the diff's lines.
const DIFF_COST_PER_BYTE: u64 = 4;

/// A delta's base (None: the whole release), its size, and the binary files it adds or changes.
type Measured = (Option<i64>, Measurement, Vec<String>);

pub async fn run(ctx: &Context, task: MeasureAudit) -> Result<(), JobError> {
    let release_id = task.release_id;
    // Short reads: the connection goes back to the pool before any archive is opened.
    let todo = ctx
        .db(move |c| {
            let (project, release) = release_by_id(c, release_id)?;
            if !audit_size::measurable(&release) {
                return Ok(None);
            }
            let mut missing = Vec::new();
            for base in audit_size::bases(c, project.id, &release.version)? {
                let base_id = base.as_ref().map(|b| b.id);
                if audit_size::get(c, release_id, base_id)?.is_none() {
                    missing.push((base_id, base_id.map(|id| files_of_release(c, id)).transpose()?.unwrap_or_default()));
                }
            }
            let files = if missing.is_empty() { Vec::new() } else { files_of_release(c, release_id)? };
            Ok(Some((files, missing)))
        })
        .await?;
    let Some((files, missing)) = todo else { return Ok(()) };
    // The binary files of each delta measured now, for the policy: it need not read the archives again.
    let mut binaries_by_base = HashMap::new();
    if !missing.is_empty() {
        let (blobs, room) = (ctx.store.blobs.clone(), ctx.review_memory_bytes);
        let measured = tokio::task::spawn_blocking(move || -> Result<Vec<Measured>, JobError> {
            missing
                .into_iter()
                .map(|(base_id, base_files)| {
                    let deltas = release_deltas(&blobs, &files, &base_files, room)?;
                    Ok((base_id, measure(&deltas), changed_binaries(&deltas)))
                })
                .collect()
        })
        .await
        .map_err(|e| JobError::transient(format!("measuring release #{release_id}: {e}")))??;
        let mut sizes = Vec::new();
        for (base_id, m, binaries) in measured {
            binaries_by_base.extend(base_id.map(|id| (id, binaries)));
            sizes.push((base_id, m));
        }
        ctx.db(move |c| {
            for (base_id, m) in sizes {
                audit_size::put(c, release_id, base_id, m)?;
            }
            Ok(())
        })
        .await?;
    }
    weigh_policy(ctx, release_id, binaries_by_base).await
}

/// Queue a measurement of every release awaiting review that has none
/// (after an upgrade, or a job lost): run once when the workers start.
pub async fn queue_backlog(ctx: Context) {
    let attempts = ctx.max_attempts;
    let queued = ctx
        .db(move |c| {
            let ids = audit_size::unmeasured(c)?;
            for &id in &ids {
                audit_size::enqueue_measure(c, id, attempts)?;
            }
            Ok(ids.len())
        })
        .await;
    match queued {
        Ok(0) => {}
        Ok(n) => tracing::info!(releases = n, "queued the measuring of releases awaiting review"),
        Err(e) => tracing::warn!(error = %e, "could not queue the measuring of releases awaiting review"),
    }
}

/// Weigh a measured release awaiting review against the `small-update`
/// policy, when it is configured and the delta has a base; the policy's
/// decision is an ordinary one, and a refusal is logged with its reason.
/// `measured` holds the binary files of the deltas this job measured, by
/// base; a delta measured earlier has its archives read again for them.
async fn weigh_policy(ctx: &Context, release_id: i64, mut measured: HashMap<i64, Vec<String>>) -> Result<(), JobError> {
    let Some(policy) = ctx.auto_approve.clone() else { return Ok(()) };
    let (review, max_lines) = (ctx.review.clone(), policy.max_lines);
    let Some((base, lines)) =
        ctx.db(move |c| Ok(audit_size::summary(c, release_id)?.and_then(|size| size.base_release_id.map(|base| (base, size.lines))))).await?
    else {
        return Ok(());
    };
    let binaries = match measured.remove(&base) {
        Some(binaries) => binaries,
        // Too large to pass whatever it holds: nothing to read.
        None if lines > max_lines => Vec::new(),
        None => {
            let (new_files, base_files) = ctx.db(move |c| Ok((files_of_release(c, release_id)?, files_of_release(c, base)?))).await?;
            let blobs = ctx.store.blobs.clone();
            tokio::task::spawn_blocking(move || Ok::<_, JobError>(changed_binaries(&release_deltas(&blobs, &new_files, &base_files, 0)?)))
                .await
                .map_err(|e| JobError::transient(format!("reading release #{release_id}'s binaries: {e}")))??
        }
    };
    let outcome = ctx.db(move |c| airlock_store::policy::apply(c, &policy, &review, release_id, base, lines, &binaries)).await?;
    match outcome {
        Ok(outcome) => tracing::info!(release_id, ?outcome, policy = airlock_store::policy::SMALL_UPDATE, "approved by policy"),
        Err(why) => tracing::info!(release_id, %why, policy = airlock_store::policy::SMALL_UPDATE, "left for a person"),
    }
    Ok(())
}

/// The binary files (compiled modules, executables, any non-text file but
/// images) a release adds or changes against a base, by path inside the
/// project: they count as no lines, so no delta size can vouch for them.
fn changed_binaries(deltas: &[FileDelta]) -> Vec<String> {
    let paths: BTreeSet<&str> = deltas
        .iter()
        .filter(|d| d.binary && matches!(d.change, Change::Added | Change::Changed) && !delta::is_data(&d.path))
        .map(|d| d.path.strip_prefix("src/").unwrap_or(&d.path))
        .collect();
    paths.into_iter().map(String::from).collect()
}

/// Read one stored distribution file, keeping what `keep` asks for.
fn read(blobs: &BlobStore, file: &FileRow, keep: Keep<'_>) -> Result<Archive, JobError> {
    let sha = Sha256::parse(&file.sha256)?;
    let blob = blobs.open_verified(&sha).map_err(|e| JobError::permanent(format!("{}: {e}", file.filename)))?;
    let limits = Limits { max_total_bytes: 256 * 1024 * 1024, max_file_bytes: 32 * 1024 * 1024, ..Limits::default() };
    read_distribution_from(&file.filename, std::io::BufReader::new(blob), &limits, keep)
        .ok_or_else(|| JobError::permanent(format!("{} is not a distribution archive", file.filename)))
}

fn deltas(new_file: &FileRow, new: &Archive, base: Option<(&FileRow, &Archive)>) -> Vec<FileDelta> {
    let base = base.map(|(f, a)| Side { archive: a, kind: f.dist_kind });
    delta::compare(base, Side { archive: new, kind: new_file.dist_kind })
}

/// The deltas of a release against a base's files, pair by pair. Each
/// pair's archives are first measured holding nothing; then the changed
/// texts are read again and held, as far as `room` bytes go, to be diffed.
/// Added and removed files are counted as they stream by, never held.
fn release_deltas(blobs: &BlobStore, new_files: &[FileRow], base_files: &[FileRow], room: u64) -> Result<Vec<FileDelta>, JobError> {
    let mut all = Vec::new();
    for (new_file, base_file) in pair_files(new_files, base_files) {
        let mut new = read(blobs, &new_file, Keep::Nothing)?;
        let mut base = base_file.as_ref().map(|f| read(blobs, f, Keep::Nothing)).transpose()?;
        let (mut cost, mut old_paths, mut new_paths) = (0, HashSet::new(), HashSet::new());
        let first = deltas(&new_file, &new, base_file.as_ref().zip(base.as_ref()));
        for d in first.iter().filter(|d| d.change == Change::Changed && !d.binary) {
            let bytes = d.old_size.unwrap_or(0) + d.new_size.unwrap_or(0);
            let c = bytes * DIFF_COST_PER_BYTE;
            if d.old_size.max(d.new_size).unwrap_or(0) > MAX_DIFFED_BYTES || cost + c > room {
                continue;
            }
            cost += c;
            old_paths.extend(d.old_path.clone());
            new_paths.extend(d.new_path.clone());
        }
        if cost == 0 {
            all.extend(first);
            continue;
        }
        new.fill(read(blobs, &new_file, Keep::Only { paths: &new_paths, max_bytes: MAX_DIFFED_BYTES })?);
        if let (Some(base), Some(file)) = (&mut base, &base_file) {
            base.fill(read(blobs, file, Keep::Only { paths: &old_paths, max_bytes: MAX_DIFFED_BYTES })?);
        }
        all.extend(deltas(&new_file, &new, base_file.as_ref().zip(base.as_ref())));
    }
    Ok(all)
}

/// Lines of code and of data to read, and files added, removed and
/// changed. A file that both the wheel and the sdist carry counts once:
/// by its path inside the project, an sdist's `src/` layout folded onto
/// the wheel's (lines are counted once per content, see
/// [`delta::split_review_lines`]).
pub fn measure(deltas: &[FileDelta]) -> Measurement {
    let lines = delta::split_review_lines(deltas);
    let mut m = Measurement { lines: lines.code as i64, data_lines: lines.data as i64, ..Measurement::default() };
    let mut seen = HashSet::new();
    for d in deltas {
        if !seen.insert((d.change, d.path.strip_prefix("src/").unwrap_or(&d.path))) {
            continue;
        }
        match d.change {
            Change::Added => m.files_added += 1,
            Change::Removed => m.files_removed += 1,
            Change::Changed => m.files_changed += 1,
            Change::Unchanged => {}
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(path: &str, lines: usize, sha: u8) -> FileDelta {
        FileDelta {
            path: path.into(),
            old_path: None,
            new_path: Some(path.into()),
            change: Change::Added,
            binary: false,
            old_size: None,
            new_size: Some(lines as u64 * 10),
            old_sha256: None,
            new_sha256: Some([sha; 32]),
            added_lines: lines,
            removed_lines: 0,
            estimated: false,
        }
    }

    #[test]
    fn a_file_in_both_the_wheel_and_the_sdist_counts_once() {
        // The wheel's demo/core.py and the sdist's src/demo/core.py, same content.
        let deltas = [added("demo/core.py", 120, 1), added("src/demo/core.py", 120, 1), added("demo/extra.py", 30, 2), added("setup.py", 12, 3)];
        assert_eq!(measure(&deltas), Measurement { lines: 162, data_lines: 0, files_added: 3, files_removed: 0, files_changed: 0 });
    }

    #[test]
    fn translations_and_docs_are_counted_as_data_not_code() {
        let deltas = [added("demo/core.py", 40, 1), added("demo/locale/de/LC_MESSAGES/demo.po", 900, 2), added("docs/index.rst", 60, 3)];
        assert_eq!(measure(&deltas), Measurement { lines: 40, data_lines: 960, files_added: 3, files_removed: 0, files_changed: 0 });
    }
}
