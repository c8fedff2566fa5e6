//! Liveness and readiness, for load balancers and orchestrators. Both are open to anyone and
//! say nothing beyond which backends this node uses and whether each answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;

/// The process is up (it does not look at its dependencies: a node whose database is down is
/// alive, and restarting it would not help).
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// What `/readyz` reports.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ok` when every dependency answers.
    pub status: &'static str,
    /// `sqlite` or `postgres`, and whether it answers.
    pub store: Check,
    /// `in-process` or `nats`.
    pub bus: Check,
    /// File storage for attachments.
    pub files: Check,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub kind: &'static str,
    pub ok: bool,
}

/// The node can serve: its store, event bus and file storage answer. A load balancer sends it
/// traffic only while this is 200.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (store, bus, files) = tokio::join!(state.store.ping(), state.bus.ping(), state.files.check());
    let store_ok = store.inspect_err(|e| tracing::error!(error = %e, "store not reachable")).is_ok();
    let bus_ok = bus.inspect_err(|e| tracing::error!(error = %e, "event bus not reachable")).is_ok();
    let files_ok = files.inspect_err(|e| tracing::error!(error = %e, "file storage not writable")).is_ok();
    let ready = store_ok && bus_ok && files_ok;
    let body = Readiness {
        status: if ready { "ok" } else { "unavailable" },
        store: Check { kind: state.store.backend(), ok: store_ok },
        bus: Check { kind: state.bus.kind(), ok: bus_ok },
        files: Check { kind: state.files.kind(), ok: files_ok },
    };
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
