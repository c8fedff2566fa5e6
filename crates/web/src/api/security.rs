//! `GET /api/v1/security-events`: the security log, for administrators of the province.

use axum::Json;
use axum::extract::State;
use cqs_domain::identity::SecurityEventKind;
use cqs_store::{SecurityEvent, SecurityEventQuery};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SecurityEventParams {
    pub kind: Option<SecurityEventKind>,
    /// Only events of this account (staff or citizen id).
    pub account: Option<Uuid>,
    /// Continue with events older than this event id.
    pub before: Option<Uuid>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecurityEventPage {
    pub items: Vec<SecurityEvent>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<Uuid>,
}

/// Security events, newest first: sign-ins and their failures and lockouts, sign-outs, revoked
/// sessions, password changes, registrations, refused requests. Admins of the root unit only.
#[utoipa::path(get, path = "/api/v1/security-events", tag = "auth", params(SecurityEventParams),
    responses((status = 200, body = SecurityEventPage), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SecurityEventParams>,
) -> Result<Json<SecurityEventPage>, ApiError> {
    caller.require_authenticated()?;
    caller.0.may_read_security_events(root_unit(&state).await?)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "Tham số limit phải từ 1 đến 500"));
    }
    let mut items = state
        .store
        .security_events(&SecurityEventQuery {
            kind: p.kind,
            account_id: p.account,
            before: p.before,
            limit: limit + 1,
        })
        .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_before = if more { items.last().map(|e| e.id) } else { None };
    Ok(Json(SecurityEventPage { items, next_before }))
}
