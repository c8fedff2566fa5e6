//! `/metrics`: Prometheus text for operators' scrapers. Denied by default: only an API key with
//! the `metrics:read` scope may read it (`cqs apikey create --name prometheus --scope
//! metrics:read`, given to Prometheus as a bearer token). Metrics carry route templates, states
//! and job names, never a dossier, a person or a key.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Node and cluster metrics in the Prometheus text format (version 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "health", security(("api_key" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "No or invalid credentials"),
        (status = 403, description = "The key lacks the metrics:read scope")
    ))]
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.0.may_read_metrics()?;
    crate::telemetry::refresh_gauges(&state).await;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::telemetry::render()))
}
