//! The identity service: sign-in, sign-out and citizen registration as functions of the
//! application state and parsed input, returning typed outcomes. The JSON API
//! (`api::auth`) and the HTML pages both call these and only decide how to answer.
//!
//! ```ignore
//! match identity::sign_in(&state, input, &client, &caller).await? {
//!     SignInOutcome::SignedIn(s) => /* Set-Cookie: s.cookie(&state.auth), redirect */,
//!     SignInOutcome::InvalidCredentials => /* "Sai tên đăng nhập hoặc mật khẩu" */,
//!     SignInOutcome::Disabled => /* "Tài khoản đã bị khóa" */,
//!     SignInOutcome::Locked { until } => /* "Thử lại sau {until}" */,
//! }
//! ```

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use cqs_domain::form::FieldError;
use cqs_domain::identity::{
    AccountKind, AccountRef, CitizenLogin, CitizenRegistration, RegistrationInput, SecurityEventKind, SessionStage,
    Throttle,
};
use cqs_store::{CitizenAccount, NewCitizen, NewSession, StoreError};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AuthConfig, Caller, audit, password, session};
use crate::error::ApiError;

pub mod codes;
pub mod eid;
pub mod mfa;

/// Where a request came from, for the session list and (later) per-address rate limits.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientContext {
    /// The client of a request: the peer address (or, behind a trusted proxy, the first
    /// `X-Forwarded-For` entry) and the user agent.
    pub fn of(headers: &HeaderMap, extensions: &Extensions, cfg: &AuthConfig) -> Self {
        let forwarded = cfg
            .trust_forwarded_for
            .then(|| headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
        let ip = forwarded
            .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
            .map(|ip| ip.to_string());
        let user_agent =
            headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(200).collect());
        Self { ip, user_agent }
    }
}

impl FromRequestParts<AppState> for ClientContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers, &parts.extensions, &state.auth))
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
    /// The password was right; a one-time code must follow (or, for an account that must use
    /// one and has none yet, enrolment of an authenticator). See [`mfa`].
    SecondStep(mfa::PendingSignIn),
    /// Unknown account or wrong password: the two are never told apart.
    InvalidCredentials,
    /// Right password, but the account is disabled.
    Disabled,
    /// Too many recent failures on this account or from this address; try again after `until`.
    Locked {
        until: DateTime<Utc>,
    },
}

/// The account a sign-in names and the password hash to check.
struct Candidate {
    account: AccountRef,
    display_name: String,
    disabled: bool,
    hash: Option<String>,
    /// A staff member's roles, which decide whether a second step is required.
    grants: Vec<cqs_domain::auth::RoleGrant>,
}

async fn candidate(state: &AppState, input: &SignInInput) -> Result<Option<Candidate>, ApiError> {
    Ok(match input.kind {
        AccountKind::Staff => match state.store.user_by_username(input.login.trim()).await? {
            Some(u) => Some(Candidate {
                account: AccountRef::staff(u.id),
                display_name: u.full_name,
                disabled: u.disabled,
                hash: state.store.user_password_hash(u.id).await?,
                grants: u.grants,
            }),
            None => None,
        },
        AccountKind::Citizen => match CitizenLogin::parse(&input.login) {
            Some(login) => state.store.citizen_credentials(&login).await?.map(|c| Candidate {
                account: AccountRef::citizen(c.account.id),
                display_name: c.account.full_name,
                disabled: c.account.disabled,
                hash: c.password_hash,
                grants: Vec::new(),
            }),
            None => None,
        },
    })
}

/// The key failures of an account are counted under (shared by passwords and one-time codes).
pub(crate) fn account_key(account: AccountRef) -> String {
    format!("account:{}:{}", account.kind.as_str(), account.id)
}

/// The key failures from a client address are counted under.
pub(crate) fn address_key(client: &ClientContext) -> Option<String> {
    client.ip.as_ref().map(|ip| format!("address:{ip}"))
}

/// Whether an attempt under these keys is locked out now; every node reads the same counts.
pub(crate) async fn throttle(
    state: &AppState,
    account_key: &str,
    address_key: Option<&str>,
) -> Result<Throttle, ApiError> {
    let now = state.clock.now();
    let policy = &state.auth.lockout;
    let since = policy.since(now);
    let account_failures = state.store.auth_failures(account_key, since).await?;
    let address_failures = match address_key {
        Some(k) => state.store.auth_failures(k, since).await?,
        None => Default::default(),
    };
    Ok(policy.throttle(account_failures, address_failures, now))
}

/// Records one failure under the account's and the address's keys.
pub(crate) async fn record_failure(
    state: &AppState,
    account_key: String,
    address_key: Option<String>,
) -> Result<(), ApiError> {
    let keys: Vec<String> = std::iter::once(account_key).chain(address_key).collect();
    state.store.record_auth_failure(&keys, state.clock.now()).await?;
    Ok(())
}

/// Checks a password sign-in and, if it is right, starts a new session (or, for staff who use a
/// second step, a sign-in waiting for it). The session the browser presented (if any) is revoked
/// in the same write: a sign-in always gets a fresh session id.
pub async fn sign_in(
    state: &AppState,
    input: SignInInput,
    client: &ClientContext,
    current: &Caller,
) -> Result<SignInOutcome, ApiError> {
    let found = candidate(state, &input).await?;
    // Failures count against the account when it exists, else against the name typed, and
    // against the client address.
    let account_key = match &found {
        Some(c) => account_key(c.account),
        None => format!("login:{}:{}", input.kind.as_str(), cqs_domain::text::fold(&input.login)),
    };
    let address_key = address_key(client);
    let account = found.as_ref().map(|c| c.account);
    if let Throttle::Locked { until } = throttle(state, &account_key, address_key.as_deref()).await? {
        audit::record(state, SecurityEventKind::SignInLocked, account, client, None, None).await;
        return Ok(SignInOutcome::Locked { until });
    }
    let too_long = input.password.chars().count() > state.auth.password.max_chars;
    let stored = found.as_ref().and_then(|c| c.hash.clone()).filter(|_| !too_long);
    let matches = password::verify(input.password, stored).await? && !too_long;
    let Some(found) = found.filter(|_| matches) else {
        record_failure(state, account_key, address_key).await?;
        let detail = if account.is_some() { "sai mật khẩu" } else { "không có tài khoản" };
        audit::record(state, SecurityEventKind::SignInFailed, account, client, None, Some(detail.into())).await;
        return Ok(SignInOutcome::InvalidCredentials);
    };
    if found.disabled {
        audit::record(state, SecurityEventKind::SignInFailed, account, client, None, Some("tài khoản bị khóa".into()))
            .await;
        return Ok(SignInOutcome::Disabled);
    }
    if found.account.kind == AccountKind::Staff {
        let enrolled = state.store.mfa_of(found.account.id).await?.is_some_and(|m| m.confirmed_at.is_some());
        let stage = state.auth.mfa.after_password(&found.grants, enrolled);
        if stage != SessionStage::Active {
            // Failures are cleared only once the second step succeeds: otherwise a known
            // password would buy unlimited guesses at the code.
            let pending = mfa::start_pending(state, found.account, stage, client, current).await?;
            return Ok(SignInOutcome::SecondStep(pending));
        }
    }
    state.store.clear_auth_failures(&account_key).await?;
    let started = start_session(state, found.account, found.display_name, client, current).await?;
    audit::record(state, SecurityEventKind::SignInSucceeded, account, client, None, None).await;
    Ok(SignInOutcome::SignedIn(started))
}

/// Starts a session for an account already authenticated (a password, an e-ID provider).
pub async fn start_session(
    state: &AppState,
    account: AccountRef,
    display_name: String,
    client: &ClientContext,
    current: &Caller,
) -> Result<StartedSession, ApiError> {
    let now = state.clock.now();
    let (id, token) = open_session(
        state,
        account,
        SessionStage::Active,
        state.auth.session.expires_at(now),
        client,
        current.session().map(|s| s.id),
    )
    .await?;
    Ok(StartedSession {
        session_id: id,
        account,
        display_name,
        csrf_token: session::csrf_token(&token),
        expires_at: state.auth.session.expires_at(now),
        token,
    })
}

/// Records a new session at `stage`, revoking `replacing` in the same write; returns its id and
/// the cookie token.
pub(crate) async fn open_session(
    state: &AppState,
    account: AccountRef,
    stage: SessionStage,
    expires_at: DateTime<Utc>,
    client: &ClientContext,
    replacing: Option<Uuid>,
) -> Result<(Uuid, String), ApiError> {
    let token = session::new_token();
    let new = NewSession {
        id: Uuid::now_v7(),
        token_hash: session::token_hash(&token),
        account,
        created_at: state.clock.now(),
        expires_at,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        stage,
    };
    state.store.create_session(&new, replacing).await?;
    Ok((new.id, token))
}

/// Ends the caller's session (if they have one) and returns the `Set-Cookie` that clears it.
pub async fn sign_out(state: &AppState, caller: &Caller, client: &ClientContext) -> Result<HeaderValue, ApiError> {
    if let Some(s) = caller.session() {
        state.store.revoke_session(s.account, s.id, state.clock.now()).await?;
        audit::record(state, SecurityEventKind::SignedOut, Some(s.account), client, None, None).await;
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
pub async fn register_citizen(
    state: &AppState,
    input: RegistrationInput,
    client: &ClientContext,
) -> Result<RegisterOutcome, ApiError> {
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
            let who = Some(AccountRef::citizen(account.id));
            audit::record(state, SecurityEventKind::CitizenRegistered, who, client, None, None).await;
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
    let now = Utc::now();
    store.revoke_sessions_of(AccountRef::staff(user.id), None, now).await?;
    let event = cqs_store::SecurityEvent {
        id: Uuid::now_v7(),
        at: now,
        kind: SecurityEventKind::PasswordChanged,
        account: Some(AccountRef::staff(user.id)),
        ip: None,
        route: None,
        detail: None,
    };
    store.record_security_event(&event).await?;
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
