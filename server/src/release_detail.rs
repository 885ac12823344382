//! Everything known about one release, loaded in one database call: shared
//! by the release page and `GET /api/v1/releases/<name>/<version>`.

use airlock_inspect::DistKind;
use airlock_resolve::{select_files, Listed, Targets};
use airlock_store::decisions::{self, DecisionView};
use airlock_store::domain::{ProjectName, ReleaseStatus, Version};
use airlock_store::files::{self, FileRow, FindingRow};
use airlock_store::releases::{self, Project, Release};
use airlock_store::unmirrored::{self, UnmirroredRow};
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
    /// Files the upstream lists that the targets left out.
    pub not_mirrored: Vec<UnmirroredRow>,
    /// Set when the approval in force was read against a base since revoked.
    pub base_revoked: Option<airlock_store::reading::BaseRevoked>,
    /// Advisories that match this release, worst first.
    pub advisories: Vec<airlock_store::advisories::MatchView>,
}

/// Where a release's review stands (see [`ReleaseDetail::review_round`]).
pub struct ReviewRound {
    pub awaiting: bool,
    pub hashes: Vec<String>,
    pub approvals_have: Vec<String>,
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
                not_mirrored: unmirrored::of_release(c, release.id)?,
                base_revoked: airlock_store::reading::base_revoked(c, Some(&[release.id]))?.remove(&release.id),
                advisories: airlock_store::advisories::of_release(c, release.id)?,
                project,
                release,
            })
        })
        .await
}

/// Why a policy last left a release for a person, while it awaits review
/// (read by the release page and the API only, not by every loader).
pub fn policy_declined(
    conn: &mut airlock_store::AnyConnection,
    status: ReleaseStatus,
    project: &str,
    version: &str,
) -> Result<Option<airlock_store::policy::Declined>, StoreError> {
    match status {
        ReleaseStatus::AwaitingReview => airlock_store::policy::last_declined(conn, project, version),
        _ => Ok(None),
    }
}

impl ReleaseDetail {
    /// What the release can do: the union of its files' capabilities, sorted.
    pub fn capabilities(&self) -> Vec<String> {
        let mut all: Vec<String> = self.files.iter().flat_map(|f| f.capability_names()).collect();
        all.sort();
        all.dedup();
        all
    }

    /// Files of an approved release that its approval in force does not
    /// cover: added on request since, not served until an approval covers them.
    pub fn awaiting_approval(&self) -> Vec<&FileRow> {
        if self.release.status != ReleaseStatus::Approved {
            return Vec::new();
        }
        let covered = decisions::hashes_in_force(&self.decisions).unwrap_or_default();
        self.files.iter().filter(|f| !covered.contains(&f.sha256)).collect()
    }

    /// Where its review stands: whether it waits for a decision, the file
    /// hashes a decision covers now (sorted), and who approved them so far
    /// in this round (the four-eyes rule). The release and diff pages both
    /// offer the decision form from this.
    pub fn review_round(&self) -> ReviewRound {
        let status = self.release.status;
        // A revoked release can be reviewed again, like one awaiting review;
        // an approved one when files were added to it.
        let awaiting =
            status == ReleaseStatus::AwaitingReview || status == ReleaseStatus::Revoked || !self.awaiting_approval().is_empty() || self.base_revoked.is_some();
        let mut hashes: Vec<String> = self.files.iter().map(|f| f.sha256.clone()).collect();
        hashes.sort();
        // Approvals of the current round: after the last decision that was
        // not one, of exactly the files there are now.
        let start = self.decisions.iter().rposition(|d| d.decision != "approve").map_or(0, |i| i + 1);
        let same_files = |d: &&DecisionView| {
            let mut h = d.sha256s.clone();
            h.sort();
            h == hashes
        };
        let approvals_have = if awaiting { self.decisions[start..].iter().filter(same_files).map(|d| d.user.clone()).collect() } else { Vec::new() };
        ReviewRound { awaiting, hashes, approvals_have }
    }

    /// Whether a left-out file may be asked for now (the store decides; this only hides the button).
    pub fn can_add_files(&self) -> bool {
        let open = match self.release.status {
            ReleaseStatus::Requested | ReleaseStatus::Mirroring | ReleaseStatus::Rejected => false,
            // Failed because nothing fit (no file mirrored): a file added is what it needs.
            ReleaseStatus::Failed => self.files.is_empty(),
            _ => true,
        };
        open && !self.not_mirrored.is_empty()
    }

    /// Targets that no file of the release (mirrored or not) serves and that
    /// have no sdist to build from, as a sentence; None when all are served.
    pub fn target_gap(&self, targets: &Targets) -> Option<String> {
        let listed: Vec<Listed<'_>> = self
            .files
            .iter()
            .map(|f| Listed { filename: &f.filename, requires_python: f.requires_python.as_deref() })
            .chain(self.not_mirrored.iter().map(|f| Listed { filename: &f.file.filename, requires_python: f.file.requires_python.as_deref() }))
            .collect();
        if listed.is_empty() {
            return None;
        }
        select_files(&listed, targets, false).gap()
    }

    /// The core metadata of the release, read from its first inspected
    /// wheel (or sdist), as JSON.
    pub fn core_metadata(&self) -> Option<serde_json::Value> {
        let mut files: Vec<&FileRow> = self.files.iter().filter(|f| f.core_metadata.is_some()).collect();
        files.sort_by_key(|f| f.dist_kind != DistKind::Wheel);
        files.first().and_then(|f| serde_json::from_str(f.core_metadata.as_deref()?).ok())
    }
}
