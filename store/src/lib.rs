//! airlock-store: everything Airlock keeps. Configuration types, the database
//! (diesel over SQLite or PostgreSQL, one query layer for both), the job
//! queue, and the content-addressed blob store. Knows nothing of HTTP or HTML.

pub mod advisories;
pub mod audit;
pub mod audit_size;
pub mod auth;
pub mod backup;
pub mod blob_cache;
mod blob_remote;
pub mod blobs;
pub mod config;
pub mod db;
pub mod decisions;
pub mod dependencies;
pub mod domain;
pub mod error;
pub mod export;
pub mod files;
pub mod finding_reviews;
pub mod fsck;
pub mod imports;
pub mod index;
pub mod jobs;
pub mod metrics;
pub mod names;
pub mod notify;
pub mod overview;
pub mod policy;
pub mod queue;
pub mod reading;
pub mod releases;
pub mod schema;
pub mod suppressions;
pub mod tasks;
pub mod testdb;
pub mod text_enums;
pub mod throttle;
pub mod unmirrored;
pub mod upstream_sync;
pub mod watches;
pub mod why;

pub use blobs::BlobStore;
pub use config::Config;
pub use db::{AnyConnection, Pool};
pub use error::{StoreError, StoreResult};

/// Milliseconds since the Unix epoch: the one clock every table uses.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Unix milliseconds as people read them everywhere Airlock shows a time
/// (dashboard, index answers, `airlock why`): `2026-12-01 11:20 UTC`.
pub fn format_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| ms.to_string())
}

/// The database pool and blob store, opened and migrated from a config.
#[derive(Clone)]
pub struct Store {
    pub pool: Pool,
    pub blobs: BlobStore,
}

impl Store {
    /// Connect, run pending migrations and open the blob store.
    pub fn open(config: &Config, pool_size: u32) -> StoreResult<Store> {
        let pool = db::connect(config.database_url(), pool_size)?;
        let applied = db::run_migrations(&mut *pool.get()?)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied database migrations");
        }
        let blobs = BlobStore::open_location(&config.blob_store, &config.blob_dir, config.blob_cache_bytes)?;
        Ok(Store { pool, blobs })
    }

    pub fn conn(&self) -> StoreResult<db::PooledConnection> {
        Ok(self.pool.get()?)
    }
}
