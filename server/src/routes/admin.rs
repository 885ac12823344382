//! Administration, for admins only: users (create, change role, disable or
//! enable), the roles and what each may do, and API tokens (a new token is
//! shown once, on the response to the form that made it; revoke). Every
//! change lands in the audit log.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use airlock_store::auth::{self, TokenInfo, User};
use airlock_store::domain::Role;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::auth::{Admin, FormPost, Page};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{format_time, Nav};

pub struct UserRow {
    id: i64,
    name: String,
    role: &'static str,
    disabled: bool,
    created: String,
    is_me: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    nav: Option<Nav>,
    csrf: String,
    users: Vec<UserRow>,
    roles: [&'static str; 3],
}

fn user_rows(users: Vec<User>, me: &User) -> Vec<UserRow> {
    users
        .into_iter()
        .map(|u| UserRow { id: u.id, is_me: u.id == me.id, role: u.role.as_str(), disabled: u.disabled, created: format_time(u.created_at), name: u.name })
        .collect()
}

const ROLES: [&str; 3] = ["viewer", "auditor", "admin"];

pub async fn users(auth: Page<Admin>, state: web::Data<AppState>) -> Result<UsersPage, AppError> {
    let users = state.db(auth::list_users).await?;
    Ok(UsersPage { users: user_rows(users, &auth.user), nav: Nav::new(&auth.user, &auth.csrf), csrf: auth.csrf, roles: ROLES })
}

fn back_to(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_string())).finish()
}

#[derive(Deserialize)]
pub struct NewUser {
    name: String,
    role: String,
    password: String,
}

pub async fn create_user(post: FormPost<Admin, NewUser>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let role: Role = post.form.role.parse()?;
    let (name, password, actor) = (post.form.name.trim().to_string(), post.form.password.clone(), post.user.name.clone());
    state
        .db(move |c| {
            let user = auth::create_user(c, &name, role, &password)?;
            airlock_store::audit::record(c, Some(&actor), "user.create", &user.name, &format!("role {}", role.as_str()))
        })
        .await?;
    Ok(back_to("/admin/users"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(post: FormPost<Admin, RoleForm>, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let role: Role = post.form.role.parse()?;
    let (id, actor) = (path.into_inner(), post.user.name.clone());
    state.db(move |c| auth::set_role(c, &actor, id, role)).await?;
    // This process forgets verified index tokens now; the others on the change feed.
    state.tokens.clear();
    Ok(back_to("/admin/users"))
}

#[derive(Deserialize)]
pub struct DisableForm {
    disabled: String,
}

pub async fn set_disabled(post: FormPost<Admin, DisableForm>, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let disabled = match post.form.disabled.as_str() {
        "true" => true,
        "false" => false,
        other => return Err(AppError::BadRequest(format!("disabled must be true or false, got {other:?}"))),
    };
    let (id, actor) = (path.into_inner(), post.user.name.clone());
    state.db(move |c| auth::set_disabled(c, &actor, id, disabled)).await?;
    // This process forgets verified index tokens now; the others on the change feed.
    state.tokens.clear();
    Ok(back_to("/admin/users"))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_roles.html")]
pub struct RolesPage {
    nav: Option<Nav>,
}

pub async fn roles(auth: Page<Admin>) -> RolesPage {
    RolesPage { nav: Nav::new(&auth.user, &auth.csrf) }
}

pub struct TokenRow {
    id: i64,
    user: String,
    label: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

impl From<TokenInfo> for TokenRow {
    fn from(t: TokenInfo) -> Self {
        TokenRow {
            id: t.id,
            user: t.user,
            label: t.label,
            created: format_time(t.created_at),
            last_used: t.last_used_at.map(format_time).unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.map(format_time),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_tokens.html")]
pub struct TokensPage {
    nav: Option<Nav>,
    csrf: String,
    tokens: Vec<TokenRow>,
    users: Vec<String>,
    /// A token just created: shown this once.
    created: Option<(String, String)>,
}

async fn tokens_page(auth_user: &User, csrf: &str, state: &AppState, created: Option<(String, String)>) -> Result<TokensPage, AppError> {
    let (tokens, users) = state.db(|c| Ok((auth::list_api_tokens(c)?, auth::list_users(c)?))).await?;
    Ok(TokensPage {
        nav: Nav::new(auth_user, csrf),
        csrf: csrf.to_string(),
        tokens: tokens.into_iter().map(TokenRow::from).collect(),
        users: users.into_iter().filter(|u| !u.disabled).map(|u| u.name).collect(),
        created,
    })
}

pub async fn tokens(auth: Page<Admin>, state: web::Data<AppState>) -> Result<TokensPage, AppError> {
    tokens_page(&auth.user, &auth.csrf, &state, None).await
}

#[derive(Deserialize)]
pub struct NewToken {
    user: String,
    label: String,
}

/// Create a token and show it once, in this response (never in a URL).
pub async fn create_token(auth: Page<Admin>, post: FormPost<Admin, NewToken>, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let label = post.form.label.trim().to_string();
    if label.is_empty() {
        return Err(AppError::BadRequest("a token needs a label".into()));
    }
    let (user, actor, l) = (post.form.user.clone(), post.user.name.clone(), label.clone());
    let token = state.db(move |c| auth::issue_api_token(c, &actor, &user, &l)).await?;
    let page = tokens_page(&auth.user, &auth.csrf, &state, Some((post.form.user.clone(), token))).await?;
    let body = page.render().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").insert_header(("Cache-Control", "no-store")).body(body))
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn revoke_token(post: FormPost<Admin, Empty>, state: web::Data<AppState>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let (id, actor) = (path.into_inner(), post.user.name.clone());
    state.db(move |c| auth::revoke_api_token(c, &actor, id)).await?;
    // This process forgets verified index tokens now; the others on the change feed.
    state.tokens.clear();
    Ok(back_to("/admin/tokens"))
}
