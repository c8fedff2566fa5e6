//! Cross-site request forgery protection, as one middleware over every route (API and pages).
//!
//! On an unsafe method (POST, PUT, PATCH, DELETE) without an `Authorization` header:
//! - `Origin` (or, without it, `Referer`) must name this site: the configured
//!   `allowed_origins`, or the request's own `Host`. A request with neither (curl, a server)
//!   passes this check; browsers always send `Origin` on unsafe requests. This also stops
//!   login CSRF, where another site signs the victim into the attacker's account.
//! - If the request signs in with a live session cookie, it must also carry the session's CSRF
//!   token: in the `X-CSRF-Token` header (htmx: `hx-headers`), or for
//!   `application/x-www-form-urlencoded` forms in a `csrf_token` field. Multipart forms send the
//!   header.
//!
//! Requests with `Authorization` (API keys, access tokens) are not cookie-authenticated: a
//! browser never adds that header on another site's behalf, so they need no token.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Caller;
use super::session::{AuthConfig, CSRF_FIELD, CSRF_HEADER, tokens_match};
use crate::AppState;
use crate::error::ApiError;

fn refused(code: &'static str, title: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, code, title).into_response()
}

/// Whether the request's `Origin`/`Referer`, if it has one, is this site.
pub fn same_origin(headers: &HeaderMap, cfg: &AuthConfig) -> bool {
    let source = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER));
    let Some(source) = source else { return true };
    let Some(uri) = source.to_str().ok().and_then(|s| s.parse::<Uri>().ok()) else { return false };
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else { return false };
    if !cfg.allowed_origins.is_empty() {
        let origin = format!("{scheme}://{authority}");
        return cfg.allowed_origins.iter().any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&origin));
    }
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| host.eq_ignore_ascii_case(authority.as_str()))
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Routes whose POST reads no session and changes nothing (a document is checked and the
/// answer shown): no forgery can act through them, and their forms work without JavaScript
/// for signed-in visitors too, who could not send the token header with a file upload.
const STATELESS_POSTS: [&str; 2] = ["/api/v1/verify", "/xac-thuc"];

/// The middleware; see the module documentation.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method().is_safe()
        || req.headers().contains_key(header::AUTHORIZATION)
        || STATELESS_POSTS.contains(&req.uri().path())
    {
        return next.run(req).await;
    }
    if !same_origin(req.headers(), &state.auth) {
        tracing::info!(target: "security", "cross-origin unsafe request refused");
        return refused("csrf_origin_mismatch", "Yêu cầu đến từ trang web khác, đã bị từ chối");
    }
    let (mut parts, body) = req.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(expected) = caller.csrf_token().map(str::to_owned) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    if let Some(sent) = parts.headers.get(CSRF_HEADER) {
        return if sent.to_str().is_ok_and(|s| tokens_match(s, &expected)) {
            next.run(Request::from_parts(parts, body)).await
        } else {
            refused("csrf_token_invalid", "Mã chống giả mạo yêu cầu không đúng, vui lòng tải lại trang")
        };
    }
    if is_urlencoded(&parts.headers) {
        let Ok(bytes) = axum::body::to_bytes(body, state.limits.json_body).await else {
            return crate::error::body_too_large().into_response();
        };
        let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|fields| fields.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v));
        if sent.is_some_and(|s| tokens_match(&s, &expected)) {
            return next.run(Request::from_parts(parts, Body::from(bytes))).await;
        }
    }
    refused("csrf_token_missing", "Thiếu mã chống giả mạo yêu cầu, vui lòng tải lại trang")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        let cfg = AuthConfig::default();
        assert!(same_origin(&headers(&[(header::HOST, "127.0.0.1:8080")]), &cfg));
        assert!(same_origin(
            &headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "http://127.0.0.1:8080")]),
            &cfg
        ));
        assert!(!same_origin(
            &headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "http://evil.example")]),
            &cfg
        ));
        assert!(!same_origin(&headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "null")]), &cfg));
        assert!(same_origin(
            &headers(&[(header::HOST, "127.0.0.1:8080"), (header::REFERER, "http://127.0.0.1:8080/dang-nhap?x=1")]),
            &cfg
        ));
        let proxied = AuthConfig { allowed_origins: vec!["https://dichvucong.example.vn/".into()], ..cfg };
        assert!(same_origin(
            &headers(&[(header::HOST, "10.0.0.5:8080"), (header::ORIGIN, "https://dichvucong.example.vn")]),
            &proxied
        ));
        assert!(!same_origin(
            &headers(&[(header::HOST, "10.0.0.5:8080"), (header::ORIGIN, "http://dichvucong.example.vn")]),
            &proxied
        ));
    }
}
