//! The `mirror_release` job: find the release's files on the upstream,
//! download each into the blob store (verified against the upstream's
//! sha256), record them, then queue one `inspect_file` job per file.
//! Safe to run twice: stored files are skipped, and a release past
//! mirroring is left alone.

use airlock_store::domain::{ProjectName, ReleaseStatus, Sha256, Version};
use airlock_store::files::{self, NewFile};
use airlock_store::names;
use airlock_store::releases;
use airlock_store::tasks::MirrorRelease;
use airlock_store::throttle::MISS_REQUESTER;

use crate::context::Context;
use crate::error::JobError;
use crate::filename::DistFilename;
use crate::upstream::UpstreamFile;

pub async fn run(ctx: &Context, task: MirrorRelease) -> Result<(), JobError> {
    let release_id = task.release_id;
    let (project, release) = ctx.db(move |c| releases::release_by_id(c, release_id)).await?;
    let status = release.status().map_err(JobError::from)?;
    if !matches!(status, ReleaseStatus::Requested | ReleaseStatus::Mirroring) {
        tracing::info!(%status, "release is past mirroring; nothing to do");
        return Ok(());
    }
    refuse_reserved(ctx, &project.name, Some(&release.version)).await?;
    ctx.db(move |c| releases::set_status(c, release_id, ReleaseStatus::Mirroring, None)).await?;

    let upstream = ctx
        .upstream
        .as_ref()
        .ok_or_else(|| JobError::permanent("no upstream index is configured: set --upstream, AIRLOCK_UPSTREAM or `upstream` in the config file"))?;
    let name = ProjectName::parse(&project.name).map_err(JobError::from)?;
    let version = Version::parse(&release.version).map_err(JobError::from)?;
    let listed = upstream.project_files(&name).await?;
    let wanted = files_of_version(&listed, &name, &version);
    if wanted.is_empty() {
        return Err(JobError::permanent(format!("the upstream index lists no wheel or sdist of {name} {version} ({} files for other versions)", listed.len())));
    }
    tracing::info!(project = %name, %version, files = wanted.len(), "mirroring");
    // A release nobody asked for by name (an anonymous index miss) may only
    // cost so much: a larger one waits for a person's request.
    let cap = (release.requested_by.as_deref() == Some(MISS_REQUESTER)).then_some(ctx.miss_max_release_bytes);
    if let Some(cap) = cap {
        check_miss_cap(wanted.iter().filter_map(|f| f.size).sum(), cap, &name, &version)?;
    }
    let mut mirrored: u64 = 0;

    let known = ctx.db(move |c| files::files_of_release(c, release_id)).await?;
    let mut file_ids = Vec::with_capacity(wanted.len());
    for file in wanted {
        if let Some(row) = known.iter().find(|f| f.filename == file.filename) {
            let sha = Sha256::parse(&row.sha256).map_err(JobError::from)?;
            if ctx.store.blobs.contains(&sha) {
                file_ids.push(row.id);
                continue;
            }
        }
        let (sha256, size) = upstream.download(file, &ctx.store.blobs).await?;
        mirrored += size;
        if let Some(cap) = cap {
            check_miss_cap(mirrored, cap, &name, &version)?;
        }
        tracing::info!(file = %file.filename, %sha256, size, "stored");
        let new = NewFile {
            release_id,
            filename: file.filename.clone(),
            sha256,
            size: size as i64,
            upstream_url: file.url.to_string(),
            requires_python: file.requires_python.clone(),
            yanked: file.yanked.clone(),
            upload_time: file.upload_time.clone(),
        };
        let row = ctx.db(move |c| files::add_file(c, &new)).await?;
        file_ids.push(row.id);
    }

    let max_attempts = ctx.max_attempts;
    ctx.db(move |c| files::start_inspection(c, release_id, &file_ids, max_attempts)).await
}

/// Defence in depth: a request for a reserved name is refused when it is
/// made, but the configuration may have changed since (or a job may come
/// from elsewhere). Nothing reserved is fetched from the upstream index.
pub async fn refuse_reserved(ctx: &Context, project: &str, version: Option<&str>) -> Result<(), JobError> {
    let Some(pattern) = ctx.names.reserved.matching(project) else { return Ok(()) };
    let target = match version {
        Some(v) => format!("{project} {v}"),
        None => project.to_string(),
    };
    let (audited, how) = (target.clone(), pattern.clone());
    ctx.db(move |c| names::record_refusal(c, None, &audited, &how, "the worker's upstream fetch")).await?;
    Err(JobError::permanent(names::reserved_advice(project, &pattern)))
}

/// A release set off by an index miss stops at `cap` bytes.
fn check_miss_cap(bytes: u64, cap: u64, name: &ProjectName, version: &Version) -> Result<(), JobError> {
    if bytes <= cap {
        return Ok(());
    }
    Err(JobError::permanent(format!(
        "{name} {version} has {} MiB of files, more than the {} MiB an index miss may mirror (miss_max_release_mb); \
         it waits for an explicit request (dashboard, API or `airlock request {name}=={version}`)",
        bytes.div_ceil(1024 * 1024),
        cap / (1024 * 1024)
    )))
}

/// The wheels and sdists of exactly this project and version.
pub(crate) fn files_of_version<'a>(listed: &'a [UpstreamFile], name: &ProjectName, version: &Version) -> Vec<&'a UpstreamFile> {
    listed.iter().filter(|f| DistFilename::parse(&f.filename).is_some_and(|d| d.name == name.as_str() && version.matches(&d.version))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> UpstreamFile {
        UpstreamFile {
            filename: name.into(),
            url: url::Url::parse(&format!("http://up.test/{name}")).unwrap(),
            sha256: None,
            requires_python: None,
            yanked: None,
            upload_time: None,
            size: None,
        }
    }

    #[test]
    fn only_files_of_the_requested_version_are_picked() {
        let listed = vec![
            file("demo-1.0.tar.gz"),
            file("demo-1.0.0-py3-none-any.whl"),
            file("demo-1.0.1.tar.gz"),
            file("demo-10.tar.gz"),
            file("demo_extra-1.0.tar.gz"),
            file("demo-1.0-py3.8.egg"),
        ];
        let name = ProjectName::parse("demo").unwrap();
        let picked: Vec<&str> = files_of_version(&listed, &name, &Version::parse("1.0").unwrap()).iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(picked, ["demo-1.0.tar.gz", "demo-1.0.0-py3-none-any.whl"]);
    }
}
