//! Shared application state: the store and the configuration, the
//! process's caches (index pages, verified files, index tokens) and its
//! review memory budget, plus the one way handlers reach the database (a
//! blocking diesel call moved off the async executor).

use std::sync::Arc;

use airlock_store::names::NamePolicy;
use airlock_store::{AnyConnection, Config, Store, StoreError};

use crate::archives::Reader;
use crate::error::AppError;
use crate::file_serving::FileCache;
use crate::index_access::TokenCache;
use crate::index_cache::IndexCache;
use crate::memory::ReviewMemory;

/// Password checks (argon2, ~19 MiB and tens of ms each) run at once.
const PASSWORD_CHECKS: usize = 4;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Config,
    /// Rendered index pages and the files they list.
    pub index: Arc<IndexCache>,
    /// Verified file bytes served from memory.
    pub files: Arc<FileCache>,
    /// Recently verified index tokens.
    pub tokens: Arc<TokenCache>,
    /// Turns at the argon2 password check: a few at a time, so a login
    /// flood queues here instead of occupying every blocking thread.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// What the diff, the viewer and audit sizing may hold of archives.
    pub review_memory: ReviewMemory,
    /// Reserved names and the typosquat test, for every request this process takes.
    pub names: NamePolicy,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> AppState {
        let files = Arc::new(FileCache::new(config.file_cache_bytes));
        let password_checks = Arc::new(tokio::sync::Semaphore::new(PASSWORD_CHECKS));
        let review_memory = ReviewMemory::new(config.review_memory_bytes);
        let names = NamePolicy::new(config.reserved_names.clone(), airlock_inspect::rules::resembles);
        AppState { store, config, index: Arc::new(IndexCache::new()), files, tokens: Arc::default(), password_checks, review_memory, names }
    }

    /// The archive reader for people, on this state's blobs and budget.
    pub fn reader(&self) -> Reader {
        Reader { blobs: self.store.blobs.clone(), memory: self.review_memory.clone() }
    }

    /// The four-eyes rule and the base-revoked policy in force, from the configuration.
    pub fn review_policy(&self) -> airlock_store::decisions::ReviewPolicy {
        self.config.review_policy()
    }

    /// Run `f` with a pooled connection on actix's blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        let out = actix_web::web::block(move || {
            let mut conn = store.conn()?;
            f(&mut conn)
        })
        .await?;
        Ok(out?)
    }
}
