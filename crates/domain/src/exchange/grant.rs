//! Access rights: a client subsystem may call a service only through an explicit grant, to the
//! whole service or to one endpoint of it. Nothing is allowed by default; a revoked grant allows
//! nothing from the moment of revocation.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::endpoint::Endpoint;
use super::ids::{ClientId, ServiceId};

/// One grant as recorded (revoked grants stay, with who revoked them and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: Uuid,
    pub service: ServiceId,
    pub client: ClientId,
    /// The one endpoint granted; none means the whole service.
    pub endpoint: Option<Endpoint>,
    pub granted_at: DateTime<Utc>,
    pub granted_by: Option<Uuid>,
    /// The access request the grant answers, when it came from one.
    pub access_request_id: Option<Uuid>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<Uuid>,
    pub revoke_reason: Option<String>,
}

impl Grant {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none_or(|r| r > now) && self.granted_at <= now
    }

    /// Whether this grant lets `client` call `method path` on `service` at `now`.
    pub fn permits(
        &self,
        client: &ClientId,
        service: &ServiceId,
        method: &str,
        path: &[&str],
        now: DateTime<Utc>,
    ) -> bool {
        self.is_active(now)
            && &self.client == client
            && &self.service == service
            && self.endpoint.as_ref().is_none_or(|e| e.matches(method, path))
    }
}

/// Whether any of `grants` lets the call through.
pub fn is_allowed<'a>(
    grants: impl IntoIterator<Item = &'a Grant>,
    client: &ClientId,
    service: &ServiceId,
    method: &str,
    path: &[&str],
    now: DateTime<Utc>,
) -> bool {
    grants.into_iter().any(|g| g.permits(client, service, method, path, now))
}

/// The endpoints of a service a client may call: every described endpoint covered by one of its
/// active grants, and each endpoint grant itself (it may be narrower than any described one).
/// A whole-service grant allows every described endpoint, or `* /**` when none is described.
pub fn allowed_endpoints<'a>(
    grants: impl IntoIterator<Item = &'a Grant>,
    client: &ClientId,
    service: &ServiceId,
    described: &[Endpoint],
    now: DateTime<Utc>,
) -> Vec<Endpoint> {
    let mine: Vec<&Grant> =
        grants.into_iter().filter(|g| g.is_active(now) && &g.client == client && &g.service == service).collect();
    let mut out = Vec::new();
    if mine.iter().any(|g| g.endpoint.is_none()) {
        if described.is_empty() {
            out.push(Endpoint::parse("*", "/**").expect("valid pattern"));
        }
        out.extend(described.iter().cloned());
    } else {
        for e in described {
            if mine.iter().filter_map(|g| g.endpoint.as_ref()).any(|g| e.within(g)) {
                out.push(e.clone());
            }
        }
        out.extend(mine.iter().filter_map(|g| g.endpoint.clone()));
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(endpoint: Option<(&str, &str)>) -> Grant {
        Grant {
            id: Uuid::now_v7(),
            service: ServiceId::parse("VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh").unwrap(),
            client: ClientId::parse("VN-LH/GOV/000.00.31.H99/mot-cua").unwrap(),
            endpoint: endpoint.map(|(m, p)| Endpoint::parse(m, p).unwrap()),
            granted_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            granted_by: None,
            access_request_id: None,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        }
    }

    #[test]
    fn deny_by_default_and_revocation() {
        let now: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().unwrap();
        let g = grant(Some(("GET", "/ban-sao/*")));
        let (c, s) = (g.client.clone(), g.service.clone());
        assert!(!is_allowed(&[], &c, &s, "GET", &["ban-sao", "1"], now));
        assert!(is_allowed([&g], &c, &s, "GET", &["ban-sao", "1"], now));
        assert!(!is_allowed([&g], &c, &s, "POST", &["ban-sao", "1"], now));
        let other = ClientId::parse("VN-LH/GOV/000.00.32.H99/mot-cua").unwrap();
        assert!(!is_allowed([&g], &other, &s, "GET", &["ban-sao", "1"], now));
        let mut revoked = g.clone();
        revoked.revoked_at = Some(now);
        assert!(!is_allowed([&revoked], &c, &s, "GET", &["ban-sao", "1"], now));
        assert!(is_allowed([&grant(None)], &c, &s, "DELETE", &[], now));
    }

    #[test]
    fn allowed_methods_follow_grants() {
        let now: DateTime<Utc> = "2026-02-01T00:00:00Z".parse().unwrap();
        let described: Vec<Endpoint> = [("GET", "/ban-sao/*"), ("POST", "/ban-sao"), ("GET", "/thong-ke")]
            .iter()
            .map(|(m, p)| Endpoint::parse(m, p).unwrap())
            .collect();
        let g = grant(Some(("GET", "/ban-sao/*")));
        let (c, s) = (g.client.clone(), g.service.clone());
        let list: Vec<String> =
            allowed_endpoints([&g], &c, &s, &described, now).iter().map(|e| e.to_string()).collect();
        assert_eq!(list, ["GET /ban-sao/*"]);
        let all = allowed_endpoints([&grant(None)], &c, &s, &described, now);
        assert_eq!(all.len(), 3);
        assert_eq!(allowed_endpoints([&grant(None)], &c, &s, &[], now)[0].to_string(), "* /**");
        assert!(allowed_endpoints(&[], &c, &s, &described, now).is_empty());
    }
}
