//! Shared application state: the store and the configuration, plus the one
//! way handlers reach the database (a blocking diesel call moved off the
//! async executor).

use airlock_store::{AnyConnection, Config, Store, StoreError};

use crate::error::AppError;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Config,
}

impl AppState {
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
