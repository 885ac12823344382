//! A release's dependency closure as pages and the API show it: the rows
//! the worker wrote (store::dependencies), analysed by the resolve crate
//! (tree, conflicts, cycles, gaps, installable), joined with each member's
//! status. Also the set's bulk approval: the members whose worst finding
//! is below the configured severity, one ordinary decision each.

use std::collections::HashMap;

use airlock_inspect::Severity;
use airlock_resolve::closure::Closure;
use airlock_resolve::Targets;
use airlock_store::auth::User;
use airlock_store::decisions::{self, Outcome, ReviewPolicy, Verdict};
use airlock_store::dependencies::{self, NodeRow};
use airlock_store::domain::ReleaseStatus;
use airlock_store::{AnyConnection, StoreResult};
use serde::Serialize;

use crate::error::AppError;
use crate::routes::release::release_base;
use crate::state::AppState;

/// The closure of one release, ready to show.
pub struct ClosureView {
    pub analysis: Closure,
    pub nodes: HashMap<i64, NodeRow>,
    /// The root was asked for with its dependencies.
    pub requested: bool,
}

/// One tree line, as the page draws it.
#[derive(Debug, Clone, Serialize)]
pub struct TreeRow {
    pub depth: usize,
    /// The depth the page indents by (deep trees stop indenting at 12).
    pub indent: usize,
    pub requirement: String,
    pub kind: &'static str,
    pub targets: String,
    pub project: Option<String>,
    pub version: Option<String>,
    pub status: Option<ReleaseStatus>,
    pub href: Option<String>,
    pub problem: Option<String>,
    pub repeat: bool,
    pub cycle: bool,
}

/// The closure of `release_id`, from its edges.
pub fn load(conn: &mut AnyConnection, release_id: i64, targets: &Targets) -> StoreResult<ClosureView> {
    let (analysis, rows) = dependencies::analyze(conn, release_id, targets)?;
    let requested = rows.first().is_some_and(|r| r.with_dependencies);
    Ok(ClosureView { analysis, nodes: rows.into_iter().map(|r| (r.id, r)).collect(), requested })
}

impl ClosureView {
    /// Every member, the root first.
    pub fn members(&self) -> Vec<&NodeRow> {
        self.analysis.members.iter().filter_map(|id| self.nodes.get(id)).collect()
    }

    /// The tree with each line's member.
    pub fn rows(&self) -> Vec<TreeRow> {
        self.analysis
            .tree
            .iter()
            .map(|l| {
                let node = l.node.and_then(|id| self.nodes.get(&id));
                TreeRow {
                    depth: l.depth,
                    indent: l.depth.min(12),
                    requirement: l.requirement.clone(),
                    kind: l.kind.as_str(),
                    targets: l.targets.clone(),
                    project: node.map(|n| n.project.clone()),
                    version: node.map(|n| n.version.clone()),
                    status: node.map(|n| n.status),
                    href: node.map(|n| release_base(&n.project, &n.version)),
                    problem: l.problem.clone(),
                    repeat: l.repeat,
                    cycle: l.cycle,
                }
            })
            .collect()
    }

    /// The members other than the root, riskiest first.
    pub fn members_by_risk(&self) -> Vec<&NodeRow> {
        let root = self.analysis.members.first().copied();
        let mut v: Vec<&NodeRow> = self.analysis.members.iter().filter(|id| Some(**id) != root).filter_map(|id| self.nodes.get(id)).collect();
        v.sort_by(|a, b| b.risk_score.cmp(&a.risk_score).then(b.max_severity.cmp(&a.max_severity)).then(a.project.cmp(&b.project)));
        v
    }

    /// What stands between the set and an install, one line each: what
    /// the approve dialog warns about. Empty when approving this release
    /// leaves nothing else to do.
    pub fn blockers(&self) -> Vec<String> {
        let a = &self.analysis;
        let mut out = Vec::new();
        if !self.requested && a.members.len() == 1 && a.tree.is_empty() {
            out.push("its dependencies were never resolved: request it with its dependencies to see whether it is installable".into());
            return out;
        }
        let root = a.members.first().copied();
        let others_unapproved: Vec<String> = a
            .members
            .iter()
            .filter(|id| Some(**id) != root)
            .filter_map(|id| self.nodes.get(id))
            .filter(|n| n.status != ReleaseStatus::Approved)
            // A version superseded on every target is never installed.
            .filter(|n| a.picked_on.get(&n.id).is_some_and(|m| *m != 0))
            .map(|n| format!("{} {} ({})", n.project, n.version, n.status))
            .collect();
        if !others_unapproved.is_empty() {
            let shown: Vec<&str> = others_unapproved.iter().take(10).map(String::as_str).collect();
            let more = others_unapproved.len().saturating_sub(10);
            out.push(format!(
                "{} of its dependencies are not approved yet: {}{}",
                others_unapproved.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
        if a.unresolved > 0 {
            out.push(format!("the requirements of {} member(s) are still being read", a.unresolved));
        }
        out.extend(a.gaps.iter().cloned());
        out.extend(a.conflicts.iter().cloned());
        out
    }
}

/// What a bulk approval did (also its JSON answer).
#[derive(Debug, Default, Serialize)]
pub struct BulkOutcome {
    /// `name version` of each release approved (or given its first of two approvals).
    pub approved: Vec<String>,
    /// Members left for individual review, with why.
    pub left: Vec<Left>,
    /// The projects whose index pages changed.
    #[serde(skip)]
    pub projects: Vec<String>,
}

/// A release a bulk approval left for individual review.
#[derive(Debug, Serialize)]
pub struct Left {
    /// `name version`.
    pub release: String,
    pub reason: String,
}

/// Bulk approval as the set view and an import both run it: the releases
/// `load` names, approved below `bulk_approve_below` (see
/// [`approve_low_risk`]) with `comment` and a note of what they were
/// approved as (`label`), one audit event `action` on `target`, and the
/// index pages of the approved projects refreshed in this process (the
/// others follow within a feed poll).
pub async fn bulk_approve<F>(
    state: &AppState,
    user: User,
    action: &'static str,
    target: String,
    label: String,
    comment: String,
    load: F,
) -> Result<BulkOutcome, AppError>
where
    F: FnOnce(&mut AnyConnection) -> StoreResult<Vec<NodeRow>> + Send + 'static,
{
    let (below, policy) = (state.config.bulk_approve_below, state.review_policy());
    let comment = format!("{} [{label}, members below {below}]", comment.trim());
    let outcome = state
        .db(move |c| {
            let rows = load(c)?;
            let members: Vec<&NodeRow> = rows.iter().collect();
            let out = approve_low_risk(c, &members, &user, below, &comment, &policy)?;
            let detail = format!("approved {} release(s), left {}", out.approved.len(), out.left.len());
            airlock_store::audit::record(c, Some(&user.name), action, &target, &detail)?;
            Ok(out)
        })
        .await?;
    for project in &outcome.projects {
        state.index.evict_project(project);
    }
    Ok(outcome)
}

/// Approve every one of `members` that awaits review and whose worst
/// finding is below `below`; one ordinary decision each, under the review
/// policy. The others are left, with the reason.
fn approve_low_risk(
    conn: &mut AnyConnection,
    members: &[&NodeRow],
    user: &User,
    below: Severity,
    comment: &str,
    policy: &ReviewPolicy,
) -> StoreResult<BulkOutcome> {
    let mut out = BulkOutcome::default();
    for n in members {
        let name = format!("{} {}", n.project, n.version);
        let awaiting = n.status == ReleaseStatus::AwaitingReview || n.status == ReleaseStatus::Revoked;
        if !awaiting {
            if n.status != ReleaseStatus::Approved {
                out.left.push(Left { release: name, reason: format!("it is {}", n.status) });
            }
            continue;
        }
        if n.max_severity >= below {
            out.left.push(Left { release: name, reason: format!("its worst finding is {}", n.max_severity) });
            continue;
        }
        match decisions::decide(conn, n.id, user, Verdict::Approve, comment, policy, None) {
            Ok((_, Outcome::ApprovalRecorded { have, needed })) => out.approved.push(format!("{name} (approval {have} of {needed})")),
            Ok(_) => {
                out.approved.push(name);
                out.projects.push(n.project.clone());
            }
            Err(e) => out.left.push(Left { release: name, reason: e.to_string() }),
        }
    }
    Ok(out)
}
