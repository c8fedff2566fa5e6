//! One access request (`/can-bo/quan-tri/lgsp/de-nghi/{id}`): what was asked, by whom, for what
//! purpose and on what legal basis, when the answer is due under the rule in force, and, while
//! it waits, the provider's answer form: grant the whole request or some of the endpoints asked
//! for, or refuse in writing with the reasons and the legal restriction relied on (ND 194/2025).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::exchange::request::{AccessRequest, RequestState};
use uuid::Uuid;

use super::forms::DecisionForm;
use super::refused;
use crate::AppState;
use crate::api::exchange::requests;
use crate::auth::Caller;
use crate::console::admin::{chrome, require_admin};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

#[derive(Template)]
#[template(path = "console/admin/exchange_request.html")]
struct RequestPage {
    chrome: Chrome,
    id: String,
    client: String,
    service: String,
    /// `METHOD /path` of each endpoint asked for; empty for the whole service.
    endpoints: Vec<String>,
    /// What the answer granted: each scope, and whether it was revoked since.
    granted: Vec<(String, bool)>,
    purpose: String,
    legal_basis: String,
    requested_by: String,
    requested: String,
    due: String,
    rule: String,
    overdue: bool,
    state: &'static str,
    pending: bool,
    decided: Option<String>,
    decided_by: String,
    answered_late: bool,
    note: Option<String>,
    refusal_basis: Option<String>,
    form: DecisionForm,
    errors: FormErrors,
    saved: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    xong: Option<String>,
}

/// The request the path names; a malformed id is as unknown as a missing one.
async fn named(state: &AppState, id: &str) -> PageResult<AccessRequest> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::not_found())?;
    Ok(requests::load(state, id).await?)
}

fn state_vi(s: RequestState) -> &'static str {
    match s {
        RequestState::Pending => "Đang chờ trả lời",
        RequestState::Granted => "Đã cấp quyền",
        RequestState::Refused => "Đã từ chối",
        RequestState::Withdrawn => "Đã rút đề nghị",
    }
}

async fn person(state: &AppState, id: Option<Uuid>) -> PageResult<String> {
    Ok(match id {
        Some(id) => state.store.user_by_id(id).await?.map(|u| format!("{} ({})", u.full_name, u.username)),
        None => None,
    }
    .unwrap_or_default())
}

async fn show(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    r: AccessRequest,
    form: DecisionForm,
    errors: FormErrors,
    saved: bool,
) -> PageResult<Response> {
    let now = state.clock.now();
    let granted = state
        .store
        .exchange_grants(Some(&r.service), true)
        .await?
        .into_iter()
        .filter(|g| g.access_request_id == Some(r.id))
        .map(|g| {
            let scope = g.endpoint.as_ref().map(ToString::to_string).unwrap_or_else(|| "Toàn bộ dịch vụ".into());
            (scope, g.revoked_at.is_some())
        })
        .collect();
    let page = RequestPage {
        chrome: chrome("Đề nghị cấp quyền truy cập", caller),
        id: r.id.to_string(),
        client: r.client.to_string(),
        service: r.service.to_string(),
        endpoints: r.endpoints.iter().map(ToString::to_string).collect(),
        granted,
        requested_by: person(state, Some(r.requested_by)).await?,
        requested: fmt::datetime(r.requested_at),
        due: fmt::datetime(r.answer_due_at),
        rule: r.answer_rule.clone(),
        overdue: r.is_overdue(now),
        state: state_vi(r.state),
        pending: r.state == RequestState::Pending,
        decided: r.decided_at.map(fmt::datetime),
        decided_by: person(state, r.decided_by).await?,
        answered_late: r.answered_late == Some(true),
        note: r.decision_note,
        refusal_basis: r.refusal_legal_basis,
        purpose: r.purpose,
        legal_basis: r.legal_basis,
        form,
        errors,
        saved,
    };
    Ok(render(status, &page))
}

/// `GET /can-bo/quan-tri/lgsp/de-nghi/{id}`.
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> PageResult<Response> {
    require_admin(&state, &caller, super::PATH).await?;
    let r = named(&state, &id).await?;
    // Every endpoint asked for starts ticked: granting what was asked is the usual answer.
    let form = DecisionForm { endpoints: r.endpoints.iter().map(ToString::to_string).collect(), ..Default::default() };
    show(&state, &caller, StatusCode::OK, r, form, FormErrors::default(), q.xong.is_some()).await
}

/// `POST /can-bo/quan-tri/lgsp/de-nghi/{id}`: records the answer.
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    require_admin(&state, &caller, super::PATH).await?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::not_found())?;
    let to = requests::to_answer(&state, &caller, id).await?;
    let r = to.request().clone();
    let form = DecisionForm::from_pairs(pairs);
    let mut errors = FormErrors::default();
    if let Some(decision) = form.decision(&r.endpoints, &mut errors) {
        let field = if matches!(decision, cqs_domain::exchange::request::Decision::Refuse { .. }) {
            "qd-reason"
        } else {
            "qd-grant"
        };
        match requests::answer(&state, &caller, to, decision).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/can-bo/quan-tri/lgsp/de-nghi/{id}?xong=1")).into_response());
            }
            Err(e) => errors = refused(e, field)?,
        }
    }
    show(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, r, form, errors, false).await
}
