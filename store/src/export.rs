//! Exporting what Airlock approved as a lockfile that installers can use
//! with hash checking: `pip install --require-hashes -r`, `uv pip sync`, or
//! a PEP 751 `pylock.toml`.
//!
//! The files of each release are the ones the simple index serves (the
//! same query, [`index::approved_files_of_releases`]), minus yanked files
//! and files no configured target can install. An export never lists a
//! hash the index would refuse to serve.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use airlock_resolve::pylock::{self, Hashes, LockedFile, LockedPackage};
use airlock_resolve::requirements_txt::{self, Pinned};
use airlock_resolve::Targets;

use crate::db::AnyConnection;
use crate::domain::{PinnedRequirement, ReleaseStatus};
use crate::error::{StoreError, StoreResult};
use crate::imports::Format;
use crate::index::{self, IndexFile};
use crate::releases;

/// One release of an export, with the files installers may pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRelease {
    pub project: String,
    pub version: String,
    /// Sorted by file name.
    pub files: Vec<IndexFile>,
    /// Where it is needed, when that is not every target (closure exports).
    pub marker: Option<String>,
}

/// True when an installer on some target may pick the file.
fn usable(file: &IndexFile, targets: &Targets) -> bool {
    file.yanked.is_none() && targets.accept_file(&file.filename, file.requires_python.as_deref())
}

/// The usable files of `release_ids`, grouped by release.
fn releases_with_files(conn: &mut AnyConnection, release_ids: &[i64], targets: &Targets) -> StoreResult<HashMap<i64, ExportRelease>> {
    let mut by_release: HashMap<i64, ExportRelease> = HashMap::new();
    for (project, file) in index::approved_files_of_releases(conn, release_ids)? {
        if !usable(&file, targets) {
            continue;
        }
        let entry =
            by_release.entry(file.release_id).or_insert_with(|| ExportRelease { project, version: file.version.clone(), files: Vec::new(), marker: None });
        entry.files.push(file);
    }
    for r in by_release.values_mut() {
        r.files.sort_by(|a, b| a.filename.cmp(&b.filename));
    }
    Ok(by_release)
}

fn sorted(mut releases: Vec<ExportRelease>) -> Vec<ExportRelease> {
    releases.sort_by(|a, b| (&a.project, &a.version).cmp(&(&b.project, &b.version)));
    releases
}

/// The approved set: for each project, its newest approved release (PEP 440
/// order) that has a usable file, sorted by project.
pub fn approved_set(conn: &mut AnyConnection, targets: &Targets) -> StoreResult<Vec<ExportRelease>> {
    // Each project's approved releases, newest first.
    let mut candidates: BTreeMap<String, Vec<(pep440_rs::Version, i64)>> = BTreeMap::new();
    for (id, project, version) in index::approved_releases(conn)? {
        let Ok(v) = pep440_rs::Version::from_str(&version) else { continue };
        candidates.entry(project).or_default().push((v, id));
    }
    for list in candidates.values_mut() {
        list.sort_by(|a, b| b.0.cmp(&a.0));
    }
    // The newest of each first; a project whose newest has nothing usable
    // (all yanked, or no file for the targets) falls back to the next.
    let mut chosen = Vec::new();
    let mut round = 0;
    loop {
        let ids: Vec<i64> = candidates.values().filter_map(|list| list.get(round).map(|(_, id)| *id)).collect();
        if ids.is_empty() {
            break;
        }
        let mut found = releases_with_files(conn, &ids, targets)?;
        candidates.retain(|_, list| match list.get(round).and_then(|(_, id)| found.remove(id)) {
            Some(release) => {
                chosen.push(release);
                false
            }
            None => true,
        });
        round += 1;
    }
    Ok(sorted(chosen))
}

/// The releases `roots` name and their dependency closure (as recorded by
/// dependency resolution), each of which must be approved with a usable
/// file.
pub fn of_roots(conn: &mut AnyConnection, roots: &[PinnedRequirement], targets: &Targets) -> StoreResult<Vec<ExportRelease>> {
    let mut ids = Vec::with_capacity(roots.len());
    for root in roots {
        let Some((_, release)) = releases::find_release(conn, &root.name, &root.version)? else {
            return Err(StoreError::NotFound(format!("{} {} is not known to Airlock: request it first", root.name, root.version)));
        };
        if release.status != ReleaseStatus::Approved {
            return Err(StoreError::Conflict(format!("{} {} is {}, not approved", root.name, root.version, release.status)));
        }
        ids.push(release.id);
    }
    // The roots and every release their recorded dependency edges reach,
    // each with the targets where an installer picks it: a version another
    // one supersedes everywhere is left out, one needed on some targets
    // only carries a marker saying where.
    let mut picked: HashMap<i64, u64> = HashMap::new();
    let mut order: Vec<i64> = Vec::new();
    for root in &ids {
        let (closure, _) = crate::dependencies::analyze(conn, *root, targets)?;
        for id in &closure.members {
            let mask = closure.picked_on.get(id).copied().unwrap_or(0);
            if mask == 0 {
                continue;
            }
            if !picked.contains_key(id) {
                order.push(*id);
            }
            *picked.entry(*id).or_insert(0) |= mask;
        }
    }
    let ids = order;
    let mut found = releases_with_files(conn, &ids, targets)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match found.remove(&id) {
            Some(mut release) => {
                release.marker = picked.get(&id).and_then(|m| targets.marker_for(*m));
                out.push(release)
            }
            None => {
                let (project, release) = releases::release_by_id(conn, id)?;
                if release.status != ReleaseStatus::Approved {
                    return Err(StoreError::Conflict(format!(
                        "{} {} (a dependency of the roots) is {}, not approved: the set is not installable yet",
                        project.name, release.version, release.status
                    )));
                }
                return Err(StoreError::Conflict(format!(
                    "{} {} has no approved, unyanked file that installs on the targets ({targets})",
                    project.name, release.version
                )));
            }
        }
    }
    Ok(sorted(out))
}

/// Parse `roots` as written in a query: `name==version` items separated by commas.
pub fn parse_roots(raw: &str) -> StoreResult<Vec<PinnedRequirement>> {
    let roots: Vec<PinnedRequirement> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(PinnedRequirement::parse).collect::<StoreResult<_>>()?;
    if roots.is_empty() {
        return Err(StoreError::Invalid("roots names no release: give name==version items separated by commas".into()));
    }
    if roots.len() > 1000 {
        return Err(StoreError::Invalid(format!("{} roots; at most 1000", roots.len())));
    }
    Ok(roots)
}

/// Render `releases` in `format`. `index_url` is the simple index's
/// absolute URL and `file_url` a file's absolute download URL (pylock.toml
/// needs both; requirements files name neither, installers are pointed at
/// the index).
pub fn render(format: Format, releases: &[ExportRelease], targets: &Targets, index_url: &str, file_url: &dyn Fn(&IndexFile) -> String) -> String {
    let header = format!(
        "Exported by Airlock: {} approved release{}, hash-pinned for {targets}.\nInstall with --index-url {index_url}",
        releases.len(),
        if releases.len() == 1 { "" } else { "s" }
    );
    match format {
        Format::Requirements => {
            let pins: Vec<Pinned> = releases
                .iter()
                .map(|r| Pinned {
                    name: r.project.clone(),
                    version: r.version.clone(),
                    marker: r.marker.clone(),
                    hashes: r.files.iter().map(|f| f.sha256.clone()).collect(),
                })
                .collect();
            requirements_txt::write(&format!("{header} --require-hashes -r <this file>"), &pins)
        }
        Format::Pylock => {
            let locked = |f: &IndexFile| LockedFile {
                name: f.filename.clone(),
                url: file_url(f),
                size: u64::try_from(f.size).ok(),
                hashes: Hashes { sha256: f.sha256.clone() },
            };
            let packages: Vec<LockedPackage> = releases
                .iter()
                .map(|r| {
                    let (wheels, sdists): (Vec<&IndexFile>, Vec<&IndexFile>) = r.files.iter().partition(|f| f.filename.ends_with(".whl"));
                    LockedPackage {
                        name: r.project.clone(),
                        version: r.version.clone(),
                        marker: r.marker.clone(),
                        index: Some(index_url.to_string()),
                        // PEP 751 allows one sdist; a release has at most one in practice.
                        sdist: sdists.first().map(|f| locked(f)),
                        wheels: wheels.into_iter().map(locked).collect(),
                    }
                })
                .collect();
            pylock::write(&header, "airlock", &packages)
        }
    }
}

#[cfg(test)]
mod tests;
