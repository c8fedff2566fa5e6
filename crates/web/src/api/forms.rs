//! The one-stop forms as PDF: each form a dossier has (receipt, supplement request, refusal,
//! apology, stop notice, control sheet), authorized like the dossier itself, and a unit's
//! register for a period, for the unit's staff.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::AppState;
use crate::api::workflow::Context;
use crate::auth::Caller;
use crate::documents::forms::{FormLink, available, dossier_form, links, register_form, set_of};
use crate::error::{ApiError, ApiPath, ApiQuery};

async fn authorized(state: &AppState, caller: &Caller, code: &str) -> Result<Context, ApiError> {
    caller.require_authenticated()?;
    let ctx = Context::load(state, code).await?;
    caller.0.may_read_dossier(&ctx.involved_units(), ctx.dossier.submitted_by_client, ctx.dossier.owner())?;
    Ok(ctx)
}

/// A PDF response with a file name.
pub fn pdf(bytes: Vec<u8>, file_name: &str) -> Result<Response, ApiError> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_DISPOSITION, format!("inline; filename=\"{file_name}\""))
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(Body::from(bytes))
        .map_err(|_| ApiError::internal())
}

/// The forms the dossier has now (Mẫu 01–05/06 of its form set), with their download links.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/forms", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ")),
    responses((status = 200, body = Vec<FormLink>), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<FormLink>>, ApiError> {
    let ctx = authorized(&state, &caller, &code).await?;
    let history = state.store.history(ctx.dossier.id).await?;
    let set = set_of(&state, &ctx.dossier)?;
    Ok(Json(links(set, ctx.dossier.code.as_str(), &history)))
}

/// One form of the dossier as PDF/A, by its number in the dossier's form set ("01") or its kind
/// ("receipt"). A form the dossier does not have yet (a receipt before acceptance, a refusal of
/// an accepted dossier) is 409 `form_not_issued`.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/forms/{form}", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ"), ("form" = String, Path, description = "Số mẫu (01) hoặc loại (receipt)")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, form)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let ctx = authorized(&state, &caller, &code).await?;
    let set = set_of(&state, &ctx.dossier)?;
    let spec = set.form(&form).ok_or_else(|| ApiError::not_found("mẫu biểu này trong bộ biểu mẫu của hồ sơ"))?;
    let history = state.store.history(ctx.dossier.id).await?;
    let issued = available(set, &history).into_iter().find(|f| f.kind == spec.kind).ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "form_not_issued", format!("Hồ sơ chưa có {}", spec.title.to_lowercase()))
    })?;
    let (data, date) = dossier_form(&state, &ctx, &history, issued, spec).await?;
    let code = ctx.dossier.code.as_str();
    let bytes = state.documents.render(set, spec, data, state.documents.lookup_url(code), date).await?;
    pdf(bytes, &format!("mau-{}-{code}.pdf", spec.number))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegisterParams {
    /// Agency code of the unit; by default the caller's first unit.
    pub unit: Option<String>,
    /// First day (yyyy-mm-dd, Vietnam time); required.
    pub from: Option<NaiveDate>,
    /// Last day, included; at most 366 days after `from`; required.
    pub to: Option<NaiveDate>,
}

/// Most dossiers one register lists; a busier period is asked for in parts.
const REGISTER_MAX: i64 = 5_000;

/// The register of dossiers a unit received in a period (Sổ theo dõi hồ sơ, Mẫu 06 of TT
/// 01/2018, Mẫu 07 of TT 03/2025) as PDF/A, for staff of that unit.
#[utoipa::path(get, path = "/api/v1/register", tag = "dossiers", params(RegisterParams),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<RegisterParams>,
) -> Result<Response, ApiError> {
    let (unit_id, _) = crate::api::inbox::staff_unit(&state, &caller, p.unit.as_deref()).await?;
    let (Some(from), Some(to)) = (p.from, p.to) else {
        return Err(ApiError::bad_request("invalid_period", "Cần ngày đầu (from) và ngày cuối (to) của kỳ"));
    };
    if to < from || (to - from).num_days() > 366 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_period",
            "Kỳ báo cáo phải từ một ngày đến một năm, ngày đầu không sau ngày cuối",
        ));
    }
    let unit = state
        .store
        .org_units()
        .await?
        .into_iter()
        .find(|u| u.id == unit_id)
        .ok_or_else(|| ApiError::not_found("đơn vị"))?;
    let (start, end) =
        (crate::api::inbox::local_start(from), crate::api::inbox::local_start(to + chrono::Days::new(1)));
    let rows = state.store.register(unit_id, start, end, REGISTER_MAX + 1).await?;
    if rows.len() as i64 > REGISTER_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "period_too_busy",
            format!("Kỳ này có hơn {REGISTER_MAX} hồ sơ; hãy xuất sổ theo từng khoảng ngắn hơn"),
        ));
    }
    let set = state.documents.form_sets.on(to).ok_or_else(|| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_form_set", "Không có bộ biểu mẫu cho kỳ này")
    })?;
    let spec = set.form_of_kind(cqs_domain::forms::FormKind::Register).ok_or_else(ApiError::internal)?;
    let data = register_form(&state, &unit, from, to, &rows).await?;
    let today = cqs_domain::dossier::local_date(state.clock.now());
    let lookup = state.documents.lookup_url("");
    let bytes = state.documents.render(set, spec, data, lookup, today).await?;
    pdf(bytes, &format!("so-theo-doi-{}-{}-{}.pdf", unit.code, from, to))
}
