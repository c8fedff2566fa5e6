//! The identity service: sign-in, sign-out and citizen registration as functions of the
//! application state and parsed input, returning typed outcomes. The JSON API
//! (`api::auth`) and the HTML pages both call these and only decide how to answer.
//!
//! ```ignore
//! match identity::sign_in(&state, input, &client, &caller).await? {
//!     SignInOutcome::SignedIn(s) => /* Set-Cookie: s.cookie(&state.auth), redirect */,
//!     SignInOutcome::InvalidCredentials => /* "Sai tên đăng nhập hoặc mật khẩu" */,
//!     SignInOutcome::Disabled => /* "Tài khoản đã bị khóa" */,
//! }
//! ```

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use chrono::{DateTime, Utc};
use cqs_domain::form::FieldError;
use cqs_domain::identity::{AccountKind, AccountRef, CitizenLogin, CitizenRegistration, RegistrationInput};
use cqs_store::{CitizenAccount, NewCitizen, NewSession, StoreError};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AuthConfig, Caller, password, session};
use crate::error::ApiError;

/// Where a request came from, for the session list and (later) per-address rate limits.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(200).collect());
        Ok(Self { ip, user_agent })
    }
}

/// A sign-in attempt.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInInput {
    /// `staff` (tên đăng nhập cán bộ) or `citizen` (số định danh, thư điện tử hoặc số điện thoại).
    pub kind: AccountKind,
    pub login: String,
    pub password: String,
}

/// A session just started. The token goes in the cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub session_id: Uuid,
    pub account: AccountRef,
    pub display_name: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    token: String,
}

impl StartedSession {
    /// The `Set-Cookie` value that hands the session to the browser.
    pub fn cookie(&self, cfg: &AuthConfig) -> HeaderValue {
        session::set_cookie(cfg, &self.token)
    }
}

/// What a sign-in attempt came to.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    SignedIn(StartedSession),
    /// Unknown account or wrong password: the two are never told apart.
    InvalidCredentials,
    /// Right password, but the account is disabled.
    Disabled,
}

/// The account a sign-in names and the password hash to check.
struct Candidate {
    account: AccountRef,
    display_name: String,
    disabled: bool,
    hash: Option<String>,
}

async fn candidate(state: &AppState, input: &SignInInput) -> Result<Option<Candidate>, ApiError> {
    Ok(match input.kind {
        AccountKind::Staff => match state.store.user_by_username(input.login.trim()).await? {
            Some(u) => Some(Candidate {
                account: AccountRef::staff(u.id),
                display_name: u.full_name,
                disabled: u.disabled,
                hash: state.store.user_password_hash(u.id).await?,
            }),
            None => None,
        },
        AccountKind::Citizen => match CitizenLogin::parse(&input.login) {
            Some(login) => state.store.citizen_credentials(&login).await?.map(|c| Candidate {
                account: AccountRef::citizen(c.account.id),
                display_name: c.account.full_name,
                disabled: c.account.disabled,
                hash: c.password_hash,
            }),
            None => None,
        },
    })
}

/// Checks a password sign-in and, if it is right, starts a new session. The session the browser
/// presented (if any) is revoked in the same write: a sign-in always gets a fresh session id.
pub async fn sign_in(
    state: &AppState,
    input: SignInInput,
    client: &ClientContext,
    current: &Caller,
) -> Result<SignInOutcome, ApiError> {
    if input.password.chars().count() > state.auth.password.max_chars {
        return Ok(SignInOutcome::InvalidCredentials);
    }
    let found = candidate(state, &input).await?;
    let stored = found.as_ref().and_then(|c| c.hash.clone());
    let matches = password::verify(input.password, stored).await?;
    let Some(found) = found.filter(|_| matches) else {
        tracing::info!(target: "security", kind = input.kind.as_str(), "sign-in refused");
        return Ok(SignInOutcome::InvalidCredentials);
    };
    if found.disabled {
        tracing::info!(target: "security", account = %found.account.id, "sign-in to a disabled account");
        return Ok(SignInOutcome::Disabled);
    }
    let started = start_session(state, found.account, found.display_name, client, current).await?;
    tracing::info!(target: "security", account = %found.account.id, kind = found.account.kind.as_str(), "signed in");
    Ok(SignInOutcome::SignedIn(started))
}

/// Starts a session for an account already authenticated (a password, later an e-ID provider).
pub async fn start_session(
    state: &AppState,
    account: AccountRef,
    display_name: String,
    client: &ClientContext,
    current: &Caller,
) -> Result<StartedSession, ApiError> {
    let now = state.clock.now();
    let token = session::new_token();
    let new = NewSession {
        id: Uuid::now_v7(),
        token_hash: session::token_hash(&token),
        account,
        created_at: now,
        expires_at: state.auth.session.expires_at(now),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    state.store.create_session(&new, current.session().map(|s| s.id)).await?;
    Ok(StartedSession {
        session_id: new.id,
        account,
        display_name,
        csrf_token: session::csrf_token(&token),
        expires_at: new.expires_at,
        token,
    })
}

/// Ends the caller's session (if they have one) and returns the `Set-Cookie` that clears it.
pub async fn sign_out(state: &AppState, caller: &Caller) -> Result<HeaderValue, ApiError> {
    if let Some(s) = caller.session() {
        state.store.revoke_session(s.account, s.id, state.clock.now()).await?;
        tracing::info!(target: "security", account = %s.account.id, "signed out");
    }
    Ok(session::clear_cookie(&state.auth))
}

/// What a registration came to.
#[derive(Debug, Clone)]
pub enum RegisterOutcome {
    Registered(CitizenAccount),
    /// Field problems, each against its field.
    Invalid(Vec<FieldError>),
    /// An account already uses this `identity_number`, `phone` or `email`.
    Taken(&'static str),
}

/// Opens a citizen account. The password is hashed off the async runtime; only the hash is kept.
pub async fn register_citizen(state: &AppState, input: RegistrationInput) -> Result<RegisterOutcome, ApiError> {
    let r = match CitizenRegistration::parse(input, &state.auth.password) {
        Ok(r) => r,
        Err(errors) => return Ok(RegisterOutcome::Invalid(errors)),
    };
    let hash = password::hash(r.password).await?;
    let new = NewCitizen {
        id: Uuid::now_v7(),
        identity_number: r.identity_number.as_str().to_owned(),
        full_name: r.full_name,
        phone: r.phone.map(String::from),
        email: r.email.map(String::from),
        password_hash: Some(hash),
        created_at: state.clock.now(),
    };
    match state.store.create_citizen(&new).await {
        Ok(account) => {
            tracing::info!(target: "security", account = %account.id, "citizen registered");
            Ok(RegisterOutcome::Registered(account))
        }
        Err(StoreError::Taken(field)) => Ok(RegisterOutcome::Taken(field)),
        Err(e) => Err(e.into()),
    }
}

/// Sets a staff member's password after checking it against the policy (for the CLI and admins).
pub async fn set_staff_password(
    store: &dyn cqs_store::Store,
    policy: &cqs_domain::identity::PasswordPolicy,
    username: &str,
    new_password: String,
) -> Result<(), SetPasswordError> {
    let user = store.user_by_username(username).await?.ok_or(SetPasswordError::NoSuchUser)?;
    let email = user.email.clone().unwrap_or_default();
    policy.check(&new_password, &[username, &email]).map_err(SetPasswordError::Policy)?;
    let hash = password::hash(new_password).await.map_err(|_| SetPasswordError::Hashing)?;
    store.set_user_password(user.id, &hash).await?;
    // A new password ends every session signed in with the old one.
    store.revoke_sessions_of(AccountRef::staff(user.id), None, Utc::now()).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    #[error("không có tài khoản này")]
    NoSuchUser,
    #[error("{0}")]
    Policy(cqs_domain::identity::PasswordProblem),
    #[error("không băm được mật khẩu")]
    Hashing,
    #[error(transparent)]
    Store(#[from] StoreError),
}
