//! The routes, one module per page or API area. Handlers stay thin: parse,
//! call the store, render.

pub mod admin;
pub mod api;
pub mod audit;
pub mod browse;
pub mod diff;
pub mod docs;
pub mod export;
pub mod findings;
pub mod health;
pub mod imports;
pub mod inbox;
pub mod login;
pub mod misses;
pub mod overview;
pub mod projects;
pub mod queue;
pub mod release;
pub mod release_actions;
pub mod set;
pub mod simple;
pub mod suppressions;

use actix_web::{web, HttpResponse};

/// Who may use a route: the least role, or anyone. The handler enforces it
/// (through its extractor: `Page<R>`, `FormPost<R, _>`, `Api<R>`); the table
/// states it, so that tests/e2e_routes.rs can walk every route as every
/// role and check the two agree. A new route cannot be added without
/// saying who may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone (the index follows `index_access`; the login form has its own CSRF cookie).
    Public,
    Viewer,
    Auditor,
    Admin,
}

/// One registered route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `get`, `head`, `post` or `delete`.
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// The route table: registers every route and lists it in [`ROUTES`].
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path, $access:ident;)*) => {
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }

        /// Every route with who may use it.
        pub const ROUTES: &[Route] = &[$(Route { method: stringify!($method), path: $path, access: Access::$access }),*];
    };
}

route_table! {
    // The index first: actix tries routes in table order (a regex per
    // pattern with a parameter), and these take nearly all the traffic.
    get "/simple" => simple::root_redirect, Public;
    get "/simple/" => simple::root, Public;
    head "/simple/" => simple::root, Public;
    get "/simple/{project}" => simple::project_redirect, Public;
    get "/simple/{project}/" => simple::project, Public;
    head "/simple/{project}/" => simple::project, Public;
    get "/files/{sha256}/{filename}" => simple::file, Public;
    head "/files/{sha256}/{filename}" => simple::file, Public;
    get "/healthz" => health::healthz, Public;
    get "/static/airlock.css" => stylesheet, Public;
    get "/static/airlock.js" => script, Public;
    get "/static/favicon.svg" => favicon, Public;
    get "/favicon.ico" => favicon, Public;
    get "/" => queue::home, Public;
    get "/login" => login::form, Public;
    post "/login" => login::submit, Public;
    post "/logout" => login::logout, Viewer;
    get "/queue" => queue::page, Viewer;
    post "/requests" => queue::request, Viewer;
    get "/imports" => imports::page, Viewer;
    post "/imports" => imports::submit, Viewer;
    get "/imports/{id}" => imports::show_page, Viewer;
    post "/imports/{id}/approve" => imports::approve_form, Auditor;
    get "/queue/progress" => queue::progress, Viewer;
    get "/queue/rows" => queue::rows, Viewer;
    get "/overview" => overview::page, Viewer;
    get "/misses" => misses::page, Viewer;
    get "/projects" => projects::list, Viewer;
    get "/projects/{name}" => projects::page, Viewer;
    post "/projects/{name}/watch" => projects::watch_form, Auditor;
    post "/projects/{name}/unwatch" => projects::unwatch_form, Auditor;
    post "/releases/{name}/{version}/retry" => queue::retry, Viewer;
    get "/releases/{name}/{version}/diff" => diff::page, Viewer;
    get "/releases/{name}/{version}/files/{filename}" => browse::page, Viewer;
    get "/admin" => admin_home, Public;
    get "/admin/users" => admin::users, Admin;
    post "/admin/users" => admin::create_user, Admin;
    post "/admin/users/{id}/role" => admin::set_role, Admin;
    post "/admin/users/{id}/disabled" => admin::set_disabled, Admin;
    get "/admin/roles" => admin::roles, Admin;
    get "/admin/tokens" => admin::tokens, Admin;
    post "/admin/tokens" => admin::create_token, Admin;
    post "/admin/tokens/{id}/revoke" => admin::revoke_token, Admin;
    get "/admin/suppressions" => suppressions::page, Admin;
    post "/admin/suppressions" => suppressions::create, Admin;
    post "/admin/suppressions/{id}/remove" => suppressions::remove, Admin;
    get "/docs/rules" => docs::rules, Viewer;
    get "/releases/{name}/{version}" => release::page, Viewer;
    post "/releases/{name}/{version}/decision" => release_actions::decide, Auditor;
    post "/releases/{name}/{version}/yank" => release_actions::yank, Auditor;
    post "/releases/{name}/{version}/unyank" => release_actions::unyank, Auditor;
    get "/releases/{name}/{version}/set" => set::page, Viewer;
    post "/releases/{name}/{version}/set/approve" => set::approve_form, Auditor;
    post "/releases/{name}/{version}/files" => release::add_file, Viewer;
    post "/releases/{name}/{version}/findings/review" => findings::review, Auditor;
    get "/audit" => audit::page, Viewer;
    get "/audit/export" => audit::export, Viewer;
    get "/inbox" => inbox::page, Viewer;
    get "/inbox/count" => inbox::count, Viewer;
    post "/inbox/read" => inbox::mark_read, Viewer;
    get "/admin/notifications" => inbox::deliveries, Admin;
    post "/admin/advisories/fetch" => inbox::fetch_advisories, Admin;
    post "/api/v1/requests" => api::request, Viewer;
    post "/api/v1/imports" => imports::create, Viewer;
    get "/api/v1/imports/{id}" => imports::show, Viewer;
    post "/api/v1/imports/{id}/approve" => imports::approve_api, Auditor;
    get "/api/v1/export" => export::export, Viewer;
    get "/api/v1/releases/{name}/{version}" => api::release, Viewer;
    post "/api/v1/releases/{name}/{version}/decision" => api::decide, Auditor;
    post "/api/v1/releases/{name}/{version}/set/approve" => set::approve_api, Auditor;
    post "/api/v1/releases/{name}/{version}/files" => api::add_file, Viewer;
    post "/api/v1/releases/{name}/{version}/yank" => api::yank, Auditor;
    delete "/api/v1/releases/{name}/{version}/yank" => api::unyank, Auditor;
    get "/api/v1/projects/{name}" => simple::availability, Public;
    get "/api/v1/projects/{name}/watch" => projects::watch_state, Viewer;
    post "/api/v1/projects/{name}/watch" => projects::watch_api, Auditor;
    delete "/api/v1/projects/{name}/watch" => projects::unwatch_api, Auditor;
    get "/api/v1/why/{name}" => api::why, Viewer;
}

async fn admin_home() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, "/admin/users")).finish()
}

/// The dashboard's one script: keyboard review, dialogs, live progress.
async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/airlock.js"))
}

/// The dashboard's icon, an SVG: linked from every page, and answered at
/// `/favicon.ico` too for the clients that ask there without looking.
async fn favicon() -> HttpResponse {
    HttpResponse::Ok().content_type("image/svg+xml").insert_header(("Cache-Control", "public, max-age=86400")).body(include_str!("../../static/favicon.svg"))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/airlock.css"))
}
