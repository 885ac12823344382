//! The `inspect_file` job: read a stored file (verifying its hash), run the
//! inspection engine on it off the async executor, keep the wheel's core
//! metadata as its own blob (for PEP 658), and record the findings. The
//! last file of a release hands the release to review.

use airlock_inspect::{inspect_source, DistKind, Limits, Report};
use airlock_store::domain::Sha256;
use airlock_store::files::{self, FileRow, Finding, Inspection};
use airlock_store::tasks::InspectFile;
use airlock_store::Config;

use crate::context::Context;
use crate::error::JobError;

pub async fn run(ctx: &Context, task: InspectFile) -> Result<(), JobError> {
    let file_id = task.file_id;
    let file = ctx.db(move |c| files::file_by_id(c, file_id)).await?.ok_or_else(|| JobError::permanent(format!("file #{file_id} does not exist")))?;
    let sha = Sha256::parse(&file.sha256).map_err(JobError::from)?;
    let blobs = ctx.store.blobs.clone();
    let filename = file.filename.clone();
    let limits = ctx.limits.clone();
    let (report, metadata_sha) = tokio::task::spawn_blocking(move || -> Result<(Report, Option<Sha256>), JobError> {
        // Streamed from the blob file: a large wheel is never held in memory whole.
        let file = blobs.open_verified(&sha).map_err(|e| JobError::permanent(format!("{filename}: {e}")))?;
        let started = std::time::Instant::now();
        let report = inspect_source(&filename, std::io::BufReader::new(file), &limits);
        airlock_store::metrics::PROCESS.inspection_seconds.observe(started.elapsed());
        let metadata_sha = match &report.metadata_file {
            Some(meta) => Some(blobs.put(meta).map_err(|e| JobError::transient(e.to_string()))?),
            None => None,
        };
        Ok((report, metadata_sha))
    })
    .await
    .map_err(|e| match e.try_into_panic() {
        // The same bytes would crash it again: park the job, a person reads the file.
        Ok(payload) => JobError::permanent(format!("the inspection crashed on this file ({}); read it by hand", crate::guard::panic_message(payload.as_ref()))),
        Err(e) => JobError::transient(format!("inspection task failed: {e}")),
    })??;

    tracing::info!(file = %file.filename, findings = report.findings.len(), max_severity = report.max_severity.as_str(), "inspected");
    let inspection = to_inspection(&report, metadata_sha);
    let status = ctx.db(move |c| files::record_inspection(c, file_id, &inspection, &compare_wheel_and_sdist)).await?;
    if let Some(status) = status {
        tracing::info!(release_id = file.release_id, %status, "release inspected");
        let (release_id, attempts) = (file.release_id, ctx.max_attempts);
        ctx.db(move |c| airlock_store::audit_size::enqueue_measure(c, release_id, attempts)).await?;
        // Entering review: checked against the advisories at once.
        let (release_id, policy, review) = (file.release_id, ctx.advisories.clone(), ctx.review.clone());
        match ctx.db(move |c| airlock_store::advisories::check_release(c, release_id, &policy, &review)).await {
            Ok(found) if !found.is_empty() => tracing::warn!(release_id, advisories = ?found, "release matches advisories"),
            Ok(_) => {}
            Err(e) => tracing::warn!(release_id, error = %e, "checking the release against advisories"),
        }
    }
    Ok(())
}

/// The inspection limits the configuration asks for: the engine's
/// defaults, with the configured analysis budgets.
pub fn limits(config: &Config) -> Limits {
    let defaults = Limits::default();
    Limits {
        analysis_budget_per_file: config.analysis_budget_file.unwrap_or(defaults.analysis_budget_per_file),
        analysis_budget_per_archive: config.analysis_budget_archive.unwrap_or(defaults.analysis_budget_per_archive),
        ..defaults
    }
}

/// Once every file is inspected: code the wheel has and the sdist lacks,
/// reported on the wheel.
fn compare_wheel_and_sdist(all: &[FileRow]) -> Vec<(i64, Finding)> {
    let wheel =
        all.iter().find(|f| f.dist_kind == DistKind::Wheel && f.filename.ends_with("-any.whl")).or_else(|| all.iter().find(|f| f.dist_kind == DistKind::Wheel));
    let sdist = all.iter().find(|f| f.dist_kind == DistKind::Sdist);
    let (Some(wheel), Some(sdist)) = (wheel, sdist) else { return Vec::new() };
    airlock_inspect::compare::compare_wheel_to_sdist(&wheel.entry_paths(), &sdist.entry_paths())
        .into_iter()
        .map(|f| (wheel.id, Finding { line: None, snippet: None, also: Vec::new(), ..f }))
        .collect()
}

fn to_inspection(report: &Report, metadata_sha256: Option<Sha256>) -> Inspection {
    Inspection {
        dist_kind: report.kind,
        core_metadata: report.metadata.as_ref().and_then(|m| serde_json::to_string(m).ok()),
        metadata_sha256,
        capabilities: serde_json::to_string(&report.capabilities).ok(),
        entries: serde_json::to_string(&report.entries.iter().map(|e| e.path.as_str()).collect::<Vec<_>>()).ok(),
        // One row per place, so the release page can list every place of
        // a rule (the store scores a rule once per file and severity).
        findings: report.findings.iter().flat_map(|f| f.each_place()).collect(),
    }
}
