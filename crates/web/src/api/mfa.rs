//! Two-step sign-in over the API: finishing a sign-in with a code (`/api/v1/auth/mfa…`, with
//! the pending cookie that `POST /api/v1/auth/sign-in` set), and a signed-in staff member's own
//! authenticator (`/api/v1/me/mfa…`). Thin edges over [`crate::identity::mfa`].

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cqs_domain::auth::{Denied, Principal};
use cqs_domain::identity::SessionStage;
use cqs_store::User;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::auth::{locked, no_store, signed_in};
use crate::auth::Caller;
use crate::error::{ApiError, read_json};
use crate::identity::ClientContext;
use crate::identity::mfa::{self, ChangeOutcome, Enrolment, MfaStatus, SecondStepOutcome};

/// A code from the authenticator app (6 digits), or a recovery code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    pub code: String,
}

/// What an authenticator app needs. Show `otpauth_uri` as a QR code, or let the person type
/// `secret` by hand; then send the first code the app shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Provisioning {
    pub otpauth_uri: String,
    /// The secret in base32, for typing into the app.
    pub secret: String,
}

impl From<Enrolment> for Provisioning {
    fn from(e: Enrolment) -> Self {
        Self { otpauth_uri: e.provisioning.uri, secret: e.provisioning.secret_base32 }
    }
}

/// Recovery codes, each good for one sign-in without the app; shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

fn no_pending() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "no_pending_sign_in",
        "Không có phiên đăng nhập đang chờ mã xác thực, hoặc phiên đã hết hạn; vui lòng đăng nhập lại",
    )
}

fn invalid_code() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_code", "Mã xác thực không đúng hoặc đã được dùng")
}

/// Finish a sign-in with its second step: a code from the authenticator app or a recovery code
/// (and, at enrolment, the app's first code). Replaces the pending cookie with the session's.
#[utoipa::path(post, path = "/api/v1/auth/mfa", tag = "auth", request_body = CodeInput,
    responses((status = 200, body = crate::api::auth::SignedIn, description = "Đăng nhập thành công"),
        (status = 401, body = crate::error::Problem, description = "Mã sai, hoặc không có đăng nhập đang chờ mã"),
        (status = 415, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem, description = "Tạm khóa do nhập sai nhiều lần")))]
pub async fn finish_sign_in(
    State(state): State<AppState>,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let pending = mfa::pending(&state, req.headers()).await?.ok_or_else(no_pending)?;
    let input: CodeInput = read_json(req, state.limits.json_body).await?;
    match mfa::complete(&state, &pending, &input.code, &client).await? {
        SecondStepOutcome::SignedIn { started, recovery_codes } => Ok(signed_in(&state, started, recovery_codes)),
        SecondStepOutcome::InvalidCode => Err(invalid_code()),
        SecondStepOutcome::Locked { until } => Ok(locked(&state, until)),
    }
}

/// Set up an authenticator during a sign-in that requires one (`next: mfa_enrolment`). Asking
/// again shows the same secret until its first code confirms it.
#[utoipa::path(post, path = "/api/v1/auth/mfa/enrolment", tag = "auth",
    responses((status = 200, body = Provisioning),
        (status = 401, body = crate::error::Problem, description = "Không có đăng nhập đang chờ đăng ký xác thực")))]
pub async fn enrol_at_sign_in(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let pending = mfa::pending(&state, &headers).await?.filter(|p| p.session.stage == SessionStage::MfaEnrolment);
    let pending = pending.ok_or_else(no_pending)?;
    let enrolment = mfa::begin_enrolment(&state, &pending.user).await?.ok_or_else(no_pending)?;
    Ok(no_store(Json(Provisioning::from(enrolment)).into_response()))
}

/// The staff member the caller is (by session or by a staff key).
async fn staff(state: &AppState, caller: &Caller) -> Result<User, ApiError> {
    caller.require_authenticated()?;
    let Principal::Staff { user_id, .. } = &caller.0 else {
        return Err(Denied::NoRoleInUnit.into());
    };
    state.store.user_by_id(*user_id).await?.ok_or_else(|| ApiError::not_found("tài khoản"))
}

fn change(state: &AppState, outcome: ChangeOutcome) -> Result<Response, ApiError> {
    match outcome {
        ChangeOutcome::Done => Ok(StatusCode::NO_CONTENT.into_response()),
        ChangeOutcome::Codes(recovery_codes) => Ok(no_store(Json(RecoveryCodes { recovery_codes }).into_response())),
        ChangeOutcome::Required => Err(ApiError::new(
            StatusCode::CONFLICT,
            "mfa_required",
            "Vai trò của tài khoản bắt buộc xác thực hai bước, không thể tắt",
        )),
        ChangeOutcome::NotEnabled => {
            Err(ApiError::new(StatusCode::CONFLICT, "mfa_not_enabled", "Tài khoản chưa bật xác thực hai bước"))
        }
        ChangeOutcome::Rejected => Err(invalid_code()),
        ChangeOutcome::Locked { until } => Ok(locked(state, until)),
    }
}

/// The caller's two-step sign-in: on or off, required by their roles, recovery codes left.
#[utoipa::path(get, path = "/api/v1/me/mfa", tag = "auth",
    responses((status = 200, body = MfaStatus), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)),
    security(("session" = []), ("api_key" = [])))]
pub async fn my_status(State(state): State<AppState>, caller: Caller) -> Result<Json<MfaStatus>, ApiError> {
    let user = staff(&state, &caller).await?;
    Ok(Json(mfa::status(&state, user.id, &user.grants).await?))
}

/// Start setting up an authenticator for the caller (confirm with `POST /api/v1/me/mfa/confirm`).
#[utoipa::path(post, path = "/api/v1/me/mfa/enrolment", tag = "auth",
    responses((status = 200, body = Provisioning), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "Đã bật xác thực hai bước")),
    security(("session" = []), ("api_key" = [])))]
pub async fn enrol(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let user = staff(&state, &caller).await?;
    match mfa::begin_enrolment(&state, &user).await? {
        Some(e) => Ok(no_store(Json(Provisioning::from(e)).into_response())),
        None => Err(ApiError::new(StatusCode::CONFLICT, "mfa_already_enabled", "Tài khoản đã bật xác thực hai bước")),
    }
}

async fn code_of(state: &AppState, req: Request) -> Result<String, ApiError> {
    Ok(read_json::<CodeInput>(req, state.limits.json_body).await?.code)
}

/// Confirm the authenticator being set up with its first code; returns the recovery codes.
#[utoipa::path(post, path = "/api/v1/me/mfa/confirm", tag = "auth", request_body = CodeInput,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)),
    security(("session" = []), ("api_key" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let user = staff(&state, &caller).await?;
    let code = code_of(&state, req).await?;
    change(&state, mfa::confirm_enrolment(&state, &user, &code, &client).await?)
}

/// Replace the recovery codes; a current code from the app proves it is at hand.
#[utoipa::path(post, path = "/api/v1/me/mfa/recovery-codes", tag = "auth", request_body = CodeInput,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)),
    security(("session" = []), ("api_key" = [])))]
pub async fn renew_codes(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let user = staff(&state, &caller).await?;
    let code = code_of(&state, req).await?;
    change(&state, mfa::renew_recovery_codes(&state, &user, &code, &client).await?)
}

/// Turn two-step sign-in off (only where the roles do not require it), with a current code.
#[utoipa::path(post, path = "/api/v1/me/mfa/disable", tag = "auth", request_body = CodeInput,
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)),
    security(("session" = []), ("api_key" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let user = staff(&state, &caller).await?;
    let code = code_of(&state, req).await?;
    change(&state, mfa::disable(&state, &user, &code, &client).await?)
}
