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
    pub disabled: bool,
}

/// An authenticated user, with a parsed role.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// A disabled user cannot sign in, and their sessions and tokens stop working.
    pub disabled: bool,
    pub created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> StoreResult<User> {
        Ok(User { id: row.id, role: row.role.parse()?, name: row.name, disabled: row.disabled, created_at: row.created_at })
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
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

fn validate_user_name(name: &str) -> StoreResult<()> {
    let ok = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
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
/// known ones, and both failures look the same to the caller. Holds the
/// connection through the hash check: servers use [`login_candidate`] and
/// [`LoginCandidate::accept`] instead, so the pool is not held during argon2.
pub fn verify_password(conn: &mut AnyConnection, name: &str, password: &str) -> StoreResult<Option<User>> {
    Ok(login_candidate(conn, name)?.accept(password))
}

/// The account a sign-in names, with what its password check needs; the
/// check itself ([`LoginCandidate::accept`]) needs no connection.
pub struct LoginCandidate {
    row: Option<UserRow>,
}

/// Look up the account a sign-in names (a short query, no hashing).
pub fn login_candidate(conn: &mut AnyConnection, name: &str) -> StoreResult<LoginCandidate> {
    let row: Option<UserRow> = users::table.filter(users::name.eq(name)).select(UserRow::as_select()).first(conn).optional()?;
    Ok(LoginCandidate { row })
}

impl LoginCandidate {
    /// The user, if `password` is theirs and they are not disabled. CPU-heavy
    /// (argon2): run on a blocking thread. An unknown name is checked against
    /// a decoy hash, so it takes as long as a known one.
    pub fn accept(self, password: &str) -> Option<User> {
        static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let decoy = DECOY.get_or_init(|| hash_password(&random_token("")).unwrap_or_default());
        let stored = self.row.as_ref().map(|r| r.password_hash.as_str()).unwrap_or(decoy);
        let ok = PasswordHash::new(stored).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false);
        match self.row {
            Some(row) if ok && !row.disabled => row.try_into().ok(),
            _ => None,
        }
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
        .filter(users::disabled.eq(false))
        .select((UserRow::as_select(), sessions::csrf_token))
        .first(conn)
        .optional()?;
    row.map(|(u, csrf)| Ok((u.try_into()?, csrf))).transpose()
}

pub fn delete_session(conn: &mut AnyConnection, token: &str) -> StoreResult<()> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_digest(token)))).execute(conn)?;
    Ok(())
}

/// Longest API token label.
pub const MAX_TOKEN_LABEL: usize = 100;

/// Create an API token for `user_name`; the token is returned once and only
/// its digest is kept.
pub fn create_api_token(conn: &mut AnyConnection, user_name: &str, label: &str) -> StoreResult<String> {
    let label = label.trim();
    if label.chars().count() > MAX_TOKEN_LABEL {
        return Err(StoreError::Invalid(format!("a token label is at most {MAX_TOKEN_LABEL} characters")));
    }
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

/// Create an API token for `user_name` on behalf of `actor` (an admin in
/// the dashboard, `cli` for the command line) and record it in the audit
/// log, in one transaction: every way of making a token is audited alike.
pub fn issue_api_token(conn: &mut AnyConnection, actor: &str, user_name: &str, label: &str) -> StoreResult<String> {
    crate::db::write_transaction(conn, |conn| {
        let token = create_api_token(conn, user_name, label)?;
        let id: i64 = api_tokens::table.filter(api_tokens::token_hash.eq(token_digest(&token))).select(api_tokens::id).first(conn)?;
        crate::audit::record(conn, Some(actor), "token.create", user_name, &format!("token #{id} ({})", label.trim()))?;
        Ok(token)
    })
}

/// The user an API token belongs to.
pub fn token_user(conn: &mut AnyConnection, token: &str) -> StoreResult<Option<User>> {
    let digest = token_digest(token);
    let row: Option<(i64, UserRow)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(&digest))
        .filter(api_tokens::revoked_at.is_null())
        .filter(users::disabled.eq(false))
        .select((api_tokens::id, UserRow::as_select()))
        .first(conn)
        .optional()?;
    match row {
        Some((token_id, user)) => {
            diesel::update(api_tokens::table.filter(api_tokens::id.eq(token_id))).set(api_tokens::last_used_at.eq(now_ms())).execute(conn)?;
            Ok(Some(user.try_into()?))
        }
        None => Ok(None),
    }
}

pub fn user_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<User> {
    let row: Option<UserRow> = users::table.find(id).select(UserRow::as_select()).first(conn).optional()?;
    row.ok_or_else(|| StoreError::NotFound(format!("user #{id}")))?.try_into()
}

/// Admins who can still sign in.
fn active_admins(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(users::table.filter(users::role.eq(Role::Admin.as_str())).filter(users::disabled.eq(false)).count().get_result(conn)?)
}

/// Refuse a change that would leave nobody able to administer Airlock.
fn keep_an_admin(conn: &mut AnyConnection, user: &User) -> StoreResult<()> {
    if user.role == Role::Admin && !user.disabled && active_admins(conn)? <= 1 {
        return Err(StoreError::Conflict(format!("{} is the last active admin", user.name)));
    }
    Ok(())
}

/// Give a user another role (by an admin, `actor`); recorded in the audit log.
pub fn set_role(conn: &mut AnyConnection, actor: &str, user_id: i64, role: Role) -> StoreResult<User> {
    crate::db::write_transaction(conn, |conn| {
        let user = user_by_id(conn, user_id)?;
        if user.role == role {
            return Ok(user);
        }
        if role != Role::Admin {
            keep_an_admin(conn, &user)?;
        }
        diesel::update(users::table.find(user_id)).set(users::role.eq(role.as_str())).execute(conn)?;
        crate::audit::record(conn, Some(actor), "user.role", &user.name, &format!("{} -> {}", user.role.as_str(), role.as_str()))?;
        user_by_id(conn, user_id)
    })
}

/// Disable or re-enable a user. Disabling ends their sessions at once; their
/// API tokens stop working while they are disabled.
pub fn set_disabled(conn: &mut AnyConnection, actor: &str, user_id: i64, disabled: bool) -> StoreResult<User> {
    crate::db::write_transaction(conn, |conn| {
        let user = user_by_id(conn, user_id)?;
        if user.disabled == disabled {
            return Ok(user);
        }
        if disabled {
            keep_an_admin(conn, &user)?;
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
        }
        diesel::update(users::table.find(user_id)).set(users::disabled.eq(disabled)).execute(conn)?;
        let action = if disabled { "user.disable" } else { "user.enable" };
        crate::audit::record(conn, Some(actor), action, &user.name, if disabled { "disabled" } else { "enabled" })?;
        user_by_id(conn, user_id)
    })
}

/// An API token as the admin page lists it (never the token itself).
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Every API token, newest first.
pub fn list_api_tokens(conn: &mut AnyConnection) -> StoreResult<Vec<TokenInfo>> {
    Ok(api_tokens::table
        .inner_join(users::table)
        .order(api_tokens::id.desc())
        .select((api_tokens::id, users::name, api_tokens::label, api_tokens::created_at, api_tokens::last_used_at, api_tokens::revoked_at))
        .load(conn)?)
}

/// Revoke an API token: it stops working at once. Recorded in the audit log.
pub fn revoke_api_token(conn: &mut AnyConnection, actor: &str, token_id: i64) -> StoreResult<()> {
    crate::db::write_transaction(conn, |conn| {
        let (user, label): (String, String) = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::id.eq(token_id))
            .select((users::name, api_tokens::label))
            .first(conn)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("API token #{token_id}")))?;
        let n =
            diesel::update(api_tokens::table.find(token_id).filter(api_tokens::revoked_at.is_null())).set(api_tokens::revoked_at.eq(now_ms())).execute(conn)?;
        if n == 1 {
            crate::audit::record(conn, Some(actor), "token.revoke", &user, &format!("token #{token_id} ({label})"))?;
        }
        Ok(())
    })
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

            let err = create_api_token(conn, "dave", &"l".repeat(20_000)).unwrap_err();
            assert!(err.to_string().contains("at most 100"), "{err}");
            let token = create_api_token(conn, "dave", "ci").unwrap();
            assert_eq!(token_user(conn, &token).unwrap().unwrap().role, Role::Admin);
            assert!(token_user(conn, "airlock_forged").unwrap().is_none());
            let stored: Vec<String> = api_tokens::table.select(api_tokens::token_hash).load(conn).unwrap();
            assert!(!stored.contains(&token), "token stored in clear");
        });
    }

    #[test]
    fn issuing_a_token_is_audited_with_its_actor_and_a_refused_one_is_not() {
        each_backend(|conn| {
            create_user(conn, "dave", Role::Auditor, "correct horse").unwrap();
            let token = issue_api_token(conn, "cli", "dave", " deploy ").unwrap();
            assert_eq!(token_user(conn, &token).unwrap().map(|u| u.name).as_deref(), Some("dave"));
            let events = crate::audit::list(conn, 10, 0).unwrap();
            assert_eq!(events.len(), 1, "{events:?}");
            let e = &events[0];
            assert_eq!((e.actor.as_deref(), e.action.as_str(), e.target.as_str()), (Some("cli"), "token.create", "dave"));
            assert!(e.detail.starts_with("token #") && e.detail.ends_with(" (deploy)"), "{e:?}");
            assert!(!e.detail.contains(&token), "the token itself is never logged");
            assert!(issue_api_token(conn, "cli", "nobody", "x").is_err());
            assert_eq!(crate::audit::list(conn, 10, 0).unwrap().len(), 1, "nothing is recorded for a refused token");
        });
    }

    #[test]
    fn disabled_users_and_revoked_tokens_stop_working_at_once() {
        each_backend(|conn| {
            let _admin = create_user(conn, "root", Role::Admin, "password1").unwrap();
            let erin = create_user(conn, "erin", Role::Auditor, "password1").unwrap();
            let session = create_session(conn, &erin).unwrap();
            let token = create_api_token(conn, "erin", "ci").unwrap();
            set_disabled(conn, "root", erin.id, true).unwrap();
            assert!(verify_password(conn, "erin", "password1").unwrap().is_none(), "disabled users cannot sign in");
            assert!(session_user(conn, &session.token).unwrap().is_none(), "their sessions end");
            assert!(token_user(conn, &token).unwrap().is_none(), "their tokens stop working");
            set_disabled(conn, "root", erin.id, false).unwrap();
            assert!(token_user(conn, &token).unwrap().is_some());
            let id = list_api_tokens(conn).unwrap()[0].id;
            revoke_api_token(conn, "root", id).unwrap();
            assert!(token_user(conn, &token).unwrap().is_none(), "revoked tokens stop working");
            assert!(list_api_tokens(conn).unwrap()[0].revoked_at.is_some());
        });
    }

    #[test]
    fn the_last_active_admin_cannot_be_demoted_or_disabled() {
        each_backend(|conn| {
            let root = create_user(conn, "root", Role::Admin, "password1").unwrap();
            assert!(matches!(set_role(conn, "root", root.id, Role::Auditor), Err(StoreError::Conflict(_))));
            assert!(matches!(set_disabled(conn, "root", root.id, true), Err(StoreError::Conflict(_))));
            let other = create_user(conn, "other", Role::Viewer, "password1").unwrap();
            assert_eq!(set_role(conn, "root", other.id, Role::Admin).unwrap().role, Role::Admin);
            assert_eq!(set_role(conn, "other", root.id, Role::Auditor).unwrap().role, Role::Auditor);
            let actions: Vec<String> = crate::audit::list(conn, 10, 0).unwrap().into_iter().map(|e| e.action).collect();
            assert!(actions.iter().filter(|a| *a == "user.role").count() == 2, "{actions:?}");
        });
    }
}
