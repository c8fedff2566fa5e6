//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: its store answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = String), (status = 503, body = String)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, format!("ok ({})", state.store.backend())),
        Err(e) => {
            tracing::error!(error = %e, "store not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable".into())
        }
    }
}
