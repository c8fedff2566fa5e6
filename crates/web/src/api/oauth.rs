//! `POST /api/v1/oauth/token`: OAuth 2.0 client credentials (RFC 6749 §4.4) for system clients,
//! answering in OAuth's own JSON (RFC 6749 §5), which OAuth client libraries expect, rather than
//! problem+json. See [`crate::auth::oauth`].

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cqs_domain::auth::{Principal, Scope};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{keys, oauth};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`.
    pub grant_type: String,
    /// Space-separated scopes, a subset of the key's; all of them when absent.
    pub scope: Option<String>,
    /// The key's prefix, when not sent with HTTP Basic authentication.
    pub client_id: Option<String>,
    /// The key's secret (the 64 characters after the prefix), when not sent with HTTP Basic.
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the token lasts.
    pub expires_in: i64,
    pub scope: String,
}

/// An OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

fn no_cache(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = OAuthError { error: error.into(), error_description: description.into() };
    let mut res = no_cache((status, Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"cqs\""));
    }
    res
}

/// The client id and secret of HTTP Basic authentication, if the request carries it.
fn basic(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Exchange a system client's key for a short-lived access token (client credentials grant).
#[utoipa::path(post, path = "/api/v1/oauth/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError), (status = 401, body = OAuthError)))]
pub async fn token(State(state): State<AppState>, req: Request) -> Response {
    let from_header = basic(req.headers());
    let form = match crate::ui::read_form::<TokenRequest, _>(req, &state).await {
        Ok(f) => f,
        Err(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Gửi biểu mẫu application/x-www-form-urlencoded có grant_type",
            );
        }
    };
    if form.grant_type != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Chỉ hỗ trợ grant_type=client_credentials",
        );
    }
    let Some((id, secret)) = from_header.or_else(|| form.client_id.clone().zip(form.client_secret.clone())) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Thiếu thông tin xác thực của hệ thống");
    };
    let Ok(value) = HeaderValue::from_str(&format!("Bearer cqs_{id}_{secret}")) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Mã hoặc khóa bí mật không đúng");
    };
    let (principal, key_id) = match keys::principal_for(&state, &value).await {
        Ok(p) => p,
        Err(e) if e.status.is_server_error() => return e.into_response(),
        Err(_) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Mã hoặc khóa bí mật không đúng"),
    };
    // Staff keys act as a person; only system clients get tokens.
    let Principal::Client { scopes: held, .. } = principal else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Khóa của cán bộ không dùng để lấy mã truy cập",
        );
    };
    let scopes: Vec<Scope> = match form.scope.as_deref().map(str::split_whitespace) {
        None => held,
        Some(asked) => {
            let mut out = Vec::new();
            for s in asked {
                match Scope::parse(s).filter(|s| held.contains(s)) {
                    Some(s) if !out.contains(&s) => out.push(s),
                    Some(_) => {}
                    None => {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "Khóa không có quyền được yêu cầu",
                        );
                    }
                }
            }
            out
        }
    };
    match oauth::issue(&state, key_id, &id, scopes).await {
        Ok(t) => {
            let body = TokenResponse {
                access_token: t.token,
                token_type: "Bearer".into(),
                expires_in: (t.expires_at - state.clock.now()).num_seconds(),
                scope: t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
            };
            no_cache(Json(body).into_response())
        }
        Err(e) => e.into_response(),
    }
}
