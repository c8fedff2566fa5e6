//! Catalog endpoints: procedures (public read, admin write), fields and org units.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cqs_domain::catalog::{Deadline, Field, OnlineLevel, ProcedureSpec, ProcedureVersion, select_in_force};
use cqs_domain::dossier::local_date;
use cqs_domain::form::FormSchema;
use cqs_domain::ids::ProcedureCode;
use cqs_domain::org::OrgUnit;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, read_json};

/// Compiled e-form schemas by procedure version id. A published version never changes, so an
/// entry never goes stale and every node may keep its own copy.
#[derive(Clone, Default)]
pub struct FormCache(Arc<RwLock<HashMap<Uuid, Arc<FormSchema>>>>);

impl FormCache {
    pub fn get(&self, v: &ProcedureVersion) -> Result<Arc<FormSchema>, ApiError> {
        if let Some(f) = self.0.read().expect("form cache lock").get(&v.id) {
            return Ok(f.clone());
        }
        let compiled = Arc::new(FormSchema::compile(&v.spec.form_schema).map_err(|e| {
            tracing::error!(procedure = %v.spec.code, version = v.version, error = %e, "stored form schema does not compile");
            ApiError::internal()
        })?);
        self.0.write().expect("form cache lock").insert(v.id, compiled.clone());
        Ok(compiled)
    }
}

/// One procedure in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProcedureSummary {
    pub code: String,
    pub name: String,
    pub field: String,
    pub online_level: OnlineLevel,
    pub online_level_label: &'static str,
    pub deadline: Deadline,
    pub version: i32,
    /// Sum of the listed fees, in đồng.
    pub total_fee: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProcedurePage {
    pub items: Vec<ProcedureSummary>,
    pub total: usize,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProcedureQuery {
    /// Words to find in the name, code or summary; case and diacritics are ignored
    /// ("dang ky ket hon" finds "Đăng ký kết hôn").
    pub q: Option<String>,
    /// Field (lĩnh vực) code.
    pub field: Option<String>,
    /// Only procedures that accept online submission.
    pub online: Option<bool>,
    /// Only procedures received at this unit (agency code).
    pub unit: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Published versions in force today, one per procedure code.
pub async fn in_force_today(state: &AppState) -> Result<Vec<ProcedureVersion>, ApiError> {
    let today = local_date(state.clock.now());
    let all = state.store.published_versions().await?;
    let mut by_code: HashMap<String, Vec<ProcedureVersion>> = HashMap::new();
    for v in all {
        by_code.entry(v.spec.code.to_string()).or_default().push(v);
    }
    let mut out: Vec<ProcedureVersion> =
        by_code.values().filter_map(|vs| select_in_force(vs, today).cloned()).collect();
    out.sort_by(|a, b| a.spec.code.cmp(&b.spec.code));
    Ok(out)
}

/// The unit selector check shared with intake: is `unit` one of the procedure's receiving units?
pub fn receives_at(spec: &ProcedureSpec, unit: &OrgUnit) -> bool {
    use cqs_domain::catalog::UnitSelector;
    spec.receiving_units.iter().any(|s| match s {
        UnitSelector::Kind(k) => *k == unit.kind,
        UnitSelector::Code(c) => *c == unit.code,
    })
}

/// What a catalog search asks for; every part is optional.
#[derive(Debug, Default, Clone)]
pub struct CatalogFilter {
    /// Words to find in the name, code or summary (case and diacritics ignored).
    pub text: Option<String>,
    pub field: Option<String>,
    pub online: Option<bool>,
    pub unit: Option<OrgUnit>,
    /// Only procedures this unit receives or decides (the portal's "by agency").
    pub agency: Option<OrgUnit>,
}

/// Procedures in force today that match the filter, by code. The API and the portal both
/// search through here.
pub async fn search(state: &AppState, f: &CatalogFilter) -> Result<Vec<ProcedureVersion>, ApiError> {
    let query =
        f.text.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect::<String>());
    Ok(in_force_today(state)
        .await?
        .into_iter()
        .filter(|v| f.field.as_ref().is_none_or(|x| &v.spec.field == x))
        .filter(|v| f.online.is_none_or(|o| o == v.spec.online_level.allows_online_submission()))
        .filter(|v| f.unit.as_ref().is_none_or(|u| receives_at(&v.spec, u)))
        .filter(|v| f.agency.as_ref().is_none_or(|u| handled_by(&v.spec, u)))
        .filter(|v| query.as_ref().is_none_or(|s| cqs_domain::text::matches(&v.spec.search_text(), s)))
        .collect())
}

/// Whether `unit` receives or decides the procedure: where a citizen looks for it by agency.
pub fn handled_by(spec: &ProcedureSpec, unit: &OrgUnit) -> bool {
    receives_at(spec, unit) || matches!(&spec.deciding_unit, cqs_domain::catalog::UnitRef::Code(c) if *c == unit.code)
}

/// List procedures in force, with search that ignores case and diacritics.
#[utoipa::path(get, path = "/api/v1/procedures", tag = "catalog", params(ProcedureQuery),
    responses((status = 200, body = ProcedurePage), (status = 400, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem, description = "Không có đơn vị mang mã `unit`")))]
pub async fn list_procedures(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProcedureQuery>,
) -> Result<Json<ProcedurePage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "Tham số limit phải từ 1 đến 200"));
    }
    let unit = match &q.unit {
        Some(code) => Some(state.store.org_unit_by_code(code).await?.ok_or_else(|| ApiError::not_found("đơn vị"))?),
        None => None,
    };
    let filter = CatalogFilter { text: q.q.clone(), field: q.field.clone(), online: q.online, unit, agency: None };
    let matching = search(&state, &filter).await?;
    let total = matching.len();
    let items = matching
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(limit)
        .map(|v| ProcedureSummary {
            code: v.spec.code.to_string(),
            name: v.spec.name.clone(),
            field: v.spec.field.clone(),
            online_level: v.spec.online_level,
            online_level_label: v.spec.online_level.label_vi(),
            deadline: v.spec.deadline,
            version: v.version,
            total_fee: v.spec.fees.iter().map(|f| f.amount).sum(),
        })
        .collect();
    Ok(Json(ProcedurePage { items, total }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// A specific version number; by default the published version in force today.
    pub version: Option<i32>,
}

/// One procedure: the version in force today, or the one asked for. Drafts are visible only to
/// catalog administrators.
#[utoipa::path(get, path = "/api/v1/procedures/{code}", tag = "catalog",
    params(("code" = String, Path, description = "Mã thủ tục, ví dụ 1.001193"), VersionQuery),
    responses((status = 200, body = ProcedureVersion), (status = 404, body = crate::error::Problem)),
    security((), ("api_key" = [])))]
pub async fn get_procedure(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> Result<Json<ProcedureVersion>, ApiError> {
    let code =
        ProcedureCode::parse(&code).map_err(|e| ApiError::bad_request("invalid_procedure_code", e.to_string()))?;
    let versions = state.store.procedure_versions(code.as_str()).await?;
    let found = match q.version {
        Some(n) => {
            let v = versions
                .into_iter()
                .find(|v| v.version == n)
                .ok_or_else(|| ApiError::not_found("phiên bản thủ tục"))?;
            if v.status == cqs_domain::catalog::VersionStatus::Draft {
                caller.0.may_write_catalog(root_unit(&state).await?)?;
            }
            v
        }
        None => select_in_force(&versions, local_date(state.clock.now()))
            .cloned()
            .ok_or_else(|| ApiError::not_found("thủ tục"))?,
    };
    Ok(Json(found))
}

/// The province's root unit (the one without a parent that is valid today); catalog rights are
/// held there.
pub async fn root_unit(state: &AppState) -> Result<Uuid, ApiError> {
    let today = local_date(state.clock.now());
    state
        .store
        .org_units()
        .await?
        .into_iter()
        .find(|u| u.parent_id.is_none() && u.is_valid_on(today))
        .map(|u| u.id)
        .ok_or_else(|| ApiError::not_found("đơn vị gốc của tỉnh"))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionCreated {
    pub code: String,
    pub version: i32,
    /// False when the spec equalled the latest version, which is returned instead.
    pub created: bool,
}

/// Add a draft version of a procedure (or a new procedure). Requires `catalog:write`.
#[utoipa::path(post, path = "/api/v1/procedures", tag = "catalog", params(crate::idempotency::IdempotencyKeyHeader), request_body = ProcedureSpec,
    responses((status = 201, body = VersionCreated), (status = 200, body = VersionCreated),
        (status = 422, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn create_procedure_version(
    State(state): State<AppState>,
    caller: Caller,
    req: axum::extract::Request,
) -> Result<(StatusCode, Json<VersionCreated>), ApiError> {
    caller.0.may_write_catalog(root_unit(&state).await?)?;
    let spec: ProcedureSpec = read_json(req, state.limits.json_body).await?;
    let problems = crate::rules::check_spec_references(&state, &spec).await?;
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let added = state.store.add_procedure_versions(std::slice::from_ref(&spec), false).await?;
    let a = &added[0];
    let status = if a.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(VersionCreated { code: a.code.clone(), version: a.version, created: a.created })))
}

/// Publish a draft version. Requires `catalog:write`.
#[utoipa::path(post, path = "/api/v1/procedures/{code}/versions/{version}/publish", tag = "catalog",
    params(crate::idempotency::IdempotencyKeyHeader, ("code" = String, Path), ("version" = i32, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 403, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn publish_version(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, version)): ApiPath<(String, i32)>,
) -> Result<StatusCode, ApiError> {
    caller.0.may_write_catalog(root_unit(&state).await?)?;
    state.store.publish_procedure_version(&code, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Fields (lĩnh vực).
#[utoipa::path(get, path = "/api/v1/fields", tag = "catalog", responses((status = 200, body = Vec<Field>)))]
pub async fn list_fields(State(state): State<AppState>) -> Result<Json<Vec<Field>>, ApiError> {
    Ok(Json(state.store.fields().await?))
}

/// Org units with their QCVN 102 codes, validity and successors.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "catalog", responses((status = 200, body = Vec<OrgUnit>)))]
pub async fn list_org_units(State(state): State<AppState>) -> Result<Json<Vec<OrgUnit>>, ApiError> {
    Ok(Json(state.store.org_units().await?))
}
