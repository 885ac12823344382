//! Watched projects: an auditor trusts a project, and Airlock brings each
//! new upstream release of it (within a PEP 440 specifier) to review, with
//! its delta from the nearest approved version. This module keeps the
//! watch list and each watch's sync bookkeeping (conditional-request
//! validators, when it was and will be checked, the cooldown), and decides
//! from an upstream listing which versions to request ([`plan`], pure).
//!
//! It never talks to the upstream: the worker's sync pass does, and
//! reports back through [`record_check`]. Unwatching stops new requests
//! and never touches a release already in Airlock.

use std::str::FromStr;

use diesel::prelude::*;
use pep440_rs::VersionSpecifiers;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::{ProjectName, Version};
use crate::error::{StoreError, StoreResult};
use crate::names::NamePolicy;
use crate::schema::watches;

/// Most releases a watch may backfill.
pub const MAX_BACKFILL: u32 = 50;

/// One watched project and where its sync stands.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = watches)]
pub struct Watch {
    pub project: String,
    /// A PEP 440 specifier set; empty allows every version.
    pub specifier: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub backfill: i64,
    pub baseline: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_serial: Option<String>,
    pub last_checked_at: Option<i64>,
    pub next_check_at: i64,
    pub last_outcome: Option<String>,
    pub newest_upstream: Option<String>,
    pub upstream_versions: Option<String>,
    pub cooldown_version: Option<String>,
    pub cooldown_until: Option<i64>,
}

/// Conditional-request validators (RFC 9110): what to send as
/// `If-None-Match` and `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The upstream's last-serial header (a project event counter), where
    /// sent: never sent back, compared (see [`Watch::same_serial`]).
    pub serial: Option<String>,
}

impl Watch {
    /// The validators to send, or None to fetch the page whole: before the
    /// first sync, and once a release the cooldown held back is due (the
    /// page has not changed, but what Airlock should do with it has).
    pub fn validators(&self, now: i64) -> Option<Validators> {
        if self.baseline.is_none() || self.cooldown_until.is_some_and(|t| t <= now) {
            return None;
        }
        let v = Validators { etag: self.etag.clone(), last_modified: self.last_modified.clone(), serial: self.last_serial.clone() };
        (v.etag.is_some() || v.last_modified.is_some()).then_some(v)
    }

    /// True when a full answer carries the same last-serial as the last
    /// one: nothing happened to the project upstream, so there is nothing
    /// to read in it (an upstream that sends the serial but no usable ETag
    /// still costs one request and no work). Never before the first sync,
    /// nor once a release the cooldown held back is due.
    pub fn same_serial(&self, page: &Validators, now: i64) -> bool {
        let settled = self.baseline.is_some() && self.cooldown_until.is_none_or(|t| t > now);
        settled && page.serial.is_some() && page.serial == self.last_serial
    }

    /// The specifier set (an empty one allows every version).
    pub fn specifiers(&self) -> StoreResult<VersionSpecifiers> {
        parse_specifier(&self.specifier)
    }

    /// The final versions the upstream listed within the specifier at the last check.
    pub fn upstream_versions(&self) -> Vec<String> {
        self.upstream_versions.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
    }
}

/// Parse a PEP 440 specifier set (`>=2,<3`); empty allows everything.
pub fn parse_specifier(raw: &str) -> StoreResult<VersionSpecifiers> {
    VersionSpecifiers::from_str(raw.trim()).map_err(|e| StoreError::Invalid(format!("invalid version specifier {raw:?}: {e}")))
}

/// Watch `project` (or change its specifier and backfill). Refused for a
/// reserved name: it is never fetched from the upstream.
pub fn watch(conn: &mut AnyConnection, project: &ProjectName, specifier: &str, backfill: u32, by: Option<&str>, names: &NamePolicy) -> StoreResult<Watch> {
    let specifier = specifier.trim();
    parse_specifier(specifier)?;
    if backfill > MAX_BACKFILL {
        return Err(StoreError::Invalid(format!("backfill is at most {MAX_BACKFILL} releases")));
    }
    if let Some(pattern) = names.reserved.matching(project.as_str()) {
        crate::names::record_refusal(conn, by, project.as_str(), &pattern, "watch")?;
        return Err(StoreError::Conflict(crate::names::reserved_advice(project.as_str(), &pattern)));
    }
    let now = crate::now_ms();
    crate::db::write_transaction(conn, |conn| {
        let existing = get(conn, project)?;
        if existing.is_some() {
            diesel::update(watches::table.find(project.as_str()))
                .set((
                    watches::specifier.eq(specifier),
                    watches::backfill.eq(i64::from(backfill)),
                    watches::next_check_at.eq(now),
                    watches::etag.eq(None::<String>),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(watches::table)
                .values((
                    watches::project.eq(project.as_str()),
                    watches::specifier.eq(specifier),
                    watches::created_by.eq(by),
                    watches::created_at.eq(now),
                    watches::backfill.eq(i64::from(backfill)),
                    watches::next_check_at.eq(now),
                ))
                .execute(conn)?;
        }
        let spec = if specifier.is_empty() { "every version".to_string() } else { specifier.to_string() };
        crate::audit::record(conn, by, "project.watch", project.as_str(), &format!("{spec}; backfill {backfill}"))?;
        get(conn, project)?.ok_or_else(|| StoreError::NotFound(format!("watch of {project}")))
    })
}

/// Stop watching `project`; false when it was not watched. Releases already
/// in Airlock, approved files included, stay as they are.
pub fn unwatch(conn: &mut AnyConnection, project: &ProjectName, by: Option<&str>) -> StoreResult<bool> {
    crate::db::write_transaction(conn, |conn| {
        let gone = diesel::delete(watches::table.find(project.as_str())).execute(conn)? > 0;
        if gone {
            crate::audit::record(conn, by, "project.unwatch", project.as_str(), "no new releases are requested; approved files stay")?;
        }
        Ok(gone)
    })
}

pub fn get(conn: &mut AnyConnection, project: &ProjectName) -> StoreResult<Option<Watch>> {
    Ok(watches::table.find(project.as_str()).select(Watch::as_select()).first(conn).optional()?)
}

/// Every watch, by project name.
pub fn list(conn: &mut AnyConnection) -> StoreResult<Vec<Watch>> {
    Ok(watches::table.order(watches::project).select(Watch::as_select()).load(conn)?)
}

/// Claim the watches due at `now` (every watch when `all`), moving each
/// one's next check `interval_ms` on. A watch is claimed by one process
/// only: the move is conditional on the due time it read.
pub fn claim_due(conn: &mut AnyConnection, now: i64, interval_ms: i64, all: bool) -> StoreResult<Vec<Watch>> {
    crate::db::write_transaction(conn, |conn| {
        let mut query = watches::table.select(Watch::as_select()).order(watches::next_check_at).into_boxed();
        if !all {
            query = query.filter(watches::next_check_at.le(now));
        }
        let due: Vec<Watch> = query.load(conn)?;
        let mut claimed = Vec::with_capacity(due.len());
        for w in due {
            let moved = diesel::update(watches::table.find(&w.project).filter(watches::next_check_at.eq(w.next_check_at)))
                .set(watches::next_check_at.eq(now + interval_ms))
                .execute(conn)?;
            if moved == 1 {
                claimed.push(w);
            }
        }
        Ok(claimed)
    })
}

/// What one check of a watched project found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// 304: nothing changed since the validators were given.
    Unchanged,
    /// A full answer with the last-serial of the last one: nothing to read;
    /// its validators are kept for the next check.
    SameSerial(Validators),
    /// A full page, and what [`plan`] made of it.
    Listed { validators: Validators, plan: Plan },
    /// The check failed; with `retry_at`, not again before then (429/503).
    Failed { error: String, retry_at: Option<i64> },
}

/// Record a check of `project` made at `now`.
pub fn record_check(conn: &mut AnyConnection, project: &str, now: i64, checked: &Checked) -> StoreResult<()> {
    let target = watches::table.find(project);
    match checked {
        Checked::Unchanged => {
            diesel::update(target).set((watches::last_checked_at.eq(now), watches::last_outcome.eq("unchanged"))).execute(conn)?;
        }
        Checked::SameSerial(validators) => {
            diesel::update(target)
                .set((
                    watches::last_checked_at.eq(now),
                    watches::last_outcome.eq("unchanged (same serial)"),
                    watches::etag.eq(&validators.etag),
                    watches::last_modified.eq(&validators.last_modified),
                ))
                .execute(conn)?;
        }
        Checked::Listed { validators, plan } => {
            let outcome = if plan.request.is_empty() { "listed".to_string() } else { format!("requested {}", plan.request.join(", ")) };
            diesel::update(target)
                .set((
                    watches::last_checked_at.eq(now),
                    watches::last_outcome.eq(outcome),
                    watches::etag.eq(&validators.etag),
                    watches::last_modified.eq(&validators.last_modified),
                    watches::last_serial.eq(&validators.serial),
                    watches::newest_upstream.eq(&plan.newest),
                    watches::upstream_versions.eq(serde_json::to_string(&plan.within).unwrap_or_default()),
                    watches::baseline.eq(&plan.baseline),
                    watches::backfill.eq(0),
                    watches::cooldown_version.eq(plan.cooling.as_ref().map(|c| c.0.clone())),
                    watches::cooldown_until.eq(plan.cooling.as_ref().map(|c| c.1)),
                ))
                .execute(conn)?;
        }
        Checked::Failed { error, retry_at } => {
            let next: i64 = watches::table.find(project).select(watches::next_check_at).first(conn).optional()?.unwrap_or(now);
            let next = retry_at.map_or(next, |r| next.max(r));
            diesel::update(target)
                .set((watches::last_checked_at.eq(now), watches::last_outcome.eq(format!("failed: {error}")), watches::next_check_at.eq(next)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// One version as the upstream lists it: its earliest file upload time
/// (PEP 700), and whether every file of it is yanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    pub version: Version,
    pub uploaded_ms: Option<i64>,
    pub yanked: bool,
}

/// Group an upstream listing's files `(version, upload time, yanked)` by version.
pub fn listed_versions<'a>(files: impl IntoIterator<Item = (&'a str, Option<&'a str>, bool)>) -> Vec<ListedVersion> {
    let mut out: Vec<ListedVersion> = Vec::new();
    for (version, uploaded, yanked) in files {
        let Ok(version) = Version::parse(version) else { continue };
        let uploaded_ms = uploaded.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_millis());
        match out.iter_mut().find(|l| l.version.pep440() == version.pep440()) {
            Some(l) => {
                l.yanked &= yanked;
                l.uploaded_ms = match (l.uploaded_ms, uploaded_ms) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => out.push(ListedVersion { version, uploaded_ms, yanked }),
        }
    }
    out
}

/// What a sync does with one listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Versions to request now, newest first.
    pub request: Vec<String>,
    /// The earliest release the cooldown holds back, and when it is due.
    pub cooling: Option<(String, i64)>,
    /// The newest final, unyanked version listed (whatever the specifier).
    pub newest: Option<String>,
    /// Final, unyanked versions within the specifier, newest first.
    pub within: Vec<String>,
    /// Versions above this are new (set by the first sync).
    pub baseline: Option<String>,
}

/// Which versions to request from a listing. Only final, unyanked
/// versions within the specifier count. The first sync sets the baseline
/// (the newest listed) and requests the `backfill` newest; later ones
/// request what is above the baseline. Versions Airlock has (`known`, any
/// status) are left alone, and a version uploaded less than `cooldown_ms`
/// ago waits (one without an upload time is not held back: the upstream
/// gives nothing to wait from).
pub fn plan(watch: &Watch, listed: &[ListedVersion], known: &[Version], cooldown_ms: i64, now: i64) -> StoreResult<Plan> {
    let spec = watch.specifiers()?;
    let mut finals: Vec<&ListedVersion> =
        listed.iter().filter(|l| !l.yanked && !l.version.pep440().any_prerelease() && l.version.pep440().local().is_empty()).collect();
    finals.sort_by(|a, b| b.version.pep440().cmp(a.version.pep440()));
    let newest = finals.first().map(|l| l.version.to_string());
    let within: Vec<&ListedVersion> = finals.iter().copied().filter(|l| spec.contains(l.version.pep440())).collect();
    let (baseline, wanted): (Option<String>, Vec<&ListedVersion>) = match &watch.baseline {
        Some(b) => {
            let base = Version::parse(b)?;
            (Some(b.clone()), within.iter().copied().filter(|l| l.version.pep440() > base.pep440()).collect())
        }
        None => (Some(newest.clone().unwrap_or_else(|| "0".into())), within.iter().copied().take(watch.backfill.max(0) as usize).collect()),
    };
    let mut out = Plan { newest, baseline, within: within.iter().map(|l| l.version.to_string()).collect(), ..Plan::default() };
    for l in wanted {
        if known.iter().any(|k| k.pep440() == l.version.pep440()) {
            continue;
        }
        match l.uploaded_ms.map(|t| t + cooldown_ms) {
            Some(due) if cooldown_ms > 0 && due > now => {
                if out.cooling.as_ref().is_none_or(|(_, t)| due < *t) {
                    out.cooling = Some((l.version.to_string(), due));
                }
            }
            _ => out.request.push(l.version.to_string()),
        }
    }
    Ok(out)
}

/// The project page's summary of a watch against what Airlock approved.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    pub newest_approved: Option<String>,
    /// Final versions within the specifier the upstream lists above the newest approved.
    pub behind: usize,
}

/// How far `project`'s approved releases are behind the upstream listing
/// the watch last saw.
pub fn standing(watch: &Watch, approved: &[Version]) -> Standing {
    let newest = approved.iter().max_by(|a, b| a.pep440().cmp(b.pep440()));
    let behind = watch.upstream_versions().iter().filter_map(|v| Version::parse(v).ok()).filter(|v| newest.is_none_or(|n| v.pep440() > n.pep440())).count();
    Standing { newest_approved: newest.map(|v| v.to_string()), behind }
}

#[cfg(test)]
mod tests;
