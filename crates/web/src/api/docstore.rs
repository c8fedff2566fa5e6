//! Each person's electronic document store (kho dữ liệu điện tử): a citizen lists and downloads
//! their own stored documents and asks which ones can fill the components of a procedure; an
//! officer handling a dossier keeps a verified component in the applicant's store; staff and
//! clients who may read a dossier download the stored documents it reused, and nothing else.
//! The portal's pages call these functions (see docs/architecture.md, "Document store").

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use cqs_domain::auth::{Denied, Principal, Role};
use cqs_domain::docstore::{Offer, StoredDocument, offers};
use cqs_domain::dossier::local_date;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::api::workflow::Context;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, read_json};

/// The identity number of a signed-in citizen: whose store they may see.
fn owner(caller: &Caller) -> Result<&str, ApiError> {
    caller.require_authenticated()?;
    match &caller.0 {
        Principal::Citizen { identity_number, .. } => Ok(identity_number),
        _ => Err(Denied::NotOwner.into()),
    }
}

/// The signed-in citizen's stored documents, newest first.
#[utoipa::path(get, path = "/api/v1/me/documents", tag = "auth",
    responses((status = 200, body = Vec<StoredDocument>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn mine(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<StoredDocument>>, ApiError> {
    let who = owner(&caller)?;
    Ok(Json(state.store.stored_documents(who).await?))
}

/// Sends a stored file, checked against its recorded hash.
async fn send(state: &AppState, doc: &StoredDocument, key: &str) -> Result<Response, ApiError> {
    let bytes = state.files.read_checked(key, &doc.sha256).await.map_err(|e| {
        tracing::error!(error = %e, "stored document unreadable");
        ApiError::internal()
    })?;
    let ext = if doc.content_type == "application/pdf" { "pdf" } else { "bin" };
    Response::builder()
        .header(header::CONTENT_TYPE, &doc.content_type)
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"giay-to-{}.{ext}\"", doc.id))
        .header("x-content-type-options", "nosniff")
        .body(Body::from(bytes))
        .map_err(|_| ApiError::internal())
}

/// Download one of the signed-in citizen's stored documents.
#[utoipa::path(get, path = "/api/v1/me/documents/{id}", tag = "auth", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn download_mine(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let who = owner(&caller)?;
    let found = state.store.stored_documents_by_id(&[id]).await?.into_iter().find(|(d, _)| d.owner_identity == who);
    let (doc, key) = found.ok_or_else(|| ApiError::not_found("giấy tờ trong kho dữ liệu của bạn"))?;
    send(&state, &doc, &key).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferParams {
    /// Procedure code, e.g. 1.001193; required.
    pub procedure: Option<String>,
}

/// Which of the signed-in citizen's stored documents can fill each component of a procedure
/// (the version in force today): submit them with `reuse` instead of uploading.
#[utoipa::path(get, path = "/api/v1/me/documents/offers", tag = "auth", params(OfferParams),
    responses((status = 200, body = Vec<Offer>), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn offers_for(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<OfferParams>,
) -> Result<Json<Vec<Offer>>, ApiError> {
    let who = owner(&caller)?.to_owned();
    let today = local_date(state.clock.now());
    let code = p.procedure.ok_or_else(|| ApiError::bad_request("missing_procedure", "Cần mã thủ tục (procedure)"))?;
    let versions = state.store.procedure_versions(&code).await?;
    let version = cqs_domain::catalog::select_in_force(&versions, today)
        .ok_or_else(|| ApiError::not_found("thủ tục đang có hiệu lực với mã này"))?;
    let store = state.store.stored_documents(&who).await?;
    Ok(Json(offers(&version.spec.components, &store, today)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyComponent {
    /// Last day the document may be reused (an identity card's expiry); none for no limit.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

/// Mark a submitted component as verified against its original: it is kept in the applicant's
/// store (type, issuer, validity, hash) for later dossiers. Staff of a unit handling the dossier.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/attachments/{id}/verified", tag = "dossiers",
    params(crate::idempotency::IdempotencyKeyHeader, ("code" = String, Path, description = "Mã hồ sơ"), ("id" = Uuid, Path)),
    request_body = VerifyComponent,
    responses((status = 200, body = StoredDocument), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn mark_verified(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, id)): ApiPath<(String, Uuid)>,
    req: Request,
) -> Result<Json<StoredDocument>, ApiError> {
    caller.require_authenticated()?;
    let ctx = Context::load(&state, &code).await?;
    let units = ctx.involved_units();
    let roles = [Role::DeskOfficer, Role::Specialist, Role::Leader];
    let Some(unit_id) = units.iter().copied().find(|u| caller.0.has_role_in(*u, &roles)) else {
        return Err(Denied::NoRoleInUnit.into());
    };
    let body: VerifyComponent = read_json(req, state.limits.json_body).await?;
    let attachment = state
        .store
        .attachments(ctx.dossier.id)
        .await?
        .into_iter()
        .find(|a| a.attachment.id == id)
        .ok_or_else(|| ApiError::not_found("tệp đính kèm"))?;
    let spec = ctx.version.spec.components.iter().find(|c| c.code == attachment.attachment.component);
    let Some(component) = spec.filter(|c| !c.document_type.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_storable",
            "Thành phần này không thuộc loại giấy tờ được lưu vào kho dữ liệu",
        ));
    };
    let now = state.clock.now();
    if body.valid_until.is_some_and(|u| u < local_date(now)) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "expired", "Giấy tờ đã hết hiệu lực"));
    }
    let unit = state.store.org_units().await?.into_iter().find(|u| u.id == unit_id).ok_or_else(ApiError::internal)?;
    let stored = state
        .store
        .store_verified_component(&cqs_store::VerifiedComponent {
            id: Uuid::now_v7(),
            dossier_id: ctx.dossier.id,
            attachment_id: id,
            document_type: component.document_type.clone(),
            title: component.name.clone(),
            issuer: format!("Bản điện tử được {} xác thực", unit.name),
            issuer_unit_id: unit.id,
            valid_until: body.valid_until,
            at: now,
        })
        .await?
        .ok_or_else(|| ApiError::not_found("tệp đính kèm"))?;
    Ok(Json(stored))
}

/// Download a stored document the dossier reused for one of its components: for whoever may
/// read the dossier, and only documents it references.
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/reused/{id}", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ"), ("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn download_reused(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((code, id)): ApiPath<(String, Uuid)>,
) -> Result<Response, ApiError> {
    caller.require_authenticated()?;
    let ctx = Context::load(&state, &code).await?;
    caller.0.may_read_dossier(&ctx.involved_units(), ctx.dossier.submitted_by_client, ctx.dossier.owner())?;
    let referenced = state.store.reused_documents(ctx.dossier.id).await?.into_iter().any(|(_, d)| d.id == id);
    if !referenced {
        return Err(ApiError::not_found("giấy tờ hồ sơ này dùng lại"));
    }
    let (doc, key) = state
        .store
        .stored_documents_by_id(&[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("giấy tờ hồ sơ này dùng lại"))?;
    send(&state, &doc, &key).await
}
