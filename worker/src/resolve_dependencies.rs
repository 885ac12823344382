//! The `resolve_dependencies` job: read what a release declares it needs
//! from its mirrored files (a fitting wheel's METADATA, else the sdist's
//! PKG-INFO or pyproject.toml, plus the sdist's build requirements where
//! only the sdist serves a target), choose a release for each requirement
//! that applies on some target, request those with their dependencies in
//! turn, and write the edges. Idempotent: it rewrites the release's edges
//! whole each time.

use std::collections::HashMap;
use std::str::FromStr;

use airlock_inspect::declared::{declared, Declared};
use airlock_resolve::requirement::{all_targets, target_labels};
use airlock_resolve::{
    choose, dependencies, select_files, Candidate, CandidateFile, Choice, Dependency, EdgeKind, Known, Listed, Standing, Targets, WheelTags,
};
use airlock_store::dependencies::{self as edges, NewEdge};
use airlock_store::domain::{PinnedRequirement, ProjectName, ReleaseStatus, RequestSource, Sha256, Version};
use airlock_store::files::{self, FileRow};
use airlock_store::releases::{self, RequestOptions};
use airlock_store::tasks::ResolveDependencies;

use crate::context::Context;
use crate::error::JobError;
use airlock_inspect::{DistFilename, DistKind};

pub async fn run(ctx: &Context, task: ResolveDependencies) -> Result<(), JobError> {
    let release_id = task.release_id;
    let (project, release) = ctx.db(move |c| releases::release_by_id(c, release_id)).await?;
    if !release.with_dependencies {
        return Ok(());
    }
    match release.status {
        // Its mirroring queues this job again once the files are in.
        ReleaseStatus::Requested | ReleaseStatus::Mirroring => return Ok(()),
        // Nothing to read; the closure shows the failure.
        ReleaseStatus::Failed => return Ok(()),
        _ => {}
    }
    let stored = ctx.db(move |c| files::files_of_release(c, release_id)).await?;
    let targets = ctx.targets.clone();
    let sdist = stored.iter().find(|f| DistFilename::parse(&f.filename).is_some_and(|d| d.kind == DistKind::Sdist));
    let Some(source) = fitting_wheel(&stored, &targets).or(sdist).or(stored.first()) else {
        return Err(JobError::permanent(format!("{} {} has no stored file to read its requirements from", project.name, release.version)));
    };
    let decl = read_declared(ctx, source).await?;

    let extras = release.extras();
    let (runtime, mut unfollowable) = dependencies(&decl.requires_dist, &extras, &targets);
    // Build requirements count where only the sdist serves a target: the
    // targets the mirror job's own file selection finds no wheel for.
    let sdist_mask = sdist_only_targets(&stored, &targets);
    let mut build = Vec::new();
    if sdist_mask != 0 {
        let build_decl = match sdist {
            Some(f) if f.id != source.id => read_declared(ctx, f).await?,
            _ => decl.clone(),
        };
        let (deps, bad) = dependencies(&build_decl.build_requires, &[], &targets);
        build = deps
            .into_iter()
            .filter_map(|mut d| {
                (d.targets & sdist_mask != 0).then(|| {
                    d.targets &= sdist_mask;
                    d
                })
            })
            .collect();
        unfollowable.extend(bad);
    }

    let requested_by = release.requested_by.clone();
    let mut upstream_pages: HashMap<String, Option<Vec<Candidate>>> = HashMap::new();
    let mut new_edges = Vec::new();
    for (kind, dep) in runtime.iter().map(|d| (EdgeKind::Runtime, d)).chain(build.iter().map(|d| (EdgeKind::Build, d))) {
        let edge = resolve_one(ctx, &targets, dep, kind, requested_by.as_deref(), &mut upstream_pages).await?;
        new_edges.push(edge);
    }
    for bad in unfollowable {
        let project = airlock_store::domain::requirement_name(&bad.requirement).unwrap_or_default();
        new_edges.push(gap_edge(&targets, bad.requirement, project, bad.reason));
    }
    tracing::info!(project = %project.name, version = %release.version, edges = new_edges.len(), "dependencies resolved");
    ctx.db(move |c| edges::replace_edges(c, release_id, &new_edges)).await
}

/// An edge that got no release, on every target: a requirement that cannot
/// be followed, or a release whose requirements could not be read at all.
pub(crate) fn gap_edge(targets: &Targets, requirement: String, project: String, problem: String) -> NewEdge {
    NewEdge {
        kind: EdgeKind::Runtime.as_str().into(),
        requirement,
        project,
        targets: target_labels(all_targets(targets), targets),
        chosen_release_id: None,
        problem: Some(problem),
    }
}

/// The wheel to read requirements from: one that fits some target, a pure
/// one first.
fn fitting_wheel<'a>(stored: &'a [FileRow], targets: &Targets) -> Option<&'a FileRow> {
    let wheels = stored.iter().filter_map(|f| Some((f, WheelTags::from_filename(&f.filename)?))).filter(|(_, tags)| targets.accept_wheel(tags));
    let mut best: Option<(&FileRow, bool)> = None;
    for (f, tags) in wheels {
        let pure = tags.platform.iter().any(|p| p == "any");
        if best.is_none_or(|(_, was_pure)| pure && !was_pure) {
            best = Some((f, pure));
        }
    }
    best.map(|(f, _)| f)
}

/// The targets no stored wheel serves (Requires-Python considered), as a
/// mask: where installers build the sdist.
fn sdist_only_targets(stored: &[FileRow], targets: &Targets) -> u64 {
    let listed: Vec<Listed> = stored.iter().map(|f| Listed { filename: &f.filename, requires_python: f.requires_python.as_deref() }).collect();
    let uncovered = select_files(&listed, targets, false).uncovered;
    targets.iter().enumerate().filter(|(_, t)| uncovered.contains(t)).fold(0, |m, (i, _)| m | (1 << i))
}

async fn read_declared(ctx: &Context, file: &FileRow) -> Result<Declared, JobError> {
    let sha = Sha256::parse(&file.sha256).map_err(JobError::from)?;
    let (blobs, filename, limits) = (ctx.store.blobs.clone(), file.filename.clone(), ctx.limits.clone());
    tokio::task::spawn_blocking(move || {
        let f = blobs.open_verified(&sha).map_err(|e| JobError::permanent(format!("{filename}: {e}")))?;
        declared(&filename, std::io::BufReader::new(f), &limits)
            .ok_or_else(|| JobError::permanent(format!("{filename}: its archive cannot be read for its requirements")))
    })
    .await
    .map_err(|e| JobError::transient(format!("reading requirements failed: {e}")))?
}

/// Choose and request a release for one requirement; the edge says what it got.
async fn resolve_one(
    ctx: &Context,
    targets: &Targets,
    dep: &Dependency,
    kind: EdgeKind,
    requested_by: Option<&str>,
    pages: &mut HashMap<String, Option<Vec<Candidate>>>,
) -> Result<NewEdge, JobError> {
    let mut edge = NewEdge {
        kind: kind.as_str().into(),
        requirement: dep.requirement.clone(),
        project: dep.name.clone(),
        targets: target_labels(dep.targets, targets),
        chosen_release_id: None,
        problem: None,
    };
    let name = dep.name.clone();
    let known: Vec<Known> = ctx
        .db(move |c| edges::releases_of_project(c, &name))
        .await?
        .into_iter()
        .filter_map(|(id, version, status)| {
            let standing = match status {
                ReleaseStatus::Approved => Standing::Approved,
                ReleaseStatus::Rejected => Standing::Rejected,
                ReleaseStatus::Failed => Standing::Failed,
                _ => Standing::Pending,
            };
            Some(Known { release_id: id, version: pep440_rs::Version::from_str(&version).ok()?, standing })
        })
        .collect();
    let mut choice = choose(dep, targets, &known, None);
    if choice == Choice::AskUpstream {
        if !pages.contains_key(&dep.name) {
            let listed = upstream_candidates(ctx, &dep.name).await?;
            pages.insert(dep.name.clone(), listed);
        }
        choice = match &pages[&dep.name] {
            Some(listed) => choose(dep, targets, &known, Some(listed)),
            None => Choice::Unsatisfiable { reason: format!("the upstream index has no project named {}", dep.name) },
        };
    }
    let version = match choice {
        Choice::Reuse { version, .. } | Choice::Request { version } => version,
        Choice::Unsatisfiable { reason } => {
            edge.problem = Some(reason);
            return Ok(edge);
        }
        Choice::AskUpstream => unreachable!("the upstream was given"),
    };
    // Requested even when reused: a reused release gets its own
    // dependencies (and these extras) resolved too.
    let req = match (ProjectName::parse(&dep.name), Version::parse(&version.to_string())) {
        (Ok(name), Ok(version)) => PinnedRequirement { name, version },
        _ => {
            edge.problem = Some(format!("{} {version} is not a valid name and version", dep.name));
            return Ok(edge);
        }
    };
    let (by, extras, attempts, names) = (requested_by.map(str::to_string), dep.extras.clone(), ctx.max_attempts, ctx.names.clone());
    let outcome = ctx
        .db(move |c| {
            let opts = RequestOptions { requested_by: by.as_deref(), with_dependencies: true, extras: &extras, source: RequestSource::Dependency };
            match releases::request_release_with(c, &req, &opts, attempts, &names) {
                Ok(_) => Ok(Ok(releases::find_release(c, &req.name, &req.version)?.map(|(_, r)| r.id))),
                Err(e) if e.is_refusal() => Ok(Err(e.to_string())),
                Err(e) => Err(e),
            }
        })
        .await?;
    match outcome {
        Ok(id) => edge.chosen_release_id = id,
        Err(refused) => edge.problem = Some(refused),
    }
    Ok(edge)
}

/// The project's versions on the upstream with their files; None when the
/// upstream has no such project.
async fn upstream_candidates(ctx: &Context, project: &str) -> Result<Option<Vec<Candidate>>, JobError> {
    let upstream = ctx.upstream_client()?;
    let name = ProjectName::parse(project).map_err(JobError::from)?;
    let listed = match upstream.project_files(&name).await {
        Ok(listed) => listed,
        Err(e) if e.upstream_absent => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut by_version: HashMap<pep440_rs::Version, Vec<CandidateFile>> = HashMap::new();
    for f in listed {
        let Some(d) = DistFilename::parse(&f.filename).filter(|d| d.name == name.as_str()) else { continue };
        let Ok(version) = pep440_rs::Version::from_str(&d.version) else { continue };
        by_version.entry(version).or_default().push(CandidateFile { filename: f.filename, requires_python: f.requires_python, yanked: f.yanked.is_some() });
    }
    Ok(Some(by_version.into_iter().map(|(version, files)| Candidate { version, files }).collect()))
}
