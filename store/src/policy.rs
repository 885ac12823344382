//! Automatic approval of small, harmless updates: the `small-update`
//! policy. A release awaiting review is approved by it when its delta from
//! an approved version of the project is at most `auto_approve_max_lines`
//! lines, adds or changes no binary file (a compiled extension, an
//! executable: no line count covers it, no person reads it), adds no
//! capability (network, subprocess, exec, …) the base did not have, and
//! adds no finding at or above `auto_approve_below` that the base did not
//! have. Its decision is an ordinary one, by the user
//! `policy:small-update`, with the evidence as its comment: shown apart,
//! in the audit log, revocable like any other.
//!
//! [`evaluate`] is pure: facts in, evidence or the reason out. It never
//! approves a release without a base, nor one that needs more than one
//! approval (`approvals_required`, the four-eyes rule): a policy's approval
//! counts as one approval, and it never applies where more are needed.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;

use crate::auth::User;
use crate::db::AnyConnection;
use crate::decisions::{decide_for, Outcome, ReviewPolicy, Verdict};
use crate::domain::{ReleaseStatus, Role};
use crate::error::StoreResult;
use crate::files::{files_of_release, findings_of_release};
use crate::releases::release_by_id;
use crate::schema::users;
use airlock_inspect::Severity;

/// The policy's name, in decisions and the audit log.
pub const SMALL_UPDATE: &str = "small-update";

/// A policy decides as the user `policy:<name>`.
const USER_PREFIX: &str = "policy:";

/// The audit action of a policy that weighed a release and left it for a
/// person; its actor is the policy's user, its detail the reason, shown on
/// the release page and in the API.
pub const DECLINED: &str = "policy.declined";

/// A policy's last word on a release it left for a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Declined {
    pub policy: String,
    pub reason: String,
    /// Milliseconds since the epoch.
    pub at: i64,
}

/// The `small-update` policy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePolicy {
    /// Largest delta, in lines, it approves.
    pub max_lines: i64,
    /// A finding at or above this severity that the base lacks blocks it.
    pub below: Severity,
}

/// What a release can do and what inspection found in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub capabilities: BTreeSet<String>,
    /// Findings per rule, with the worst severity's rank.
    pub findings: Vec<(String, Severity)>,
}

/// A release's facts, from its files and findings.
pub fn facts(conn: &mut AnyConnection, release_id: i64) -> StoreResult<Facts> {
    let capabilities = files_of_release(conn, release_id)?.iter().flat_map(|f| f.capability_names()).collect();
    let findings = findings_of_release(conn, release_id)?.into_iter().map(|(f, _)| (f.rule, f.severity)).collect();
    Ok(Facts { capabilities, findings })
}

/// Approve `new` against `base` with a `lines`-line delta that adds or
/// changes the binary files `binaries` (paths inside the project)? The
/// evidence when yes; the reason when no.
pub fn evaluate(policy: &UpdatePolicy, new: &Facts, base: &Facts, lines: i64, binaries: &[String]) -> Result<String, String> {
    if lines > policy.max_lines {
        return Err(format!("the delta is {lines} lines, over auto_approve_max_lines ({})", policy.max_lines));
    }
    if let Some(first) = binaries.first() {
        let more = if binaries.len() > 1 { format!(" and {} more", binaries.len() - 1) } else { String::new() };
        return Err(format!("it adds or changes binary files, which no line count covers: {first}{more}"));
    }
    let added: Vec<&str> = new.capabilities.difference(&base.capabilities).map(String::as_str).collect();
    if !added.is_empty() {
        return Err(format!("it adds capabilities: {}", added.join(", ")));
    }
    let count = |facts: &Facts| {
        let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
        for (rule, severity) in &facts.findings {
            if *severity >= policy.below {
                *per_rule.entry(rule.clone()).or_default() += 1;
            }
        }
        per_rule
    };
    let before = count(base);
    let more: Vec<String> =
        count(new).into_iter().filter(|(rule, n)| *n > before.get(rule).copied().unwrap_or(0)).map(|(rule, n)| format!("{rule} ({n})")).collect();
    if !more.is_empty() {
        return Err(format!("it adds findings at or above {}: {}", policy.below, more.join(", ")));
    }
    let caps = if new.capabilities.is_empty() { "none".to_string() } else { new.capabilities.iter().cloned().collect::<Vec<_>>().join(", ") };
    Ok(format!(
        "delta of {lines} lines (limit {}), no binary file added or changed; no capability added (has: {caps}); no finding at or above {} added",
        policy.max_lines, policy.below
    ))
}

/// The policy's own user: an auditor no one can sign in as (disabled, no
/// password, a name people cannot take).
pub(crate) fn policy_user(conn: &mut AnyConnection, name: &str) -> StoreResult<User> {
    let user = format!("{USER_PREFIX}{name}");
    if let Some(u) = crate::auth::find_user(conn, &user)? {
        return Ok(u);
    }
    let inserted = diesel::insert_into(users::table)
        .values((
            users::name.eq(&user),
            users::password_hash.eq("!"),
            users::role.eq(Role::Auditor.as_str()),
            users::created_at.eq(crate::now_ms()),
            users::disabled.eq(true),
        ))
        .execute(conn)
        .map_err(crate::StoreError::from);
    match inserted {
        Err(e) if !e.is_unique_violation() => return Err(e),
        _ => {}
    }
    crate::auth::find_user(conn, &user)?.ok_or_else(|| crate::StoreError::NotFound(user))
}

/// Apply the policy to `release_id`, awaiting review, whose delta from the
/// approved `base_release_id` is `lines` lines and adds or changes the
/// binary files `binaries`: approve it by the policy, or say why not.
pub fn apply(
    conn: &mut AnyConnection,
    policy: &UpdatePolicy,
    review: &ReviewPolicy,
    release_id: i64,
    base_release_id: i64,
    lines: i64,
    binaries: &[String],
) -> StoreResult<Result<Outcome, String>> {
    let (project, release) = release_by_id(conn, release_id)?;
    let (_, base) = release_by_id(conn, base_release_id)?;
    if release.status != ReleaseStatus::AwaitingReview || base.status != ReleaseStatus::Approved {
        return Ok(Err("not awaiting review against an approved base".into()));
    }
    let verdict = if review.approvals_needed(release.max_severity) > 1 {
        // A policy is one approval: it never stands in for several people.
        Err(format!("approvals_required wants {} people for a {} release", review.approvals_needed(release.max_severity), release.max_severity))
    } else {
        evaluate(policy, &facts(conn, release_id)?, &facts(conn, base_release_id)?, lines, binaries)
    };
    let user = policy_user(conn, SMALL_UPDATE)?;
    let evidence = match verdict {
        Ok(e) => format!("{e}; base {}", base.version),
        Err(why) => {
            crate::audit::record(conn, Some(&user.name), DECLINED, &format!("{} {}", project.name, release.version), &format!("{why}; base {}", base.version))?;
            return Ok(Err(why));
        }
    };
    let (_, outcome) = decide_for(conn, release_id, &user, Verdict::Approve, &evidence, review, None, None, Some(SMALL_UPDATE))?;
    Ok(Ok(outcome))
}

/// Why a policy last left this release (`name version`, as the audit log
/// names it) for a person, if one did.
pub fn last_declined(conn: &mut AnyConnection, project: &str, version: &str) -> StoreResult<Option<Declined>> {
    use crate::schema::audit_events;
    let row: Option<(i64, Option<String>, String)> = audit_events::table
        .filter(audit_events::action.eq(DECLINED).and(audit_events::target.eq(format!("{project} {version}"))))
        .order(audit_events::id.desc())
        .select((audit_events::at, audit_events::actor, audit_events::detail))
        .first(conn)
        .optional()?;
    Ok(row.map(|(at, actor, reason)| {
        let policy = actor.as_deref().and_then(|a| a.strip_prefix(USER_PREFIX)).unwrap_or(SMALL_UPDATE).to_string();
        Declined { policy, reason, at }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(caps: &[&str], findings: &[(&str, &str)]) -> Facts {
        Facts {
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            findings: findings.iter().map(|(r, s)| (r.to_string(), Severity::parse(s).unwrap())).collect(),
        }
    }

    #[test]
    fn only_a_small_delta_adding_no_capability_and_no_finding_passes() {
        let policy = UpdatePolicy { max_lines: 100, below: Severity::Low };
        let base = facts(&["filesystem"], &[("python/exec", "high"), ("meta/x", "info")]);
        assert!(
            evaluate(&policy, &facts(&["filesystem"], &[("python/exec", "high"), ("meta/y", "info")]), &base, 40, &[]).is_ok(),
            "info findings do not block"
        );
        assert!(evaluate(&policy, &base, &base, 101, &[]).unwrap_err().contains("over auto_approve_max_lines"));
        let network = facts(&["filesystem", "network"], &[("python/exec", "high")]);
        assert_eq!(evaluate(&policy, &network, &base, 10, &[]).unwrap_err(), "it adds capabilities: network");
        let pth = facts(&["filesystem"], &[("python/exec", "high"), ("install/pth-file", "high")]);
        assert!(evaluate(&policy, &pth, &base, 10, &[]).unwrap_err().contains("install/pth-file"));
        let twice = facts(&["filesystem"], &[("python/exec", "high"), ("python/exec", "high")]);
        assert!(evaluate(&policy, &twice, &base, 10, &[]).is_err(), "one more finding of a known rule counts too");
    }

    #[test]
    fn a_changed_binary_never_passes_however_few_lines_changed() {
        // A rebuilt extension module: same capabilities, no finding, ten lines of Python.
        let policy = UpdatePolicy { max_lines: 500, below: Severity::Low };
        let native = facts(&["native-code"], &[]);
        let binaries = ["_speedups.cpython-312-x86_64-linux-gnu.so".to_string(), "_speedups.cp312-win_amd64.pyd".to_string()];
        assert_eq!(
            evaluate(&policy, &native, &native, 10, &binaries).unwrap_err(),
            "it adds or changes binary files, which no line count covers: _speedups.cpython-312-x86_64-linux-gnu.so and 1 more"
        );
        assert!(evaluate(&policy, &native, &native, 10, &[]).is_ok());
    }
}
