//! Fresh databases for tests: a temp SQLite file always, and a private
//! PostgreSQL schema too when `AIRLOCK_TEST_POSTGRES` holds a server URL.
//! Used by this crate's tests and by the other crates' tests.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

use crate::db::{self, AnyConnection};

/// A database that exists for one test; dropping it removes it.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = &self.pg_admin {
            if let Ok(mut c) = PgConnection::establish(admin_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb { url, label: "sqlite", _dir: Some(dir), pg_admin: None }
    }

    /// A private schema on the PostgreSQL server named by `AIRLOCK_TEST_POSTGRES`.
    pub fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("AIRLOCK_TEST_POSTGRES").ok().filter(|s| !s.is_empty())?;
        let schema = format!("airlock_test_{}", hex::encode(rand::random::<[u8; 8]>()));
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| panic!("AIRLOCK_TEST_POSTGRES is set but unreachable: {e}"));
        admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create test schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        Some(TestDb { url, label: "postgres", _dir: None, pg_admin: Some((admin_url, schema)) })
    }

    /// SQLite, plus PostgreSQL when configured.
    pub fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite()];
        v.extend(TestDb::postgres());
        v
    }

    /// A migrated pool on this database.
    pub fn pool(&self) -> db::Pool {
        let pool = db::connect(&self.url, 4).expect("connect test db");
        db::run_migrations(&mut pool.get().expect("conn")).expect("migrate");
        pool
    }
}

/// Run `test` on a freshly migrated connection of each backend under test.
pub fn each_backend(test: impl Fn(&mut AnyConnection)) {
    for db in TestDb::all() {
        let pool = db.pool();
        let mut conn = pool.get().expect("conn");
        eprintln!("-- on {}", db.label);
        test(&mut conn);
    }
}
