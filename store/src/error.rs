//! The store's error type. Each variant names what failed; the server and
//! the CLI map them to HTTP statuses and exit codes in one place each.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("blob store: {0}")]
    Blob(#[from] crate::blobs::BlobError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// True when the error is a unique-constraint violation, which callers
    /// treat as "someone else inserted it first".
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)))
    }

    /// True when the store refused the input (a decision about it, not a
    /// failure to retry): callers record the reason and go on.
    pub fn is_refusal(&self) -> bool {
        matches!(self, StoreError::Invalid(_) | StoreError::Conflict(_))
    }
}
