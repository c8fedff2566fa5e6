//! Public lookup by dossier code: status, procedure, dates; no personal data.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use cqs_domain::dossier::local_date;
use cqs_domain::ids::DossierCode;
use serde::Serialize;

use crate::AppState;
use crate::api::dossiers::StatusView;
use crate::error::{ApiError, ApiPath};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicDossier {
    pub code: String,
    pub status: StatusView,
    pub procedure_code: String,
    pub procedure_name: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    /// Received date as dd/mm/yyyy (Vietnam time).
    pub received_date: String,
    pub due_date: Option<String>,
    pub deadline: cqs_domain::calendar::DeadlineFlags,
}

/// Look up a dossier's status by its code. Anyone may call it.
#[utoipa::path(get, path = "/api/v1/lookup/{code}", tag = "lookup",
    params(("code" = String, Path, description = "Mã hồ sơ, ví dụ 000.00.31.H99-261123-0001")),
    responses((status = 200, body = PublicDossier), (status = 400, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn lookup(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<PublicDossier>, ApiError> {
    public_dossier(&state, &code).await.map(Json)
}

/// What anyone may learn of a dossier from its code (the API and the lookup page).
pub async fn public_dossier(state: &AppState, code: &str) -> Result<PublicDossier, ApiError> {
    let code = DossierCode::parse(code).map_err(|e| ApiError::bad_request("invalid_dossier_code", e.to_string()))?;
    let p = state.store.public_status(code.as_str()).await?.ok_or_else(|| ApiError::not_found("hồ sơ"))?;
    let fmt = |t: DateTime<Utc>| local_date(t).format("%d/%m/%Y").to_string();
    let now = state.clock.now();
    Ok(PublicDossier {
        status: StatusView::of(state, p.state, now)?,
        deadline: crate::api::dossiers::flags(state, p.state, p.due_at, p.paused_at, now),
        received_date: fmt(p.received_at),
        due_date: p.due_at.map(fmt),
        code: p.code,
        procedure_code: p.procedure_code,
        procedure_name: p.procedure_name,
        received_at: p.received_at,
        due_at: p.due_at,
    })
}
