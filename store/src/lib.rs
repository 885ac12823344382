//! airlock-store: everything Airlock keeps. Configuration types, the database
//! (diesel over SQLite or PostgreSQL, one query layer for both), the job
//! queue, and the content-addressed blob store. Knows nothing of HTTP or HTML.

pub mod audit;
pub mod audit_size;
pub mod auth;
pub mod backup;
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
pub mod fsck;
pub mod imports;
pub mod index;
pub mod jobs;
pub mod metrics;
pub mod names;
pub mod overview;
pub mod policy;
pub mod queue;
pub mod reading;
pub mod releases;
pub mod schema;
pub mod tasks;
pub mod testdb;
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
        let blobs = BlobStore::open_location(&config.blob_store, &config.blob_dir)?;
        Ok(Store { pool, blobs })
    }

    pub fn conn(&self) -> StoreResult<db::PooledConnection> {
        Ok(self.pool.get()?)
    }
}
