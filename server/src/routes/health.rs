//! `GET /healthz`: 200 when the database answers.

use actix_web::{web, HttpResponse};

use crate::error::AppError;
use crate::state::AppState;

pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.db(airlock_store::jobs::counts).await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ok"))
}
