//! Throttles against hostile clients, kept in the database so that every
//! server process on the same database enforces the same limits.
//!
//! - Sign-in: failures are counted per account and per client address in a
//!   sliding window; past either limit, sign-in answers "try again in N s"
//!   without checking the password (no argon2 work for a flood), and the
//!   moment an account crosses its limit is an audit event.
//! - Index misses: a miss for a project Airlock lacks becomes at most one
//!   upstream lookup per project per window, none while the upstream's "no
//!   such project" answer is fresh, and at most a few per client per minute.
//!   A reserved name (`reserved_names`) is refused and never looked up.
//!   Every miss is recorded with what Airlock did about it.

use std::time::Duration;

use diesel::prelude::*;

use crate::audit;
use crate::db::AnyConnection;
use crate::error::StoreResult;
use crate::names::{self, ReservedNames};
use crate::schema::{index_misses, login_failures, upstream_absent};
use crate::tasks::{self, RequestLatest};

/// Limits on failed sign-ins.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    /// Failures one account may have in `window` before sign-in is refused.
    pub per_account: i64,
    /// Failures one client address may have in `window`.
    pub per_address: i64,
    pub window: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy { per_account: 5, per_address: 20, window: Duration::from_secs(15 * 60) }
    }
}

fn account_key(name: &str) -> String {
    // Names are matched as users type them; bound what a client can store.
    format!("user:{}", name.chars().take(64).collect::<String>().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("addr:{}", address.chars().take(64).collect::<String>())
}

/// Seconds until `key` may try again (its oldest failure in the window
/// leaves it), or None when it is under `limit`.
fn wait_for(conn: &mut AnyConnection, key: &str, limit: i64, window: Duration, now: i64) -> StoreResult<Option<u64>> {
    let since = now - window.as_millis() as i64;
    let times: Vec<i64> = login_failures::table
        .filter(login_failures::key.eq(key))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .limit(limit)
        .select(login_failures::at)
        .load(conn)?;
    if (times.len() as i64) < limit {
        return Ok(None);
    }
    // The `limit`-th newest failure must leave the window before one more try.
    let oldest = times.last().copied().unwrap_or(now);
    let wait_ms = (oldest + window.as_millis() as i64 - now).max(1000);
    Ok(Some((wait_ms as u64).div_ceil(1000)))
}

/// Whether `name` may try to sign in from `address` now: None, or the
/// seconds to wait.
pub fn login_wait(conn: &mut AnyConnection, name: &str, address: &str, policy: &LoginPolicy, now: i64) -> StoreResult<Option<u64>> {
    let account = wait_for(conn, &account_key(name), policy.per_account, policy.window, now)?;
    let addr = wait_for(conn, &address_key(address), policy.per_address, policy.window, now)?;
    Ok(account.max(addr))
}

/// Record a failed sign-in. When it makes the account or the address
/// reach its limit, that is recorded in the audit log as a lockout.
pub fn login_failed(conn: &mut AnyConnection, name: &str, address: &str, policy: &LoginPolicy, now: i64) -> StoreResult<()> {
    let since = now - policy.window.as_millis() as i64;
    for (key, limit) in [(account_key(name), policy.per_account), (address_key(address), policy.per_address)] {
        diesel::insert_into(login_failures::table).values((login_failures::key.eq(&key), login_failures::at.eq(now))).execute(conn)?;
        let count: i64 = login_failures::table.filter(login_failures::key.eq(&key)).filter(login_failures::at.gt(since)).count().get_result(conn)?;
        if count == limit {
            let detail = format!("{limit} failed sign-ins within {} min: locked for up to {} min", policy.window.as_secs() / 60, policy.window.as_secs() / 60);
            audit::record(conn, None, "login.lockout", &key, &detail)?;
        }
    }
    // Old rows say nothing any more.
    diesel::delete(login_failures::table.filter(login_failures::at.le(since))).execute(conn)?;
    Ok(())
}

/// A successful sign-in clears the account's failures (not the address's).
pub fn login_succeeded(conn: &mut AnyConnection, name: &str) -> StoreResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::key.eq(account_key(name)))).execute(conn)?;
    Ok(())
}

/// Limits on what index misses may set off.
#[derive(Debug, Clone, Copy)]
pub struct MissPolicy {
    /// Request the newest release of a missing project at all.
    pub request: bool,
    /// One upstream lookup per project within this window.
    pub dedup_window: Duration,
    /// How long the upstream's "no such project" answer is believed.
    pub absent_ttl: Duration,
    /// Lookups one client may set off per minute.
    pub per_client_per_minute: i64,
}

impl Default for MissPolicy {
    fn default() -> Self {
        MissPolicy { request: true, dedup_window: Duration::from_secs(3600), absent_ttl: Duration::from_secs(3600), per_client_per_minute: 10 }
    }
}

/// The requester named on a release an index miss set off (the mirror
/// caps such releases' bytes).
pub const MISS_REQUESTER: &str = "index miss";

/// What Airlock did about one miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissOutcome {
    /// An upstream lookup of the newest release was queued.
    Requested,
    /// A lookup for this project was queued within the window already.
    AlreadyRequested,
    /// The upstream said, `checked_ms_ago`, that it has no such project.
    NotOnUpstream { checked_ms_ago: i64 },
    /// This client set off too many lookups in the last minute.
    RateLimited,
    /// Misses do not request anything here (`request_on_miss = false`).
    Off,
    /// The name is reserved (`reserved_names`): never looked up upstream.
    Reserved,
}

impl MissOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            MissOutcome::Requested => "requested",
            MissOutcome::AlreadyRequested => "already_requested",
            MissOutcome::NotOnUpstream { .. } => "not_on_upstream",
            MissOutcome::RateLimited => "rate_limited",
            MissOutcome::Off => "off",
            MissOutcome::Reserved => "reserved",
        }
    }
}

/// Who set off a miss: the client's address (what the per-client limit
/// counts) and, when the index needs API tokens, the token's user.
#[derive(Debug, Clone, Copy)]
pub struct MissClient<'a> {
    pub address: &'a str,
    pub requester: Option<&'a str>,
}

/// Decide and record what a miss for `project` (a normalized name Airlock
/// has never had a release of, or a reserved one) from `client` sets off,
/// queueing the upstream lookup when it should. A reserved name is refused
/// before anything else, and the refusal is an audit event at most once
/// per project per `dedup_window` (installers retry; the log stays readable).
/// One write transaction, so concurrent misses for one project queue one
/// lookup.
pub fn index_miss(
    conn: &mut AnyConnection,
    project: &str,
    client: MissClient,
    policy: &MissPolicy,
    reserved: &ReservedNames,
    max_attempts: i64,
    now: i64,
) -> StoreResult<MissOutcome> {
    let address = bounded(client.address);
    let requester = client.requester.map(bounded);
    crate::db::write_transaction(conn, |conn| {
        let outcome = match reserved.matching(project) {
            Some(pattern) => {
                if first_reserved_miss_in_window(conn, project, policy.dedup_window, now)? {
                    let who = requester.as_deref().map_or(address.clone(), |r| format!("{r} at {address}"));
                    names::record_refusal(conn, None, project, &pattern, &format!("index miss from {who}"))?;
                }
                MissOutcome::Reserved
            }
            None => decide_miss(conn, project, &address, policy, now)?,
        };
        if outcome == MissOutcome::Requested {
            let task = RequestLatest { project: project.to_string(), requested_by: MISS_REQUESTER.into() };
            tasks::enqueue(conn, &task, max_attempts)?;
        }
        diesel::insert_into(index_misses::table)
            .values((
                index_misses::project.eq(project),
                index_misses::client.eq(&address),
                index_misses::outcome.eq(outcome.as_str()),
                index_misses::at.eq(now),
                index_misses::requester.eq(&requester),
            ))
            .execute(conn)?;
        Ok(outcome)
    })
}

/// Client text stored with a miss, cut to a bounded length.
fn bounded(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Whether this reserved miss is the first for `project` in its window of
/// time (windows of `window` counted from the epoch), so that refusals are
/// audited once per window however steadily installers retry.
fn first_reserved_miss_in_window(conn: &mut AnyConnection, project: &str, window: Duration, now: i64) -> StoreResult<bool> {
    let previous: Option<i64> = index_misses::table
        .filter(index_misses::project.eq(project))
        .filter(index_misses::outcome.eq(MissOutcome::Reserved.as_str()))
        .select(diesel::dsl::max(index_misses::at))
        .first(conn)?;
    let window = (window.as_millis() as i64).max(1);
    Ok(previous.is_none_or(|at| at.div_euclid(window) != now.div_euclid(window)))
}

fn decide_miss(conn: &mut AnyConnection, project: &str, client: &str, policy: &MissPolicy, now: i64) -> StoreResult<MissOutcome> {
    if !policy.request {
        return Ok(MissOutcome::Off);
    }
    let absent: Option<i64> = upstream_absent::table.filter(upstream_absent::project.eq(project)).select(upstream_absent::checked_at).first(conn).optional()?;
    if let Some(checked_at) = absent.filter(|at| now - at < policy.absent_ttl.as_millis() as i64) {
        return Ok(MissOutcome::NotOnUpstream { checked_ms_ago: now - checked_at });
    }
    let recent_lookup: i64 = index_misses::table
        .filter(index_misses::project.eq(project))
        .filter(index_misses::outcome.eq(MissOutcome::Requested.as_str()))
        .filter(index_misses::at.gt(now - policy.dedup_window.as_millis() as i64))
        .count()
        .get_result(conn)?;
    if recent_lookup > 0 {
        return Ok(MissOutcome::AlreadyRequested);
    }
    let by_client: i64 = index_misses::table
        .filter(index_misses::client.eq(client))
        .filter(index_misses::outcome.eq(MissOutcome::Requested.as_str()))
        .filter(index_misses::at.gt(now - 60_000))
        .count()
        .get_result(conn)?;
    if by_client >= policy.per_client_per_minute {
        return Ok(MissOutcome::RateLimited);
    }
    Ok(MissOutcome::Requested)
}

/// Remember that the upstream has no project of this name (so misses for it
/// stop setting off lookups for a while).
pub fn record_upstream_absent(conn: &mut AnyConnection, project: &str, now: i64) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(upstream_absent::table.filter(upstream_absent::project.eq(project))).execute(conn)?;
        diesel::insert_into(upstream_absent::table).values((upstream_absent::project.eq(project), upstream_absent::checked_at.eq(now))).execute(conn)?;
        Ok(())
    })
}

/// One recorded miss.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct Miss {
    pub id: i64,
    pub project: String,
    /// The client's address.
    pub client: String,
    /// What Airlock did: a [`MissOutcome`] name.
    pub outcome: String,
    pub at: i64,
    /// The API token's user, when the index needs tokens.
    pub requester: Option<String>,
}

type MissColumns = (index_misses::id, index_misses::project, index_misses::client, index_misses::outcome, index_misses::at, index_misses::requester);
const MISS_COLUMNS: MissColumns =
    (index_misses::id, index_misses::project, index_misses::client, index_misses::outcome, index_misses::at, index_misses::requester);

/// The newest misses, newest first.
pub fn recent_misses(conn: &mut AnyConnection, limit: i64) -> StoreResult<Vec<Miss>> {
    Ok(index_misses::table.order(index_misses::id.desc()).limit(limit).select(MISS_COLUMNS).load(conn)?)
}

/// The newest misses for one project (normalized name), newest first.
pub fn misses_of(conn: &mut AnyConnection, project: &str, limit: i64) -> StoreResult<Vec<Miss>> {
    Ok(index_misses::table.filter(index_misses::project.eq(project)).order(index_misses::id.desc()).limit(limit).select(MISS_COLUMNS).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::each_backend;

    #[test]
    fn an_account_is_locked_after_its_limit_and_the_lockout_is_audited() {
        each_backend(|conn| {
            let policy = LoginPolicy { per_account: 3, per_address: 100, window: Duration::from_secs(60) };
            let now = 1_000_000;
            for i in 0..3 {
                assert_eq!(login_wait(conn, "alice", "10.0.0.1", &policy, now + i).unwrap(), None, "attempt {i} is allowed");
                login_failed(conn, "Alice", "10.0.0.1", &policy, now + i).unwrap();
            }
            // From any address: the account is what is locked.
            let wait = login_wait(conn, "alice", "10.0.0.9", &policy, now + 10).unwrap().expect("locked");
            assert!((59..=60).contains(&wait), "{wait}");
            let events = audit::list(conn, 10, 0).unwrap();
            assert_eq!(events.iter().filter(|e| e.action == "login.lockout" && e.target == "user:alice").count(), 1);
            // The window slides: once the oldest failure leaves it, one more try.
            assert_eq!(login_wait(conn, "alice", "10.0.0.9", &policy, now + 60_001).unwrap(), None);
            // Other accounts are untouched.
            assert_eq!(login_wait(conn, "bob", "10.0.0.9", &policy, now + 10).unwrap(), None);
        });
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_success_clears_only_the_account() {
        each_backend(|conn| {
            let policy = LoginPolicy { per_account: 100, per_address: 4, window: Duration::from_secs(60) };
            let now = 5_000_000;
            for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
                login_failed(conn, name, "192.0.2.7", &policy, now + i as i64).unwrap();
            }
            assert!(login_wait(conn, "e", "192.0.2.7", &policy, now + 5).unwrap().is_some());
            assert_eq!(login_wait(conn, "e", "192.0.2.8", &policy, now + 5).unwrap(), None);
            login_succeeded(conn, "a").unwrap();
            assert!(login_wait(conn, "e", "192.0.2.7", &policy, now + 5).unwrap().is_some(), "success must not clear the address");
        });
    }

    fn client(address: &str) -> MissClient<'_> {
        MissClient { address, requester: None }
    }

    #[test]
    fn a_reserved_name_is_never_looked_up_and_its_refusal_is_audited_once_per_window() {
        each_backend(|conn| {
            let policy = MissPolicy::default();
            let reserved = ReservedNames::parse(&["acme-*"]).unwrap();
            let now = 20_000_000;
            let from = MissClient { address: "10.1.2.3", requester: Some("ci-bot") };
            for i in 0..3 {
                assert_eq!(index_miss(conn, "acme-auth", from, &policy, &reserved, 3, now + i).unwrap(), MissOutcome::Reserved);
            }
            assert!(crate::jobs::counts(conn).unwrap().is_empty(), "a reserved name queues no lookup");
            let events: Vec<_> = audit::list(conn, 10, 0).unwrap().into_iter().filter(|e| e.action == names::REFUSED_ACTION).collect();
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!(events[0].target, "acme-auth");
            assert!(events[0].detail.contains("ci-bot at 10.1.2.3") && events[0].detail.contains("acme-*"), "{}", events[0].detail);
            // In the next window, the next refusal is audited again.
            let later = now + policy.dedup_window.as_millis() as i64;
            index_miss(conn, "acme-auth", from, &policy, &reserved, 3, later).unwrap();
            assert_eq!(audit::list(conn, 10, 0).unwrap().iter().filter(|e| e.action == names::REFUSED_ACTION).count(), 2);
            // Even with misses requesting nothing, the answer is the reservation.
            let off = MissPolicy { request: false, ..policy };
            assert_eq!(index_miss(conn, "acme-x", from, &off, &reserved, 3, now).unwrap(), MissOutcome::Reserved);
            let recorded = misses_of(conn, "acme-auth", 10).unwrap();
            assert_eq!(recorded.len(), 4);
            assert_eq!((recorded[0].outcome.as_str(), recorded[0].client.as_str(), recorded[0].requester.as_deref()), ("reserved", "10.1.2.3", Some("ci-bot")));
        });
    }

    #[test]
    fn misses_queue_one_lookup_per_project_and_respect_absence_and_client_limits() {
        each_backend(|conn| {
            let policy = MissPolicy { per_client_per_minute: 2, ..MissPolicy::default() };
            let now = 10_000_000;
            assert_eq!(index_miss(conn, "demo", client("c1"), &policy, &ReservedNames::default(), 3, now).unwrap(), MissOutcome::Requested);
            for i in 1..10 {
                assert_eq!(index_miss(conn, "demo", client("c2"), &policy, &ReservedNames::default(), 3, now + i).unwrap(), MissOutcome::AlreadyRequested);
            }
            let lookups = crate::jobs::counts(conn).unwrap();
            assert_eq!(lookups, vec![("queued".to_string(), 1)], "ten misses, one lookup");

            record_upstream_absent(conn, "nosuch", now).unwrap();
            assert_eq!(
                index_miss(conn, "nosuch", client("c1"), &policy, &ReservedNames::default(), 3, now + 5).unwrap(),
                MissOutcome::NotOnUpstream { checked_ms_ago: 5 }
            );
            // The answer goes stale after its time to live.
            let later = now + policy.absent_ttl.as_millis() as i64 + 1;
            assert_eq!(index_miss(conn, "nosuch", client("c3"), &policy, &ReservedNames::default(), 3, later).unwrap(), MissOutcome::Requested);

            assert_eq!(index_miss(conn, "p1", client("greedy"), &policy, &ReservedNames::default(), 3, now).unwrap(), MissOutcome::Requested);
            assert_eq!(index_miss(conn, "p2", client("greedy"), &policy, &ReservedNames::default(), 3, now + 1).unwrap(), MissOutcome::Requested);
            assert_eq!(index_miss(conn, "p3", client("greedy"), &policy, &ReservedNames::default(), 3, now + 2).unwrap(), MissOutcome::RateLimited);
            assert_eq!(index_miss(conn, "p3", client("greedy"), &policy, &ReservedNames::default(), 3, now + 61_000).unwrap(), MissOutcome::Requested);

            let off = MissPolicy { request: false, ..policy };
            assert_eq!(index_miss(conn, "p9", client("c1"), &off, &ReservedNames::default(), 3, now).unwrap(), MissOutcome::Off);
            let recorded = recent_misses(conn, 100).unwrap();
            assert_eq!(recorded.len(), 17);
            assert_eq!(recorded[0].outcome, "off");
        });
    }
}
