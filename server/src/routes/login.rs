//! Sign in and out. The login form is protected against login CSRF by a
//! double-submit cookie; a session cookie is HttpOnly and SameSite=Strict.
//! A wrong name and a wrong password give the same answer. Failures are
//! throttled per account and per address (see `airlock_store::throttle`).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use airlock_store::{auth, throttle};
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

fn render_login(req: &HttpRequest, csrf: String, error: Option<String>, status: StatusCode) -> Result<HttpResponse, AppError> {
    let body = LoginPage { nav: None, csrf: csrf.clone(), error }.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").cookie(cookie(req, LOGIN_CSRF_COOKIE, csrf)).body(body))
}

pub async fn form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let csrf =
        req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() == 64).unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
    render_login(&req, csrf, None, StatusCode::OK)
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

/// Sign in. Throttled per account and per client address (in the database,
/// so every server process agrees): past a limit the answer is `429` with
/// `Retry-After` and no password is checked. The argon2 check runs on a
/// blocking thread without a pooled connection, at most a few at a time,
/// so a login flood cannot starve the dashboard of connections.
pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(AppError::Csrf);
    }
    if form.name.len() > 256 || form.password.len() > 1024 {
        return Err(AppError::BadRequest("the user name or password is too long".into()));
    }
    let name = form.name.trim().to_string();
    let address = crate::auth::client_address(&req);
    let policy = state.config.login;

    let (n, a) = (name.clone(), address.clone());
    if let Some(wait) = state.db(move |c| throttle::login_wait(c, &n, &a, &policy, airlock_store::now_ms())).await? {
        tracing::warn!(user = %name, %address, wait, "sign-in refused: too many failures");
        let mut page = render_login(&req, expected, Some(format!("Too many failed sign-ins. Try again in {wait} s.")), StatusCode::TOO_MANY_REQUESTS)?;
        page.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        return Ok(page);
    }

    let n = name.clone();
    let candidate = state.db(move |c| auth::login_candidate(c, &n)).await?;
    let user = {
        let _turn = state.password_checks.acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let password = form.password;
        web::block(move || candidate.accept(&password)).await?
    };

    let now = airlock_store::now_ms();
    let Some(user) = user else {
        let (n, a) = (name.clone(), address.clone());
        state.db(move |c| throttle::login_failed(c, &n, &a, &policy, now)).await?;
        return render_login(&req, expected, Some("Wrong user name or password.".into()), StatusCode::UNAUTHORIZED);
    };
    let session = state
        .db(move |c| {
            throttle::login_succeeded(c, &user.name)?;
            airlock_store::audit::record(c, Some(&user.name), "user.login", &user.name, "signed in")?;
            auth::create_session(c, &user)
        })
        .await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/queue")).cookie(cookie(&req, SESSION_COOKIE, session.token)).finish())
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
