//! Sign in and out. The login form is protected against login CSRF by a
//! double-submit cookie; a session cookie is HttpOnly and SameSite=Strict.
//! A wrong name and a wrong password give the same answer.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use airlock_store::auth;
use askama::Template;
use serde::Deserialize;

use crate::auth::{constant_time_eq, FormPost, Viewer, SESSION_COOKIE};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::Nav;

const LOGIN_CSRF_COOKIE: &str = "airlock_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
}

/// An HttpOnly, SameSite=Strict cookie; `Secure` when the client reached
/// Airlock over HTTPS (directly or through a proxy that says so).
fn cookie(req: &HttpRequest, name: &str, value: String) -> Cookie<'static> {
    let secure = req.connection_info().scheme() == "https";
    Cookie::build(name.to_string(), value).path("/").http_only(true).same_site(SameSite::Strict).secure(secure).finish()
}

fn render_login(req: &HttpRequest, csrf: String, error: Option<String>, status: actix_web::http::StatusCode) -> Result<HttpResponse, AppError> {
    let body = LoginPage { nav: None, csrf: csrf.clone(), error }.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").cookie(cookie(req, LOGIN_CSRF_COOKIE, csrf)).body(body))
}

pub async fn form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let csrf =
        req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() == 64).unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
    render_login(&req, csrf, None, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(AppError::Csrf);
    }
    let name = form.name.trim().to_string();
    let password = form.password;
    let session = state
        .db(move |c| {
            let Some(user) = auth::verify_password(c, &name, &password)? else { return Ok(None) };
            airlock_store::audit::record(c, Some(&user.name), "user.login", &user.name, "signed in")?;
            auth::create_session(c, &user).map(Some)
        })
        .await?;
    match session {
        Some(session) => Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/queue")).cookie(cookie(&req, SESSION_COOKIE, session.token)).finish()),
        None => render_login(&req, expected, Some("Wrong user name or password.".into()), actix_web::http::StatusCode::UNAUTHORIZED),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(req: HttpRequest, state: web::Data<AppState>, _post: FormPost<Viewer, Empty>) -> Result<HttpResponse, AppError> {
    if let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) {
        state.db(move |c| auth::delete_session(c, &token)).await?;
    }
    let mut gone = cookie(&req, SESSION_COOKIE, String::new());
    gone.make_removal();
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/login")).cookie(gone).finish())
}
