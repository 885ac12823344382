//! Everything known about one release, loaded in one database call: shared
//! by the release page and `GET /api/v1/releases/<name>/<version>`.

use airlock_store::decisions::{self, DecisionView};
use airlock_store::domain::{ProjectName, Version};
use airlock_store::files::{self, FileRow, FindingRow};
use airlock_store::releases::{self, Project, Release};
use airlock_store::StoreError;

use crate::error::AppError;
use crate::state::AppState;

pub struct ReleaseDetail {
    pub project: Project,
    pub release: Release,
    pub files: Vec<FileRow>,
    /// Each finding with the name of the distribution file it is in.
    pub findings: Vec<(FindingRow, String)>,
    pub decisions: Vec<DecisionView>,
}

/// Parse the path's name and version, and load the release.
pub async fn load(state: &AppState, name: &str, version: &str) -> Result<ReleaseDetail, AppError> {
    let name = ProjectName::parse(name).map_err(|_| AppError::NotFound("no such release".into()))?;
    let version = Version::parse(version).map_err(|_| AppError::NotFound("no such release".into()))?;
    state
        .db(move |c| {
            let (project, release) = releases::find_release(c, &name, &version)?.ok_or_else(|| StoreError::NotFound(format!("release {name} {version}")))?;
            Ok(ReleaseDetail {
                files: files::files_of_release(c, release.id)?,
                findings: files::findings_of_release(c, release.id)?,
                decisions: decisions::decisions_of(c, release.id)?,
                project,
                release,
            })
        })
        .await
}

impl ReleaseDetail {
    /// What the release can do: the union of its files' capabilities, sorted.
    pub fn capabilities(&self) -> Vec<String> {
        let mut all: Vec<String> = self.files.iter().flat_map(|f| f.capability_names()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// The core metadata of the release, read from its first inspected
    /// wheel (or sdist), as JSON.
    pub fn core_metadata(&self) -> Option<serde_json::Value> {
        let mut files: Vec<&FileRow> = self.files.iter().filter(|f| f.core_metadata.is_some()).collect();
        files.sort_by_key(|f| f.dist_kind != "wheel");
        files.first().and_then(|f| serde_json::from_str(f.core_metadata.as_deref()?).ok())
    }
}
