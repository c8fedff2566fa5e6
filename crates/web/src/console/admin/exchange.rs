//! The data-sharing platform at a glance (`/can-bo/quan-tri/lgsp`), for the operator: members,
//! their information systems and services with their state, the access requests waiting for an
//! answer (late ones first), and the peer nodes this node federates with. It only reads; every
//! change goes through the registry API (`/api/v1/exchange/...`), which records who made it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cqs_domain::exchange::request::RequestState;
use cqs_store::exchange::AccessRequestQuery;

use super::{chrome, require_admin};
use crate::AppState;
use crate::auth::Caller;
use crate::ui::{Chrome, PageResult, fmt, render};

pub const PATH: &str = "/can-bo/quan-tri/lgsp";

/// Most waiting access requests listed (the oldest due first).
const REQUESTS_SHOWN: i64 = 200;

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub systems: Vec<SystemRow>,
}

pub struct SystemRow {
    pub id: String,
    pub name: String,
    pub system_id: String,
    pub status: &'static str,
    pub has_secret: bool,
    pub services: Vec<ServiceRow>,
}

pub struct ServiceRow {
    pub code: String,
    pub title: String,
    pub version: String,
    pub owner: String,
    pub status: &'static str,
    pub grants: usize,
}

pub struct RequestRow {
    pub client: String,
    pub service: String,
    pub purpose: String,
    pub requested: String,
    pub due: String,
    pub late: bool,
}

pub struct PeerRow {
    pub instance: String,
    pub name: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "console/admin/exchange.html")]
pub struct ExchangePage {
    chrome: Chrome,
    instance: String,
    members: Vec<MemberRow>,
    services: usize,
    grants: usize,
    requests: Vec<RequestRow>,
    listening: Option<String>,
    peers: Vec<PeerRow>,
}

/// The state of a registry entry in words.
pub fn status_vi(s: cqs_domain::exchange::registry::Status) -> &'static str {
    use cqs_domain::exchange::registry::Status::*;
    match s {
        Active => "Đang hoạt động",
        Deprecated => "Sắp ngừng (vẫn gọi được)",
        Disabled => "Tạm ngừng",
    }
}

/// `GET /can-bo/quan-tri/lgsp`.
pub async fn page(State(state): State<AppState>, caller: Caller) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let snapshot = state.store.registry_snapshot().await?;
    let now = state.clock.now();
    let waiting = state
        .store
        .access_requests(&AccessRequestQuery {
            state: Some(RequestState::Pending),
            limit: REQUESTS_SHOWN,
            ..Default::default()
        })
        .await?;
    let mut requests: Vec<RequestRow> = waiting
        .iter()
        .map(|r| RequestRow {
            client: r.client.to_string(),
            service: r.service.to_string(),
            purpose: r.purpose.clone(),
            requested: fmt::datetime(r.requested_at),
            due: fmt::datetime(r.answer_due_at),
            late: r.answer_due_at < now,
        })
        .collect();
    requests.sort_by_key(|r| !r.late);
    let members = snapshot
        .members
        .iter()
        .map(|m| MemberRow {
            id: m.id.to_string(),
            name: m.name.clone(),
            status: status_vi(m.status),
            systems: snapshot
                .subsystems
                .iter()
                .filter(|s| s.id.member == m.id)
                .map(|s| SystemRow {
                    id: s.id.to_string(),
                    name: s.name.clone(),
                    system_id: s.system_id.clone(),
                    status: status_vi(s.status),
                    has_secret: s.has_secret,
                    services: snapshot
                        .services
                        .iter()
                        .filter(|v| v.id.provider == s.id)
                        .map(|v| ServiceRow {
                            code: v.id.code.as_str().to_owned(),
                            title: v.title.clone(),
                            version: v.version.clone(),
                            owner: v.owner.clone(),
                            status: status_vi(v.status),
                            grants: snapshot.grants.iter().filter(|g| g.service == v.id).count(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let (instance, listening, peers) = match &state.exchange {
        Some(g) => {
            let f = &g.config.federation;
            (
                g.config.instance.clone(),
                (!f.listen.is_empty()).then(|| f.listen.clone()),
                f.peers
                    .iter()
                    .map(|p| PeerRow { instance: p.instance.clone(), name: p.name.clone(), url: p.url.clone() })
                    .collect(),
            )
        }
        None => (String::new(), None, Vec::new()),
    };
    Ok(render(
        StatusCode::OK,
        &ExchangePage {
            chrome: chrome("Trao đổi dữ liệu (LGSP)", &caller),
            instance,
            members,
            services: snapshot.services.len(),
            grants: snapshot.grants.len(),
            requests,
            listening,
            peers,
        },
    ))
}
