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
    /// A reserved name (`reserved_names`) was asked for: never fetched.
    #[error("{}", crate::names::reserved_advice(name, pattern))]
    Reserved { name: String, pattern: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// True when the error is a unique-constraint violation, which callers
    /// treat as "someone else inserted it first".
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)))
    }

    /// True when trying again later could succeed: the database could not
    /// be reached, its pool was empty, it was busy or locked, or a file
    /// could not be read or written. A refused input, a missing row or
    /// blob, or a broken constraint fails the same way every time.
    pub fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as Kind, Error as Db};
        match self {
            StoreError::Connect(_) | StoreError::Pool(_) => true,
            StoreError::Blob(crate::blobs::BlobError::Io { .. }) => true,
            StoreError::Blob(_) => false,
            StoreError::Database(Db::DatabaseError(kind, _)) => {
                !matches!(kind, Kind::UniqueViolation | Kind::ForeignKeyViolation | Kind::NotNullViolation | Kind::CheckViolation)
            }
            StoreError::Database(Db::NotFound | Db::QueryBuilderError(_) | Db::DeserializationError(_) | Db::SerializationError(_)) => false,
            // Connection lost, a broken transaction, a rollback: worth another try.
            StoreError::Database(_) => true,
            StoreError::Migration(_)
            | StoreError::NotFound(_)
            | StoreError::Invalid(_)
            | StoreError::Conflict(_)
            | StoreError::Config(_)
            | StoreError::Reserved { .. } => false,
        }
    }

    /// True when the store refused the input (a decision about it, not a
    /// failure to retry): callers record the reason and go on.
    pub fn is_refusal(&self) -> bool {
        matches!(self, StoreError::Invalid(_) | StoreError::Conflict(_) | StoreError::Reserved { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as Db};

    #[test]
    fn only_passing_failures_are_transient() {
        let busy = StoreError::Database(Db::DatabaseError(DatabaseErrorKind::Unknown, Box::new("database is locked".to_string())));
        assert!(busy.is_transient());
        assert!(StoreError::Connect("refused".into()).is_transient());
        let unique = StoreError::Database(Db::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new("duplicate".to_string())));
        assert!(!unique.is_transient());
        assert!(!StoreError::Database(Db::NotFound).is_transient());
        assert!(!StoreError::Invalid("job 3 payload: missing field".into()).is_transient());
        assert!(!StoreError::NotFound("release 9".into()).is_transient());
    }
}
