//! Apology tasks (xin lỗi và hẹn lại, Mẫu 04): the dossiers a unit let go past due and still owes
//! the applicant a written apology and a new date for. The deadline sweeper opens them; the
//! `apologize_and_reschedule` action, or the dossier's result or end, closes them.

use axum::Json;
use axum::extract::State;
use cqs_store::ApologyTask;
use serde::Deserialize;

use crate::AppState;
use crate::api::inbox::staff_unit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApologyParams {
    /// Agency code of the unit; by default the caller's first unit.
    pub unit: Option<String>,
    /// Also list tasks already closed (with the action that closed them).
    pub include_closed: Option<bool>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Apology tasks of one of the caller's units, oldest first.
#[utoipa::path(get, path = "/api/v1/apology-tasks", tag = "dossiers", params(ApologyParams),
    responses((status = 200, body = Vec<ApologyTask>), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ApologyParams>,
) -> Result<Json<Vec<ApologyTask>>, ApiError> {
    let (unit_id, _) = staff_unit(&state, &caller, p.unit.as_deref()).await?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "Tham số limit phải từ 1 đến 500"));
    }
    Ok(Json(state.store.apology_tasks(unit_id, p.include_closed.unwrap_or(false), limit).await?))
}
