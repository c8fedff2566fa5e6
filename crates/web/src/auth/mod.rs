//! Who is calling. A request carries an API key (`Authorization: Bearer cqs_…`, for machines
//! and staff tools) or a session cookie (people signed in through the pages or the sign-in API).
//! A request with no credentials is `Anonymous`; a bad API key is refused outright (401), while
//! a stale session cookie (expired, idle, revoked) simply counts as no cookie, because browsers
//! keep sending cookies after the server has forgotten them.
//!
//! The resolved [`Caller`] is kept in the request's extensions, so the CSRF guard (which must
//! know whether a request is cookie-authenticated) and the handler resolve it once between them.

pub mod audit;
pub mod csrf;
pub mod keys;
pub mod mfa;
pub mod oauth;
pub mod password;
pub mod session;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use cqs_domain::auth::{Denied, Principal};
use cqs_domain::identity::{AccountKind, AccountRef, SessionCheck};
use uuid::Uuid;

pub use keys::{GeneratedKey, generate_key, hash_secret};
pub use session::AuthConfig;

use crate::AppState;
use crate::error::ApiError;

/// The signed-in session a request came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: Uuid,
    pub account: AccountRef,
    /// The account's name as pages greet it (read with the account on every request anyway).
    pub display_name: String,
    /// Put this in forms (`csrf_token` field) or the `X-CSRF-Token` header of unsafe requests.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    ApiKey { key_id: Uuid },
    Session(SessionInfo),
}

/// The caller, resolved from the request's credentials: the principal the access rules judge,
/// and the credential it came from.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal, pub Credential);

impl Caller {
    pub fn anonymous() -> Self {
        Caller(Principal::Anonymous, Credential::None)
    }

    /// A stable string naming the caller, for idempotency scopes and logs (never a secret).
    pub fn scope_key(&self) -> String {
        match &self.0 {
            Principal::Anonymous => "anonymous".into(),
            Principal::Staff { user_id, .. } => format!("staff:{user_id}"),
            Principal::Client { client_id, .. } => format!("client:{client_id}"),
            Principal::Citizen { account_id, .. } => format!("citizen:{account_id}"),
        }
    }

    pub fn require_authenticated(&self) -> Result<(), ApiError> {
        if self.0.is_authenticated() { Ok(()) } else { Err(Denied::Unauthenticated.into()) }
    }

    /// The session, when the caller signed in with a cookie.
    pub fn session(&self) -> Option<&SessionInfo> {
        match &self.1 {
            Credential::Session(s) => Some(s),
            _ => None,
        }
    }

    /// The CSRF token pages must embed in forms and htmx requests (cookie sessions only).
    pub fn csrf_token(&self) -> Option<&str> {
        self.session().map(|s| s.csrf_token.as_str())
    }

    /// The account behind the caller, for staff and citizens.
    pub fn account(&self) -> Option<AccountRef> {
        match &self.0 {
            Principal::Staff { user_id, .. } => Some(AccountRef::staff(*user_id)),
            Principal::Citizen { account_id, .. } => Some(AccountRef::citizen(*account_id)),
            _ => None,
        }
    }

    /// Resolves the caller of a request from its headers.
    pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Self, ApiError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let bearer = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
            let (principal, key_id) = match bearer {
                Some(token) if oauth::looks_like_jwt(token) => oauth::principal_for(state, token).await?,
                _ => keys::principal_for(state, value).await?,
            };
            return Ok(Caller(principal, Credential::ApiKey { key_id }));
        }
        match session::session_token(headers) {
            Some(token) => Ok(from_session(state, &token).await?.unwrap_or_else(Caller::anonymous)),
            None => Ok(Caller::anonymous()),
        }
    }
}

/// The caller a session token stands for, if the session is still good and its account active.
async fn from_session(state: &AppState, token: &str) -> Result<Option<Caller>, ApiError> {
    let Some(s) = state.store.session_by_token_hash(&session::token_hash(token)).await? else {
        return Ok(None);
    };
    // A sign-in still waiting for its second step stands for nobody yet.
    if s.stage != cqs_domain::identity::SessionStage::Active {
        return Ok(None);
    }
    let now = state.clock.now();
    match state.auth.session.check(s.last_seen_at, s.expires_at, s.revoked_at.is_some(), now) {
        SessionCheck::Active { touch } => {
            if touch {
                state.store.touch_session(s.id, now).await?;
            }
        }
        _ => return Ok(None),
    }
    let (principal, display_name) = match s.account.kind {
        AccountKind::Staff => match state.store.user_by_id(s.account.id).await? {
            Some(u) if !u.disabled => (Principal::Staff { user_id: u.id, grants: u.grants }, u.full_name),
            _ => return Ok(None),
        },
        AccountKind::Citizen => match state.store.citizen_by_id(s.account.id).await? {
            Some(c) if !c.disabled => {
                let organizations = state.store.memberships_of(c.id).await?;
                (
                    Principal::Citizen { account_id: c.id, identity_number: c.identity_number, organizations },
                    c.full_name,
                )
            }
            _ => return Ok(None),
        },
    };
    let info = SessionInfo {
        id: s.id,
        account: s.account,
        display_name,
        csrf_token: session::csrf_token(token),
        created_at: s.created_at,
        expires_at: s.expires_at,
    };
    Ok(Some(Caller(principal, Credential::Session(info))))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let caller = Caller::resolve(state, &parts.headers).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}
