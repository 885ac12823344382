//! The `check_import_line` job: one line of a lockfile import, checked
//! against the upstream before anything is fetched, then requested.
//!
//! A line that lists hashes is requested only when every hash is one the
//! upstream gives for a file of that release: a lockfile that disagrees
//! with the upstream (tampered, or made against another index) is refused
//! with the hash and the release named, on the line and in the audit log,
//! and the release is not requested, so none of its files is downloaded.
//! An unpinned line (when the import allows it) gets the newest final,
//! unyanked version its specifiers admit.

use std::collections::HashSet;
use std::str::FromStr;

use airlock_store::domain::{ProjectName, Version};
use airlock_store::imports::{self, LineState};
use airlock_store::tasks::CheckImportLine;

use crate::context::Context;
use crate::error::JobError;
use crate::mirror::files_of_version;
use crate::request_latest::newest_final_within;

pub async fn run(ctx: &Context, task: CheckImportLine) -> Result<(), JobError> {
    let line_id = task.line_id;
    let Some((_, line)) = ctx.db(move |c| imports::line_by_id(c, line_id)).await? else { return Ok(()) };
    if line.state().map_err(JobError::from)? != LineState::Checking {
        return Ok(());
    }
    let name = ProjectName::parse(line.project.as_deref().unwrap_or_default()).map_err(|e| JobError::permanent(e.to_string()))?;
    let pinned = line.version.as_deref().map(Version::parse).transpose().map_err(|e| JobError::permanent(e.to_string()))?;
    let hashes = line.hash_list();
    let version = match (pinned, hashes.is_empty()) {
        (Some(version), true) => version,
        (pinned, _) => match check_upstream(ctx, &name, pinned, line.specifier.as_deref(), &hashes).await? {
            Ok(version) => version,
            Err((state, action, target, reason)) => {
                tracing::info!(project = %name, %reason, "import line not requested");
                return ctx.db(move |c| imports::refuse_line(c, line_id, state, action, &target, &reason)).await;
            }
        },
    };
    let (max_attempts, names) = (ctx.max_attempts, ctx.names.clone());
    let state = ctx.db(move |c| imports::request_line(c, line_id, &version, max_attempts, &names)).await?;
    tracing::info!(project = %name, state = state.as_str(), "import line checked");
    Ok(())
}

/// Why a line is not requested: its new state, the audit action, what the
/// event is about, and the reason.
type Refusal = (LineState, &'static str, String, String);

/// The version to request, after checking the line's hashes against the
/// upstream's files of it; or why the line is not requested.
async fn check_upstream(
    ctx: &Context,
    name: &ProjectName,
    pinned: Option<Version>,
    specifier: Option<&str>,
    hashes: &[String],
) -> Result<Result<Version, Refusal>, JobError> {
    let upstream = ctx.upstream_client()?;
    let listed = match upstream.project_files(name).await {
        Ok(listed) => listed,
        Err(e) if e.upstream_absent => {
            return Ok(Err((LineState::Failed, "import.failed", name.to_string(), format!("the upstream index has no project {name}"))));
        }
        Err(e) => return Err(e),
    };
    let version = match pinned {
        Some(v) => v,
        None => {
            let spec = specifier.map(str::trim).filter(|s| !s.is_empty());
            let within = spec.map(pep440_rs::VersionSpecifiers::from_str).transpose().map_err(|e| JobError::permanent(format!("specifier {spec:?}: {e}")))?;
            match newest_final_within(&listed, name, within.as_ref()) {
                Some(v) => v,
                None => {
                    let wanted = spec.map(|s| format!(" satisfies {s}")).unwrap_or_else(|| " is final and unyanked".into());
                    return Ok(Err((LineState::Failed, "import.failed", name.to_string(), format!("no version of {name} on the upstream index{wanted}"))));
                }
            }
        }
    };
    if hashes.is_empty() {
        return Ok(Ok(version));
    }
    let target = format!("{name} {version}");
    let files = files_of_version(&listed, name, &version);
    if files.is_empty() {
        return Ok(Err((LineState::Failed, "import.failed", target, format!("the upstream index lists no file of {name} {version}"))));
    }
    let known: HashSet<&str> = files.iter().filter_map(|f| f.sha256.as_ref()).map(|h| h.as_str()).collect();
    if known.is_empty() {
        let reason = format!("the upstream index gives no sha256 for the files of {name} {version}, so the file's hashes cannot be checked");
        return Ok(Err((LineState::Failed, "import.failed", target, reason)));
    }
    if let Some(bad) = hashes.iter().find(|h| !known.contains(h.as_str())) {
        let reason = format!("hash sha256:{bad} of {name} {version} matches none of the upstream's files");
        return Ok(Err((LineState::Refused, "import.hash_mismatch", target, reason)));
    }
    Ok(Ok(version))
}
