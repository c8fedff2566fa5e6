//! `/api/v1/organizations`: organization (business) accounts. The province's administrators
//! open one for an enterprise code with its first admin member (after checking the business
//! registration); its admin members add and remove members; every member submits for it and
//! follows its dossiers.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cqs_domain::auth::{Denied, Principal};
use cqs_domain::identity::CitizenLogin;
use cqs_domain::identity::organization::{MemberRole, Membership, parse_enterprise_code};
use cqs_store::{Member, MemberChange, Organization, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, read_json};
use crate::identity::ClientContext;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Mã số doanh nghiệp: 10 digits, or 10 + "-" + 3 for a branch.
    pub enterprise_code: String,
    pub name: String,
    /// Personal identity number of the citizen account that will administer it.
    pub admin_identity_number: String,
}

/// An organization with its members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationView {
    #[serde(flatten)]
    pub organization: Organization,
    pub members: Vec<Member>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Personal identity number of a registered citizen account.
    pub identity_number: String,
    pub role: MemberRole,
}

/// Records an organization change in the security log.
async fn logged(state: &AppState, caller: &Caller, client: &ClientContext, detail: String) {
    let kind = cqs_domain::identity::SecurityEventKind::OrganizationChanged;
    crate::auth::audit::record(state, kind, caller.account(), client, None, Some(detail)).await;
}

fn not_found() -> ApiError {
    ApiError::not_found("tổ chức")
}

async fn citizen_by_identity(state: &AppState, identity: &str) -> Result<Option<cqs_store::CitizenAccount>, ApiError> {
    let login = CitizenLogin::IdentityNumber(identity.trim().to_owned());
    Ok(state.store.citizen_credentials(&login).await?.map(|c| c.account))
}

/// Open an organization account for an enterprise code, with its first admin member (a
/// registered citizen). Administrators of the province only, after checking the registration.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "auth", params(crate::idempotency::IdempotencyKeyHeader), request_body = NewOrganization,
    responses((status = 201, body = OrganizationView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "Mã số doanh nghiệp đã có tài khoản"),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require_authenticated()?;
    caller.0.may_open_organization(root_unit(&state).await?)?;
    let input: NewOrganization = read_json(req, state.limits.json_body).await?;
    let mut errors = Vec::new();
    let code = parse_enterprise_code(&input.enterprise_code);
    if let Err(e) = &code {
        errors.push(field("/enterprise_code", "Mã số doanh nghiệp", e.to_string()));
    }
    let name = cqs_domain::text::nfc(input.name.trim());
    if name.is_empty() || name.chars().count() > 300 {
        errors.push(field("/name", "Tên tổ chức", "Nhập tên tổ chức (tối đa 300 ký tự)".into()));
    }
    let admin = citizen_by_identity(&state, &input.admin_identity_number).await?;
    if admin.is_none() {
        errors.push(field(
            "/admin_identity_number",
            "Người quản trị",
            "Chưa có tài khoản công dân với số định danh này".into(),
        ));
    }
    let (Ok(code), Some(admin), true) = (code, admin, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let org = Organization {
        id: Uuid::now_v7(),
        enterprise_code: code.as_str().to_owned(),
        name,
        created_at: state.clock.now(),
    };
    match state.store.create_organization(&org, admin.id).await {
        Ok(()) => {}
        Err(StoreError::Taken(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "organization_exists",
                "Mã số doanh nghiệp này đã có tài khoản tổ chức",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    logged(&state, &caller, &client, format!("mở tài khoản tổ chức {}", org.enterprise_code)).await;
    let members = state.store.members(org.id).await?;
    Ok((StatusCode::CREATED, Json(OrganizationView { organization: org, members })).into_response())
}

fn field(pointer: &str, label: &str, message: String) -> cqs_domain::form::FieldError {
    cqs_domain::form::FieldError { field: pointer.into(), label: label.into(), message }
}

async fn find(state: &AppState, id: Uuid) -> Result<Organization, ApiError> {
    state.store.organization(id).await?.ok_or_else(not_found)
}

/// An organization and its members: for its members and the province's administrators.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "auth", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganizationView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OrganizationView>, ApiError> {
    caller.require_authenticated()?;
    caller.0.may_view_organization(id, root_unit(&state).await?)?;
    let organization = find(&state, id).await?;
    Ok(Json(OrganizationView { members: state.store.members(id).await?, organization }))
}

/// Add a member (a registered citizen) or change a member's role: the organization's admins.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members", tag = "auth", params(crate::idempotency::IdempotencyKeyHeader, ("id" = Uuid, Path)),
    request_body = NewMember,
    responses((status = 200, body = OrganizationView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "Tổ chức sẽ không còn người quản trị"),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn put_member(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> Result<Json<OrganizationView>, ApiError> {
    caller.require_authenticated()?;
    caller.0.may_manage_organization(id, root_unit(&state).await?)?;
    let input: NewMember = read_json(req, state.limits.json_body).await?;
    let organization = find(&state, id).await?;
    let Some(account) = citizen_by_identity(&state, &input.identity_number).await? else {
        let e =
            field("/identity_number", "Số định danh cá nhân", "Chưa có tài khoản công dân với số định danh này".into());
        return Err(ApiError::validation(vec![e]));
    };
    changed(state.store.put_member(id, account.id, input.role, state.clock.now()).await?)?;
    let detail = format!("{}: thành viên {} là {}", organization.enterprise_code, account.id, input.role.as_str());
    logged(&state, &caller, &client, detail).await;
    Ok(Json(OrganizationView { members: state.store.members(id).await?, organization }))
}

fn changed(c: MemberChange) -> Result<(), ApiError> {
    match c {
        MemberChange::Done => Ok(()),
        MemberChange::NotFound => Err(ApiError::not_found("thành viên")),
        MemberChange::LastAdmin => {
            Err(ApiError::new(StatusCode::CONFLICT, "last_admin", "Tổ chức phải còn ít nhất một người quản trị"))
        }
    }
}

/// Remove a member: the organization's admins (or the member themself, leaving).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{account_id}", tag = "auth",
    params(crate::idempotency::IdempotencyKeyHeader, ("id" = Uuid, Path), ("account_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    ApiPath((id, account_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    caller.require_authenticated()?;
    let leaving = matches!(&caller.0, Principal::Citizen { account_id: me, .. } if *me == account_id);
    if !leaving {
        caller.0.may_manage_organization(id, root_unit(&state).await?)?;
    }
    changed(state.store.remove_member(id, account_id).await?)?;
    logged(&state, &caller, &client, format!("tổ chức {id}: bỏ thành viên {account_id}")).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's organizations (citizens).
#[utoipa::path(get, path = "/api/v1/me/organizations", tag = "auth",
    responses((status = 200, body = Vec<Membership>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn mine(caller: Caller) -> Result<Json<Vec<Membership>>, ApiError> {
    caller.require_authenticated()?;
    match &caller.0 {
        Principal::Citizen { organizations, .. } => Ok(Json(organizations.clone())),
        _ => Err(Denied::NoRoleInUnit.into()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DossierParams {
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The organization's dossiers submitted online by its members, newest first: for its members.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/dossiers", tag = "auth", params(("id" = Uuid, Path), DossierParams),
    responses((status = 200, body = crate::api::me::MyDossiers), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn dossiers(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(p): ApiQuery<DossierParams>,
) -> Result<Json<crate::api::me::MyDossiers>, ApiError> {
    caller.require_authenticated()?;
    let is_member = matches!(&caller.0, Principal::Citizen { organizations, .. } if organizations.iter().any(|m| m.organization_id == id));
    if !is_member {
        return Err(match &caller.0 {
            Principal::Citizen { .. } => Denied::NotOrganizationMember,
            _ => Denied::NoRoleInUnit,
        }
        .into());
    }
    let organization = find(&state, id).await?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "Tham số limit phải từ 1 đến 200"));
    }
    let after = p.cursor.as_deref().map(crate::api::inbox::parse_cursor).transpose()?;
    let rows = state.store.enterprise_dossiers(&organization.enterprise_code, after, limit + 1).await?;
    let (items, next_cursor) = crate::api::inbox::page(&state, rows, limit, state.clock.now(), |r| r.received_at)?;
    Ok(Json(crate::api::me::MyDossiers { items, next_cursor }))
}
