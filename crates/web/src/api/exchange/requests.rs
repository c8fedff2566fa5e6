//! Access requests (ND 194/2025): a client member asks, the provider answers within 2 working
//! days, granting or refusing in writing with the legal reason; everything is recorded.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use cqs_domain::auth::Principal;
use cqs_domain::exchange::access::may_act_for;
use cqs_domain::exchange::request::{
    self, AccessRequest, Decision, NewRequest, RequestState, answer_due, answer_rules, check_request, rule_on,
};
use cqs_domain::exchange::{ClientId, Endpoint, Grant, ServiceId};
use cqs_store::exchange::AccessRequestQuery;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{actor_id, member_unit};
use crate::AppState;
use crate::api::catalog::root_unit;
use crate::api::exchange::registry::find_service;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, read_json};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// The client subsystem that will call.
    #[schema(value_type = String, example = "VN-LH/GOV/000.00.31.H99/mot-cua")]
    pub client: String,
    #[schema(value_type = String, example = "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh")]
    pub service: String,
    /// Endpoints asked for; empty or absent for the whole service.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// What the data is for.
    pub purpose: String,
    /// The legal basis for using it.
    pub legal_basis: String,
}

/// A request with whether its answer is overdue now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: AccessRequest,
    pub overdue: bool,
}

fn view(state: &AppState, r: AccessRequest) -> RequestView {
    RequestView { overdue: r.is_overdue(state.clock.now()), request: r }
}

/// Ask for access to a service. The operator or an admin of the client member's unit. The answer
/// is due within the working days the rule in force sets (2 under ND 194/2025), on the working
/// calendar.
#[utoipa::path(post, path = "/api/v1/exchange/access-requests", tag = "exchange", params(crate::idempotency::IdempotencyKeyHeader), request_body = RequestInput,
    responses((status = 201, body = RequestView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    if !matches!(caller.0, Principal::Staff { .. }) {
        caller.require_authenticated()?;
        return Err(cqs_domain::auth::Denied::NoRoleInUnit.into());
    }
    let input: RequestInput = read_json(req, state.limits.json_body).await?;
    let r = ask(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(view(&state, r))))
}

/// Files an access request for a client subsystem, due on the working calendar.
pub async fn ask(state: &AppState, caller: &Caller, input: RequestInput) -> Result<AccessRequest, ApiError> {
    let Principal::Staff { user_id, .. } = &caller.0 else {
        caller.require_authenticated()?;
        return Err(cqs_domain::auth::Denied::NoRoleInUnit.into());
    };
    let user_id = *user_id;
    let root = root_unit(state).await?;
    let client = ClientId::parse(&input.client)?;
    may_act_for(&caller.0, member_unit(state, &client.member).await?, root)?;
    let new = check_request(NewRequest {
        client,
        service: ServiceId::parse(&input.service)?,
        endpoints: input.endpoints,
        purpose: input.purpose,
        legal_basis: input.legal_basis,
    })?;
    find_service(state, &new.service).await?;
    let now = state.clock.now();
    let rules = answer_rules();
    let rule = rule_on(&rules, cqs_domain::dossier::local_date(now)).ok_or_else(ApiError::internal)?;
    let r = AccessRequest {
        id: Uuid::now_v7(),
        client: new.client,
        service: new.service,
        endpoints: new.endpoints,
        purpose: new.purpose,
        legal_basis: new.legal_basis,
        requested_by: user_id,
        requested_at: now,
        answer_due_at: answer_due(&state.rules.calendar, rule, now),
        answer_rule: format!("{} ngày làm việc: {}", rule.working_days, rule.legal_basis),
        state: RequestState::Pending,
        decided_at: None,
        decided_by: None,
        decision_note: None,
        refusal_legal_basis: None,
        answered_late: None,
    };
    state.store.create_access_request(&r).await?;
    Ok(r)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub state: Option<RequestState>,
    /// Requests to this provider subsystem.
    pub provider: Option<String>,
    /// Requests of this client subsystem.
    pub client: Option<String>,
    /// Only those still pending past their due date.
    pub overdue: Option<bool>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Whether the caller may see a request: the operator, or an admin of either side.
async fn may_see(state: &AppState, caller: &Caller, r: &AccessRequest, root: Uuid) -> Result<bool, ApiError> {
    if may_act_for(&caller.0, member_unit(state, &r.service.provider.member).await?, root).is_ok() {
        return Ok(true);
    }
    Ok(may_act_for(&caller.0, member_unit(state, &r.client.member).await?, root).is_ok())
}

/// Access requests the caller may see (as operator, provider or client admin), newest first.
#[utoipa::path(get, path = "/api/v1/exchange/access-requests", tag = "exchange", params(ListParams),
    responses((status = 200, body = Vec<RequestView>), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    caller.require_authenticated()?;
    let root = root_unit(&state).await?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "Tham số limit phải từ 1 đến 500"));
    }
    let q = AccessRequestQuery {
        state: p.state,
        provider: p.provider.as_deref().map(ClientId::parse).transpose().map_err(super::address_id)?,
        client: p.client.as_deref().map(ClientId::parse).transpose().map_err(super::address_id)?,
        service: None,
        limit,
    };
    let now = state.clock.now();
    let mut out = Vec::new();
    for r in state.store.access_requests(&q).await? {
        if p.overdue.is_some_and(|o| o != r.is_overdue(now)) || !may_see(&state, &caller, &r, root).await? {
            continue;
        }
        out.push(view(&state, r));
    }
    Ok(Json(out))
}

pub async fn load(state: &AppState, id: Uuid) -> Result<AccessRequest, ApiError> {
    state.store.access_request(id).await?.ok_or_else(|| ApiError::not_found("đề nghị"))
}

/// One access request with its answer.
#[utoipa::path(get, path = "/api/v1/exchange/access-requests/{id}", tag = "exchange", params(("id" = Uuid, Path)),
    responses((status = 200, body = RequestView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RequestView>, ApiError> {
    caller.require_authenticated()?;
    let root = root_unit(&state).await?;
    let r = load(&state, id).await?;
    if !may_see(&state, &caller, &r, root).await? {
        return Err(cqs_domain::auth::Denied::NoRoleInUnit.into());
    }
    Ok(Json(view(&state, r)))
}

/// Answer a request: grant (all or some of the endpoints asked for) or refuse in writing with the
/// reasons and the legal restriction relied on. The operator or an admin of the provider member.
/// An answer after the due date is recorded as late.
#[utoipa::path(post, path = "/api/v1/exchange/access-requests/{id}/decision", tag = "exchange", params(crate::idempotency::IdempotencyKeyHeader, ("id" = Uuid, Path)),
    request_body = Decision,
    responses((status = 200, body = RequestView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> Result<Json<RequestView>, ApiError> {
    caller.require_authenticated()?;
    let r = to_answer(&state, &caller, id).await?;
    let decision: Decision = read_json(req, state.limits.json_body).await?;
    let answered = answer(&state, &caller, r, decision).await?;
    Ok(Json(view(&state, answered)))
}

/// A request the caller may answer (as operator or admin of the provider member). Only
/// [`to_answer`] makes one, so [`answer`] needs neither a second load nor a second check.
pub struct ToAnswer(AccessRequest);

impl ToAnswer {
    pub fn request(&self) -> &AccessRequest {
        &self.0
    }
}

/// Loads a request and checks that the caller may answer it.
pub async fn to_answer(state: &AppState, caller: &Caller, id: Uuid) -> Result<ToAnswer, ApiError> {
    let r = load(state, id).await?;
    may_act_for(&caller.0, member_unit(state, &r.service.provider.member).await?, root_unit(state).await?)?;
    Ok(ToAnswer(r))
}

/// Records the provider's answer to a request, with the grants it makes.
pub async fn answer(
    state: &AppState,
    caller: &Caller,
    ToAnswer(r): ToAnswer,
    decision: Decision,
) -> Result<AccessRequest, ApiError> {
    let id = r.id;
    let now = state.clock.now();
    let decided = request::decide(&r, decision, now)?;
    let by = actor_id(caller).unwrap_or(Uuid::nil());
    let grants: Vec<Grant> = decided
        .grants
        .iter()
        .map(|endpoint| Grant {
            id: Uuid::now_v7(),
            service: r.service.clone(),
            client: r.client.clone(),
            endpoint: endpoint.clone(),
            granted_at: now,
            granted_by: Some(by),
            access_request_id: Some(r.id),
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        })
        .collect();
    let answered = state.store.record_decision(id, &decided, by, now, &grants).await?;
    super::registry_changed(state).await;
    Ok(answered)
}
