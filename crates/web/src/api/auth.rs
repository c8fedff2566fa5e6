//! `/api/v1/auth`: password sign-in and sign-out with a session cookie, and citizen
//! registration. Thin edges over [`crate::identity`], which the pages call too.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cqs_domain::identity::{AccountRef, RegistrationInput, SessionStage};
use cqs_store::CitizenAccount;
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, read_json};
use crate::identity::{self, ClientContext, RegisterOutcome, SignInInput, SignInOutcome, StartedSession};

/// A session started by signing in. The session itself travels in the `cqs_session` cookie.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    pub session_id: Uuid,
    pub account: AccountRef,
    pub display_name: String,
    /// Send in `X-CSRF-Token` with every unsafe request made with the cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    /// Only when this sign-in finished enrolment of an authenticator: recovery codes, each good
    /// for one sign-in without the app. Shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// A sign-in whose password was right and that needs its second step: the cookie now holds a
/// pending sign-in, finished at `POST /api/v1/auth/mfa`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecondStepRequired {
    /// `mfa_code`: send a code from the authenticator app (or a recovery code).
    /// `mfa_enrolment`: the account must first set up an authenticator
    /// (`POST /api/v1/auth/mfa/enrolment`), then send its first code.
    pub next: String,
    /// The pending sign-in ends at this time.
    pub expires_at: DateTime<Utc>,
}

pub(crate) fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Sign in with a password. Staff give their username; citizens their personal identity number,
/// e-mail or phone. Sets the session cookie (`HttpOnly; Secure; SameSite=Lax`).
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "auth", request_body = SignInInput,
    responses((status = 200, body = SignedIn, description = "Đăng nhập thành công; cookie phiên được đặt"),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 415, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem, description = "Tạm khóa do đăng nhập sai nhiều lần")))]
pub async fn sign_in(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let input: SignInInput = read_json(req, state.limits.json_body).await?;
    match identity::sign_in(&state, input, &client, &caller).await? {
        SignInOutcome::SignedIn(s) => Ok(signed_in(&state, s, None)),
        SignInOutcome::SecondStep(p) => {
            let next = if p.stage == SessionStage::MfaEnrolment { "mfa_enrolment" } else { "mfa_code" }.to_owned();
            let mut res =
                (StatusCode::ACCEPTED, Json(SecondStepRequired { next, expires_at: p.expires_at })).into_response();
            res.headers_mut().insert(header::SET_COOKIE, p.cookie(&state));
            Ok(no_store(res))
        }
        SignInOutcome::InvalidCredentials => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Tên đăng nhập hoặc mật khẩu không đúng",
        )),
        SignInOutcome::Locked { until } => Ok(locked(&state, until)),
        SignInOutcome::Disabled => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "Tài khoản đã bị khóa, vui lòng liên hệ quản trị",
        )),
    }
}

/// The answer to a finished sign-in: the session in its cookie, its CSRF token in the body.
pub(crate) fn signed_in(state: &AppState, s: StartedSession, recovery_codes: Option<Vec<String>>) -> Response {
    let cookie = s.cookie(&state.auth);
    let body = SignedIn {
        session_id: s.session_id,
        account: s.account,
        display_name: s.display_name,
        csrf_token: s.csrf_token,
        expires_at: s.expires_at,
        recovery_codes,
    };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    no_store(res)
}

/// 429 with `Retry-After`, for a sign-in or a code refused by the lockout.
pub(crate) fn locked(state: &AppState, until: DateTime<Utc>) -> Response {
    let secs = (until - state.clock.now()).num_seconds().max(1);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "sign_in_locked",
        "Đăng nhập sai quá nhiều lần, vui lòng thử lại sau ít phút",
    )
    .detail(format!("Thử lại sau {} phút", (secs + 59) / 60))
    .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// Sign out: ends the session the cookie names and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "auth",
    responses((status = 204, description = "Đã đăng xuất"), (status = 403, body = crate::error::Problem)))]
pub async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
) -> Result<Response, ApiError> {
    let clear = identity::sign_out(&state, &caller, &client).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, clear);
    Ok(no_store(res))
}

/// Register a citizen account with the personal identity number, full name, phone and/or
/// e-mail, and a password.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", params(crate::idempotency::IdempotencyKeyHeader), request_body = RegistrationInput,
    responses((status = 201, body = CitizenAccount, description = "Đã tạo tài khoản"),
        (status = 409, body = crate::error::Problem, description = "Số định danh, điện thoại hoặc thư điện tử đã được đăng ký"),
        (status = 415, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn register(
    State(state): State<AppState>,
    client: ClientContext,
    req: Request,
) -> Result<Response, ApiError> {
    let input: RegistrationInput = read_json(req, state.limits.json_body).await?;
    match identity::register_citizen(&state, input, &client).await? {
        RegisterOutcome::Registered(account) => Ok((StatusCode::CREATED, Json(account)).into_response()),
        RegisterOutcome::Invalid(errors) => Err(ApiError::validation(errors)),
        RegisterOutcome::Taken(field) => {
            let what = match field {
                "phone" => "Số điện thoại",
                "email" => "Thư điện tử",
                _ => "Số định danh cá nhân",
            };
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_registered",
                format!("{what} đã được đăng ký cho một tài khoản khác"),
            )
            .detail(field))
        }
    }
}

/// The external e-ID providers (OpenID Connect) citizens may sign in with. A browser starts
/// signing in by posting a form to `start` (with `tiep`, the page to return to); the provider
/// sends it back to `{start}/ket-qua`.
#[utoipa::path(get, path = "/api/v1/auth/eid-providers", tag = "auth",
    responses((status = 200, body = Vec<crate::identity::eid::ProviderSummary>, description = "Các nhà cung cấp định danh điện tử")))]
pub async fn eid_providers(State(state): State<AppState>) -> Json<Vec<crate::identity::eid::ProviderSummary>> {
    Json(state.eid.list())
}
