//! The boundary around one job: a panic inside it or a run past the
//! wall-clock limit becomes an ordinary [`JobError`], so the runner records
//! the failure, releases the lease and goes on to the next job. Without it a
//! panicking job would kill its worker task while the heartbeat renewed the
//! lease for ever, and a hung job would hold its worker for ever.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

use crate::error::JobError;

/// Why a guarded job did not finish on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    Panicked(String),
    TimedOut(Duration),
}

impl Stopped {
    /// The failure to record. A timeout is permanent when `deterministic`
    /// (the same input would hang again), a panic always is: retrying the
    /// same bytes cannot help.
    pub fn into_error(self, deterministic: bool) -> JobError {
        match self {
            Stopped::Panicked(msg) => JobError::permanent(format!("the job crashed (internal error: {msg}); it will not be retried automatically")),
            Stopped::TimedOut(limit) => {
                let msg = format!("the job ran longer than the limit of {} s (job_timeout_secs) and was stopped", limit.as_secs());
                if deterministic {
                    JobError::permanent(msg)
                } else {
                    JobError::transient(msg)
                }
            }
        }
    }
}

/// Run `job` to completion, or until it panics or `limit` passes.
pub async fn guarded<F, T>(job: F, limit: Duration) -> Result<T, Stopped>
where
    F: Future<Output = T>,
{
    match tokio::time::timeout(limit, AssertUnwindSafe(job).catch_unwind()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(payload)) => Err(Stopped::Panicked(panic_message(payload.as_ref()))),
        Err(_) => Err(Stopped::TimedOut(limit)),
    }
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_finished_job_passes_its_result_through() {
        assert_eq!(guarded(async { 7 }, Duration::from_secs(5)).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panic_becomes_a_permanent_error_with_its_message() {
        let out = guarded(
            async {
                let text = String::from("café");
                // The byte-slicing bug class this guards against.
                #[allow(clippy::string_slice)]
                let _ = &text[..4];
                1
            },
            Duration::from_secs(5),
        )
        .await;
        let Err(stopped) = out else { panic!("the slice must panic") };
        assert!(matches!(&stopped, Stopped::Panicked(msg) if msg.contains("char boundary")), "{stopped:?}");
        let err = stopped.into_error(false);
        assert!(err.permanent && err.message.contains("crashed"), "{err:?}");
    }

    #[tokio::test]
    async fn a_job_that_never_ends_is_stopped_at_the_limit() {
        let out: Result<(), Stopped> = guarded(std::future::pending(), Duration::from_millis(50)).await;
        assert_eq!(out, Err(Stopped::TimedOut(Duration::from_millis(50))));
        assert!(Stopped::TimedOut(Duration::from_secs(600)).into_error(true).permanent);
        let retryable = Stopped::TimedOut(Duration::from_secs(600)).into_error(false);
        assert!(!retryable.permanent && retryable.message.contains("600 s"), "{retryable:?}");
    }
}
