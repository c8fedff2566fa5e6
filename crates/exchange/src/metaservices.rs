//! The REST metaservices of PR-MREST: `listMethods` (every service of a provider subsystem and
//! its endpoints), `allowedMethods` (those the caller holds grants for) and `getOpenAPI` (the
//! description of one service, to callers granted some access to it).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cqs_domain::exchange::grant::allowed_endpoints;
use cqs_domain::exchange::{ClientId, Endpoint, Service, ServiceId};
use serde_json::{Value, json};

use crate::error::XRoadError;
use crate::registry::RegistryView;

fn details(s: &Service, endpoints: &[Endpoint]) -> Value {
    let p = &s.id.provider;
    json!({
        "xroad_instance": p.instance(),
        "member_class": p.member.class.as_str(),
        "member_code": p.member.code.as_str(),
        "subsystem_code": p.subsystem.as_str(),
        "service_code": s.id.code.as_str(),
        "service_version": s.version,
        "object_type": "SERVICE",
        "service_type": if s.openapi.is_some() { "OPENAPI" } else { "REST" },
        "endpoint_list": endpoints.iter().map(|e| json!({"method": e.method.as_str(), "path": e.path.to_string()})).collect::<Vec<_>>(),
    })
}

fn json_response(v: &Value) -> Response {
    let mut r = (StatusCode::OK, v.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

/// Answers a metaservice call to `target` (whose code is the metaservice name).
pub fn answer(
    view: &RegistryView,
    target: &ServiceId,
    client: &ClientId,
    query: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Response, XRoadError> {
    let provider = &target.provider;
    let ids = view.by_provider.get(provider);
    if ids.is_none() && !view.credentials.contains_key(provider) {
        return Err(XRoadError::unknown_service(format!("Không có hệ thống cung cấp {provider}")));
    }
    let services = ids.into_iter().flatten().filter_map(|id| view.services.get(id)).filter(|s| s.status.callable());
    match target.code.as_str() {
        "listMethods" => {
            let list: Vec<Value> = services.map(|s| details(s, &s.endpoints())).collect();
            Ok(json_response(&json!({ "service": list })))
        }
        "allowedMethods" => {
            let list: Vec<Value> = services
                .filter_map(|s| {
                    let allowed = allowed_endpoints(view.grants_of(&s.id, client), client, &s.id, &s.endpoints(), now);
                    (!allowed.is_empty()).then(|| details(s, &allowed))
                })
                .collect();
            Ok(json_response(&json!({ "service": list })))
        }
        _ => {
            let code = query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .find_map(|kv| kv.strip_prefix("serviceCode="))
                .ok_or_else(|| XRoadError::bad_request("getOpenAPI cần tham số serviceCode"))?;
            let id = ServiceId::new(provider.clone(), code).map_err(|e| XRoadError::bad_request(e.to_string()))?;
            let s =
                view.services.get(&id).ok_or_else(|| XRoadError::unknown_service(format!("Không có dịch vụ {id}")))?;
            if view.grants_of(&id, client).iter().all(|g| !g.is_active(now)) {
                return Err(XRoadError::access_denied(format!("{client} không có quyền truy cập dịch vụ {id}")));
            }
            let doc = s
                .openapi
                .as_ref()
                .ok_or_else(|| XRoadError::unknown_service(format!("Dịch vụ {id} chưa có mô tả OpenAPI")))?;
            Ok(json_response(doc))
        }
    }
}
