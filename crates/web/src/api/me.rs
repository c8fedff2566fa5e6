//! `/api/v1/me`: the signed-in caller's own account, dossiers and sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use cqs_domain::auth::{Denied, Principal, RoleGrant, Scope};
use cqs_store::{CitizenAccount, SessionRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::inbox::InboxEntry;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery};

/// Who the caller is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Me {
    Staff { id: Uuid, username: String, full_name: String, roles: Vec<RoleGrant>, session: Option<MySession> },
    Citizen { account: CitizenAccount, session: Option<MySession> },
    Client { id: Uuid, scopes: Vec<Scope>, org_unit_id: Option<Uuid> },
}

/// The session the request came with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MySession {
    pub id: Uuid,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The caller's account: staff with their roles, a citizen with their account, a machine client
/// with its scopes. With a session cookie, also the session and its CSRF token.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    caller.require_authenticated()?;
    let session =
        caller.session().map(|s| MySession { id: s.id, csrf_token: s.csrf_token.clone(), expires_at: s.expires_at });
    Ok(Json(match &caller.0 {
        Principal::Staff { user_id, grants } => {
            let u = state.store.user_by_id(*user_id).await?.ok_or_else(|| ApiError::not_found("tài khoản"))?;
            Me::Staff { id: u.id, username: u.username, full_name: u.full_name, roles: grants.clone(), session }
        }
        Principal::Citizen { account_id, .. } => {
            let account =
                state.store.citizen_by_id(*account_id).await?.ok_or_else(|| ApiError::not_found("tài khoản"))?;
            Me::Citizen { account, session }
        }
        Principal::Client { client_id, scopes, org_unit_id } => {
            Me::Client { id: *client_id, scopes: scopes.clone(), org_unit_id: *org_unit_id }
        }
        Principal::Anonymous => unreachable!("checked above"),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MyDossiersParams {
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyDossiers {
    pub items: Vec<InboxEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The signed-in citizen's own dossiers, newest first.
#[utoipa::path(get, path = "/api/v1/me/dossiers", tag = "auth", params(MyDossiersParams),
    responses((status = 200, body = MyDossiers), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn my_dossiers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<MyDossiersParams>,
) -> Result<Json<MyDossiers>, ApiError> {
    caller.require_authenticated()?;
    let Principal::Citizen { account_id, .. } = &caller.0 else {
        return Err(Denied::NotOwner.into());
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "Tham số limit phải từ 1 đến 200"));
    }
    let after = p.cursor.as_deref().map(crate::api::inbox::parse_cursor).transpose()?;
    let rows = state.store.owned_dossiers(*account_id, after, limit + 1).await?;
    let (items, next_cursor) = crate::api::inbox::page(&state, rows, limit, state.clock.now(), |r| r.received_at)?;
    Ok(Json(MyDossiers { items, next_cursor }))
}

/// One of the caller's open sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: SessionRecord,
    /// The session this request came with.
    pub current: bool,
}

/// The caller's open sessions (every browser signed in to the account), newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth",
    responses((status = 200, body = Vec<SessionView>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("session" = []), ("api_key" = [])))]
pub async fn my_sessions(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SessionView>>, ApiError> {
    caller.require_authenticated()?;
    let account = caller.account().ok_or(Denied::NoRoleInUnit)?;
    let current = caller.session().map(|s| s.id);
    let now = state.clock.now();
    let rows = state.store.sessions_of(account, now).await?;
    Ok(Json(
        rows.into_iter()
            .filter(|s| {
                let idle = state.auth.session.check(s.last_seen_at, s.expires_at, false, now);
                matches!(idle, cqs_domain::identity::SessionCheck::Active { .. })
            })
            .map(|s| SessionView { current: Some(s.id) == current, session: s })
            .collect(),
    ))
}

/// End one of the caller's sessions (sign out another browser).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth",
    params(crate::idempotency::IdempotencyKeyHeader, ("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("session" = []), ("api_key" = [])))]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    client: crate::identity::ClientContext,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    caller.require_authenticated()?;
    let account = caller.account().ok_or(Denied::NoRoleInUnit)?;
    if state.store.revoke_session(account, id, state.clock.now()).await? {
        let kind = cqs_domain::identity::SecurityEventKind::SessionRevoked;
        crate::auth::audit::record(&state, kind, Some(account), &client, None, Some(format!("phiên {id}"))).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("phiên đăng nhập đang mở"))
    }
}
