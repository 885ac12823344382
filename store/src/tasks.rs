//! The payloads of Airlock's background jobs. They live here, not in the
//! worker, because the server enqueues them too; the worker runs them.
//! Each is idempotent: running one twice leaves the same state as once.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::db::AnyConnection;
use crate::error::{StoreError, StoreResult};
use crate::jobs;

/// A job payload: its kind name and dedup key.
pub trait Task: Serialize + DeserializeOwned {
    const KIND: &'static str;
    /// Jobs with the same key are not queued twice while one is live.
    fn dedup_key(&self) -> Option<String>;
}

/// Fetch a release's files from the upstream, verify and store them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MirrorRelease {
    pub release_id: i64,
}

impl Task for MirrorRelease {
    const KIND: &'static str = "mirror_release";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("mirror_release:{}", self.release_id))
    }
}

/// Inspect one stored file and record its findings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InspectFile {
    pub file_id: i64,
}

impl Task for InspectFile {
    const KIND: &'static str = "inspect_file";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("inspect_file:{}", self.file_id))
    }
}

/// Mirror one file of a release that the targets left out, on request,
/// then queue its inspection (see `unmirrored`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AddFile {
    pub release_id: i64,
    pub filename: String,
}

impl Task for AddFile {
    const KIND: &'static str = "add_file";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("add_file:{}:{}", self.release_id, self.filename))
    }
}

/// A client asked the index for a project Airlock does not have: find its
/// newest release on the upstream and request it for review.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestLatest {
    /// Normalized project name.
    pub project: String,
    /// Who asked, for the release's `requested_by`.
    pub requested_by: String,
}

impl Task for RequestLatest {
    const KIND: &'static str = "request_latest";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("request_latest:{}", self.project))
    }
}

/// Re-read a project's page on the upstream and carry its current yanks
/// (PEP 592) over to the files Airlock mirrored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncUpstream {
    /// Normalized project name.
    pub project: String,
}

impl Task for SyncUpstream {
    const KIND: &'static str = "sync_upstream";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("sync_upstream:{}", self.project))
    }
}

/// Check one line of a lockfile import against the upstream (its hashes,
/// or the newest version for an unpinned line), then request its release.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckImportLine {
    pub line_id: i64,
}

impl Task for CheckImportLine {
    const KIND: &'static str = "check_import_line";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("check_import_line:{}", self.line_id))
    }
}

/// Read a release's requirements from its mirrored metadata, choose a
/// release for each (reusing approved ones) and request those, recursively:
/// the release's dependency closure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResolveDependencies {
    pub release_id: i64,
}

impl Task for ResolveDependencies {
    const KIND: &'static str = "resolve_dependencies";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("resolve_dependencies:{}", self.release_id))
    }
}

/// Measure what reviewing a release reads (its audit size) against each
/// of its bases, read from the archives; then weigh the `small-update`
/// policy. Queued when the release's inspection finishes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MeasureAudit {
    pub release_id: i64,
}

impl Task for MeasureAudit {
    const KIND: &'static str = "measure_audit";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("measure_audit:{}", self.release_id))
    }
}

/// Fetch OSV advisories from a URL (`advisories_url`), store them, match
/// them against the releases held and act (see `advisories`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FetchAdvisories {
    pub url: String,
}

impl Task for FetchAdvisories {
    const KIND: &'static str = "fetch_advisories";
    fn dedup_key(&self) -> Option<String> {
        Some(format!("fetch_advisories:{}", self.url))
    }
}

/// Enqueue `task`; returns the job id, or None when an identical job is live.
pub fn enqueue<T: Task>(conn: &mut AnyConnection, task: &T, max_attempts: i64) -> StoreResult<Option<i64>> {
    let payload = serde_json::to_string(task).map_err(|e| StoreError::Invalid(e.to_string()))?;
    jobs::enqueue(conn, T::KIND, &payload, task.dedup_key().as_deref(), max_attempts)
}

/// Decode a claimed job's payload.
pub fn decode<T: Task>(job: &jobs::Job) -> StoreResult<T> {
    serde_json::from_str(&job.payload).map_err(|e| StoreError::Invalid(format!("job {} payload: {e}", job.id)))
}
