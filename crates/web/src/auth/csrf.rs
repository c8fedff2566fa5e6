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
//!   header, or (file uploads on pages, which work without JavaScript) the field as their first
//!   part: only the first few kilobytes are read to find it, the rest streams on untouched.
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
    } else if let Some(boundary) = multipart_boundary(&parts.headers) {
        let (sent, body) = match first_part(body, &boundary).await {
            Ok(found) => found,
            Err(()) => return refused("csrf_token_missing", "Thiếu mã chống giả mạo yêu cầu, vui lòng tải lại trang"),
        };
        if sent.is_some_and(|s| tokens_match(&s, &expected)) {
            return next.run(Request::from_parts(parts, body)).await;
        }
    }
    refused("csrf_token_missing", "Thiếu mã chống giả mạo yêu cầu, vui lòng tải lại trang")
}

/// The boundary of a `multipart/form-data` body, if the request is one.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mut params = v.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// How much of a multipart body is read to find the token in its first part.
const FIRST_PART_LIMIT: usize = 4096;

/// A page's file-upload form (which cannot send a header without JavaScript) puts the token in
/// its first field, as a form's fields are sent in order. Reads just enough of the body to find
/// that field; returns its value if the first part is `csrf_token`, and the whole body again.
async fn first_part(body: Body, boundary: &str) -> Result<(Option<String>, Body), ()> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::new();
    let mut ended = false;
    while head.len() < FIRST_PART_LIMIT {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(()),
            None => {
                ended = true;
                break;
            }
        }
    }
    let token = token_in_first_part(&head, boundary);
    let rest = futures_util::stream::once(async move { Ok::<_, axum::Error>(axum::body::Bytes::from(head)) });
    let body = if ended { Body::from_stream(rest) } else { Body::from_stream(rest.chain(stream)) };
    Ok((token, body))
}

/// The value of the first part of a multipart body if that part is the `csrf_token` field.
fn token_in_first_part(head: &[u8], boundary: &str) -> Option<String> {
    // The head may end inside a multi-byte character, or a file's bytes may follow.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    let delimiter = format!("--{boundary}");
    let after = text.trim_start_matches("\r\n").strip_prefix(&delimiter)?.strip_prefix("\r\n")?;
    let (headers, rest) = after.split_once("\r\n\r\n")?;
    let named = headers.split("\r\n").any(|h| {
        let (k, v) = h.split_once(':').unwrap_or_default();
        k.trim().eq_ignore_ascii_case("content-disposition")
            && v.split(';').any(|p| p.trim() == format!("name=\"{CSRF_FIELD}\""))
            && !v.contains("filename")
    });
    if !named {
        return None;
    }
    let (value, _) = rest.split_once(&format!("\r\n{delimiter}"))?;
    Some(value.to_owned())
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
    fn finds_the_token_only_in_the_first_part() {
        let b = "XyZ";
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--XyZ--\r\n";
        assert_eq!(token_in_first_part(body.as_bytes(), b).as_deref(), Some("abc123"));
        let second = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n--XyZ--\r\n";
        assert_eq!(token_in_first_part(second.as_bytes(), b), None);
        let file =
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"; filename=\"t\"\r\n\r\nabc123\r\n--XyZ--\r\n";
        assert_eq!(token_in_first_part(file.as_bytes(), b), None);
        let other_boundary = body.replace("XyZ", "Other");
        assert_eq!(token_in_first_part(other_boundary.as_bytes(), b), None);
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("multipart/form-data; boundary=\"XyZ\""));
        assert_eq!(multipart_boundary(&h).as_deref(), Some("XyZ"));
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
