//! Authentication and authorization, in one place. Pages authenticate by the
//! session cookie; the API only by `Authorization: Bearer <token>`, so a
//! browser can never be tricked into calling it with its cookie. Every role
//! check is a type: a handler that takes [`Page<Auditor>`] cannot run for a
//! viewer. Every dashboard form post goes through [`FormPost`], which checks
//! the session's CSRF token before the handler sees the form.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use airlock_store::auth::{self, User};
use airlock_store::domain::Role;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{ApiError, AppError};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "airlock_session";

/// The least role a handler needs.
pub trait MinRole {
    const ROLE: Role;
}

/// Any signed-in user.
pub struct Viewer;
/// Auditors and admins.
pub struct Auditor;
/// Admins only.
pub struct Admin;

impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Auditor {
    const ROLE: Role = Role::Auditor;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// The signed-in dashboard user, with at least role `R`.
pub struct Page<R: MinRole> {
    pub user: User,
    /// The session's CSRF token, for the forms on the page.
    pub csrf: String,
    _role: PhantomData<R>,
}

/// A user authenticated by an API token, with at least role `R`.
pub struct Api<R: MinRole> {
    pub user: User,
    _role: PhantomData<R>,
}

fn state(req: &HttpRequest) -> Result<AppState, AppError> {
    req.app_data::<web::Data<AppState>>().map(|d| d.get_ref().clone()).ok_or_else(|| AppError::Internal("app state missing".into()))
}

async fn session_of(req: &HttpRequest) -> Result<(User, String), AppError> {
    let state = state(req)?;
    let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()).ok_or(AppError::Unauthenticated)?;
    state.db(move |c| auth::session_user(c, &token)).await?.ok_or(AppError::Unauthenticated)
}

async fn bearer_user(req: &HttpRequest) -> Result<User, AppError> {
    let state = state(req)?;
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .ok_or(AppError::Unauthenticated)?;
    state.db(move |c| auth::token_user(c, &token)).await?.ok_or(AppError::Unauthenticated)
}

fn check_role<R: MinRole>(user: &User) -> Result<(), AppError> {
    if user.role >= R::ROLE {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<R: MinRole + 'static> FromRequest for Page<R> {
    type Error = AppError;
    type Future = LocalFuture<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (user, csrf) = session_of(&req).await?;
            check_role::<R>(&user)?;
            Ok(Page { user, csrf, _role: PhantomData })
        })
    }
}

impl<R: MinRole + 'static> FromRequest for Api<R> {
    type Error = ApiError;
    type Future = LocalFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = bearer_user(&req).await?;
            check_role::<R>(&user)?;
            Ok(Api { user, _role: PhantomData })
        })
    }
}

/// The most bytes a request body may have, unless its extractor says more.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole body, refused with 413 past `max` bytes.
async fn read_body(payload: Result<web::Payload, actix_web::Error>, max: usize) -> Result<web::Bytes, AppError> {
    let payload = payload.map_err(|e| AppError::BadRequest(format!("unreadable body: {e}")))?;
    match payload.to_bytes_limited(max).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(AppError::TooLarge(format!("the body is larger than {} KiB", max / 1024))),
        Err(e) => Err(AppError::BadRequest(format!("unreadable body: {e}"))),
    }
}

/// An API call with a JSON body of at most `MAX` bytes: a bearer token of a
/// user with at least role `R`, checked before the body is parsed (a
/// refused caller gets 401 or 403, never a body error).
pub struct ApiPost<R: MinRole, T, const MAX: usize = BODY_LIMIT> {
    pub user: User,
    pub body: T,
    _role: PhantomData<R>,
}

impl<R: MinRole + 'static, T: DeserializeOwned + 'static, const MAX: usize> FromRequest for ApiPost<R, T, MAX> {
    type Error = ApiError;
    type Future = LocalFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Payload::from_request(req, payload).into_inner();
        let req = req.clone();
        Box::pin(async move {
            let user = bearer_user(&req).await?;
            check_role::<R>(&user)?;
            let bytes = read_body(body, MAX).await?;
            let body = serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("malformed JSON body: {e}")))?;
            Ok(ApiPost { user, body, _role: PhantomData })
        })
    }
}

/// The CSRF field of a form, read before the rest of it.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A dashboard form post of at most `MAX` bytes: a signed-in user with at
/// least role `R`, and the form `T`, whose `csrf` field matched the
/// session's token.
pub struct FormPost<R: MinRole, T, const MAX: usize = BODY_LIMIT> {
    pub user: User,
    pub form: T,
    _role: PhantomData<R>,
}

impl<R: MinRole + 'static, T: DeserializeOwned + 'static, const MAX: usize> FromRequest for FormPost<R, T, MAX> {
    type Error = AppError;
    type Future = LocalFuture<Result<Self, AppError>>;

    /// In this order: a session, the CSRF token, the role, and only then the
    /// form itself, so a refused client learns nothing from form errors.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Payload::from_request(req, payload).into_inner();
        let req = req.clone();
        Box::pin(async move {
            let (user, expected) = session_of(&req).await?;
            let body = read_body(body, MAX).await?;
            let given = serde_urlencoded::from_bytes::<CsrfField>(&body).map(|f| f.csrf).unwrap_or_default();
            if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                return Err(AppError::Csrf);
            }
            check_role::<R>(&user)?;
            let form = serde_urlencoded::from_bytes::<T>(&body).map_err(|e| AppError::BadRequest(format!("malformed form: {e}")))?;
            Ok(FormPost { user, form, _role: PhantomData })
        })
    }
}

/// The client a throttle counts against (sign-in failures, index misses):
/// its address as the connection shows it. A forwarded-for header is the
/// client's own claim, not evidence.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

/// Compare secrets without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
