//! Failures inside the platform, answered the X-Road way (PR-REST 4.6): a JSON (or, when the
//! client asks for it, XML) body with `type`, `message` and `detail` (the request id), and the
//! `X-Road-Error` header so a client can tell them from the provider's own errors, which pass
//! through untouched. `Client.*` are the caller's mistakes, `Server.ClientProxy.*` failures of
//! the client's node, `Server.ServerProxy.*` failures of the provider's node. Statuses are the
//! closest HTTP ones (401, 403, 404, 413, 429, 502, 504) rather than only 400 and 500, so that
//! ordinary HTTP clients and proxies behave well; the `type` carries the X-Road meaning.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XRoadError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    /// The request id, so the caller can quote it.
    pub detail: Option<String>,
    /// Seconds until a refused call may be retried.
    pub retry_after: Option<u64>,
    /// Whether to answer in XML (`Accept: application/xml` or `text/xml`).
    pub xml: bool,
}

impl XRoadError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into(), detail: None, retry_after: None, xml: false }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Client.BadRequest", message)
    }
    pub fn bad_client(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Client.InvalidClientIdentifier", message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Client.AuthenticationFailed", message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Server.ServerProxy.AccessDenied", message)
    }
    pub fn unknown_service(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Server.ServerProxy.UnknownService", message)
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Server.ClientProxy.InternalError", "Lỗi nội bộ của nền tảng")
    }
    pub fn database() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Server.ServerProxy.DatabaseError",
            "Cơ sở dữ liệu của nền tảng đang bận",
        )
    }
    pub fn with_detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn for_accept(mut self, accept: Option<&str>) -> Self {
        self.xml = accept.is_some_and(|a| {
            let a = a.to_ascii_lowercase();
            (a.contains("application/xml") || a.contains("text/xml")) && !a.contains("application/json")
        });
        self
    }
}

impl From<cqs_store::StoreError> for XRoadError {
    fn from(e: cqs_store::StoreError) -> Self {
        tracing::error!(error = %e, "exchange store failure");
        XRoadError::database()
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl IntoResponse for XRoadError {
    fn into_response(self) -> Response {
        let detail = self.detail.clone().unwrap_or_default();
        let (ctype, body) = if self.xml {
            (
                "application/xml; charset=utf-8",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><error><type>{}</type><message>{}</message><detail>{}</detail></error>",
                    xml_escape(self.kind),
                    xml_escape(&self.message),
                    xml_escape(&detail)
                ),
            )
        } else {
            (
                "application/json; charset=utf-8",
                serde_json::json!({"type": self.kind, "message": self.message, "detail": detail}).to_string(),
            )
        };
        let mut res = (self.status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        h.insert("x-road-error", HeaderValue::from_static(self.kind));
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}
