//! The job queue, in the database. A job is a kind, a JSON payload and an
//! optional dedup key (one queued-or-running job per key). Workers claim the
//! oldest ready job with a lease: one atomic `UPDATE … RETURNING`, with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, and SQLite's single writer
//! elsewhere. A lease that runs out (a killed worker) makes the job claimable
//! again. Failures retry with exponential backoff, then park as `failed`.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;

use crate::db::AnyConnection;
use crate::error::StoreResult;
use crate::now_ms;
use crate::schema::jobs;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub dedup_key: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after: i64,
    pub leased_by: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Add a job. Returns `None` when a queued or running job has the same dedup key.
pub fn enqueue(conn: &mut AnyConnection, kind: &str, payload: &str, dedup_key: Option<&str>, max_attempts: i64) -> StoreResult<Option<i64>> {
    let now = now_ms();
    // `ON CONFLICT DO NOTHING` (no target) is valid on both backends and
    // covers the partial unique index on dedup_key.
    let rows: Vec<InsertedId> = diesel::sql_query(
        "INSERT INTO jobs (kind, payload, dedup_key, state, attempts, max_attempts, run_after, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind::<Text, _>(kind)
    .bind::<Text, _>(payload)
    .bind::<Nullable<Text>, _>(dedup_key)
    .bind::<BigInt, _>(max_attempts)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(now)
    .load(conn)?;
    Ok(rows.first().map(|r| r.id))
}

/// Claim the oldest ready job (queued and due, or running with an expired
/// lease) for `worker`, leased for `lease`.
pub fn claim_next(conn: &mut AnyConnection, worker: &str, lease: Duration) -> StoreResult<Option<Job>> {
    let now = now_ms();
    let lock = match conn {
        AnyConnection::Postgresql(_) => " FOR UPDATE SKIP LOCKED",
        AnyConnection::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', leased_by = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_after <= $4) \
                     OR (state = 'running' AND lease_until < $5) ORDER BY run_after, id LIMIT 1{lock}) \
         RETURNING id, kind, payload, dedup_key, state, attempts, max_attempts, run_after, leased_by, \
                   lease_until, last_error, created_at, updated_at"
    );
    let mut rows: Vec<Job> = diesel::sql_query(sql)
        .bind::<Text, _>(worker)
        .bind::<BigInt, _>(now + lease.as_millis() as i64)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(now)
        .load(conn)?;
    Ok(rows.pop())
}

/// Keep a long job's lease alive. Returns false if the lease was lost.
pub fn extend_lease(conn: &mut AnyConnection, id: i64, worker: &str, lease: Duration) -> StoreResult<bool> {
    let n = diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::leased_by.eq(worker)).filter(jobs::state.eq(RUNNING)))
        .set(jobs::lease_until.eq(now_ms() + lease.as_millis() as i64))
        .execute(conn)?;
    Ok(n == 1)
}

/// Who holds the leases of running jobs (distinct worker ids).
pub fn lease_holders(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    Ok(jobs::table.filter(jobs::state.eq(RUNNING)).filter(jobs::leased_by.is_not_null()).select(jobs::leased_by.assume_not_null()).distinct().load(conn)?)
}

/// Put the running jobs that `worker` claimed before `claimed_before` (ms)
/// back in the queue at once (the worker is known dead: its process is
/// gone), instead of waiting for their leases to run out. Returns how many.
pub fn requeue_leases_of(conn: &mut AnyConnection, worker: &str, claimed_before: i64) -> StoreResult<usize> {
    let now = now_ms();
    Ok(diesel::update(jobs::table.filter(jobs::state.eq(RUNNING)).filter(jobs::leased_by.eq(worker)).filter(jobs::updated_at.lt(claimed_before)))
        .set((jobs::state.eq(QUEUED), jobs::run_after.eq(now), jobs::leased_by.eq(None::<String>), jobs::lease_until.eq(None::<i64>), jobs::updated_at.eq(now)))
        .execute(conn)?)
}

/// Mark a claimed job done.
pub fn complete(conn: &mut AnyConnection, id: i64) -> StoreResult<()> {
    let now = now_ms();
    diesel::update(jobs::table.filter(jobs::id.eq(id)))
        .set((jobs::state.eq(DONE), jobs::leased_by.eq(None::<String>), jobs::lease_until.eq(None::<i64>), jobs::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// What happened to a job that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// It will run again after this many milliseconds.
    Retry { after_ms: i64 },
    /// It ran out of attempts (or failed permanently) and is parked.
    Parked,
}

/// The delay before retry number `attempt` (1-based): base × 2^(attempt-1), at most an hour.
pub fn backoff(base: Duration, attempt: i64) -> Duration {
    let factor = 1u32 << (attempt.clamp(1, 16) - 1) as u32;
    (base * factor).min(Duration::from_secs(3600))
}

/// Record a failure: retry with backoff while attempts remain (and the error
/// is not `permanent`), else park as failed.
pub fn fail(conn: &mut AnyConnection, job: &Job, error: &str, permanent: bool, base: Duration) -> StoreResult<FailOutcome> {
    fail_not_before(conn, job, error, permanent, base, None)
}

/// [`fail`], retrying no sooner than `not_before` when it is given (an
/// upstream's `Retry-After`), however short the backoff.
pub fn fail_not_before(
    conn: &mut AnyConnection,
    job: &Job,
    error: &str,
    permanent: bool,
    base: Duration,
    not_before: Option<Duration>,
) -> StoreResult<FailOutcome> {
    let now = now_ms();
    let error = truncate(error, 4000);
    if permanent || job.attempts >= job.max_attempts {
        diesel::update(jobs::table.filter(jobs::id.eq(job.id)))
            .set((
                jobs::state.eq(FAILED),
                jobs::last_error.eq(error),
                jobs::leased_by.eq(None::<String>),
                jobs::lease_until.eq(None::<i64>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(FailOutcome::Parked);
    }
    let after_ms = backoff(base, job.attempts).max(not_before.unwrap_or_default()).as_millis() as i64;
    diesel::update(jobs::table.filter(jobs::id.eq(job.id)))
        .set((
            jobs::state.eq(QUEUED),
            jobs::run_after.eq(now + after_ms),
            jobs::last_error.eq(error),
            jobs::leased_by.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(FailOutcome::Retry { after_ms })
}

/// Put a parked job back in the queue with fresh attempts. Returns false
/// when it was not parked.
pub fn retry_parked(conn: &mut AnyConnection, id: i64) -> StoreResult<bool> {
    let now = now_ms();
    let n = diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::state.eq(FAILED)))
        .set((jobs::state.eq(QUEUED), jobs::attempts.eq(0), jobs::run_after.eq(now), jobs::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn find(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Job>> {
    Ok(jobs::table.filter(jobs::id.eq(id)).select(Job::as_select()).first(conn).optional()?)
}

/// Jobs in `state`, newest first.
pub fn list_in_state(conn: &mut AnyConnection, state: &str, limit: i64) -> StoreResult<Vec<Job>> {
    Ok(jobs::table.filter(jobs::state.eq(state)).order(jobs::id.desc()).limit(limit).select(Job::as_select()).load(conn)?)
}

/// How many jobs are in each state.
pub fn counts(conn: &mut AnyConnection) -> StoreResult<Vec<(String, i64)>> {
    Ok(jobs::table.group_by(jobs::state).select((jobs::state, diesel::dsl::count_star())).load(conn)?)
}

/// Hand a claimed job back to the queue unfinished (its worker is shutting
/// down): runnable at once by any worker, and the attempt it used is given
/// back. Returns false when `worker` no longer holds it.
pub fn release(conn: &mut AnyConnection, id: i64, worker: &str) -> StoreResult<bool> {
    let now = now_ms();
    let n = diesel::update(jobs::table.filter(jobs::id.eq(id)).filter(jobs::leased_by.eq(worker)).filter(jobs::state.eq(RUNNING)))
        .set((
            jobs::state.eq(QUEUED),
            jobs::run_after.eq(now),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::leased_by.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// The queue as `/metrics` shows it: jobs by kind and state (done jobs
/// included), and the jobs ready to run now with the age of the oldest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub by_kind_state: Vec<(String, String, i64)>,
    /// Queued jobs whose time has come (waiting for a worker).
    pub ready: i64,
    /// How long the oldest ready job has waited, in milliseconds.
    pub oldest_ready_ms: i64,
}

/// Read [`QueueStats`]: two aggregate queries.
pub fn queue_stats(conn: &mut AnyConnection) -> StoreResult<QueueStats> {
    let now = now_ms();
    let by_kind_state: Vec<(String, String, i64)> = jobs::table
        .group_by((jobs::kind, jobs::state))
        .select((jobs::kind, jobs::state, diesel::dsl::count_star()))
        .order((jobs::kind, jobs::state))
        .load(conn)?;
    let (ready, oldest): (i64, Option<i64>) = jobs::table
        .filter(jobs::state.eq(QUEUED))
        .filter(jobs::run_after.le(now))
        .select((diesel::dsl::count_star(), diesel::dsl::min(jobs::run_after)))
        .first(conn)?;
    Ok(QueueStats { by_kind_state, ready, oldest_ready_ms: oldest.map_or(0, |t| (now - t).max(0)) })
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::each_backend;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(2);
        assert_eq!(backoff(base, 1), Duration::from_secs(2));
        assert_eq!(backoff(base, 3), Duration::from_secs(8));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
    }

    #[test]
    fn a_job_is_claimed_once_then_completed() {
        each_backend(|conn| {
            let id = enqueue(conn, "test", "{}", None, 3).unwrap().unwrap();
            let job = claim_next(conn, "w1", Duration::from_secs(60)).unwrap().expect("claimable");
            assert_eq!((job.id, job.attempts, job.state.as_str()), (id, 1, RUNNING));
            assert!(claim_next(conn, "w2", Duration::from_secs(60)).unwrap().is_none(), "leased job claimed twice");
            complete(conn, id).unwrap();
            assert_eq!(find(conn, id).unwrap().unwrap().state, DONE);
        });
    }

    #[test]
    fn dedup_keys_allow_one_live_job() {
        each_backend(|conn| {
            assert!(enqueue(conn, "mirror", "{}", Some("k"), 3).unwrap().is_some());
            assert!(enqueue(conn, "mirror", "{}", Some("k"), 3).unwrap().is_none());
            let job = claim_next(conn, "w", Duration::from_secs(60)).unwrap().unwrap();
            complete(conn, job.id).unwrap();
            assert!(enqueue(conn, "mirror", "{}", Some("k"), 3).unwrap().is_some(), "a done job must not block");
        });
    }

    #[test]
    fn an_expired_lease_is_claimed_again() {
        each_backend(|conn| {
            let id = enqueue(conn, "test", "{}", None, 3).unwrap().unwrap();
            let first = claim_next(conn, "killed-worker", Duration::from_millis(0)).unwrap().unwrap();
            std::thread::sleep(Duration::from_millis(5));
            let again = claim_next(conn, "w2", Duration::from_secs(60)).unwrap().expect("expired lease is claimable");
            assert_eq!((first.id, again.id, again.attempts), (id, id, 2));
            assert!(!extend_lease(conn, id, "killed-worker", Duration::from_secs(60)).unwrap());
        });
    }

    #[test]
    fn failures_retry_with_backoff_then_park() {
        each_backend(|conn| {
            let id = enqueue(conn, "test", "{}", None, 2).unwrap().unwrap();
            let job = claim_next(conn, "w", Duration::from_secs(60)).unwrap().unwrap();
            assert_eq!(fail(conn, &job, "boom", false, Duration::from_millis(1)).unwrap(), FailOutcome::Retry { after_ms: 1 });
            std::thread::sleep(Duration::from_millis(5));
            let job = claim_next(conn, "w", Duration::from_secs(60)).unwrap().unwrap();
            assert_eq!(fail(conn, &job, "boom again", false, Duration::from_millis(1)).unwrap(), FailOutcome::Parked);
            let parked = find(conn, id).unwrap().unwrap();
            assert_eq!((parked.state.as_str(), parked.last_error.as_deref()), (FAILED, Some("boom again")));
            assert!(claim_next(conn, "w", Duration::from_secs(60)).unwrap().is_none());
            assert!(retry_parked(conn, id).unwrap());
            assert!(claim_next(conn, "w", Duration::from_secs(60)).unwrap().is_some());
        });
    }

    #[test]
    fn a_dead_workers_leases_are_requeued_at_once() {
        each_backend(|conn| {
            let a = enqueue(conn, "test", "{}", None, 3).unwrap().unwrap();
            let b = enqueue(conn, "test", "{}", None, 3).unwrap().unwrap();
            claim_next(conn, "host:41:0", Duration::from_secs(600)).unwrap().unwrap();
            claim_next(conn, "host:42:0", Duration::from_secs(600)).unwrap().unwrap();
            assert_eq!(lease_holders(conn).unwrap().len(), 2);
            assert_eq!(requeue_leases_of(conn, "host:41:0", 0).unwrap(), 0, "claimed after the cut-off: a new process's own claim");
            assert_eq!(requeue_leases_of(conn, "host:41:0", now_ms() + 1).unwrap(), 1);
            let again = claim_next(conn, "host:43:0", Duration::from_secs(600)).unwrap().expect("requeued job is claimable");
            assert_eq!(again.id, a);
            assert_eq!(find(conn, b).unwrap().unwrap().leased_by.as_deref(), Some("host:42:0"), "a live worker's lease is kept");
        });
    }

    #[test]
    fn a_retry_after_delays_the_retry_beyond_the_backoff() {
        each_backend(|conn| {
            enqueue(conn, "test", "{}", None, 5).unwrap().unwrap();
            let job = claim_next(conn, "w", Duration::from_secs(60)).unwrap().unwrap();
            let out = fail_not_before(conn, &job, "429", false, Duration::from_millis(100), Some(Duration::from_secs(7))).unwrap();
            assert_eq!(out, FailOutcome::Retry { after_ms: 7_000 });
            assert!(claim_next(conn, "w", Duration::from_secs(60)).unwrap().is_none(), "retried before Retry-After");
        });
    }

    #[test]
    fn a_released_job_is_claimable_at_once_without_losing_an_attempt() {
        each_backend(|conn| {
            let id = enqueue(conn, "mirror_release", "{}", None, 3).unwrap().unwrap();
            enqueue(conn, "inspect_file", "{}", None, 3).unwrap().unwrap();
            let job = claim_next(conn, "w1", Duration::from_secs(600)).unwrap().unwrap();
            assert_eq!(job.id, id);
            assert!(!release(conn, id, "someone-else").unwrap(), "only the holder may release");
            let stats = queue_stats(conn).unwrap();
            assert_eq!(stats.ready, 1);
            assert!(stats.by_kind_state.contains(&("mirror_release".into(), RUNNING.into(), 1)), "{stats:?}");
            assert!(release(conn, id, "w1").unwrap());
            let stats = queue_stats(conn).unwrap();
            assert_eq!(stats.by_kind_state, [("inspect_file".into(), QUEUED.into(), 1), ("mirror_release".into(), QUEUED.into(), 1)]);
            assert_eq!(stats.ready, 2);
            assert!(stats.oldest_ready_ms >= 0);
            // Ready at once (in turn with the jobs that were ready before it).
            let claimed = [claim_next(conn, "w2", Duration::from_secs(600)).unwrap(), claim_next(conn, "w2", Duration::from_secs(600)).unwrap()];
            let again = claimed.iter().flatten().find(|j| j.id == id).expect("released job is claimable");
            assert_eq!(again.attempts, 1, "the released attempt is given back");
        });
    }

    #[test]
    fn permanent_failures_park_at_once() {
        each_backend(|conn| {
            let id = enqueue(conn, "test", "{}", None, 5).unwrap().unwrap();
            let job = claim_next(conn, "w", Duration::from_secs(60)).unwrap().unwrap();
            assert_eq!(fail(conn, &job, "hash mismatch", true, Duration::from_secs(1)).unwrap(), FailOutcome::Parked);
            assert_eq!(find(conn, id).unwrap().unwrap().state, FAILED);
        });
    }
}
