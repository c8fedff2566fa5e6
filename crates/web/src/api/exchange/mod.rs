//! `/api/v1/exchange`: administration of the province's data-sharing platform (LGSP): the
//! registry of members, systems and services, grants, access requests and their answers, and
//! client limits. The mediated calls themselves (`/r1/...`) are served by `crates/exchange`.

pub mod gateway;
pub mod log;
pub mod monitoring;
pub mod registry;
pub mod requests;

use axum::http::StatusCode;
use cqs_domain::exchange::endpoint::EndpointError;
use cqs_domain::exchange::registry::RegistryError;
use cqs_domain::exchange::request::RequestError;
use cqs_domain::exchange::{ClientId, MemberId, ServiceId, XRoadIdError};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

impl From<XRoadIdError> for ApiError {
    fn from(e: XRoadIdError) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_exchange_id", e.to_string())
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_registry_entry", e.to_string())
    }
}

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_endpoint", e.to_string())
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let status = match e {
            RequestError::AlreadyDecided => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, "access_request_rejected", e.to_string())
    }
}

/// An identifier in the path or the query that does not parse is a bad address (400), like any
/// other parameter; the same identifier in a body is a field error (422, above).
pub fn address_id(e: XRoadIdError) -> ApiError {
    ApiError::bad_request("invalid_exchange_id", e.to_string())
}

/// A subsystem named by four path segments.
pub fn client_from_path((i, c, m, s): &(String, String, String, String)) -> Result<ClientId, ApiError> {
    ClientId::new(MemberId::new(i, c, m).map_err(address_id)?, s).map_err(address_id)
}

/// A service named by five path segments.
pub fn service_from_path((i, c, m, s, svc): &(String, String, String, String, String)) -> Result<ServiceId, ApiError> {
    ServiceId::new(client_from_path(&(i.clone(), c.clone(), m.clone(), s.clone()))?, svc).map_err(address_id)
}

/// The org unit of a registered member (its admins act for it), if it has one.
pub async fn member_unit(state: &AppState, member: &MemberId) -> Result<Option<Uuid>, ApiError> {
    Ok(state.store.exchange_members().await?.into_iter().find(|m| &m.id == member).and_then(|m| m.org_unit_id))
}

/// The staff member acting (decisions and grants record who made them).
pub fn actor_id(caller: &crate::auth::Caller) -> Option<Uuid> {
    match &caller.0 {
        cqs_domain::auth::Principal::Staff { user_id, .. } => Some(*user_id),
        _ => None,
    }
}

/// Tells this node's gateway that the registry changed, so calls see the change at once (other
/// nodes see it at their next poll).
pub async fn registry_changed(state: &AppState) {
    if let Some(g) = &state.exchange {
        g.registry_changed().await;
    }
}
