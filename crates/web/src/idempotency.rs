//! `Idempotency-Key` on state-changing routes: a client that retries a request after a timeout
//! or a dropped connection sends the same key, and gets the first answer back (with
//! `Idempotent-Replayed: true`) instead of a second dossier, action or event.
//!
//! **How a route opts in:** declare the header in its OpenAPI description,
//! `params(crate::idempotency::IdempotencyKeyHeader)`. The [`guard`] (one middleware over the
//! API) reads the document once and handles every operation that declares it; a test fails for
//! any POST, PUT, PATCH or DELETE route that neither declares it nor is listed in [`EXEMPT`]
//! with its reason. For a handler whose effect must never repeat even if the server dies between
//! its commit and the guard's write, take [`Idempotency`] as an extractor and write the answer in
//! the effect's transaction (as workflow actions do); then return the response marked with
//! [`AnswerRecorded`].
//!
//! The key is scoped to the caller (an API key's owner, a staff member, a citizen; anonymous
//! callers share one scope, where only the exact same request replays). The request's
//! fingerprint is SHA-256 over the method, path and query, media type and the body (JSON in a
//! canonical form, so key order and spacing do not matter; fields named like passwords are left
//! out, so no fast hash of a password is ever stored). Same key and fingerprint: the stored
//! answer; same key, other fingerprint: 422 `idempotency_key_reused`; same key while the first
//! still runs: 409 `idempotency_key_in_use` with `Retry-After`. Only successful (2xx) answers
//! without cookies are kept, for a day; a failed request changed nothing, so its key is freed.

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cqs_store::{Claim, HeldKey, RequestKey, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, body_too_large};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How much longer than the request timeout a claim lasts: room for clocks of several nodes to
/// differ. A request never outlives the timeout, so a claim older than this belongs to a dead one.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How long keys and their answers are kept.
pub const KEEP: chrono::Duration = chrono::Duration::days(1);

/// Unsafe routes that do not take the header, and why. Every other POST, PUT, PATCH and DELETE
/// route of the API must declare [`IdempotencyKeyHeader`] (checked by a test).
/// `*` stands for every method.
pub const EXEMPT: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/verify",
        "checking a signed PDF reads the file sent and the store and writes nothing: a retry gives the \
         same answer",
    ),
    (
        "*",
        "/r1/{instance}/{class}/{member}/{subsystem}/{service}",
        "a mediated call goes to the provider unchanged, Idempotency-Key included: repeating it is \
         the provider's decision",
    ),
    (
        "*",
        "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}",
        "a mediated call goes to the provider unchanged, Idempotency-Key included: repeating it is \
         the provider's decision",
    ),
    (
        "POST",
        "/api/v1/auth/sign-in",
        "each sign-in starts a new session whose token must never be stored for a replay; \
         repeating it creates no record a person sees",
    ),
    ("POST", "/api/v1/auth/sign-out", "ending a session twice is the same as ending it once"),
    ("POST", "/api/v1/auth/mfa", "the second sign-in step starts a session, whose token must never be stored"),
    (
        "POST",
        "/api/v1/auth/mfa/enrolment",
        "the answer is a new TOTP secret, which must not be stored; a repeat replaces it",
    ),
    (
        "POST",
        "/api/v1/me/mfa/enrolment",
        "the answer is a new TOTP secret, which must not be stored; a repeat replaces it",
    ),
    ("POST", "/api/v1/me/mfa/confirm", "the answer holds recovery codes, which must not be stored"),
    ("POST", "/api/v1/me/mfa/recovery-codes", "the answer holds recovery codes, which must not be stored"),
    ("POST", "/api/v1/me/mfa/disable", "turning two-step sign-in off twice is the same as once"),
    (
        "POST",
        "/api/v1/me/verification/confirm",
        "a one-time code is spent once, so a repeat changes nothing; a stored fingerprint of a six-digit \
         code would be trivially reversed",
    ),
    (
        "POST",
        "/api/v1/auth/password-reset/confirm",
        "a one-time code is spent once, so a repeat changes nothing; the body carries the new password",
    ),
    ("POST", "/api/v1/api-keys", "the answer is a new API key's secret, which must not be stored"),
    ("POST", "/api/v1/oauth/token", "issues a short-lived access token, which must not be stored; it changes no state"),
    ("POST", "/api/v1/api-keys/{prefix}/rotate", "the answer is a new API key's secret, which must not be stored"),
    (
        "POST",
        "/api/v1/exchange/token",
        "issues a short-lived credential, which must not be stored; it changes no state",
    ),
    (
        "POST",
        "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}/secret",
        "the answer is a new secret, which must not be stored; a repeat issues another and voids \
         the first, so nothing is duplicated",
    ),
];

/// The `Idempotency-Key` header, for a route's OpenAPI `params(...)`: declaring it is how a route
/// opts in to the [`guard`].
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Khóa do bên gọi tạo (1–255 ký tự ASCII in được, ví dụ một UUID) để gửi lại yêu cầu an
    /// toàn: cùng khóa và cùng nội dung trả lại đúng kết quả lần đầu, không thực hiện hai lần.
    #[param(rename = "Idempotency-Key")]
    #[allow(dead_code)] // Describes the header in the OpenAPI document; never built.
    idempotency_key: Option<String>,
}

/// Routes whose handler keys requests itself (submissions fingerprint the parsed multipart body
/// and write the receipt with the dossier); the guard leaves them alone.
const KEYED_BY_HANDLER: &[(&str, &str)] = &[("POST", "/api/v1/dossiers")];

/// (method, route template) of every operation that declares the header.
static OPTED_IN: LazyLock<HashSet<(String, String)>> = LazyLock::new(|| {
    declaring_operations(&crate::api::openapi())
        .into_iter()
        .filter(|(m, p)| !KEYED_BY_HANDLER.iter().any(|(km, kp)| km == m && kp == p))
        .collect()
});

/// (method, path) of the operations in `doc` that declare the `Idempotency-Key` header.
pub fn declaring_operations(doc: &utoipa::openapi::OpenApi) -> Vec<(String, String)> {
    use utoipa::openapi::path::ParameterIn;
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ];
        for (method, op) in ops {
            let declares = op.as_ref().and_then(|o| o.parameters.as_ref()).is_some_and(|ps| {
                ps.iter().any(|p| {
                    matches!(p, utoipa::openapi::RefOr::T(p)
                        if p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(HEADER))
                })
            });
            if declares {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// Adds the guard's own answers (409 while the first request runs, 422 for a reused key) to
/// every operation that declares the header, described like the operation's other problems.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    let declared: HashSet<(String, String)> = declaring_operations(doc).into_iter().collect();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut().filter(|_| declared.contains(&(method.to_owned(), path.clone()))) else {
                continue;
            };
            let responses = &mut op.responses.responses;
            let Some(problem) = responses
                .iter()
                .find(|(code, r)| code.starts_with('4') && matches!(r, RefOr::T(r) if !r.content.is_empty()))
                .map(|(_, r)| r.clone())
            else {
                continue;
            };
            for (code, text) in [
                ("400", "Yêu cầu không hợp lệ (kể cả Idempotency-Key sai dạng)"),
                ("409", "Xung đột, hoặc yêu cầu cùng Idempotency-Key đang được xử lý"),
                ("422", "Dữ liệu chưa hợp lệ, hoặc Idempotency-Key đã dùng cho yêu cầu khác"),
            ] {
                responses.entry(code.to_owned()).or_insert_with(|| {
                    let mut r = problem.clone();
                    if let RefOr::T(r) = &mut r {
                        r.description = text.to_owned();
                    }
                    r
                });
            }
        }
    }
}

/// The key a request carries: `None` without the header, 400 when it is not 1–255 printable
/// ASCII characters.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(HEADER) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic()));
    s.map(|s| Some(s.to_owned())).ok_or_else(|| {
        ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key phải gồm 1–255 ký tự ASCII in được")
    })
}

/// The claim the guard holds for this request, for handlers that write their answer with their
/// effect. `None` when the request carries no key.
pub struct Idempotency(pub Option<HeldKey>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<HeldKey>().cloned()))
    }
}

impl Idempotency {
    /// The answer to store with the effect: a JSON body with `status`.
    pub fn json_answer<T: serde::Serialize>(status: StatusCode, body: &T) -> Result<StoredAnswer, ApiError> {
        let body = serde_json::to_vec(body).map_err(|_| ApiError::internal())?;
        Ok(StoredAnswer {
            status: status.as_u16(),
            content_type: Some("application/json".into()),
            location: None,
            body,
        })
    }
}

/// Marks a response whose answer the handler already stored with its effect.
#[derive(Debug, Clone, Copy)]
pub struct AnswerRecorded;

/// The response for a stored answer.
pub fn answer_response(answer: &StoredAnswer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut res = (status, answer.body.clone()).into_response();
    let h = res.headers_mut();
    h.remove(header::CONTENT_TYPE);
    if let Some(v) = answer.content_type.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = answer.location.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert(header::LOCATION, v);
    }
    if replayed {
        h.insert(REPLAYED, HeaderValue::from_static("true"));
    } else {
        res.extensions_mut().insert(AnswerRecorded);
    }
    res
}

/// Middleware over the API routes: claims the key of an opted-in request before its handler
/// runs, replays a stored answer, and stores the new one.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    let opted_in = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| OPTED_IN.contains(&(req.method().as_str().to_owned(), p.as_str().to_owned())));
    if !opted_in {
        return next.run(req).await;
    }
    match keyed(&state, req, next).await {
        Ok(res) | Err(res) => res,
    }
}

async fn keyed(state: &AppState, req: Request, next: Next) -> Result<Response, Response> {
    let key = key_of(req.headers()).map_err(IntoResponse::into_response)?.unwrap_or_default();
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
    let bytes =
        axum::body::to_bytes(body, state.limits.json_body).await.map_err(|_| body_too_large().into_response())?;
    let key = RequestKey { scope: caller.scope_key(), key, request_hash: fingerprint(&parts, &bytes) };
    let lease = state.limits.request_timeout + LEASE_MARGIN;
    let claim =
        state.store.claim_key(&key, state.clock.now(), lease).await.map_err(|e| ApiError::from(e).into_response())?;
    let held = match claim {
        Claim::Held(held) => held,
        Claim::Answered(answer) => return Ok(answer_response(&answer, true)),
        Claim::Mismatch => return Err(ApiError::from(cqs_store::StoreError::IdempotencyMismatch).into_response()),
        Claim::InProgress { .. } => {
            let mut res = ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "Yêu cầu với Idempotency-Key này đang được xử lý, vui lòng thử lại sau giây lát",
            )
            .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(res);
        }
    };
    parts.extensions.insert(held.clone());
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if res.extensions().get::<AnswerRecorded>().is_some() {
        return Ok(res);
    }
    if !res.status().is_success() || res.headers().contains_key(header::SET_COOKIE) {
        if let Err(e) = state.store.release_key(&held).await {
            tracing::warn!(error = %e, "releasing an idempotency key failed; it frees itself when its lease ends");
        }
        return Ok(res);
    }
    let (rparts, rbody) = res.into_parts();
    let Ok(body) = axum::body::to_bytes(rbody, usize::MAX).await else {
        tracing::error!("reading an answer to store it failed");
        return Err(ApiError::internal().into_response());
    };
    let text = |name| rparts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned);
    let answer = StoredAnswer {
        status: rparts.status.as_u16(),
        content_type: text(header::CONTENT_TYPE),
        location: text(header::LOCATION),
        body: body.to_vec(),
    };
    if let Err(e) = state.store.record_answer(&held, &answer).await {
        // The effect is committed and the caller gets its answer now; a retry within the lease
        // is told to wait, a later one runs the request again.
        tracing::error!(error = %e, "storing an idempotent answer failed");
    }
    Ok(Response::from_parts(rparts, Body::from(body)))
}

/// SHA-256 over what makes two requests the same: method, path and query, media type, body.
pub fn fingerprint(parts: &Parts, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"cqs-idempotency-v1\0");
    h.update(parts.method.as_str().as_bytes());
    h.update(b"\0");
    h.update(parts.uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    h.update(b"\0");
    let media = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    h.update(media.as_bytes());
    h.update(b"\0");
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if media.ends_with("json") => canonical(&v, &mut h),
        _ => h.update(body),
    }
    hex::encode(h.finalize())
}

/// Object keys whose values are secrets: left out of fingerprints.
fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("secret") || n == "pin"
}

/// Feeds a canonical form of `v` to the hasher: object keys sorted, no whitespace, secret fields
/// left out. Each value is tagged and strings are length-prefixed, so no two values collide.
fn canonical(v: &serde_json::Value, h: &mut Sha256) {
    use serde_json::Value;
    match v {
        Value::Null => h.update(b"n"),
        Value::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            h.update(b"#");
            string(&n.to_string(), h);
        }
        Value::String(s) => {
            h.update(b"s");
            string(s, h);
        }
        Value::Array(items) => {
            h.update(b"[");
            h.update((items.len() as u64).to_be_bytes());
            items.iter().for_each(|i| canonical(i, h));
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| !is_secret_field(k)).collect();
            keys.sort();
            h.update(b"{");
            h.update((keys.len() as u64).to_be_bytes());
            for k in keys {
                string(k, h);
                canonical(&map[k], h);
            }
        }
    }
}

fn string(s: &str, h: &mut Sha256) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

/// Deletes keys older than [`KEEP`] (run by the leased purge job).
pub async fn purge(state: &AppState) -> Result<u64, cqs_store::StoreError> {
    const CHUNK: i64 = 5000;
    let before = state.clock.now() - KEEP;
    let mut total = 0;
    loop {
        let n = state.store.purge_idempotency_keys(before, CHUNK).await?;
        total += n;
        if n < CHUNK as u64 {
            return Ok(total);
        }
    }
}

/// Whether `method` changes state (and so must take the header or be [`EXEMPT`]).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, ct: &str) -> Parts {
        axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, ct)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn json_fingerprint_ignores_key_order_spacing_and_passwords() {
        let p = parts("POST", "/api/v1/x", "application/json; charset=utf-8");
        let a = fingerprint(&p, br#"{"a": 1, "b": {"c": [1, "x"]}, "password": "one"}"#);
        let b = fingerprint(&p, br#"{"b":{"c":[1,"x"]},"a":1,"password":"two"}"#);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&p, br#"{"a": 2, "b": {"c": [1, "x"]}}"#));
        assert_ne!(a, fingerprint(&parts("POST", "/api/v1/y", "application/json"), br#"{"a":1,"b":{"c":[1,"x"]}}"#));
        assert_ne!(a, fingerprint(&parts("PUT", "/api/v1/x", "application/json"), br#"{"a":1,"b":{"c":[1,"x"]}}"#));
        // Values of different types or shapes never collide.
        assert_ne!(fingerprint(&p, br#"{"a":"1"}"#), fingerprint(&p, br#"{"a":1}"#));
        assert_ne!(fingerprint(&p, br#"["ab","c"]"#), fingerprint(&p, br#"["a","bc"]"#));
    }

    #[test]
    fn keys_must_be_printable_ascii() {
        let mut h = HeaderMap::new();
        assert_eq!(key_of(&h).unwrap(), None);
        h.insert(HEADER, HeaderValue::from_static("  abc-123 "));
        assert_eq!(key_of(&h).unwrap().as_deref(), Some("abc-123"));
        for bad in ["", "a b", &"x".repeat(256)] {
            h.insert(HEADER, HeaderValue::from_str(bad).unwrap());
            assert!(key_of(&h).is_err(), "{bad:?}");
        }
    }
}
