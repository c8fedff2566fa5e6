//! Evidence of an exchange from this node's message log, as a self-contained file that
//! `cqs verify-evidence` checks.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cqs_domain::exchange::access::may_act_for;
use cqs_domain::exchange::{ClientId, ServiceId};

use super::member_unit;
use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceParams {
    /// Include the request and response bodies, when this node keeps them (`keep_bodies`).
    pub bodies: Option<bool>,
}

fn bodies_not_kept(detail: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "bodies_not_kept", "Nội dung của trao đổi này không được lưu").detail(detail)
}

/// The evidence of the exchange with this `X-Road-Id`, as logged by this node: record, chain
/// and the node's signature; with `bodies=true`, also the kept request and response, which
/// `cqs verify-evidence` checks against the signed hashes. The operator, or an admin of the
/// client's or the provider's member; every export of bodies is in the security log.
#[utoipa::path(get, path = "/api/v1/exchange/log/{message_id}/evidence", tag = "exchange",
    params(("message_id" = String, Path, description = "X-Road-Id của trao đổi"), EvidenceParams),
    responses((status = 200, description = "Tệp chứng cứ (JSON) kiểm tra bằng `cqs verify-evidence`"),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 503, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn evidence(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(message_id): ApiPath<String>,
    ApiQuery(p): ApiQuery<EvidenceParams>,
) -> Result<Response, ApiError> {
    caller.require_authenticated()?;
    let gateway = state.exchange.clone().ok_or_else(ApiError::unavailable)?;
    let root = root_unit(&state).await?;
    let row = state
        .store
        .log_rows(&message_id)
        .await?
        .into_iter()
        .find(|r| r.node == gateway.log.node)
        .ok_or_else(|| ApiError::not_found("bản ghi trao đổi"))?;
    let client = ClientId::parse(&row.client)?;
    let service = ServiceId::parse(&row.service)?;
    if may_act_for(&caller.0, member_unit(&state, &service.provider.member).await?, root).is_err() {
        may_act_for(&caller.0, member_unit(&state, &client.member).await?, root)?;
    }
    let keys = match p.bodies {
        Some(true) => Some(
            gateway
                .log
                .bodies
                .as_deref()
                .ok_or_else(|| bodies_not_kept("Nút này không lưu nội dung trao đổi (keep_bodies tắt)".into()))?,
        ),
        _ => None,
    };
    let ev = cqs_exchange::evidence::export(state.store.as_ref(), &gateway.log.node, &message_id, keys).await.map_err(
        |e| match e {
            cqs_exchange::evidence::EvidenceError::NoBodies(_) => bodies_not_kept(e.to_string()),
            e => {
                tracing::error!(error = %e, "evidence export failed");
                ApiError::internal()
            }
        },
    )?;
    if keys.is_some() {
        tracing::info!(target: "security", message_id = %message_id, "exchange bodies exported with evidence");
    }
    let mut res = (StatusCode::OK, ev.to_bytes()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"evidence.json\""));
    Ok(res)
}
