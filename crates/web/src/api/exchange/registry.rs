//! The registry: members (agencies), subsystems (information systems) with their credentials,
//! services with their OpenAPI descriptions, grants and client limits.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use chrono::Utc;
use cqs_domain::exchange::access::{may_act_for, may_operate, may_read};
use cqs_domain::exchange::quota::Window;
use cqs_domain::exchange::registry::{Status, check_service, check_system_id, clean_name};
use cqs_domain::exchange::{ClientId, Endpoint, Grant, Member, MemberId, Service, ServiceId, ServiceSpec, Subsystem};
use cqs_store::exchange::{ClientLimit, NewMember, NewSubsystem};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{actor_id, client_from_path, member_unit, service_from_path};
use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, read_json};

type SubsystemPath = ApiPath<(String, String, String, String)>;
type ServicePath = ApiPath<(String, String, String, String, String)>;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// `INSTANCE/CLASS/CODE`; members of class GOV use their QCVN 102 agency code.
    #[schema(value_type = String, example = "VN-LH/GOV/000.00.05.H99")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: Option<Status>,
}

/// List members. Any signed-in caller.
#[utoipa::path(get, path = "/api/v1/exchange/members", tag = "exchange",
    responses((status = 200, body = Vec<Member>), (status = 401, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list_members(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Member>>, ApiError> {
    may_read(&caller.0)?;
    Ok(Json(state.store.exchange_members().await?))
}

/// Add a member or change its name and status. The platform operator only (admin of the
/// province's root unit). A GOV member is linked to the org unit with its agency code.
#[utoipa::path(post, path = "/api/v1/exchange/members", tag = "exchange", params(crate::idempotency::IdempotencyKeyHeader), request_body = MemberInput,
    responses((status = 200, body = Member), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn upsert_member(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Json<Member>, ApiError> {
    may_operate(&caller.0, root_unit(&state).await?)?;
    let input: MemberInput = read_json(req, state.limits.json_body).await?;
    Ok(Json(save_member(&state, &caller, input).await?))
}

/// Adds or changes a member (the API and the console both come here).
pub async fn save_member(state: &AppState, caller: &Caller, input: MemberInput) -> Result<Member, ApiError> {
    may_operate(&caller.0, root_unit(state).await?)?;
    let id = MemberId::parse(&input.id)?;
    let org_unit_id = match id.agency_code() {
        Some(code) => state.store.org_unit_by_code(code.as_str()).await?.map(|u| u.id),
        None => None,
    };
    let m = NewMember {
        id,
        name: clean_name(&input.name)?,
        org_unit_id,
        status: input.status.unwrap_or(Status::Active),
        at: state.clock.now(),
    };
    Ok(state.store.upsert_member(&m).await?)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubsystemInput {
    /// `INSTANCE/CLASS/MEMBER/SUBSYSTEM`.
    #[schema(value_type = String, example = "VN-LH/GOV/000.00.31.H99/mot-cua")]
    pub id: String,
    pub name: String,
    /// Short code sent as `X-SystemId`; by default the subsystem code.
    #[serde(default)]
    pub system_id: Option<String>,
}

/// List subsystems (never their secrets). Any signed-in caller.
#[utoipa::path(get, path = "/api/v1/exchange/subsystems", tag = "exchange",
    responses((status = 200, body = Vec<Subsystem>), (status = 401, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list_subsystems(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Subsystem>>, ApiError> {
    may_read(&caller.0)?;
    Ok(Json(state.store.exchange_subsystems().await?))
}

/// Register an information system of a member. The operator or an admin of the member's unit.
#[utoipa::path(post, path = "/api/v1/exchange/subsystems", tag = "exchange", params(crate::idempotency::IdempotencyKeyHeader), request_body = SubsystemInput,
    responses((status = 201, body = Subsystem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn create_subsystem(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<(StatusCode, Json<Subsystem>), ApiError> {
    caller.require_authenticated()?;
    let input: SubsystemInput = read_json(req, state.limits.json_body).await?;
    Ok((StatusCode::CREATED, Json(add_subsystem(&state, &caller, input).await?)))
}

/// Registers an information system of a member.
pub async fn add_subsystem(state: &AppState, caller: &Caller, input: SubsystemInput) -> Result<Subsystem, ApiError> {
    let root = root_unit(state).await?;
    let id = ClientId::parse(&input.id)?;
    may_act_for(&caller.0, member_unit(state, &id.member).await?, root)?;
    let system_id = input.system_id.unwrap_or_else(|| id.subsystem.as_str().to_owned());
    check_system_id(&system_id)?;
    let s =
        NewSubsystem { id, name: clean_name(&input.name)?, system_id, status: Status::Active, at: state.clock.now() };
    let created = state.store.create_subsystem(&s).await?;
    super::registry_changed(state).await;
    Ok(created)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubsystemPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<Status>,
}

/// Rename a subsystem or change its status (a disabled system can neither call nor be called).
#[utoipa::path(patch, path = "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}", tag = "exchange",
    params(crate::idempotency::IdempotencyKeyHeader, ("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path)),
    request_body = SubsystemPatch,
    responses((status = 200, body = Subsystem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn update_subsystem(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): SubsystemPath,
    req: Request,
) -> Result<Json<Subsystem>, ApiError> {
    caller.require_authenticated()?;
    let id = client_from_path(&path)?;
    may_act_for(&caller.0, member_unit(&state, &id.member).await?, root_unit(&state).await?)?;
    let patch: SubsystemPatch = read_json(req, state.limits.json_body).await?;
    Ok(Json(change_subsystem(&state, &caller, &id, patch).await?))
}

/// Renames a subsystem or changes its status.
pub async fn change_subsystem(
    state: &AppState,
    caller: &Caller,
    id: &ClientId,
    patch: SubsystemPatch,
) -> Result<Subsystem, ApiError> {
    may_act_for(&caller.0, member_unit(state, &id.member).await?, root_unit(state).await?)?;
    let name = patch.name.as_deref().map(clean_name).transpose()?;
    let s = state.store.update_subsystem(id, name.as_deref(), patch.status, state.clock.now()).await?;
    super::registry_changed(state).await;
    Ok(s)
}

/// A newly issued secret, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedSecret {
    #[schema(value_type = String)]
    pub client: ClientId,
    /// Send as `X-SystemId`.
    pub system_id: String,
    /// Send as `X-SecretKey`, or exchange for a token at `/api/v1/exchange/token`. Shown only now.
    pub secret: String,
    pub credential_version: i32,
}

/// Issue a new secret for a subsystem; the old one and every token made from it stop working.
#[utoipa::path(post, path = "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}/secret", tag = "exchange",
    params(("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path)),
    responses((status = 201, body = IssuedSecret), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn issue_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): SubsystemPath,
) -> Result<(StatusCode, Json<IssuedSecret>), ApiError> {
    caller.require_authenticated()?;
    let id = client_from_path(&path)?;
    Ok((StatusCode::CREATED, Json(new_secret(&state, &caller, id).await?)))
}

/// Issues a new secret for a subsystem, ending the old one and its tokens.
pub async fn new_secret(state: &AppState, caller: &Caller, id: ClientId) -> Result<IssuedSecret, ApiError> {
    may_act_for(&caller.0, member_unit(state, &id.member).await?, root_unit(state).await?)?;
    let secret = hex::encode(rand::rng().random::<[u8; 32]>());
    let version = state.store.set_subsystem_secret(&id, &crate::auth::hash_secret(&secret), state.clock.now()).await?;
    let system_id = state
        .store
        .exchange_subsystems()
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.system_id)
        .ok_or_else(|| ApiError::not_found("hệ thống"))?;
    tracing::info!(target: "security", client = %id, credential_version = version, "exchange secret issued");
    super::registry_changed(state).await;
    Ok(IssuedSecret { client: id, system_id, secret, credential_version: version })
}

/// A service with the endpoints its description lists.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceView {
    #[serde(flatten)]
    pub service: Service,
    pub endpoints: Vec<Endpoint>,
}

impl From<Service> for ServiceView {
    fn from(service: Service) -> Self {
        Self { endpoints: service.endpoints(), service }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServiceParams {
    /// Only services of this provider subsystem (`INSTANCE/CLASS/MEMBER/SUBSYSTEM`).
    pub provider: Option<String>,
    pub status: Option<Status>,
}

/// The service catalog. Any signed-in caller.
#[utoipa::path(get, path = "/api/v1/exchange/services", tag = "exchange", params(ServiceParams),
    responses((status = 200, body = Vec<ServiceView>), (status = 401, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list_services(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ServiceParams>,
) -> Result<Json<Vec<ServiceView>>, ApiError> {
    may_read(&caller.0)?;
    let provider = p.provider.as_deref().map(ClientId::parse).transpose().map_err(super::address_id)?;
    let list = state
        .store
        .exchange_services()
        .await?
        .into_iter()
        .filter(|s| provider.as_ref().is_none_or(|p| &s.id.provider == p) && p.status.is_none_or(|st| s.status == st))
        .map(ServiceView::from)
        .collect();
    Ok(Json(list))
}

/// One service, with its description and endpoints.
#[utoipa::path(get, path = "/api/v1/exchange/services/{instance}/{class}/{member}/{subsystem}/{service}", tag = "exchange",
    params(("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path),
        ("service" = String, Path)),
    responses((status = 200, body = ServiceView), (status = 401, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn get_service(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ServicePath,
) -> Result<Json<ServiceView>, ApiError> {
    may_read(&caller.0)?;
    let id = service_from_path(&path)?;
    Ok(Json(find_service(&state, &id).await?.into()))
}

pub(crate) async fn find_service(state: &AppState, id: &ServiceId) -> Result<Service, ApiError> {
    state
        .store
        .exchange_services()
        .await?
        .into_iter()
        .find(|s| &s.id == id)
        .ok_or_else(|| ApiError::not_found("dịch vụ"))
}

/// Add or replace a service of a subsystem (its code is in the body). The operator or an admin of
/// the provider member's unit. Answers 201 for a new service, 200 for a replaced one.
#[utoipa::path(post, path = "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}/services", tag = "exchange",
    params(crate::idempotency::IdempotencyKeyHeader, ("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path)),
    request_body = ServiceSpec,
    responses((status = 201, body = ServiceView), (status = 200, body = ServiceView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn upsert_service(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): SubsystemPath,
    req: Request,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
    caller.require_authenticated()?;
    let provider = client_from_path(&path)?;
    may_act_for(&caller.0, member_unit(&state, &provider.member).await?, root_unit(&state).await?)?;
    let spec: ServiceSpec = read_json(req, state.limits.json_body).await?;
    let (service, created) = save_service(&state, &caller, &provider, spec).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(service.into())))
}

/// Adds or replaces a service of a subsystem; says whether it is new.
pub async fn save_service(
    state: &AppState,
    caller: &Caller,
    provider: &ClientId,
    spec: ServiceSpec,
) -> Result<(Service, bool), ApiError> {
    may_act_for(&caller.0, member_unit(state, &provider.member).await?, root_unit(state).await?)?;
    let spec = check_service(spec)?;
    ServiceId::new(provider.clone(), &spec.code)?;
    if cqs_domain::exchange::ids::METASERVICES.contains(&spec.code.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reserved_service_code",
            "Mã dịch vụ trùng với tên siêu dịch vụ (listMethods, allowedMethods, getOpenAPI)",
        ));
    }
    let saved = state.store.upsert_service(provider, &spec, state.clock.now()).await?;
    super::registry_changed(state).await;
    Ok(saved)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GrantParams {
    /// Also list revoked grants.
    pub include_revoked: Option<bool>,
}

/// Grants of a service. The operator or an admin of the provider member.
#[utoipa::path(get, path = "/api/v1/exchange/services/{instance}/{class}/{member}/{subsystem}/{service}/grants", tag = "exchange",
    params(("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path),
        ("service" = String, Path), GrantParams),
    responses((status = 200, body = Vec<Grant>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list_grants(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ServicePath,
    ApiQuery(p): ApiQuery<GrantParams>,
) -> Result<Json<Vec<Grant>>, ApiError> {
    caller.require_authenticated()?;
    let id = service_from_path(&path)?;
    may_act_for(&caller.0, member_unit(&state, &id.provider.member).await?, root_unit(&state).await?)?;
    Ok(Json(state.store.exchange_grants(Some(&id), p.include_revoked.unwrap_or(false)).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    /// The client subsystem, possibly of another instance.
    #[schema(value_type = String, example = "VN-LH/GOV/000.00.31.H99/mot-cua")]
    pub client: String,
    /// One endpoint; none grants the whole service.
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
}

/// Grant a client access to a service or one endpoint, without a request (the provider's own
/// decision). The operator or an admin of the provider member.
#[utoipa::path(post, path = "/api/v1/exchange/services/{instance}/{class}/{member}/{subsystem}/{service}/grants", tag = "exchange",
    params(crate::idempotency::IdempotencyKeyHeader, ("instance" = String, Path), ("class" = String, Path), ("member" = String, Path), ("subsystem" = String, Path),
        ("service" = String, Path)),
    request_body = GrantInput,
    responses((status = 201, body = Grant), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn create_grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ServicePath,
    req: Request,
) -> Result<(StatusCode, Json<Grant>), ApiError> {
    caller.require_authenticated()?;
    let service = service_from_path(&path)?;
    may_act_for(&caller.0, member_unit(&state, &service.provider.member).await?, root_unit(&state).await?)?;
    let input: GrantInput = read_json(req, state.limits.json_body).await?;
    Ok((StatusCode::CREATED, Json(add_grant(&state, &caller, service, input).await?)))
}

/// Grants a client a service or one endpoint of it, on the provider's own decision.
pub async fn add_grant(
    state: &AppState,
    caller: &Caller,
    service: ServiceId,
    input: GrantInput,
) -> Result<Grant, ApiError> {
    may_act_for(&caller.0, member_unit(state, &service.provider.member).await?, root_unit(state).await?)?;
    let grant = Grant {
        id: Uuid::now_v7(),
        service,
        client: ClientId::parse(&input.client)?,
        endpoint: input.endpoint,
        granted_at: state.clock.now(),
        granted_by: actor_id(caller),
        access_request_id: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    };
    state.store.add_grants(std::slice::from_ref(&grant)).await?;
    super::registry_changed(state).await;
    Ok(grant)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInput {
    /// Why access ends (kept with the grant).
    pub reason: String,
}

/// Revoke a grant: calls under it are refused from now on. The operator or an admin of the
/// provider member.
#[utoipa::path(post, path = "/api/v1/exchange/grants/{id}/revoke", tag = "exchange",
    params(crate::idempotency::IdempotencyKeyHeader, ("id" = Uuid, Path)), request_body = RevokeInput,
    responses((status = 200, body = Grant), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> Result<Json<Grant>, ApiError> {
    caller.require_authenticated()?;
    let grant = find_grant(&state, &caller, id).await?;
    let input: RevokeInput = read_json(req, state.limits.json_body).await?;
    Ok(Json(revoke(&state, &caller, grant, input).await?))
}

/// A grant the caller was found to administer. Only [`find_grant`] makes one, so [`revoke`]
/// needs neither a second look-up nor a second check.
pub struct OwnGrant(Grant);

impl OwnGrant {
    pub fn grant(&self) -> &Grant {
        &self.0
    }
}

/// A grant the caller may administer (as operator or admin of the provider member).
pub async fn find_grant(state: &AppState, caller: &Caller, id: Uuid) -> Result<OwnGrant, ApiError> {
    let grant = state
        .store
        .exchange_grants(None, true)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::not_found("quyền truy cập"))?;
    may_act_for(&caller.0, member_unit(state, &grant.service.provider.member).await?, root_unit(state).await?)?;
    Ok(OwnGrant(grant))
}

/// Ends a grant, keeping the reason and who ended it.
pub async fn revoke(state: &AppState, caller: &Caller, grant: OwnGrant, input: RevokeInput) -> Result<Grant, ApiError> {
    let reason = clean_name(&input.reason)?;
    let by = actor_id(caller).unwrap_or(Uuid::nil());
    let g = state.store.revoke_grant(grant.0.id, by, &reason, state.clock.now()).await?;
    super::registry_changed(state).await;
    Ok(g)
}

/// List client limits. The operator.
#[utoipa::path(get, path = "/api/v1/exchange/limits", tag = "exchange",
    responses((status = 200, body = Vec<ClientLimit>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn list_limits(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ClientLimit>>, ApiError> {
    may_operate(&caller.0, root_unit(&state).await?)?;
    Ok(Json(state.store.registry_snapshot().await?.limits))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitInput {
    #[schema(value_type = String, example = "VN-LH/GOV/000.00.31.H99/mot-cua")]
    pub client: String,
    /// One service; none limits the client's calls to all services together.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub service: Option<String>,
    pub window: Window,
    /// Most calls in one window; null removes the limit.
    pub max_requests: Option<i64>,
}

/// Set (or with `max_requests: null` remove) a rate limit or quota of a client, counted across
/// all nodes. The operator.
#[utoipa::path(put, path = "/api/v1/exchange/limits", tag = "exchange", params(crate::idempotency::IdempotencyKeyHeader), request_body = LimitInput,
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn set_limit(State(state): State<AppState>, caller: Caller, req: Request) -> Result<StatusCode, ApiError> {
    may_operate(&caller.0, root_unit(&state).await?)?;
    let input: LimitInput = read_json(req, state.limits.json_body).await?;
    put_limit(&state, &caller, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets or (with no maximum) removes a client limit.
pub async fn put_limit(state: &AppState, caller: &Caller, input: LimitInput) -> Result<(), ApiError> {
    may_operate(&caller.0, root_unit(state).await?)?;
    let limit = ClientLimit {
        client: ClientId::parse(&input.client)?,
        service: input.service.as_deref().map(ServiceId::parse).transpose()?,
        window: input.window,
        max_requests: input.max_requests.unwrap_or(0),
    };
    match input.max_requests {
        Some(n) if n < 0 => {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit", "Giới hạn không được âm"));
        }
        Some(_) => state.store.set_limit(&limit, Utc::now()).await?,
        None => {
            state.store.delete_limit(&limit).await?;
        }
    }
    super::registry_changed(state).await;
    Ok(())
}
