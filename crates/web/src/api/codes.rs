//! One-time codes over the API: a citizen verifying their e-mail or phone
//! (`/api/v1/me/verification…`) and resetting a forgotten password
//! (`/api/v1/auth/password-reset…`). Thin edges over [`crate::identity::codes`].

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cqs_domain::auth::{Denied, Principal};
use cqs_store::{CitizenAccount, Contact};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, read_json};
use crate::identity::ClientContext;
use crate::identity::codes::{self, ConfirmOutcome, ResetOutcome, SendOutcome};

/// Which contact of the account.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Email,
    Phone,
}

impl From<ContactKind> for Contact {
    fn from(c: ContactKind) -> Self {
        match c {
            ContactKind::Email => Contact::Email,
            ContactKind::Phone => Contact::Phone,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    pub contact: ContactKind,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationCode {
    pub contact: ContactKind,
    /// The six digits received.
    pub code: String,
}

/// A code is on its way.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    /// Where it went, mostly hidden (`h***@example.vn`).
    pub sent_to: String,
    pub expires_at: DateTime<Utc>,
}

/// The signed-in citizen's account (by session).
async fn citizen(state: &AppState, caller: &Caller) -> Result<CitizenAccount, ApiError> {
    caller.require_authenticated()?;
    let Principal::Citizen { account_id, .. } = &caller.0 else {
        return Err(Denied::NoRoleInUnit.into());
    };
    state.store.citizen_by_id(*account_id).await?.ok_or_else(|| ApiError::not_found("tài khoản"))
}

fn wait(state: &AppState, until: DateTime<Utc>) -> Response {
    let secs = (until - state.clock.now()).num_seconds().max(1);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "code_recently_sent",
        "Mã vừa được gửi, vui lòng chờ rồi yêu cầu lại",
    )
    .detail(format!("Có thể yêu cầu mã mới sau {secs} giây"))
    .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

pub(crate) fn code_problem(outcome: ConfirmOutcome) -> ApiError {
    match outcome {
        ConfirmOutcome::Wrong { left } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_code", "Mã xác minh không đúng")
                .detail(format!("Còn {left} lần thử"))
        }
        _ => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "code_expired",
            "Mã đã hết hạn, đã được dùng hoặc đã nhập sai quá số lần cho phép; vui lòng yêu cầu mã mới",
        ),
        // `Done` never reaches here.
    }
}

/// Send a code to the caller's e-mail or phone, to prove it is theirs.
#[utoipa::path(post, path = "/api/v1/me/verification", tag = "auth", params(crate::idempotency::IdempotencyKeyHeader), request_body = VerificationRequest,
    responses((status = 202, body = CodeSent), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "Đã xác minh"),
        (status = 422, body = crate::error::Problem, description = "Tài khoản không có liên lạc này"),
        (status = 429, body = crate::error::Problem, description = "Vừa gửi mã; chờ theo Retry-After")),
    security(("session" = [])))]
pub async fn send_verification(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let account = citizen(&state, &caller).await?;
    let input: VerificationRequest = read_json(req, state.limits.json_body).await?;
    match codes::send_verification(&state, &account, input.contact.into()).await? {
        SendOutcome::Sent { to, expires_at } => {
            Ok((StatusCode::ACCEPTED, Json(CodeSent { sent_to: to, expires_at })).into_response())
        }
        SendOutcome::Wait { until } => Ok(wait(&state, until)),
        SendOutcome::NoContact => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_such_contact",
            "Tài khoản chưa khai báo thông tin liên lạc này",
        )),
        SendOutcome::AlreadyVerified => {
            Err(ApiError::new(StatusCode::CONFLICT, "already_verified", "Thông tin liên lạc này đã được xác minh"))
        }
    }
}

/// Confirm the e-mail or phone with the code received.
#[utoipa::path(post, path = "/api/v1/me/verification/confirm", tag = "auth", request_body = VerificationCode,
    responses((status = 204, description = "Đã xác minh"), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("session" = [])))]
pub async fn confirm_verification(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<StatusCode, ApiError> {
    let account = citizen(&state, &caller).await?;
    let input: VerificationCode = read_json(req, state.limits.json_body).await?;
    match codes::confirm_verification(&state, &account, input.contact.into(), &input.code, &client).await? {
        ConfirmOutcome::Done => Ok(StatusCode::NO_CONTENT),
        other => Err(code_problem(other)),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Identity number, phone or e-mail of the citizen account.
    pub login: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetRequested {
    pub message: String,
}

/// Ask for a password-reset code, sent to the account's e-mail (or phone). The answer is the
/// same whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", params(crate::idempotency::IdempotencyKeyHeader), request_body = ResetRequest,
    responses((status = 202, body = ResetRequested), (status = 415, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn request_reset(
    State(state): State<AppState>,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let input: ResetRequest = read_json(req, state.limits.json_body).await?;
    codes::request_password_reset(&state, &input.login, &client).await?;
    let message =
        "Nếu tài khoản tồn tại, mã đặt lại mật khẩu đã được gửi tới thư điện tử hoặc số điện thoại của tài khoản";
    Ok((StatusCode::ACCEPTED, Json(ResetRequested { message: message.to_owned() })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub login: String,
    pub code: String,
    /// The new password.
    pub password: String,
}

/// Set a new password with the code received; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetPassword,
    responses((status = 204, description = "Đã đặt mật khẩu mới"), (status = 415, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn reset(State(state): State<AppState>, client: ClientContext, req: Request) -> Result<StatusCode, ApiError> {
    let input: ResetPassword = read_json(req, state.limits.json_body).await?;
    match codes::reset_password(&state, &input.login, &input.code, input.password, &client).await? {
        ResetOutcome::Done => Ok(StatusCode::NO_CONTENT),
        ResetOutcome::Invalid(errors) => Err(ApiError::validation(errors)),
        ResetOutcome::Code(outcome) => Err(code_problem(outcome)),
    }
}
