//! A dossier's signed electronic results: listed and downloaded by whoever may read the dossier.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use cqs_store::IssuedDocument;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath};

async fn readable(state: &AppState, caller: &Caller, code: &str) -> Result<Uuid, ApiError> {
    caller.require_authenticated()?;
    let ctx = crate::api::workflow::Context::load(state, code).await?;
    caller.0.may_read_dossier(&ctx.involved_units(), ctx.dossier.submitted_by_client, ctx.dossier.owner())?;
    Ok(ctx.dossier.id)
}

/// The documents issued for the dossier (its signed electronic result), oldest first.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/results", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ")),
    responses((status = 200, body = Vec<IssuedDocument>), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<IssuedDocument>>, ApiError> {
    let id = readable(&state, &caller, &code).await?;
    Ok(Json(state.store.issued_documents(id).await?))
}

/// One signed result as the agency issued it (PDF with its PAdES signature); checked against
/// the SHA-256 recorded when it was signed.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/results/{id}", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ"), ("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, id)): ApiPath<(String, Uuid)>,
) -> Result<Response, ApiError> {
    let dossier = readable(&state, &caller, &code).await?;
    let doc = state
        .store
        .issued_documents(dossier)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::not_found("kết quả điện tử"))?;
    let bytes = state.files.read_checked(&doc.storage_key, &doc.sha256).await.map_err(|e| {
        tracing::error!(error = %e, "signed result unreadable");
        ApiError::internal()
    })?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", doc.file_name))
        .header("x-content-type-options", "nosniff")
        .body(Body::from(bytes))
        .map_err(|_| ApiError::internal())
}
