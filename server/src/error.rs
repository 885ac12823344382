//! How failures become HTTP responses, in one place: [`AppError`] renders a
//! small HTML page for the dashboard, [`ApiError`] a JSON body for the API.
//! Internal details go to the log, not to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use airlock_store::StoreError;
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    #[error("the form expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// A request body past its limit: 413.
    #[error("{0}")]
    TooLarge(String),
    /// The review memory budget is spent for now: 503 with `Retry-After`.
    #[error("{0}")]
    Busy(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
            StoreError::Invalid(msg) => AppError::BadRequest(msg),
            StoreError::Conflict(msg) => AppError::Conflict(msg),
            refused @ StoreError::Reserved { .. } => AppError::Conflict(refused.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<crate::review::ReviewError> for AppError {
    fn from(e: crate::review::ReviewError) -> Self {
        match e {
            crate::review::ReviewError::Store(e) => e.into(),
            crate::review::ReviewError::Memory(e) => e.into(),
        }
    }
}

impl From<crate::memory::MemoryError> for AppError {
    fn from(e: crate::memory::MemoryError) -> Self {
        match e {
            crate::memory::MemoryError::Busy => AppError::Busy(e.to_string()),
            // Pages show an oversize item as "too large to show" themselves.
            crate::memory::MemoryError::TooLarge { .. } => AppError::Internal(e.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log(&self) {
        if let AppError::Internal(detail) = self {
            tracing::error!(error = %detail, "request failed");
        }
    }
}

impl AppError {
    /// This error for an installer rather than a person (the `/files/`
    /// routes): plain text, or `{"error": …}` when the client asked for
    /// JSON; never the dashboard's HTML page, and never kept by a cache.
    pub fn for_installer(&self, json: bool) -> HttpResponse {
        self.log();
        let mut resp = HttpResponse::build(self.status());
        resp.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::VARY, "Accept"));
        if let AppError::Busy(_) = self {
            resp.insert_header((header::RETRY_AFTER, crate::memory::RETRY_AFTER_SECS.to_string()));
        }
        if json {
            resp.json(serde_json::json!({ "error": self.to_string() }))
        } else {
            resp.content_type("text/plain; charset=utf-8").body(format!("{self}\n"))
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        if let AppError::Unauthenticated = self {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, "/login")).finish();
        }
        let message = self.to_string();
        let body = ErrorPage { status: self.status().as_u16(), message: &message }.render().unwrap_or(message.clone());
        let mut resp = HttpResponse::build(self.status());
        if let AppError::Busy(_) = self {
            resp.insert_header((header::RETRY_AFTER, crate::memory::RETRY_AFTER_SECS.to_string()));
        }
        resp.content_type("text/html; charset=utf-8").body(body)
    }
}

/// An error from the JSON API: `{"error": "…"}` with the matching status.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(e.into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let mut resp = HttpResponse::build(self.0.status());
        if let AppError::Unauthenticated = self.0 {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        resp.json(serde_json::json!({ "error": self.0.to_string() }))
    }
}
