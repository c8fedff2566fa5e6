//! The registry: members (agencies), their subsystems (information systems) and the services a
//! subsystem provides, each with its OpenAPI description, version, owner and status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::endpoint::{Endpoint, openapi_endpoints};
use super::ids::{ClientId, MemberId, ServiceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In service.
    Active,
    /// Still callable, to be withdrawn: clients should move on.
    Deprecated,
    /// Not callable.
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Deprecated => "deprecated",
            Status::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Status::Active, Status::Deprecated, Status::Disabled].into_iter().find(|x| x.as_str() == s)
    }
    pub fn callable(self) -> bool {
        self != Status::Disabled
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    /// The org unit with the member's agency code, when the agency is one of the province's.
    pub org_unit_id: Option<Uuid>,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Subsystem {
    pub id: ClientId,
    pub name: String,
    /// The short code the system sends as `X-SystemId` (provincial LGSP style).
    pub system_id: String,
    pub status: Status,
    /// Whether a secret has been issued (the secret itself is never shown again).
    pub has_secret: bool,
    /// Bumped when the secret changes; tokens carry it, so a new secret ends old tokens.
    pub credential_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A service as registered.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Service {
    pub id: ServiceId,
    pub title: String,
    pub description: Option<String>,
    /// The service's own version (semantic or date), shown to clients.
    pub version: String,
    /// Who answers for it: a unit, person or contact address.
    pub owner: String,
    pub status: Status,
    /// Where the provider listens (http or https URL); calls go to `base_url` + path.
    pub base_url: String,
    /// Longest time the provider may take to answer.
    pub timeout_ms: i64,
    /// The OpenAPI 3 description.
    #[schema(value_type = Object)]
    pub openapi: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Service {
    /// The endpoints the description lists.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.openapi.as_ref().map(openapi_endpoints).unwrap_or_default()
    }
}

/// A service to create or replace.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub version: String,
    pub owner: String,
    #[serde(default = "active")]
    pub status: Status,
    pub base_url: String,
    #[serde(default = "default_timeout")]
    pub timeout_ms: i64,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub openapi: Option<serde_json::Value>,
}

fn active() -> Status {
    Status::Active
}
fn default_timeout() -> i64 {
    30_000
}

/// Longest provider timeout a service may set.
pub const MAX_TIMEOUT_MS: i64 = 300_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("Tên không được để trống và tối đa 300 ký tự")]
    Name,
    #[error("Địa chỉ dịch vụ phải là URL http:// hoặc https:// không có tham số truy vấn")]
    BaseUrl,
    #[error("Thời gian chờ phải từ 100 ms đến 300000 ms")]
    Timeout,
    #[error("Mô tả OpenAPI phải là tài liệu OpenAPI 3 có mục `paths`")]
    OpenApi,
    #[error("Phiên bản và đơn vị chủ quản không được để trống")]
    VersionOwner,
    #[error("Mã hệ thống (X-SystemId) chỉ gồm chữ, số và . - _ (tối đa 64 ký tự)")]
    SystemId,
}

/// Trims and NFC-normalizes a name, refusing empty or overlong ones.
pub fn clean_name(s: &str) -> Result<String, RegistryError> {
    use unicode_normalization::UnicodeNormalization;
    let s: String = s.trim().nfc().collect();
    if s.is_empty() || s.chars().count() > 300 { Err(RegistryError::Name) } else { Ok(s) }
}

pub fn check_system_id(s: &str) -> Result<(), RegistryError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok { Ok(()) } else { Err(RegistryError::SystemId) }
}

/// Checks a service spec: names, URL, timeout and description.
pub fn check_service(mut s: ServiceSpec) -> Result<ServiceSpec, RegistryError> {
    s.title = clean_name(&s.title)?;
    s.owner = clean_name(&s.owner).map_err(|_| RegistryError::VersionOwner)?;
    s.version = s.version.trim().to_owned();
    if s.version.is_empty() || s.version.len() > 50 {
        return Err(RegistryError::VersionOwner);
    }
    s.description = s.description.map(|d| clean_name_long(&d)).filter(|d| !d.is_empty());
    let url = s.base_url.trim();
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    let host = url.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if !scheme_ok || host.is_empty() || host.starts_with('/') || url.contains(['?', '#', ' ']) || url.len() > 2000 {
        return Err(RegistryError::BaseUrl);
    }
    s.base_url = url.trim_end_matches('/').to_owned();
    if !(100..=MAX_TIMEOUT_MS).contains(&s.timeout_ms) {
        return Err(RegistryError::Timeout);
    }
    if let Some(doc) = &s.openapi {
        let v3 = doc.get("openapi").and_then(|v| v.as_str()).is_some_and(|v| v.starts_with("3."));
        if !v3 || !doc.get("paths").is_some_and(|p| p.is_object()) {
            return Err(RegistryError::OpenApi);
        }
    }
    Ok(s)
}

fn clean_name_long(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.trim().nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        serde_json::from_value(serde_json::json!({
            "code": "khai-sinh", "title": "Tra cứu khai sinh", "version": "1.0", "owner": "Sở Tư pháp",
            "base_url": "http://127.0.0.1:9000/api/", "openapi": {"openapi": "3.0.3", "paths": {"/a": {"get": {}}}}
        }))
        .unwrap()
    }

    #[test]
    fn services_are_checked() {
        let s = check_service(spec()).unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:9000/api");
        assert_eq!(s.timeout_ms, 30_000);
        let mut bad = spec();
        bad.base_url = "ftp://x".into();
        assert_eq!(check_service(bad), Err(RegistryError::BaseUrl));
        let mut bad = spec();
        bad.base_url = "http://x/?a=1".into();
        assert_eq!(check_service(bad), Err(RegistryError::BaseUrl));
        let mut bad = spec();
        bad.openapi = Some(serde_json::json!({"swagger": "2.0", "paths": {}}));
        assert_eq!(check_service(bad), Err(RegistryError::OpenApi));
        let mut bad = spec();
        bad.timeout_ms = 10;
        assert_eq!(check_service(bad), Err(RegistryError::Timeout));
        let mut bad = spec();
        bad.title = "  ".into();
        assert_eq!(check_service(bad), Err(RegistryError::Name));
        assert!(check_system_id("DVC_LH-01").is_ok());
        assert!(check_system_id("có dấu").is_err());
        assert!(Status::Deprecated.callable() && !Status::Disabled.callable());
    }
}
