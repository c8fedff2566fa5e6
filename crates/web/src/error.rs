//! The edge's error type. Every failure becomes RFC 9457 problem+json with a stable machine
//! `code` and a Vietnamese `title`/`detail`; field problems are listed under `errors`. Nothing
//! internal (SQL, paths, stack) leaks into a response; faults are logged with the request id.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cqs_domain::auth::Denied;
use cqs_domain::form::FieldError;
use cqs_store::StoreError;
use serde::Serialize;

/// Problem details (RFC 9457) as sent to machines.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI reference naming the problem type: `urn:cqs:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: String,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: impl Into<String>) -> Self {
        Self { status, code, title: title.into(), detail: None, errors: Vec::new() }
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn bad_request(code: &'static str, title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, title)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("Không tìm thấy {what}"))
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            title: "Dữ liệu chưa hợp lệ, vui lòng kiểm tra các trường được nêu".into(),
            detail: None,
            errors,
        }
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Hệ thống gặp sự cố, vui lòng thử lại sau")
    }
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Hệ thống đang bận, vui lòng thử lại sau")
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        let (status, code) = match d {
            Denied::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            _ => (StatusCode::FORBIDDEN, "forbidden"),
        };
        tracing::info!(target: "security", code, reason = %d, "access denied");
        Self::new(status, code, d.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            StoreError::IdempotencyMismatch => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Khóa Idempotency-Key đã được dùng cho một yêu cầu có nội dung khác",
            ),
            StoreError::DailySequenceExhausted => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "daily_sequence_exhausted",
                "Đơn vị đã tiếp nhận số hồ sơ tối đa trong ngày, vui lòng nộp vào ngày làm việc tiếp theo",
            ),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:cqs:problem:{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_owned(),
            errors: self.errors,
        };
        let denied = (body.code == "forbidden" || body.code.starts_with("csrf_")).then(|| body.title.clone());
        let mut res = (self.status, axum::Json(body)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(reason) = denied {
            res.extensions_mut().insert(AccessDenied(reason));
        }
        res
    }
}

/// Marks a response that refused access (an access rule or the CSRF guard), so the security log
/// can record it; holds the refusal's text.
#[derive(Debug, Clone)]
pub struct AccessDenied(pub String);

pub fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Dữ liệu gửi lên vượt quá dung lượng cho phép")
}

/// Reads a JSON body of at most `limit` bytes after the caller has been authorized, so an
/// unauthorized caller learns nothing about what the body should look like.
pub async fn read_json<T: serde::de::DeserializeOwned>(req: Request, limit: usize) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Yêu cầu phải có Content-Type: application/json",
        ));
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| body_too_large())?;
    parse_json(&bytes)
}

/// Parses JSON with Vietnamese problem details: syntax errors are 400, shape errors 422.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json_fields",
            "Dữ liệu JSON có trường thừa, thiếu hoặc sai kiểu",
        )
        .detail(e.to_string()),
        _ => ApiError::bad_request("malformed_json", "Nội dung JSON sai cú pháp").detail(e.to_string()),
    })
}

/// Path extractor with problem+json rejections.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Self(p.0)).map_err(
            |e: PathRejection| ApiError::bad_request("invalid_path", "Đường dẫn không hợp lệ").detail(e.body_text()),
        )
    }
}

/// Query-string extractor with problem+json rejections.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Self(q.0)).map_err(
            |e: QueryRejection| {
                ApiError::bad_request("invalid_query", "Tham số truy vấn không hợp lệ").detail(e.body_text())
            },
        )
    }
}
