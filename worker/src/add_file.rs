//! The `add_file` job: mirror one file that the targets left out of a
//! release, because someone asked for it. The upstream's listing is read
//! again (fresh URL, and the sha256 must be the one recorded when the file
//! was left out), the file is downloaded and verified like any other, and
//! its inspection is queued. It is never served before an auditor approves
//! a set of hashes that includes it (see `airlock_store::unmirrored`). A
//! failure is recorded on the left-out file, never on the release: an
//! approved release goes on serving what was approved.

use airlock_store::domain::{ProjectName, Version};
use airlock_store::files;
use airlock_store::releases;
use airlock_store::tasks::AddFile;
use airlock_store::unmirrored;

use crate::context::Context;
use crate::error::JobError;
use crate::mirror::{files_of_version, stored_file};

pub async fn run(ctx: &Context, task: AddFile) -> Result<(), JobError> {
    let AddFile { release_id, filename } = task;
    let name_of = filename.clone();
    let row = ctx.db(move |c| unmirrored::find(c, release_id, &name_of)).await?;
    let Some(row) = row else {
        let known = ctx.db(move |c| files::files_of_release(c, release_id)).await?;
        if known.iter().any(|f| f.filename == filename) {
            tracing::info!(file = %filename, "already mirrored; nothing to do");
            return Ok(());
        }
        return Err(JobError::permanent(format!("{filename} is not a file of this release that was left out")));
    };
    let (project, release) = ctx.db(move |c| releases::release_by_id(c, release_id)).await?;
    let upstream = ctx.upstream_client()?;
    let name = ProjectName::parse(&project.name).map_err(JobError::from)?;
    let version = Version::parse(&release.version).map_err(JobError::from)?;
    let listed = upstream.project_files(&name).await?;
    let file = files_of_version(&listed, &name, &version)
        .into_iter()
        .find(|f| f.filename == row.file.filename)
        .ok_or_else(|| JobError::permanent(format!("the upstream index no longer lists {} for {name} {version}", row.file.filename)))?;
    if let (Some(recorded), Some(now)) = (&row.file.sha256, &file.sha256) {
        if recorded != now.as_str() {
            tracing::warn!(file = %row.file.filename, %recorded, now = %now, "upstream sha256 changed since the file was left out");
            return Err(JobError::permanent(format!(
                "the upstream's sha256 for {} is not the one it published when {name} {version} was mirrored; the file was not added",
                row.file.filename
            )));
        }
    }
    let (sha256, size) = upstream.download(file, &ctx.store.blobs).await?;
    tracing::info!(file = %file.filename, %sha256, size, "added on request");
    let new = stored_file(release_id, file, sha256, size);
    let max_attempts = ctx.max_attempts;
    ctx.db(move |c| unmirrored::add_mirrored(c, &new, max_attempts)).await?;
    Ok(())
}
