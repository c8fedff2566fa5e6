//! The data-sharing platform's registry in the console (`/can-bo/quan-tri/lgsp`), for the
//! operator: members, their information systems and services, grants, client limits, and the
//! access requests waiting for an answer (late ones first), with forms that change each. Every
//! change goes through the same functions as the registry API (`crate::api::exchange`), which
//! check the caller's right again and record who made it.

mod forms;
mod request;
mod service;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cqs_domain::exchange::ClientId;
use cqs_domain::exchange::quota::Window;
use cqs_domain::exchange::registry::Status;
use cqs_domain::exchange::request::RequestState;
use cqs_store::exchange::{AccessRequestQuery, RegistrySnapshot};
use forms::{LimitForm, MemberForm, RequestForm, SystemAction, SystemForm};

use super::{chrome, require_admin};
use crate::AppState;
use crate::api::exchange::{registry, requests};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

pub const PATH: &str = "/can-bo/quan-tri/lgsp";

/// Most waiting access requests listed (the oldest due first).
const REQUESTS_SHOWN: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, get(page))
        .route("/can-bo/quan-tri/lgsp/thanh-vien", post(save_member))
        .route("/can-bo/quan-tri/lgsp/he-thong", post(add_system))
        .route("/can-bo/quan-tri/lgsp/he-thong/trang-thai", post(system_status))
        .route("/can-bo/quan-tri/lgsp/he-thong/khoa", post(new_secret))
        .route("/can-bo/quan-tri/lgsp/gioi-han", post(set_limit))
        .route("/can-bo/quan-tri/lgsp/de-nghi", post(ask))
        .route(
            service::PATH,
            get(service::page)
                .post(service::save)
                .layer(axum::extract::DefaultBodyLimit::max(4 * forms::OPENAPI_MAX_BYTES)),
        )
        .route("/can-bo/quan-tri/lgsp/quyen", post(service::grant))
        .route("/can-bo/quan-tri/lgsp/quyen/thu-hoi", post(service::revoke))
        .route("/can-bo/quan-tri/lgsp/de-nghi/{id}", get(request::page).post(request::decide))
}

/// The state of a registry entry in words.
pub fn status_vi(s: Status) -> &'static str {
    match s {
        Status::Active => "Đang hoạt động",
        Status::Deprecated => "Sắp ngừng (vẫn gọi được)",
        Status::Disabled => "Tạm ngừng",
    }
}

/// The states a form offers, in order.
pub fn statuses() -> Vec<(&'static str, &'static str)> {
    [Status::Active, Status::Deprecated, Status::Disabled].into_iter().map(|s| (s.as_str(), status_vi(s))).collect()
}

fn window_vi(w: Window) -> &'static str {
    match w {
        Window::Second => "mỗi giây",
        Window::Minute => "mỗi phút",
        Window::Hour => "mỗi giờ",
        Window::Day => "mỗi ngày",
        Window::Month => "mỗi tháng",
    }
}

/// What a failed change says on the page: a refusal the person can act on (bad value,
/// duplicate, unknown entry) goes next to `field`; no right, or a fault, is a problem page.
pub fn refused(e: ApiError, field: &str) -> Result<FormErrors, PageError> {
    let people_can_fix = e.status.is_client_error()
        && e.status != StatusCode::UNAUTHORIZED
        && e.status != StatusCode::FORBIDDEN
        && e.status != StatusCode::TOO_MANY_REQUESTS;
    if !people_can_fix {
        return Err(e.into());
    }
    let mut errors = FormErrors::default();
    errors.add(field, e.title);
    for f in e.errors {
        errors.add(field, f.message);
    }
    Ok(errors)
}

/// Where a change done sends the browser: the page, with what was done, at its section.
fn done(what: &str, anchor: &str) -> Response {
    Redirect::to(&format!("{PATH}?xong={what}#{anchor}")).into_response()
}

/// The sentence a `?xong=` key stands for (only these; nothing typed is echoed).
fn notice(key: &str) -> Option<&'static str> {
    Some(match key {
        "thanh-vien" => "Đã lưu thành viên.",
        "he-thong" => "Đã đăng ký hệ thống thông tin.",
        "trang-thai" => "Đã đổi trạng thái hệ thống.",
        "gioi-han" => "Đã lưu giới hạn lượt gọi.",
        "de-nghi" => "Đã gửi đề nghị cấp quyền truy cập; bên cung cấp trả lời trong 2 ngày làm việc.",
        "quyet-dinh" => "Đã ghi nhận trả lời đề nghị.",
        _ => return None,
    })
}

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
    pub status_code: &'static str,
    pub has_secret: bool,
    pub services: Vec<ServiceRow>,
}

pub struct ServiceRow {
    pub id: String,
    pub code: String,
    pub title: String,
    pub version: String,
    pub owner: String,
    pub status: &'static str,
    pub grants: usize,
}

pub struct RequestRow {
    pub id: String,
    pub client: String,
    pub service: String,
    pub purpose: String,
    pub requested: String,
    pub due: String,
    pub late: bool,
}

pub struct LimitRow {
    pub client: String,
    pub service: String,
    pub window: &'static str,
    pub window_code: &'static str,
    pub max: i64,
}

pub struct PeerRow {
    pub instance: String,
    pub name: String,
    pub url: String,
}

/// What the page's forms hold: empty, or as typed when a change was refused.
#[derive(Default)]
pub struct Drafts {
    pub member: MemberForm,
    pub system: SystemForm,
    pub limit: LimitForm,
    pub request: RequestForm,
    pub errors: FormErrors,
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
    limits: Vec<LimitRow>,
    listening: Option<String>,
    peers: Vec<PeerRow>,
    notice: Option<&'static str>,
    drafts: Drafts,
    errors: FormErrors,
    statuses: Vec<(&'static str, &'static str)>,
    windows: Vec<(&'static str, &'static str)>,
    /// Every registered system (`id`, label), for the selects.
    clients: Vec<(String, String)>,
    /// Every registered service (`id`, label), for the selects.
    service_ids: Vec<(String, String)>,
}

/// The registry as rows: members, their systems, and each system's services.
fn member_rows(snapshot: &RegistrySnapshot) -> Vec<MemberRow> {
    let services = |s: &ClientId| {
        snapshot
            .services
            .iter()
            .filter(|v| &v.id.provider == s)
            .map(|v| ServiceRow {
                id: v.id.to_string(),
                code: v.id.code.as_str().to_owned(),
                title: v.title.clone(),
                version: v.version.clone(),
                owner: v.owner.clone(),
                status: status_vi(v.status),
                grants: snapshot.grants.iter().filter(|g| g.service == v.id).count(),
            })
            .collect()
    };
    snapshot
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
                    status_code: s.status.as_str(),
                    has_secret: s.has_secret,
                    services: services(&s.id),
                })
                .collect(),
        })
        .collect()
}

async fn render_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    drafts: Drafts,
    notice: Option<&'static str>,
) -> PageResult<Response> {
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
            id: r.id.to_string(),
            client: r.client.to_string(),
            service: r.service.to_string(),
            purpose: r.purpose.clone(),
            requested: fmt::datetime(r.requested_at),
            due: fmt::datetime(r.answer_due_at),
            late: r.answer_due_at < now,
        })
        .collect();
    requests.sort_by_key(|r| !r.late);
    let limits = snapshot
        .limits
        .iter()
        .map(|l| LimitRow {
            client: l.client.to_string(),
            service: l.service.as_ref().map(ToString::to_string).unwrap_or_default(),
            window: window_vi(l.window),
            window_code: l.window.as_str(),
            max: l.max_requests,
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
    let mut drafts = drafts;
    let errors = std::mem::take(&mut drafts.errors);
    let page = ExchangePage {
        chrome: chrome("Trao đổi dữ liệu (LGSP)", caller),
        instance,
        members: member_rows(&snapshot),
        services: snapshot.services.len(),
        grants: snapshot.grants.len(),
        requests,
        limits,
        listening,
        peers,
        notice,
        drafts,
        errors,
        statuses: statuses(),
        windows: Window::ALL.into_iter().map(|w| (w.as_str(), window_vi(w))).collect(),
        clients: snapshot.subsystems.iter().map(|s| (s.id.to_string(), format!("{} ({})", s.name, s.id))).collect(),
        service_ids: snapshot.services.iter().map(|s| (s.id.to_string(), format!("{} ({})", s.title, s.id))).collect(),
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    xong: Option<String>,
}

/// `GET /can-bo/quan-tri/lgsp`.
pub async fn page(State(state): State<AppState>, caller: Caller, Query(q): Query<PageQuery>) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let said = q.xong.as_deref().and_then(notice);
    render_page(&state, &caller, StatusCode::OK, Drafts::default(), said).await
}

/// Re-shows the page with the refused form as typed.
async fn again(state: &AppState, caller: &Caller, drafts: Drafts) -> PageResult<Response> {
    render_page(state, caller, StatusCode::UNPROCESSABLE_ENTITY, drafts, None).await
}

/// Where a form's change lands: the field its refusals go beside, the `?xong=` key of the
/// notice when it is done, and the section the page then opens at.
struct Landing {
    field: &'static str,
    done: &'static str,
    anchor: &'static str,
}

/// A form read into its input, with what could not be read.
fn parse<I>(read: impl FnOnce(&mut FormErrors) -> Option<I>) -> (Option<I>, FormErrors) {
    let mut errors = FormErrors::default();
    (read(&mut errors), errors)
}

/// Applies a read form: done, the page with the notice; refused, the page again with `keep`
/// (the form as typed) and the errors.
async fn settle<I, T, Fut>(
    state: &AppState,
    caller: &Caller,
    (input, mut errors): (Option<I>, FormErrors),
    apply: impl FnOnce(I) -> Fut,
    at: Landing,
    keep: impl FnOnce(FormErrors) -> Drafts,
) -> PageResult<Response>
where
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    if let Some(input) = input
        && let Err(e) = apply(input).await
    {
        errors = refused(e, at.field)?;
    }
    if errors.is_empty() {
        return Ok(done(at.done, at.anchor));
    }
    again(state, caller, keep(errors)).await
}

/// `POST /can-bo/quan-tri/lgsp/thanh-vien`: adds a member or changes its name and state.
pub async fn save_member(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<MemberForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let at = Landing { field: "tv-id", done: "thanh-vien", anchor: "lgsp-thanh-vien" };
    let keep = |errors| Drafts { member: f.clone(), errors, ..Default::default() };
    settle(&state, &caller, parse(|e| f.input(e)), |i| registry::save_member(&state, &caller, i), at, keep).await
}

/// `POST /can-bo/quan-tri/lgsp/he-thong`: registers an information system.
pub async fn add_system(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<SystemForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let at = Landing { field: "ht-id", done: "he-thong", anchor: "lgsp-thanh-vien" };
    let keep = |errors| Drafts { system: f.clone(), errors, ..Default::default() };
    settle(&state, &caller, parse(|e| f.input(e)), |i| registry::add_subsystem(&state, &caller, i), at, keep).await
}

/// A refused change of one system's row, said at the top of the systems.
async fn refused_row(state: &AppState, caller: &Caller, e: ApiError) -> PageResult<Response> {
    let errors = refused(e, "lgsp-thanh-vien")?;
    again(state, caller, Drafts { errors, ..Default::default() }).await
}

/// The subsystem a row's button names; a malformed one is a tampered form.
fn named_system(a: &SystemAction) -> PageResult<ClientId> {
    ClientId::parse(a.id.trim()).map_err(|_| {
        PageError::new(StatusCode::BAD_REQUEST, "Biểu mẫu gửi lên không hợp lệ")
            .detail("Hãy tải lại trang Trao đổi dữ liệu và thử lại.")
    })
}

/// `POST /can-bo/quan-tri/lgsp/he-thong/trang-thai`: suspends, deprecates or resumes a system.
pub async fn system_status(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(a): axum::Form<SystemAction>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let id = named_system(&a)?;
    let Some(status) = Status::parse(&a.status) else {
        let mut errors = FormErrors::default();
        errors.add("lgsp-thanh-vien", "Chọn trạng thái mới của hệ thống");
        return again(&state, &caller, Drafts { errors, ..Default::default() }).await;
    };
    let patch = registry::SubsystemPatch { name: None, status: Some(status) };
    match registry::change_subsystem(&state, &caller, &id, patch).await {
        Ok(_) => Ok(done("trang-thai", "lgsp-thanh-vien")),
        Err(e) => refused_row(&state, &caller, e).await,
    }
}

#[derive(Template)]
#[template(path = "console/admin/exchange_secret.html")]
struct SecretPage {
    chrome: Chrome,
    issued: registry::IssuedSecret,
}

/// `POST /can-bo/quan-tri/lgsp/he-thong/khoa`: issues a new secret and shows it this once; the
/// old secret and the tokens made from it stop working.
pub async fn new_secret(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(a): axum::Form<SystemAction>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let id = named_system(&a)?;
    let issued = match registry::new_secret(&state, &caller, id).await {
        Ok(i) => i,
        Err(e) => return refused_row(&state, &caller, e).await,
    };
    let mut res = render(StatusCode::OK, &SecretPage { chrome: chrome("Khóa bí mật mới", &caller), issued });
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /can-bo/quan-tri/lgsp/gioi-han`: sets or removes a limit on a client's calls.
pub async fn set_limit(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<LimitForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let at = Landing { field: "gh-client", done: "gioi-han", anchor: "lgsp-gioi-han" };
    let keep = |errors| Drafts { limit: f.clone(), errors, ..Default::default() };
    settle(&state, &caller, parse(|e| f.input(e)), |i| registry::put_limit(&state, &caller, i), at, keep).await
}

/// `POST /can-bo/quan-tri/lgsp/de-nghi`: files an access request on behalf of a client system
/// (the operator's name is recorded as the requester).
pub async fn ask(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<RequestForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let at = Landing { field: "dn-purpose", done: "de-nghi", anchor: "lgsp-de-nghi" };
    let keep = |errors| Drafts { request: f.clone(), errors, ..Default::default() };
    settle(&state, &caller, parse(|e| f.input(e)), |i| requests::ask(&state, &caller, i), at, keep).await
}
