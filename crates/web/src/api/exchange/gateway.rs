//! The mediated call routes (`/r1/...`, X-Road's message protocol for REST) and the provincial
//! login that turns a system id and secret into a short-lived Bearer token. The work is done by
//! the node's gateway (`crates/exchange`); these handlers only hand it the request.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cqs_exchange::XRoadError;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, read_json};

fn not_running() -> Response {
    XRoadError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Server.ClientProxy.NotRunning",
        "Nút này không chạy cổng trao đổi dữ liệu",
    )
    .into_response()
}

// `mediate_root` and `mediate` are what the OpenAPI description documents for `/r1`; the calls
// themselves are served by `router` below, outside the general middleware stack.

/// A mediated call to a service with no path after the service code. See the next route.
#[utoipa::path(method(get, post, put, patch, delete), path = "/r1/{instance}/{class}/{member}/{subsystem}/{service}",
    tag = "exchange",
    params(("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path),
        ("service" = String, Path, description = "Mã dịch vụ, hoặc siêu dịch vụ listMethods, allowedMethods, getOpenAPI")),
    responses((status = 200, description = "Câu trả lời của hệ thống cung cấp, kèm các tiêu đề X-Road-*"),
        (status = 401, description = "Client.AuthenticationFailed"), (status = 403, description = "Server.ServerProxy.AccessDenied"),
        (status = 404, description = "Server.ServerProxy.UnknownService"), (status = 429, description = "Client.RateLimitExceeded")),
    security(("x_road_secret" = []), ("api_key" = [])))]
pub async fn mediate_root(State(state): State<AppState>, req: Request) -> Response {
    match &state.exchange {
        Some(g) => g.mediate(req).await,
        None => not_running(),
    }
}

/// The `/r1` routes, kept out of the stack every other route runs through: a mediated call
/// reads no cookie and no session (so needs no CSRF guard), is counted per service and client
/// by the gateway's own monitoring and message log (not by the HTTP access log and metrics),
/// and is never an API denial or an idempotent write. What it keeps: a slot of the node's
/// in-flight limit (shared with every other route; a full node answers 503 with Retry-After at
/// once) and the request timeout. The connection limit and header timeout are the server's.
/// Measured in docs/benchmarks.md: the general stack cost a gateway node about a fifth of its
/// throughput.
pub fn router(
    gateway: Option<std::sync::Arc<cqs_exchange::Gateway>>,
    slots: crate::overload::InFlight,
    timeout: std::time::Duration,
) -> axum::Router {
    let serve = move |req: Request| {
        let (gateway, slots) = (gateway.clone(), slots.clone());
        async move {
            let Some(_slot) = slots.take() else {
                let mut shed = XRoadError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Server.ClientProxy.Overloaded",
                    crate::overload::TITLE,
                );
                shed.retry_after = Some(crate::overload::RETRY_AFTER_SECS.into());
                return shed.into_response();
            };
            let Some(g) = gateway else { return not_running() };
            match tokio::time::timeout(timeout, g.mediate(req)).await {
                Ok(res) => res,
                Err(_) => XRoadError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "Client.RequestTimeout",
                    "Yêu cầu không được gửi hết trong thời gian cho phép",
                )
                .into_response(),
            }
        }
    };
    axum::Router::new().route("/r1/{*rest}", axum::routing::any(serve))
}

/// A mediated call (X-Road REST `r1`): `{path}` (any number of segments) and the query go to the
/// provider registered for the service id. The client names itself in `X-Road-Client` and proves
/// it with `X-SystemId` + `X-SecretKey` or `Authorization: Bearer <token from /api/v1/exchange/token>`;
/// optional `X-Road-Id`, `X-Road-UserId`, `X-Road-Issue`. The answer carries `X-Road-Client`,
/// `X-Road-Service`, `X-Road-Id`, `X-Road-Request-Id` and `X-Road-Request-Hash`; failures inside
/// the platform carry `X-Road-Error` and a JSON body `{type, message, detail}`.
#[utoipa::path(method(get, post, put, patch, delete), path = "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}",
    tag = "exchange",
    params(("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path),
        ("service" = String, Path), ("path" = String, Path, description = "Đường dẫn ở hệ thống cung cấp (có thể nhiều đoạn)")),
    responses((status = 200, description = "Câu trả lời của hệ thống cung cấp, kèm các tiêu đề X-Road-*"),
        (status = 401, description = "Client.AuthenticationFailed"), (status = 403, description = "Server.ServerProxy.AccessDenied"),
        (status = 404, description = "Server.ServerProxy.UnknownService"), (status = 413, description = "Client.MessageTooLarge"),
        (status = 429, description = "Client.RateLimitExceeded"), (status = 502, description = "Server.ServerProxy.NetworkError"),
        (status = 504, description = "Server.ServerProxy.ServiceFailed.Timeout")),
    security(("x_road_secret" = []), ("api_key" = [])))]
pub async fn mediate(State(state): State<AppState>, req: Request) -> Response {
    mediate_root(State(state), req).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// The subsystem's `X-SystemId` (or its full id). `username` is accepted too.
    #[serde(alias = "username")]
    pub system_id: String,
    /// The secret issued by the registry. `password` is accepted too.
    #[serde(alias = "password")]
    pub secret: String,
    /// Accepted and ignored, for clients of provincial LGSPs that send it.
    #[serde(default, rename = "applicationCode")]
    pub application_code: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenOutput {
    pub access_token: String,
    pub token_type: String,
    /// Seconds the token is valid.
    pub expires_in: u64,
}

/// Log in as a client subsystem: a system id and secret give a short-lived Bearer token for
/// mediated calls (the provincial LGSP style). A new secret ends every token made from the old one.
#[utoipa::path(post, path = "/api/v1/exchange/token", tag = "exchange", request_body = LoginInput,
    responses((status = 200, body = TokenOutput), (status = 401, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 503, body = crate::error::Problem)))]
pub async fn token(State(state): State<AppState>, req: Request) -> Result<Json<TokenOutput>, ApiError> {
    let gateway = state.exchange.clone().ok_or_else(ApiError::unavailable)?;
    let input: LoginInput = read_json(req, state.limits.json_body).await?;
    let t = gateway
        .login(&input.system_id, &input.secret)
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", e.message))?;
    Ok(Json(TokenOutput { access_token: t.access_token, token_type: t.token_type.into(), expires_in: t.expires_in }))
}
