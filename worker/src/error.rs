//! Job errors say what failed and whether trying again could help.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub message: String,
    /// True when a retry cannot succeed (a wrong hash, a missing project).
    pub permanent: bool,
    /// The upstream index answered that the project does not exist.
    pub upstream_absent: bool,
    /// Retry no sooner than this (an upstream's `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    /// The upstream asked Airlock to slow down (429, 503).
    pub throttled: bool,
}

impl JobError {
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError { message: message.into(), permanent: true, upstream_absent: false, retry_after: None, throttled: false }
    }

    /// The upstream has no such project: permanent, and worth remembering.
    pub fn absent(message: impl Into<String>) -> Self {
        JobError { message: message.into(), permanent: true, upstream_absent: true, retry_after: None, throttled: false }
    }

    /// The same error, to be retried no sooner than `wait`.
    pub fn not_before(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The same error, marked as the upstream asking to slow down.
    pub fn throttled(mut self) -> Self {
        self.throttled = true;
        self
    }

    pub fn transient(message: impl Into<String>) -> Self {
        JobError { message: message.into(), permanent: false, upstream_absent: false, retry_after: None, throttled: false }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JobError {}

/// A store error is retried only when it may pass (a lost connection, an
/// empty pool, a busy database); a bad payload, a missing row or a broken
/// constraint fails the job for good at once.
impl From<airlock_store::StoreError> for JobError {
    fn from(e: airlock_store::StoreError) -> Self {
        if e.is_transient() {
            JobError::transient(e.to_string())
        } else {
            JobError::permanent(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_store::StoreError;

    #[test]
    fn a_bad_payload_is_permanent_and_a_lost_pool_is_not() {
        assert!(JobError::from(StoreError::Invalid("job 7 payload: expected a number".into())).permanent);
        assert!(JobError::from(StoreError::NotFound("file 12".into())).permanent);
        assert!(!JobError::from(StoreError::Connect("connection refused".into())).permanent);
        let e: &dyn std::error::Error = &JobError::transient("timed out");
        assert_eq!(e.to_string(), "timed out");
    }
}
