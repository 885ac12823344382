//! The enums kept in text columns: a release's status
//! ([`ReleaseStatus`]), a severity ([`Severity`]) and a distribution's kind
//! ([`DistKind`]). Rows read them typed through diesel's `FromSql`, so no
//! query or page compares their strings; a release status is also written
//! and bound through `ToSql`. The database holds each enum's `as_str`, as
//! before.
//!
//! `inspect`'s enums are read through the `MultiBackend` that
//! `#[derive(MultiConnection)]` generates (every query goes through
//! [`crate::AnyConnection`]): that type is local to this crate, so it can
//! carry them without a wrapper, and `inspect` stays free of diesel. A
//! stored string none of them names is an error, never a silent default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::db::MultiBackend;
use crate::domain::ReleaseStatus;
use airlock_inspect::{DistKind, Severity};

/// The error for a stored string that names no value of the enum.
fn unknown(what: &str, stored: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("unknown {what} {stored:?} in the database").into()
}

// A release status is this crate's own: read and written (bound in
// queries: `releases::status.eq(ReleaseStatus::Approved)`) on every backend.
impl<DB> FromSql<Text, DB> for ReleaseStatus
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let stored = String::from_sql(bytes)?;
        stored.parse().map_err(|_| unknown("release status", &stored))
    }
}

impl<DB> ToSql<Text, DB> for ReleaseStatus
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

/// `FromSql` and `Queryable` over `Text` on the multi-backend for one of
/// `inspect`'s enums: rows read them typed. They are bound in queries as
/// their `as_str` (a bind is written by each inner backend, and orphan
/// rules leave `ToSql` for those to `inspect`, which stays free of diesel).
macro_rules! read_from_text {
    ($ty:ty, $what:literal) => {
        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let stored = <String as FromSql<Text, MultiBackend>>::from_sql(bytes)?;
                <$ty>::parse(&stored).ok_or_else(|| unknown($what, &stored))
            }
        }

        impl Queryable<Text, MultiBackend> for $ty {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    };
}

read_from_text!(Severity, "severity");
read_from_text!(DistKind, "distribution kind");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{files, projects, releases};
    use crate::testdb::each_backend;
    use diesel::prelude::*;

    #[test]
    fn enums_round_trip_as_their_strings_on_both_backends() {
        each_backend(|conn| {
            let project: i64 = diesel::insert_into(projects::table)
                .values((projects::name.eq("demo"), projects::created_at.eq(0)))
                .returning(projects::id)
                .get_result(conn)
                .unwrap();
            let release: i64 = diesel::insert_into(releases::table)
                .values((
                    releases::project_id.eq(project),
                    releases::version.eq("1.0"),
                    releases::status.eq(ReleaseStatus::AwaitingReview),
                    releases::max_severity.eq(Severity::High.as_str()),
                    releases::created_at.eq(0),
                    releases::updated_at.eq(0),
                ))
                .returning(releases::id)
                .get_result(conn)
                .unwrap();
            let file: i64 = diesel::insert_into(files::table)
                .values((
                    files::release_id.eq(release),
                    files::filename.eq("demo-1.0.tar.gz"),
                    files::sha256.eq("0".repeat(64)),
                    files::size.eq(1),
                    files::upstream_url.eq("u"),
                    files::dist_kind.eq(DistKind::Sdist.as_str()),
                    files::created_at.eq(0),
                ))
                .returning(files::id)
                .get_result(conn)
                .unwrap();
            let stored: (String, String) = releases::table.find(release).select((releases::status, releases::max_severity)).first(conn).unwrap();
            assert_eq!(stored, ("awaiting_review".to_string(), "high".to_string()));
            let typed: (ReleaseStatus, Severity, DistKind) = releases::table
                .inner_join(files::table)
                .filter(files::id.eq(file))
                .select((releases::status, releases::max_severity, files::dist_kind))
                .first(conn)
                .unwrap();
            assert_eq!(typed, (ReleaseStatus::AwaitingReview, Severity::High, DistKind::Sdist));

            diesel::update(releases::table.find(release)).set(releases::status.eq("no-such-status")).execute(conn).unwrap();
            let unknown = releases::table.find(release).select(releases::status).first::<ReleaseStatus>(conn).unwrap_err();
            let said = format!("{unknown:?}");
            assert!(said.contains("unknown release status") && said.contains("no-such-status"), "{said}");
        });
    }
}
