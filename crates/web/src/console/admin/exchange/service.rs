//! One service in the console (`/can-bo/quan-tri/lgsp/dich-vu`): its description as a form to
//! add or replace it, the endpoints its OpenAPI description lists, the grants that let clients
//! call it (each with a form to revoke), and a form to grant a client directly.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::exchange::{ClientId, Grant, ServiceId};
use uuid::Uuid;

use super::forms::{GrantForm, RevokeForm, ServiceForm};
use super::{refused, status_vi, statuses};
use crate::AppState;
use crate::api::exchange::registry;
use crate::auth::Caller;
use crate::console::admin::{chrome, require_admin};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

pub const PATH: &str = "/can-bo/quan-tri/lgsp/dich-vu";

pub struct GrantRow {
    pub id: String,
    pub client: String,
    pub endpoint: String,
    pub granted: String,
    /// From an access request, or the provider's own decision.
    pub from_request: Option<String>,
}

/// What the page's forms hold.
#[derive(Default)]
pub struct Drafts {
    pub service: ServiceForm,
    pub grant: GrantForm,
    pub revoke: RevokeForm,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "console/admin/exchange_service.html")]
struct ServicePage {
    chrome: Chrome,
    /// The registered service's id; `None` while adding one.
    id: Option<String>,
    status: &'static str,
    endpoints: Vec<String>,
    grants: Vec<GrantRow>,
    drafts: Drafts,
    errors: FormErrors,
    notice: Option<&'static str>,
    statuses: Vec<(&'static str, &'static str)>,
    clients: Vec<(String, String)>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ServiceQuery {
    /// A registered service.
    id: Option<String>,
    /// The provider system of a service to add.
    #[serde(rename = "he-thong")]
    system: Option<String>,
    xong: Option<String>,
}

fn not_found() -> PageError {
    PageError::not_found()
}

fn grant_row(g: &Grant) -> GrantRow {
    GrantRow {
        id: g.id.to_string(),
        client: g.client.to_string(),
        endpoint: g.endpoint.as_ref().map(ToString::to_string).unwrap_or_else(|| "Toàn bộ dịch vụ".into()),
        granted: fmt::datetime(g.granted_at),
        from_request: g.access_request_id.map(|r| r.to_string()),
    }
}

async fn render_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    id: Option<&ServiceId>,
    mut drafts: Drafts,
    notice: Option<&'static str>,
) -> PageResult<Response> {
    let snapshot = state.store.registry_snapshot().await?;
    let service = match id {
        Some(id) => Some(snapshot.services.iter().find(|s| &s.id == id).ok_or_else(not_found)?),
        None => None,
    };
    let grants = match service {
        Some(s) => state.store.exchange_grants(Some(&s.id), false).await?.iter().map(grant_row).collect(),
        None => Vec::new(),
    };
    let errors = std::mem::take(&mut drafts.errors);
    let title = match service {
        Some(s) => format!("Dịch vụ {}", s.title),
        None => "Thêm dịch vụ".to_owned(),
    };
    let page = ServicePage {
        chrome: chrome(&title, caller),
        id: service.map(|s| s.id.to_string()),
        status: service.map(|s| status_vi(s.status)).unwrap_or_default(),
        endpoints: service.map(|s| s.endpoints().iter().map(ToString::to_string).collect()).unwrap_or_default(),
        grants,
        drafts,
        errors,
        notice,
        statuses: statuses(),
        clients: snapshot.subsystems.iter().map(|s| (s.id.to_string(), format!("{} ({})", s.name, s.id))).collect(),
    };
    Ok(render(status, &page))
}

/// `GET /can-bo/quan-tri/lgsp/dich-vu?id=<service>` (or `?he-thong=<provider>` to add one).
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ServiceQuery>,
) -> PageResult<Response> {
    require_admin(&state, &caller, super::PATH).await?;
    let notice = match q.xong.as_deref() {
        Some("dich-vu") => Some("Đã lưu dịch vụ."),
        Some("quyen") => Some("Đã cấp quyền truy cập."),
        Some("thu-hoi") => Some("Đã thu hồi quyền truy cập; các lần gọi theo quyền này bị từ chối từ bây giờ."),
        _ => None,
    };
    match (q.id.as_deref(), q.system.as_deref()) {
        (Some(id), _) => {
            let id = ServiceId::parse(id).map_err(|_| not_found())?;
            let snapshot = state.store.registry_snapshot().await?;
            let s = snapshot.services.iter().find(|s| s.id == id).ok_or_else(not_found)?;
            let drafts = Drafts {
                service: ServiceForm::of(s),
                grant: GrantForm { service: id.to_string(), ..Default::default() },
                ..Default::default()
            };
            render_page(&state, &caller, StatusCode::OK, Some(&id), drafts, notice).await
        }
        (None, Some(system)) => {
            let provider = ClientId::parse(system).map_err(|_| not_found())?;
            let snapshot = state.store.registry_snapshot().await?;
            if !snapshot.subsystems.iter().any(|s| s.id == provider) {
                return Err(not_found());
            }
            let service = ServiceForm {
                provider: provider.to_string(),
                status: "active".into(),
                timeout_ms: "30000".into(),
                ..Default::default()
            };
            render_page(&state, &caller, StatusCode::OK, None, Drafts { service, ..Default::default() }, None).await
        }
        (None, None) => Err(not_found()),
    }
}

fn back(id: &str, what: &str, anchor: &str) -> Response {
    Redirect::to(&format!("{PATH}?id={}&xong={what}#{anchor}", crate::portal::encode(id))).into_response()
}

/// `POST /can-bo/quan-tri/lgsp/dich-vu`: adds or replaces a service.
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<ServiceForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, super::PATH).await?;
    let mut errors = FormErrors::default();
    if let Some((provider, spec)) = f.input(&mut errors) {
        match registry::save_service(&state, &caller, &provider, spec).await {
            Ok((s, _)) => return Ok(back(&s.id.to_string(), "dich-vu", "dv-form")),
            Err(e) => errors = refused(e, "dv-code")?,
        }
    }
    // Shown as the page of the service when it exists already, else as a new one.
    let existing = ClientId::parse(f.provider.trim())
        .ok()
        .and_then(|p| ServiceId::new(p, f.code.trim()).ok())
        .filter(|_| !f.code.trim().is_empty());
    let existing = match existing {
        Some(id) if state.store.exchange_services().await?.iter().any(|s| s.id == id) => Some(id),
        _ => None,
    };
    let grant =
        GrantForm { service: existing.as_ref().map(ToString::to_string).unwrap_or_default(), ..Default::default() };
    let drafts = Drafts { service: f, grant, errors, ..Default::default() };
    render_page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, existing.as_ref(), drafts, None).await
}

/// The page of a registered service again, with a refused grant or revocation.
async fn refused_on(
    state: &AppState,
    caller: &Caller,
    service: &ServiceId,
    grant: GrantForm,
    revoke: RevokeForm,
    errors: FormErrors,
) -> PageResult<Response> {
    let snapshot = state.store.registry_snapshot().await?;
    let s = snapshot.services.iter().find(|s| &s.id == service).ok_or_else(not_found)?;
    let drafts = Drafts { service: ServiceForm::of(s), grant, revoke, errors };
    render_page(state, caller, StatusCode::UNPROCESSABLE_ENTITY, Some(service), drafts, None).await
}

/// `POST /can-bo/quan-tri/lgsp/quyen`: grants a client the service or one endpoint of it.
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<GrantForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, super::PATH).await?;
    let service = ServiceId::parse(f.service.trim()).map_err(|_| not_found())?;
    let mut errors = FormErrors::default();
    if let Some((service, input)) = f.input(&mut errors) {
        match registry::add_grant(&state, &caller, service.clone(), input).await {
            Ok(_) => return Ok(back(&service.to_string(), "quyen", "quyen")),
            Err(e) => errors = refused(e, "q-client")?,
        }
    }
    refused_on(&state, &caller, &service, f, RevokeForm::default(), errors).await
}

/// `POST /can-bo/quan-tri/lgsp/quyen/thu-hoi`: revokes a grant, with the reason.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<RevokeForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, super::PATH).await?;
    let id = Uuid::parse_str(f.id.trim()).map_err(|_| not_found())?;
    let grant = registry::find_grant(&state, &caller, id).await?;
    let service = grant.grant().service.clone();
    let input = registry::RevokeInput { reason: f.reason.clone() };
    match registry::revoke(&state, &caller, grant, input).await {
        Ok(_) => Ok(back(&service.to_string(), "thu-hoi", "quyen")),
        Err(e) => {
            let errors = refused(e, &format!("th-{id}"))?;
            let g = GrantForm { service: service.to_string(), ..Default::default() };
            refused_on(&state, &caller, &service, g, f, errors).await
        }
    }
}
