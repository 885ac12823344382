//! The release page (`GET /releases/<name>/<version>`): metadata, files,
//! capabilities, findings as one card per rule (each place linking to its
//! line in the file viewer, with the verdicts given on it), dependencies with
//! their review status, the audit size; and the auditor's forms (decisions,
//! yanks: see [`super::release_actions`]).
//! Files the targets left out are listed as not mirrored, and anyone signed
//! in may ask for one (`POST …/files`); it is served only once approved.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_inspect::{DistKind, Severity};
use airlock_store::domain::{ReleaseStatus, Role};
use airlock_store::releases;
use airlock_store::unmirrored;
use airlock_store::{finding_reviews, suppressions};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{FormPost, Page, Viewer};
use crate::closure_view::{self, TreeRow};
use crate::error::AppError;
use crate::findings_view::{self, RuleCard};
use crate::release_detail::{self, ReleaseDetail};
use crate::review::{self, AuditSummary};
use crate::state::AppState;
use crate::views::{format_count, format_size, format_time, format_timestamp, url_part, url_path_query, Nav};

pub struct FileView {
    filename: String,
    href: String,
    dist_kind: DistKind,
    size: String,
    bytes: i64,
    sha256: String,
    max_severity: Severity,
    yanked: Option<String>,
    upload_time: Option<String>,
    requires_python: Option<String>,
    /// When a watch's sync found it gone from the upstream's listing.
    removed_upstream: Option<String>,
}

/// A file the upstream lists that the targets left out.
pub struct NotMirroredView {
    filename: String,
    /// The upstream's size, when it gives one.
    size: Option<String>,
    bytes: Option<i64>,
    reason: String,
    requested_by: Option<String>,
    error: Option<String>,
}

pub struct DecisionRow {
    user: String,
    decision: String,
    comment: String,
    when: String,
    files: usize,
    /// What was read: "delta from 1.0, 530 lines", "whole release, …", or None.
    read: Option<String>,
    criteria: Option<String>,
    /// The policy that decided, when no person did.
    policy: Option<String>,
}

pub struct Dependency {
    requirement: String,
    /// `version status` of each release of it in Airlock, newest first.
    releases: Vec<(String, ReleaseStatus, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "release.html")]
pub struct ReleasePage {
    nav: Option<Nav>,
    base_href: String,
    project: String,
    version: String,
    status: String,
    error: Option<String>,
    max_severity: Severity,
    risk_score: i64,
    metadata: Vec<(String, String)>,
    dependencies: Vec<Dependency>,
    capabilities: Vec<String>,
    files: Vec<FileView>,
    finding_count: usize,
    /// The findings, one card per rule (see [`crate::findings_view`]).
    cards: Vec<RuleCard>,
    /// Whether the user may give verdicts on findings.
    can_review_findings: bool,
    decisions: Vec<DecisionRow>,
    audit: Option<AuditSummary>,
    can_decide: bool,
    can_revoke: bool,
    approvals_needed: usize,
    approvals_have: Vec<String>,
    already_approved: bool,
    reviewed_hashes: String,
    closure: ClosureSummary,
    /// The project the name resembles, marked when it was requested.
    possible_typosquat_of: Option<String>,
    /// The configured targets, as a sentence.
    targets: String,
    target_gap: Option<String>,
    not_mirrored: Vec<NotMirroredView>,
    not_mirrored_total: String,
    can_add_files: bool,
    /// Files added to this approved release that no approval in force covers yet.
    awaiting_approval: Vec<String>,
    /// The revoked version the approval in force was read against.
    base_revoked: Option<String>,
    /// The criteria a decision may be made for, the default first.
    criteria: Vec<String>,
    /// The status in words.
    status_label: &'static str,
    /// An auditor's yank: the reason, who and when.
    yank: Option<YankRow>,
    /// The signed-in user may yank it or take the yank back.
    can_yank: bool,
    /// What the last decision did, after the redirect that follows it.
    decided: Option<String>,
    /// Advisories matching this release, worst first.
    advisories: Vec<airlock_store::advisories::MatchView>,
    /// Why an auto-approval policy left it for a person: policy, reason, when.
    policy_declined: Option<(String, String, String)>,
}

/// An auditor's yank, as the page shows it.
pub struct YankRow {
    reason: String,
    by: String,
    when: String,
}

#[derive(Deserialize)]
pub struct ReleaseQuery {
    /// Set by the redirect after a decision: what was decided, in words.
    decided: Option<String>,
}

/// The dependency closure as the release page shows it.
pub struct ClosureSummary {
    /// The release was asked for with its dependencies, or has edges.
    shown: bool,
    installable: bool,
    complete: bool,
    members: usize,
    unapproved: usize,
    rows: Vec<TreeRow>,
    conflicts: Vec<String>,
    cycles: Vec<String>,
    /// What stands between the set and an install (the approve dialog's warning).
    blockers: Vec<String>,
    /// `name[extras]==version`, for the "resolve its dependencies" form.
    requirement: String,
}

const METADATA_FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("version", "Version"),
    ("summary", "Summary"),
    ("author", "Author"),
    ("author_email", "Author email"),
    ("home_page", "Home page"),
    ("license", "License"),
    ("requires_python", "Requires-Python"),
];

fn metadata_rows(detail: &ReleaseDetail) -> (Vec<(String, String)>, Vec<String>) {
    let Some(meta) = detail.core_metadata() else {
        return (Vec::new(), Vec::new());
    };
    let rows = METADATA_FIELDS
        .iter()
        .filter_map(|(key, label)| {
            let v = meta.get(*key)?.as_str()?.trim();
            (!v.is_empty()).then(|| (label.to_string(), v.chars().take(500).collect()))
        })
        .collect();
    let deps = meta
        .get("requires_dist")
        .and_then(|d| d.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(|s| s.chars().take(300).collect())).take(200).collect())
        .unwrap_or_default();
    (rows, deps)
}

/// The file viewer's URL for a path inside a distribution file.
pub fn viewer_href(base: &str, filename: &str, path: &str, line: Option<i64>) -> String {
    let anchor = line.map(|l| format!("#L{l}")).unwrap_or_default();
    format!("{base}/files/{}?path={}{anchor}", url_part(filename), url_path_query(path))
}

pub fn release_base(project: &str, version: &str) -> String {
    format!("/releases/{}/{}", url_part(project), url_part(version))
}

pub async fn page(
    auth: Page<Viewer>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    q: web::Query<ReleaseQuery>,
) -> Result<ReleasePage, AppError> {
    let (name, version) = path.into_inner();
    let detail = release_detail::load(&state, &name, &version).await?;
    let (metadata, requires_dist) = metadata_rows(&detail);
    let dep_names: Vec<String> = requires_dist.iter().filter_map(|r| airlock_store::domain::requirement_name(r)).collect();
    let (release_id, targets) = (detail.release.id, state.config.targets.clone());
    let (project_id, project_name) = (detail.project.id, detail.project.name.clone());
    let (release_status, release_version) = (detail.release.status, detail.release.version.clone());
    let (known, audit, closure, yank, reviews, suppressed, policy_declined) = state
        .db(move |c| {
            let policy_declined = release_detail::policy_declined(c, release_status, &project_name, &release_version)?;
            let reviews = finding_reviews::in_force(c, project_id, release_id)?;
            let suppressed = suppressions::of_project(c, &project_name)?;
            let known = releases::statuses_by_project(c, &dep_names)?;
            let audit = review::audit_size(c, release_id)?;
            Ok((
                known,
                audit,
                closure_view::load(c, release_id, &targets)?,
                airlock_store::index::yank_of(c, release_id)?,
                reviews,
                suppressed,
                policy_declined,
            ))
        })
        .await?;
    let extras = detail.release.extras();
    let closure = ClosureSummary {
        shown: closure.requested || !closure.analysis.tree.is_empty(),
        installable: closure.analysis.installable,
        complete: closure.analysis.complete,
        members: closure.analysis.members.len(),
        unapproved: closure.analysis.unapproved,
        rows: closure.rows(),
        conflicts: closure.analysis.conflicts.clone(),
        cycles: closure.analysis.cycles.clone(),
        blockers: closure.blockers(),
        requirement: if extras.is_empty() {
            format!("{}=={}", detail.project.name, detail.release.version)
        } else {
            format!("{}[{}]=={}", detail.project.name, extras.join(","), detail.release.version)
        },
    };
    let dependencies = requires_dist
        .into_iter()
        .map(|requirement| {
            let project = airlock_store::domain::requirement_name(&requirement);
            let releases = project
                .as_ref()
                .and_then(|p| known.get(p))
                .map(|rs| rs.iter().take(5).map(|(v, s)| (v.clone(), *s, release_base(project.as_deref().unwrap_or(""), v))).collect())
                .unwrap_or_default();
            Dependency { requirement, releases }
        })
        .collect();
    let base = release_base(&detail.project.name, &detail.release.version);
    let status = detail.release.status;
    let awaiting_approval: Vec<String> = detail.awaiting_approval().iter().map(|f| f.filename.clone()).collect();
    let round = detail.review_round();
    let auditor = auth.user.role >= Role::Auditor;
    let (awaiting, hashes, approvals_have) = (round.awaiting, round.hashes, round.approvals_have);
    let already_approved = approvals_have.contains(&auth.user.name);
    let not_mirrored_bytes: i64 = detail.not_mirrored.iter().filter_map(|f| f.file.size).sum();
    let mut criteria = vec![state.config.default_criteria.clone()];
    criteria.extend(state.config.criteria.iter().filter(|c| **c != state.config.default_criteria).cloned());
    Ok(ReleasePage {
        status_label: status.label(),
        yank: yank.map(|y| YankRow { reason: y.reason, by: y.yanked_by, when: format_time(y.at) }),
        can_yank: auditor,
        decided: q.decided.as_ref().map(|d| d.chars().take(300).collect()),
        base_revoked: detail.base_revoked.as_ref().map(|b| b.base.clone()),
        advisories: detail.advisories.clone(),
        criteria,
        targets: state.config.targets.to_string(),
        target_gap: detail.target_gap(&state.config.targets),
        can_add_files: detail.can_add_files(),
        not_mirrored_total: format_size(not_mirrored_bytes.max(0) as u64),
        not_mirrored: detail
            .not_mirrored
            .iter()
            .map(|f| NotMirroredView {
                filename: f.file.filename.clone(),
                size: f.file.size.map(|s| format_size(s.max(0) as u64)),
                bytes: f.file.size,
                reason: f.file.reason.clone(),
                requested_by: f.requested_by.clone(),
                error: f.error.clone(),
            })
            .collect(),
        awaiting_approval,
        nav: Nav::new(&auth.user, &auth.csrf),
        cards: findings_view::cards(&detail.findings, &detail.files, &reviews, &suppressed, detail.release.id, &base),
        can_review_findings: auditor,
        finding_count: detail.findings.len(),
        metadata,
        dependencies,
        capabilities: detail.capabilities(),
        can_decide: auditor && awaiting && !already_approved,
        can_revoke: auditor && status == ReleaseStatus::Approved,
        approvals_needed: state.review_policy().approvals_needed(detail.release.max_severity),
        approvals_have,
        already_approved,
        reviewed_hashes: hashes.join(","),
        audit,
        closure,
        files: detail
            .files
            .iter()
            .map(|f| FileView {
                href: format!("{base}/files/{}", url_part(&f.filename)),
                filename: f.filename.clone(),
                dist_kind: f.dist_kind,
                size: format_size(f.size.max(0) as u64),
                bytes: f.size,
                sha256: f.sha256.clone(),
                max_severity: f.max_severity,
                yanked: f.yanked.clone(),
                upload_time: f.upload_time.as_deref().map(format_timestamp),
                requires_python: f.requires_python.clone(),
                removed_upstream: f.upstream_removed_at.map(format_time),
            })
            .collect(),
        decisions: detail
            .decisions
            .iter()
            .map(|d| DecisionRow {
                user: d.user.clone(),
                decision: d.decision.clone(),
                comment: d.comment.clone(),
                when: format_time(d.created_at),
                files: d.sha256s.len(),
                read: match (d.audit_base.as_deref(), d.audit_lines) {
                    (Some(airlock_store::reading::FULL), Some(lines)) => Some(format!("whole release, {} lines", format_count(lines))),
                    (Some(base), Some(lines)) => Some(format!("delta from {base}, {} lines", format_count(lines))),
                    _ => None,
                },
                criteria: d.criteria.clone(),
                policy: d.policy.clone(),
            })
            .collect(),
        base_href: base,
        project: detail.project.name,
        version: detail.release.version,
        status: status.to_string(),
        error: detail.release.error,
        max_severity: detail.release.max_severity,
        risk_score: detail.release.risk_score,
        possible_typosquat_of: detail.release.possible_typosquat_of,
        policy_declined: policy_declined.map(|d| (d.policy, d.reason, format_time(d.at))),
    })
}

#[derive(Deserialize)]
pub struct AddFileForm {
    filename: String,
}

/// `POST /releases/<name>/<version>/files`: ask for a file the targets left
/// out. Any signed-in user may, as with a request; the file is mirrored,
/// inspected, and served only once an auditor approves it.
pub async fn add_file(post: FormPost<Viewer, AddFileForm>, state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (name, version) = path.into_inner();
    let detail = release_detail::load(&state, &name, &version).await?;
    let (release_id, user, filename) = (detail.release.id, post.user.name.clone(), post.form.filename.clone());
    let attempts = state.config.job_max_attempts;
    let out = state.db(move |c| unmirrored::request_add(c, release_id, &filename, &user, attempts)).await?;
    tracing::info!(project = %out.project, version = %out.version, file = %out.filename, "file requested");
    let location = format!("{}#not-mirrored", release_base(&detail.project.name, &detail.release.version));
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish())
}
