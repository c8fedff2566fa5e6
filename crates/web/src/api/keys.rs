//! `/api/v1/api-keys`: the province's administrators list machine clients' keys with their last
//! use, issue keys (scopes, optionally limited to one org unit), rotate a key's secret with a grace
//! period for the old one, and revoke keys. Secrets are shown once, when issued.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cqs_domain::auth::Scope;
use cqs_domain::identity::SecurityEventKind;
use cqs_domain::identity::api_key::{DEFAULT_GRACE_HOURS, MAX_GRACE_HOURS, grace};
use cqs_store::{ApiKeyRecord, NewApiKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::auth::no_store;
use crate::api::catalog::root_unit;
use crate::auth::{Caller, audit, keys};
use crate::error::{ApiError, ApiPath, read_json};
use crate::identity::ClientContext;

/// An API key as administrators see it (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// The 8 characters after `cqs_` in the key.
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Agency code of the org unit the key is limited to.
    pub org_unit: Option<String>,
    /// Username of the staff member a staff key acts as.
    pub user: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// After a rotation: until when the previous secret still works.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// A key just issued or rotated: `token` is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    /// `cqs_<prefix>_<secret>`: send as `Authorization: Bearer …`.
    pub token: String,
    pub key: KeyView,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Limit the key to one org unit (agency code).
    pub org_unit: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the old secret keeps working, in hours (default 24, at most 720; 0 for none).
    pub grace_hours: Option<i64>,
}

async fn authorize(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    caller.require_authenticated()?;
    caller.0.may_manage_api_keys(root_unit(state).await?)?;
    Ok(())
}

async fn view(state: &AppState, r: ApiKeyRecord) -> Result<KeyView, ApiError> {
    let units = state.store.org_units().await?;
    let org_unit = r.key.org_unit_id.and_then(|id| units.iter().find(|u| u.id == id)).map(|u| u.code.to_string());
    let user = match r.key.user_id {
        Some(id) => state.store.user_by_id(id).await?.map(|u| u.username),
        None => None,
    };
    Ok(KeyView {
        prefix: r.key.prefix,
        name: r.key.name,
        scopes: r.key.scopes,
        org_unit,
        user,
        created_at: r.key.created_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
        rotated_at: r.rotated_at,
        previous_valid_until: r.previous_valid_until,
    })
}

async fn view_of(state: &AppState, prefix: &str) -> Result<KeyView, ApiError> {
    let r = state.store.api_key_by_prefix(prefix).await?.ok_or_else(|| ApiError::not_found("khóa API"))?;
    view(state, r).await
}

async fn logged(state: &AppState, caller: &Caller, client: &ClientContext, detail: String) {
    audit::record(state, SecurityEventKind::ApiKeyChanged, caller.account(), client, None, Some(detail)).await;
}

/// Every API key, newest first, with its last use (revoked keys too).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "auth",
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<KeyView>>, ApiError> {
    authorize(&state, &caller).await?;
    let mut out = Vec::new();
    for r in state.store.api_keys().await? {
        out.push(view(&state, r).await?);
    }
    Ok(Json(out))
}

/// Issue a key for a system client, with its scopes and optionally one org unit.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "auth", request_body = NewKey,
    responses((status = 201, body = IssuedKey), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    authorize(&state, &caller).await?;
    let input: NewKey = read_json(req, state.limits.json_body).await?;
    let field = |f: &str, label: &str, m: &str| cqs_domain::form::FieldError {
        field: f.into(),
        label: label.into(),
        message: m.into(),
    };
    let mut errors = Vec::new();
    let name = cqs_domain::text::nfc(input.name.trim());
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(field("/name", "Tên", "Nhập tên hệ thống dùng khóa (tối đa 200 ký tự)"));
    }
    if input.scopes.is_empty() {
        errors.push(field("/scopes", "Quyền", "Chọn ít nhất một quyền"));
    }
    let unit = match &input.org_unit {
        Some(code) => match state.store.org_unit_by_code(code.trim()).await? {
            Some(u) => Some(u.id),
            None => {
                errors.push(field("/org_unit", "Đơn vị", "Không có đơn vị với mã này"));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let k = keys::generate_key();
    let mut scopes = input.scopes;
    scopes.dedup();
    let new = NewApiKey {
        id: Uuid::now_v7(),
        prefix: k.prefix.clone(),
        secret_hash: k.secret_hash,
        name,
        user_id: None,
        scopes,
        org_unit_id: unit,
        created_at: state.clock.now(),
    };
    state.store.create_api_key(&new).await?;
    logged(&state, &caller, &client, format!("tạo khóa {}", new.prefix)).await;
    let body = IssuedKey { token: k.token, key: view_of(&state, &new.prefix).await? };
    Ok(no_store((StatusCode::CREATED, Json(body)).into_response()))
}

/// Give a key a new secret. The old one keeps working for `grace_hours` so the client can switch.
#[utoipa::path(post, path = "/api/v1/api-keys/{prefix}/rotate", tag = "auth", request_body = Rotation,
    params(("prefix" = String, Path)),
    responses((status = 200, body = IssuedKey), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    ApiPath(prefix): ApiPath<String>,
    req: Request,
) -> Result<Response, ApiError> {
    authorize(&state, &caller).await?;
    let input: Rotation = read_json(req, state.limits.json_body).await?;
    let grace = grace(input.grace_hours).ok_or_else(|| {
        ApiError::validation(vec![cqs_domain::form::FieldError {
            field: "/grace_hours".into(),
            label: "Thời gian chuyển tiếp".into(),
            message: format!("Từ 0 đến {MAX_GRACE_HOURS} giờ (mặc định {DEFAULT_GRACE_HOURS})"),
        }])
    })?;
    let now = state.clock.now();
    let token = keys::rotate(state.store.as_ref(), &prefix, grace, now)
        .await?
        .ok_or_else(|| ApiError::not_found("khóa API đang hoạt động"))?;
    let hours = grace.num_hours();
    logged(&state, &caller, &client, format!("đổi bí mật khóa {prefix}, bí mật cũ còn {hours} giờ")).await;
    let body = IssuedKey { token, key: view_of(&state, &prefix).await? };
    Ok(no_store(Json(body).into_response()))
}

/// Revoke a key at once (both its secrets).
#[utoipa::path(post, path = "/api/v1/api-keys/{prefix}/revoke", tag = "auth", params(crate::idempotency::IdempotencyKeyHeader, ("prefix" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    ApiPath(prefix): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &caller).await?;
    if !state.store.revoke_api_key(&prefix, state.clock.now()).await? {
        return Err(ApiError::not_found("khóa API đang hoạt động"));
    }
    logged(&state, &caller, &client, format!("thu hồi khóa {prefix}")).await;
    Ok(StatusCode::NO_CONTENT)
}
