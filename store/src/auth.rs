//! Users, passwords, sessions and API tokens. Passwords are argon2id hashes;
//! session and API tokens are random and stored only as sha256 digests, so a
//! database leak does not leak live credentials. Hashing is CPU-heavy:
//! async callers run these functions on a blocking thread.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::AnyConnection;
use crate::domain::{Role, Sha256};
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::schema::{api_tokens, sessions, users};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
}

/// An authenticated user, with a parsed role.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> StoreResult<User> {
        Ok(User { id: row.id, role: row.role.parse()?, name: row.name })
    }
}

/// How long a dashboard session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 32]>()))
}

fn token_digest(token: &str) -> String {
    Sha256::of(token.as_bytes()).to_string()
}

fn hash_password(password: &str) -> StoreResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

fn validate_user_name(name: &str) -> StoreResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("user name {name:?} must be 1-64 letters, digits or -_.@")))
    }
}

pub fn create_user(conn: &mut AnyConnection, name: &str, role: Role, password: &str) -> StoreResult<User> {
    validate_user_name(name)?;
    if password.chars().count() < 8 {
        return Err(StoreError::Invalid("password must have at least 8 characters".into()));
    }
    let hash = hash_password(password)?;
    let row: UserRow = diesel::insert_into(users::table)
        .values((users::name.eq(name), users::password_hash.eq(hash), users::role.eq(role.as_str()), users::created_at.eq(now_ms())))
        .returning(users::all_columns)
        .get_result(conn)
        .map_err(|e| match StoreError::from(e) {
            err if err.is_unique_violation() => StoreError::Conflict(format!("user {name:?} already exists")),
            err => err,
        })?;
    row.try_into()
}

pub fn count_users(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn find_user(conn: &mut AnyConnection, name: &str) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = users::table.filter(users::name.eq(name)).select(UserRow::as_select()).first(conn).optional()?;
    row.map(User::try_from).transpose()
}

pub fn list_users(conn: &mut AnyConnection) -> StoreResult<Vec<User>> {
    let rows: Vec<UserRow> = users::table.order(users::name).select(UserRow::as_select()).load(conn)?;
    rows.into_iter().map(User::try_from).collect()
}

/// Check a name and password. Unknown users cost the same hash check as
/// known ones, and both failures look the same to the caller.
pub fn verify_password(conn: &mut AnyConnection, name: &str, password: &str) -> StoreResult<Option<User>> {
    // A real argon2 hash of a random password, so unknown names take as long.
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let decoy = DECOY.get_or_init(|| hash_password(&random_token("")).unwrap_or_default());
    let row: Option<UserRow> = users::table.filter(users::name.eq(name)).select(UserRow::as_select()).first(conn).optional()?;
    let stored = row.as_ref().map(|r| r.password_hash.as_str()).unwrap_or(decoy);
    let ok = PasswordHash::new(stored)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    match row {
        Some(row) if ok => Ok(Some(row.try_into()?)),
        _ => Ok(None),
    }
}

/// A new dashboard session: the cookie token (shown once) and its CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
}

pub fn create_session(conn: &mut AnyConnection, user: &User) -> StoreResult<NewSession> {
    let token = random_token("");
    let csrf_token = random_token("");
    let now = now_ms();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_digest(&token)),
            sessions::user_id.eq(user.id),
            sessions::csrf_token.eq(&csrf_token),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + SESSION_TTL_MS),
        ))
        .execute(conn)?;
    Ok(NewSession { token, csrf_token })
}

/// The user and CSRF token of a live session.
pub fn session_user(conn: &mut AnyConnection, token: &str) -> StoreResult<Option<(User, String)>> {
    let row: Option<(UserRow, String)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_digest(token)))
        .filter(sessions::expires_at.gt(now_ms()))
        .select((UserRow::as_select(), sessions::csrf_token))
        .first(conn)
        .optional()?;
    row.map(|(u, csrf)| Ok((u.try_into()?, csrf))).transpose()
}

pub fn delete_session(conn: &mut AnyConnection, token: &str) -> StoreResult<()> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_digest(token)))).execute(conn)?;
    Ok(())
}

/// Create an API token for `user_name`; the token is returned once and only
/// its digest is kept.
pub fn create_api_token(conn: &mut AnyConnection, user_name: &str, label: &str) -> StoreResult<String> {
    let user = find_user(conn, user_name)?.ok_or_else(|| StoreError::NotFound(format!("user {user_name:?}")))?;
    let token = random_token("airlock_");
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user.id),
            api_tokens::label.eq(label),
            api_tokens::token_hash.eq(token_digest(&token)),
            api_tokens::created_at.eq(now_ms()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The user an API token belongs to.
pub fn token_user(conn: &mut AnyConnection, token: &str) -> StoreResult<Option<User>> {
    let digest = token_digest(token);
    let row: Option<(i64, UserRow)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(&digest))
        .select((api_tokens::id, UserRow::as_select()))
        .first(conn)
        .optional()?;
    match row {
        Some((token_id, user)) => {
            diesel::update(api_tokens::table.filter(api_tokens::id.eq(token_id)))
                .set(api_tokens::last_used_at.eq(now_ms()))
                .execute(conn)?;
            Ok(Some(user.try_into()?))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::each_backend;

    #[test]
    fn passwords_verify_and_wrong_ones_do_not() {
        each_backend(|conn| {
            let alice = create_user(conn, "alice", Role::Auditor, "correct horse").unwrap();
            let row: UserRow = users::table.find(alice.id).select(UserRow::as_select()).first(conn).unwrap();
            assert!(row.password_hash.starts_with("$argon2id$"), "stored as argon2id");
            assert!(verify_password(conn, "alice", "correct horse").unwrap().is_some());
            assert!(verify_password(conn, "alice", "wrong horse").unwrap().is_none());
            assert!(verify_password(conn, "nobody", "correct horse").unwrap().is_none());
        });
    }

    #[test]
    fn duplicate_and_invalid_users_are_refused() {
        each_backend(|conn| {
            create_user(conn, "bob", Role::Viewer, "password1").unwrap();
            assert!(matches!(create_user(conn, "bob", Role::Admin, "password2"), Err(StoreError::Conflict(_))));
            assert!(create_user(conn, "<script>", Role::Admin, "password2").is_err());
            assert!(create_user(conn, "carol", Role::Admin, "short").is_err());
        });
    }

    #[test]
    fn sessions_and_tokens_resolve_to_their_user() {
        each_backend(|conn| {
            let user = create_user(conn, "dave", Role::Admin, "password1").unwrap();
            let session = create_session(conn, &user).unwrap();
            let (found, csrf) = session_user(conn, &session.token).unwrap().unwrap();
            assert_eq!((found.name.as_str(), csrf), ("dave", session.csrf_token.clone()));
            delete_session(conn, &session.token).unwrap();
            assert!(session_user(conn, &session.token).unwrap().is_none());

            let token = create_api_token(conn, "dave", "ci").unwrap();
            assert_eq!(token_user(conn, &token).unwrap().unwrap().role, Role::Admin);
            assert!(token_user(conn, "airlock_forged").unwrap().is_none());
            let stored: Vec<String> = api_tokens::table.select(api_tokens::token_hash).load(conn).unwrap();
            assert!(!stored.contains(&token), "token stored in clear");
        });
    }
}
