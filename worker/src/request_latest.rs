//! The `request_latest` job: a client asked the index for a project Airlock
//! does not have. Find the newest final (not pre-release, not yanked)
//! version with a wheel or sdist on the upstream, and request it like any
//! other release, so the miss becomes work for an auditor.

use std::str::FromStr;

use airlock_store::domain::{PinnedRequirement, ProjectName, RequestSource, Version};
use airlock_store::tasks::RequestLatest;
use airlock_store::{releases, throttle};

use crate::context::Context;
use crate::error::JobError;
use crate::upstream::UpstreamFile;
use airlock_inspect::DistFilename;

pub async fn run(ctx: &Context, task: RequestLatest) -> Result<(), JobError> {
    let upstream = ctx.upstream_client()?;
    let name = ProjectName::parse(&task.project).map_err(JobError::from)?;
    crate::mirror::refuse_reserved(ctx, name.as_str(), None).await?;
    let listed = match upstream.project_files(&name).await {
        Ok(listed) => listed,
        // An answer, not a failure: remembered, so misses for the name stop
        // setting off lookups for a while.
        Err(e) if e.upstream_absent => {
            let project = name.to_string();
            ctx.db(move |c| throttle::record_upstream_absent(c, &project, airlock_store::now_ms())).await?;
            tracing::info!(project = %name, "index miss: the upstream index has no such project");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let Some(version) = newest_final(&listed, &name) else {
        return Err(JobError::permanent(format!("the upstream index has no installable final release of {name}")));
    };
    let req = PinnedRequirement { name, version };
    let max_attempts = ctx.max_attempts;
    let by = task.requested_by.clone();
    let names = ctx.names.clone();
    let outcome = ctx
        .db(move |c| {
            let opts = releases::RequestOptions { requested_by: Some(&by), source: RequestSource::Miss, ..releases::RequestOptions::default() };
            releases::request_release_with(c, &req, &opts, max_attempts, &names)
        })
        .await?;
    tracing::info!(project = %outcome.project, version = %outcome.version, queued = outcome.queued, "index miss requested for review");
    Ok(())
}

/// The newest version that is final and has a file that is not yanked.
pub fn newest_final(files: &[UpstreamFile], name: &ProjectName) -> Option<Version> {
    newest_final_within(files, name, None)
}

/// [`newest_final`] among the versions `within` allows (all when None).
pub fn newest_final_within(files: &[UpstreamFile], name: &ProjectName, within: Option<&pep440_rs::VersionSpecifiers>) -> Option<Version> {
    files
        .iter()
        .filter(|f| f.yanked.is_none())
        .filter_map(|f| DistFilename::parse(&f.filename))
        .filter(|d| d.name == name.as_str())
        .filter_map(|d| pep440_rs::Version::from_str(&d.version).ok())
        .filter(|v| !v.any_prerelease() && v.local().is_empty())
        .filter(|v| within.is_none_or(|spec| spec.contains(v)))
        .max()
        .and_then(|v| Version::parse(&v.to_string()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(filename: &str, yanked: bool) -> UpstreamFile {
        UpstreamFile {
            filename: filename.into(),
            url: url::Url::parse("http://up.test/f").unwrap(),
            sha256: None,
            requires_python: None,
            yanked: yanked.then(String::new),
            upload_time: None,
            size: None,
        }
    }

    #[test]
    fn the_newest_final_unyanked_version_wins() {
        let name = ProjectName::parse("demo").unwrap();
        let files = [
            f("demo-1.9.tar.gz", false),
            f("demo-1.10-py3-none-any.whl", false),
            f("demo-2.0rc1.tar.gz", false),
            f("demo-1.11.tar.gz", true),
            f("other-9.0.tar.gz", false),
        ];
        assert_eq!(newest_final(&files, &name).unwrap().as_str(), "1.10");
        assert!(newest_final(&[f("demo-1.0a1.tar.gz", false)], &name).is_none());
        let below_1_10 = pep440_rs::VersionSpecifiers::from_str("<1.10").unwrap();
        assert_eq!(newest_final_within(&files, &name, Some(&below_1_10)).unwrap().as_str(), "1.9");
    }
}
