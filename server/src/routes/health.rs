//! `GET /healthz`: 200 when the database answers (the process is alive and
//! can reach its store). `GET /readyz`: 200 when the database and the blob
//! store (the folder, or the object store's bucket) both answer, so a load
//! balancer sends requests only to a node that can serve them; 503 saying
//! which one failed otherwise.

use actix_web::{web, HttpResponse};

use crate::error::AppError;
use crate::state::AppState;

pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.db(airlock_store::jobs::counts).await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ok"))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db(airlock_store::db::ping).await.err().map(|e| format!("database: {e}"));
    let blobs = state.store.blobs.clone();
    let blob_store = match web::block(move || blobs.check()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("blob store: {e}")),
        Err(e) => Some(format!("blob store: {e}")),
    };
    let problems: Vec<String> = database.into_iter().chain(blob_store).collect();
    if problems.is_empty() {
        return HttpResponse::Ok().content_type("text/plain").insert_header(("Cache-Control", "no-store")).body("ready");
    }
    tracing::warn!(problems = %problems.join("; "), "not ready");
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain")
        .insert_header(("Cache-Control", "no-store"))
        .body(format!("not ready\n{}\n", problems.join("\n")))
}
