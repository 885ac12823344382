//! Database connections for both backends: one `AnyConnection` enum, an r2d2
//! pool that picks the backend from the URL scheme (never by trial), and the
//! embedded migrations of each backend.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{StoreError, StoreResult};

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> StoreResult<Backend> {
        if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!("database URL must start with sqlite:// or postgres:// (got {:?})", redact_url(url))))
        }
    }
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// An r2d2 manager that opens the backend named by the URL scheme and sets
/// SQLite up for several processes (WAL, busy timeout, foreign keys).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> StoreResult<Self> {
        Ok(ConnectionManager { url: url.to_string(), backend: Backend::of_url(url)? })
    }

    fn sqlite_path(&self) -> &str {
        self.url.strip_prefix("sqlite://").or_else(|| self.url.strip_prefix("sqlite:")).unwrap_or(&self.url)
    }
}

#[derive(Debug)]
pub struct ConnectError(String);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectError {}

impl ManageConnection for ConnectionManager {
    type Connection = AnyConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<AnyConnection, ConnectError> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(self.sqlite_path()).map_err(|e| ConnectError(format!("sqlite {}: {e}", self.sqlite_path())))?;
                // The busy timeout first: several processes opening a new
                // database at once all switch it to WAL, which takes a lock.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(|e| ConnectError(format!("sqlite pragmas: {e}")))?;
                Ok(AnyConnection::Sqlite(conn))
            }
            Backend::Postgres => {
                PgConnection::establish(&self.url).map(AnyConnection::Postgresql).map_err(|e| ConnectError(format!("postgres {}: {e}", redact_url(&self.url))))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(|e| ConnectError(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// Open a pool for `url`. Fails fast (5 s) with a clear message when the
/// database cannot be reached.
pub fn connect(url: &str, max_size: u32) -> StoreResult<Pool> {
    let manager = ConnectionManager::new(url)?;
    if let Backend::Sqlite = manager.backend {
        if let Some(parent) = std::path::Path::new(manager.sqlite_path()).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Connect(format!("creating {}: {e}", parent.display())))?;
            }
        }
    }
    // Try once by hand so a bad URL reports the real reason, not a pool timeout.
    manager.connect().map_err(|e| StoreError::Connect(e.0))?;
    r2d2::Pool::builder().max_size(max_size).connection_timeout(Duration::from_secs(15)).build(manager).map_err(|e| StoreError::Connect(e.to_string()))
}

/// The advisory lock every process takes around migrating a PostgreSQL
/// schema: its key is derived from the schema's name, so processes sharing
/// one schema wait for each other and different schemas (tests) do not.
const MIGRATION_LOCK: &str = "hashtext('airlock migrations ' || current_schema())";

/// Run the pending migrations of the connection's backend. Safe when several
/// processes start at once: on PostgreSQL they take turns under an advisory
/// lock (the second finds nothing left to do); on SQLite each migration runs
/// in its own transaction and the database's write lock orders them.
pub fn run_migrations(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    let applied = match conn {
        // The write lock first (`BEGIN IMMEDIATE`): a second process waits,
        // then finds nothing pending. Each migration is a savepoint inside.
        AnyConnection::Sqlite(c) => c
            .immediate_transaction(|c| c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.iter().map(|m| m.to_string()).collect()).map_err(MigrationFailed))
            .map_err(|e| match e {
                MigrationFailed(inner) => StoreError::Migration(inner.to_string()),
            }),
        AnyConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            // A session lock: released explicitly, or when the connection closes.
            let unlocked = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            let applied = applied.map_err(|e| StoreError::Migration(e.to_string()))?;
            unlocked?;
            Ok(applied)
        }
    };
    applied
}

/// A migration error carried out of a diesel transaction (which wants its
/// error type to come from diesel's).
#[derive(Debug)]
struct MigrationFailed(Box<dyn std::error::Error + Send + Sync>);

impl From<diesel::result::Error> for MigrationFailed {
    fn from(e: diesel::result::Error) -> Self {
        MigrationFailed(Box::new(e))
    }
}

/// One round trip to the database (readiness probes).
pub fn ping(conn: &mut AnyConnection) -> StoreResult<()> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// Run `f` in a transaction that writes. On SQLite it begins with
/// `BEGIN IMMEDIATE`, taking the write lock up front: a deferred transaction
/// that reads and then writes fails with "database is locked" when another
/// process wrote in between, whatever the busy timeout. Write transactions
/// must not nest.
pub fn write_transaction<T, F>(conn: &mut AnyConnection, f: F) -> StoreResult<T>
where
    F: FnOnce(&mut AnyConnection) -> StoreResult<T>,
{
    match conn {
        AnyConnection::Postgresql(_) => conn.transaction(f),
        AnyConnection::Sqlite(_) => {
            conn.batch_execute("BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => match conn.batch_execute("COMMIT") {
                    Ok(()) => Ok(value),
                    Err(e) => {
                        let _ = conn.batch_execute("ROLLBACK");
                        Err(e.into())
                    }
                },
                Err(e) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend_by_scheme() {
        assert_eq!(Backend::of_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::of_url("mysql://x").is_err());
    }

    #[test]
    fn processes_starting_at_once_all_migrate_cleanly() {
        for db in crate::testdb::TestDb::all() {
            let url = db.url.clone();
            let runs: Vec<_> = (0..4)
                .map(|_| {
                    let url = url.clone();
                    std::thread::spawn(move || {
                        let pool = connect(&url, 1).expect("connect");
                        let mut conn = pool.get().expect("conn");
                        run_migrations(&mut conn).map(|applied| applied.len())
                    })
                })
                .collect();
            let applied: Vec<usize> = runs.into_iter().map(|r| r.join().expect("thread").unwrap_or_else(|e| panic!("{}: {e}", db.label))).collect();
            let total = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite")).unwrap().count();
            assert_eq!(applied.iter().sum::<usize>(), total, "{}: each migration is applied exactly once: {applied:?}", db.label);
            let mut conn = connect(&url, 1).unwrap().get().unwrap();
            assert!(run_migrations(&mut conn).unwrap().is_empty(), "{}: migrations left pending", db.label);
        }
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://bob:secret@db/x"), "postgres://bob:***@db/x");
        assert_eq!(redact_url("postgres://bob@db/x"), "postgres://bob@db/x");
    }
}
