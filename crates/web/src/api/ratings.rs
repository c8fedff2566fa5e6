//! A dossier's satisfaction rating by its applicant (the nine criteria of the questionnaire and
//! an overall rating, `domain::rating`), once the result is out, given once per account. The
//! citizen page "Hồ sơ của tôi" records it through [`record`], as this API does.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use cqs_domain::auth::{Denied, Principal};
use cqs_domain::rating::{Rating, RatingInput, may_rate};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::api::workflow::Context;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, read_json};

/// A rating as given.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RatingView {
    pub dossier_code: String,
    #[serde(flatten)]
    pub rating: Rating,
    pub rated_at: DateTime<Utc>,
}

/// The citizen's account and the dossier, if it is theirs (submitted by them or by an
/// organization they belong to): only the applicant rates it. Staff and machine clients are
/// refused before the dossier is looked up.
async fn own(state: &AppState, caller: &Caller, code: &str) -> Result<(Uuid, Context), ApiError> {
    caller.require_authenticated()?;
    let Principal::Citizen { account_id, .. } = &caller.0 else { return Err(Denied::NotOwner.into()) };
    let ctx = Context::load(state, code).await?;
    if !caller.0.owns(ctx.dossier.owner()) {
        return Err(Denied::NotOwner.into());
    }
    Ok((*account_id, ctx))
}

/// Records the applicant's rating of their dossier: 409 before the result or when already
/// rated, 422 with the fields missing.
pub async fn record(
    state: &AppState,
    account: Uuid,
    ctx: &Context,
    input: RatingInput,
) -> Result<RatingView, ApiError> {
    if !may_rate(ctx.dossier.state) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_rateable_yet",
            "Chỉ đánh giá được sau khi hồ sơ đã có kết quả giải quyết",
        ));
    }
    let rating = input.check().map_err(ApiError::validation)?;
    let now = state.clock.now();
    if !state.store.rate_dossier(ctx.dossier.id, account, &rating, now).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_rated", "Hồ sơ này đã được bạn đánh giá"));
    }
    Ok(RatingView { dossier_code: ctx.dossier.code.to_string(), rating, rated_at: now })
}

/// The rating the signed-in applicant gave their dossier (404 if none yet).
#[utoipa::path(get, path = "/api/v1/dossiers/{code}/rating", tag = "dossiers",
    params(("code" = String, Path, description = "Mã hồ sơ")),
    responses((status = 200, body = RatingView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<RatingView>, ApiError> {
    let (account, ctx) = own(&state, &caller, &code).await?;
    let (rating, rated_at) = state
        .store
        .dossier_rating(ctx.dossier.id, account)
        .await?
        .ok_or_else(|| ApiError::not_found("đánh giá của hồ sơ này"))?;
    Ok(Json(RatingView { dossier_code: ctx.dossier.code.to_string(), rating, rated_at }))
}

/// Rate a dossier after its result: the nine criteria (`tong_thoi_gian`,
/// `thoi_gian_tung_co_quan`, `so_lan_lien_he`, `so_co_quan_lien_he`, `mot_cua`, `cong_khai`,
/// `thai_do`, `phan_anh`, `truc_tuyen`) and `overall`, each `very_satisfied`, `satisfied` or
/// `dissatisfied`, and an optional comment. Only the citizen who submitted it, once.
#[utoipa::path(post, path = "/api/v1/dossiers/{code}/rating", tag = "dossiers", request_body = RatingInput,
    params(("code" = String, Path, description = "Mã hồ sơ"), crate::idempotency::IdempotencyKeyHeader),
    responses((status = 201, body = RatingView), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    req: Request,
) -> Result<(StatusCode, Json<RatingView>), ApiError> {
    let (account, ctx) = own(&state, &caller, &code).await?;
    let input: RatingInput = read_json(req, state.limits.json_body).await?;
    Ok((StatusCode::CREATED, Json(record(&state, account, &ctx, input).await?)))
}
