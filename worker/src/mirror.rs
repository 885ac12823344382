//! The `mirror_release` job: find the release's files on the upstream,
//! keep those the targets can install (`airlock_resolve::file_selection`),
//! download each into the blob store (verified against the upstream's
//! sha256), record them and the files left out, then queue one
//! `inspect_file` job per file. Safe to run twice: stored files are
//! skipped, and a release past mirroring is left alone.

use airlock_resolve::{select_files, Listed, Selection, Targets};
use airlock_store::domain::{ProjectName, ReleaseStatus, Sha256, Version};
use airlock_store::files::{self, NewFile};
use airlock_store::names;
use airlock_store::releases;
use airlock_store::tasks::MirrorRelease;
use airlock_store::throttle::MISS_REQUESTER;
use airlock_store::unmirrored::{self, LeftOut};

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::context::Context;
use crate::error::JobError;
use crate::upstream::UpstreamFile;
use airlock_inspect::DistFilename;

pub async fn run(ctx: &Context, task: MirrorRelease) -> Result<(), JobError> {
    let release_id = task.release_id;
    let (project, release) = ctx.db(move |c| releases::release_by_id(c, release_id)).await?;
    let status = release.status;
    if !matches!(status, ReleaseStatus::Requested | ReleaseStatus::Mirroring) {
        tracing::info!(%status, "release is past mirroring; nothing to do");
        return Ok(());
    }
    refuse_reserved(ctx, &project.name, Some(&release.version)).await?;
    ctx.db(move |c| releases::set_status(c, release_id, ReleaseStatus::Mirroring, None)).await?;

    let upstream = ctx.upstream_client()?;
    let name = ProjectName::parse(&project.name).map_err(JobError::from)?;
    let version = Version::parse(&release.version).map_err(JobError::from)?;
    let listed = upstream.project_files(&name).await?;
    let of_version = files_of_version(&listed, &name, &version);
    if of_version.is_empty() {
        return Err(JobError::permanent(format!("the upstream index lists no wheel or sdist of {name} {version} ({} files for other versions)", listed.len())));
    }
    let chosen = choose_files(&of_version, &ctx.targets, ctx.sdists_always);
    let left_out = chosen.left_out.clone();
    if chosen.keep.is_empty() {
        let wheels = of_version.iter().filter(|f| f.filename.ends_with(".whl")).count();
        let reason = chosen.selection.empty_reason(&ctx.targets, wheels);
        ctx.db(move |c| unmirrored::record(c, release_id, &left_out)).await?;
        return Err(JobError::permanent(format!(
            "no file of {name} {version} can be installed on the targets: {reason}; its files are listed as not mirrored and can be added on request"
        )));
    }
    if let Some(gap) = chosen.selection.gap() {
        tracing::warn!(project = %name, %version, "{gap}");
    }
    let wanted = chosen.keep;
    tracing::info!(project = %name, %version, files = wanted.len(), left_out = left_out.len(), "mirroring");
    // A release nobody asked for by name (an anonymous index miss) may only
    // cost so much: a larger one waits for a person's request.
    let cap = (release.requested_by.as_deref() == Some(MISS_REQUESTER)).then_some(ctx.miss_max_release_bytes);
    if let Some(cap) = cap {
        check_miss_cap(wanted.iter().filter_map(|f| f.size).sum(), cap, &name, &version)?;
    }
    let known = ctx.db(move |c| files::files_of_release(c, release_id)).await?;
    // Files already stored (a retry) are kept; the rest download side by
    // side, as many at once as the upstream hosts' slots allow
    // (`upstream_concurrency`). Each is recorded as soon as it is stored, so
    // a retry after a failure downloads only what is missing.
    let mut file_ids: Vec<Option<i64>> = vec![None; wanted.len()];
    let mut to_fetch = Vec::new();
    for (i, file) in wanted.iter().enumerate() {
        let stored = match known.iter().find(|f| f.filename == file.filename) {
            Some(row) => {
                let (sha, blobs) = (Sha256::parse(&row.sha256).map_err(JobError::from)?, ctx.store.blobs.clone());
                // With an object store, asking costs a request: off the executor.
                let present = tokio::task::spawn_blocking(move || blobs.contains(&sha)).await.unwrap_or(false);
                present.then_some(row.id)
            }
            None => None,
        };
        match stored {
            Some(id) => file_ids[i] = Some(id),
            None => to_fetch.push(i),
        }
    }
    let mut downloads: FuturesUnordered<_> = to_fetch
        .iter()
        .map(|&i| {
            let file = wanted[i];
            async move { (i, upstream.download(file, &ctx.store.blobs).await) }
        })
        .collect();
    let mut mirrored: u64 = 0;
    while let Some((i, downloaded)) = downloads.next().await {
        // An error drops the downloads still running: their partial blobs are discarded.
        let (sha256, size) = downloaded?;
        let file = wanted[i];
        mirrored += size;
        if let Some(cap) = cap {
            check_miss_cap(mirrored, cap, &name, &version)?;
        }
        tracing::info!(file = %file.filename, %sha256, size, "stored");
        let new = stored_file(release_id, file, sha256, size);
        let row = ctx.db(move |c| files::add_file(c, &new)).await?;
        file_ids[i] = Some(row.id);
    }
    drop(downloads);
    let file_ids: Vec<i64> = file_ids.into_iter().flatten().collect();

    let max_attempts = ctx.max_attempts;
    ctx.db(move |c| unmirrored::finish_mirroring(c, release_id, &file_ids, &left_out, max_attempts)).await
}

/// The row of a file downloaded and verified for `release_id`.
pub(crate) fn stored_file(release_id: i64, file: &UpstreamFile, sha256: Sha256, size: u64) -> NewFile {
    NewFile {
        release_id,
        filename: file.filename.clone(),
        sha256,
        size: size as i64,
        upstream_url: file.url.to_string(),
        requires_python: file.requires_python.clone(),
        yanked: file.yanked.clone(),
        upload_time: file.upload_time.clone(),
    }
}

/// A release's files split by [`select_files`]: those to mirror, and the
/// rest with the reason each was left out.
pub struct Chosen<'a> {
    pub keep: Vec<&'a UpstreamFile>,
    pub left_out: Vec<LeftOut>,
    pub selection: Selection,
}

/// Choose which of one release's files to mirror for `targets`.
pub fn choose_files<'a>(of_version: &[&'a UpstreamFile], targets: &Targets, sdists_always: bool) -> Chosen<'a> {
    let listed: Vec<Listed<'_>> = of_version.iter().map(|f| Listed { filename: &f.filename, requires_python: f.requires_python.as_deref() }).collect();
    let selection = select_files(&listed, targets, sdists_always);
    let keep = selection.kept().map(|i| of_version[i]).collect();
    let left_out = selection
        .skipped()
        .map(|(i, reason)| {
            let f = of_version[i];
            LeftOut {
                filename: f.filename.clone(),
                size: f.size.map(|s| s as i64),
                sha256: f.sha256.as_ref().map(|h| h.as_str().to_string()),
                upstream_url: f.url.to_string(),
                requires_python: f.requires_python.clone(),
                reason: reason.to_string(),
            }
        })
        .collect();
    Chosen { keep, left_out, selection }
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
pub fn files_of_version<'a>(listed: &'a [UpstreamFile], name: &ProjectName, version: &Version) -> Vec<&'a UpstreamFile> {
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

    #[test]
    fn left_out_files_keep_what_the_upstream_said_of_them() {
        let mut musl = file("demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl");
        musl.size = Some(1234);
        musl.sha256 = Some(Sha256::of(b"musl"));
        let listed = [file("demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"), musl, file("demo-1.0.tar.gz")];
        let of_version: Vec<&UpstreamFile> = listed.iter().collect();
        let targets = Targets::parse(&["3.12"], &["linux_x86_64"]).unwrap();
        let chosen = choose_files(&of_version, &targets, false);
        assert_eq!(chosen.keep.iter().map(|f| f.filename.as_str()).collect::<Vec<_>>(), ["demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"]);
        assert_eq!(chosen.left_out.len(), 2);
        let m = &chosen.left_out[0];
        assert_eq!(
            (m.filename.as_str(), m.size, m.sha256.as_deref()),
            ("demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", Some(1234), Some(Sha256::of(b"musl").as_str()))
        );
        assert!(m.reason.starts_with("fits none of the targets"), "{}", m.reason);
        assert_eq!(chosen_names(&choose_files(&of_version, &targets, true)), ["demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl", "demo-1.0.tar.gz"]);
    }

    fn chosen_names(c: &Chosen<'_>) -> Vec<String> {
        c.keep.iter().map(|f| f.filename.clone()).collect()
    }
}
