//! Two-step sign-in for staff, as a service the API and the pages share.
//!
//! After a right password, a staff member who uses a second step gets a *pending* session: a
//! cookie like any other, recorded in the store (so any node can finish the sign-in, and a
//! restart keeps it), that stands for nobody and ends after [`PENDING_MINUTES`]. It is at stage
//! `MfaCode` (give a code from the authenticator app, or a recovery code) or `MfaEnrolment`
//! (the role requires a second step and none is set up: scan the QR code, then give the first
//! code). Completing it replaces the pending session with a full one.
//!
//! Codes are checked with the lockout of passwords: a wrong code counts as a failed sign-in
//! against the account and the address, and while locked no code is even checked. A code is
//! accepted once (the store claims its step), and a recovery code once.

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use cqs_domain::auth::RoleGrant;
use cqs_domain::identity::mfa::display_recovery_code;
use cqs_domain::identity::{AccountRef, SecondFactor, SecurityEventKind, SessionCheck, SessionStage, Throttle};
use cqs_store::{SessionRecord, User};
use uuid::Uuid;

use super::{ClientContext, StartedSession, account_key, address_key, open_session, record_failure, throttle};
use crate::AppState;
use crate::auth::mfa::{Provisioning, matching_step, new_recovery_codes, new_secret, provisioning, totp};
use crate::auth::{Caller, audit, session};
use crate::error::ApiError;

/// How long a sign-in may wait for its second step (enrolment included: installing an app).
pub const PENDING_MINUTES: i64 = 10;

/// A sign-in whose password was right, waiting for its second step. The token goes in the
/// cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub stage: SessionStage,
    pub expires_at: DateTime<Utc>,
    token: String,
}

impl PendingSignIn {
    /// The `Set-Cookie` value that hands the pending sign-in to the browser.
    pub fn cookie(&self, state: &AppState) -> HeaderValue {
        session::set_cookie(&state.auth, &self.token)
    }
}

/// Records a pending sign-in at `stage` for `account`, replacing the browser's session.
pub(crate) async fn start_pending(
    state: &AppState,
    account: AccountRef,
    stage: SessionStage,
    client: &ClientContext,
    current: &Caller,
) -> Result<PendingSignIn, ApiError> {
    let expires_at = state.clock.now() + Duration::minutes(PENDING_MINUTES);
    let (_, token) = open_session(state, account, stage, expires_at, client, current.session().map(|s| s.id)).await?;
    Ok(PendingSignIn { stage, expires_at, token })
}

/// The pending sign-in a request's cookie names, with its staff member.
#[derive(Debug, Clone)]
pub struct Pending {
    pub session: SessionRecord,
    pub user: User,
}

/// The sign-in waiting for a second step that the request's cookie names, if it is still open.
pub async fn pending(state: &AppState, headers: &HeaderMap) -> Result<Option<Pending>, ApiError> {
    let Some(token) = session::session_token(headers) else { return Ok(None) };
    let Some(s) = state.store.session_by_token_hash(&session::token_hash(&token)).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let open = matches!(
        state.auth.session.check(s.last_seen_at, s.expires_at, s.revoked_at.is_some(), now),
        SessionCheck::Active { .. }
    );
    if !open || s.stage == SessionStage::Active || s.account.kind != cqs_domain::identity::AccountKind::Staff {
        return Ok(None);
    }
    match state.store.user_by_id(s.account.id).await? {
        Some(user) if !user.disabled => Ok(Some(Pending { session: s, user })),
        _ => Ok(None),
    }
}

/// What an authenticator app is given at enrolment.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub provisioning: Provisioning,
    /// The `otpauth://` URI as an SVG QR code, to scan from the screen.
    pub qr_svg: String,
}

/// Starts enrolment of an authenticator for `user`, or shows again the one waiting for its
/// first code (so reloading the page does not change what was scanned). `None` if the account
/// already has a confirmed authenticator.
pub async fn begin_enrolment(state: &AppState, user: &User) -> Result<Option<Enrolment>, ApiError> {
    let key = &state.auth.mfa_key;
    let secret = match state.store.mfa_of(user.id).await? {
        Some(m) if m.confirmed_at.is_some() => return Ok(None),
        Some(m) => key.open(user.id, &m.sealed_secret),
        None => None,
    };
    let secret = match secret {
        Some(s) => s,
        None => {
            let s = new_secret();
            if !state.store.put_pending_mfa(user.id, &key.seal(user.id, &s), state.clock.now()).await? {
                return Ok(None);
            }
            s
        }
    };
    let provisioning = provisioning(&totp(&secret, &state.auth.mfa_issuer, &user.username));
    let qr_svg = qrcode::QrCode::new(provisioning.uri.as_bytes())
        .map_err(|_| ApiError::internal())?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Some(Enrolment { provisioning, qr_svg }))
}

/// What checking a second factor came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorCheck {
    /// Accepted. For an enrolment just confirmed, the recovery codes to show once.
    Accepted { recovery_codes: Option<Vec<String>> },
    /// Wrong, already used, or not a code at all (counted as a failure).
    Rejected,
    /// Too many failures; nothing was checked.
    Locked { until: DateTime<Utc> },
}

/// Checks a code for `user`, with the lockout of passwords. With `enrolling`, the code must come
/// from the authenticator waiting for confirmation (and confirms it); otherwise from the
/// confirmed one, or be an unused recovery code.
pub async fn check_factor(
    state: &AppState,
    user: &User,
    enrolling: bool,
    input: &str,
    client: &ClientContext,
) -> Result<FactorCheck, ApiError> {
    let account = AccountRef::staff(user.id);
    let (account_key, address_key) = (account_key(account), address_key(client));
    if let Throttle::Locked { until } = throttle(state, &account_key, address_key.as_deref()).await? {
        audit::record(state, SecurityEventKind::SignInLocked, Some(account), client, None, None).await;
        return Ok(FactorCheck::Locked { until });
    }
    let verdict = verify(state, user, enrolling, input, client).await?;
    if verdict == FactorCheck::Rejected {
        record_failure(state, account_key, address_key).await?;
        let detail = Some("sai mã xác thực".to_owned());
        audit::record(state, SecurityEventKind::SignInFailed, Some(account), client, None, detail).await;
    } else {
        state.store.clear_auth_failures(&account_key).await?;
    }
    Ok(verdict)
}

async fn verify(
    state: &AppState,
    user: &User,
    enrolling: bool,
    input: &str,
    client: &ClientContext,
) -> Result<FactorCheck, ApiError> {
    let Some(record) = state.store.mfa_of(user.id).await? else { return Ok(FactorCheck::Rejected) };
    if record.confirmed_at.is_some() == enrolling {
        return Ok(FactorCheck::Rejected);
    }
    let key = &state.auth.mfa_key;
    let account = Some(AccountRef::staff(user.id));
    match SecondFactor::parse(input) {
        Some(SecondFactor::Totp(code)) => {
            let Some(secret) = key.open(user.id, &record.sealed_secret) else {
                tracing::error!("an authenticator secret does not open with this node's key (auth.mfa_key_file)");
                return Ok(FactorCheck::Rejected);
            };
            let t = totp(&secret, &state.auth.mfa_issuer, &user.username);
            let now = u64::try_from(state.clock.now().timestamp()).unwrap_or_default();
            let Some(step) = matching_step(&t, &code, now).and_then(|s| i64::try_from(s).ok()) else {
                return Ok(FactorCheck::Rejected);
            };
            if enrolling {
                let codes = new_recovery_codes();
                let hashes: Vec<String> = codes.iter().map(|c| key.recovery_hash(user.id, c)).collect();
                if !state.store.confirm_mfa(user.id, step, &hashes, state.clock.now()).await? {
                    return Ok(FactorCheck::Rejected);
                }
                audit::record(state, SecurityEventKind::MfaEnrolled, account, client, None, None).await;
                let shown = codes.iter().map(|c| display_recovery_code(c)).collect();
                return Ok(FactorCheck::Accepted { recovery_codes: Some(shown) });
            }
            if state.store.accept_mfa_step(user.id, step).await? {
                Ok(FactorCheck::Accepted { recovery_codes: None })
            } else {
                Ok(FactorCheck::Rejected)
            }
        }
        Some(SecondFactor::Recovery(code)) if !enrolling => {
            let hash = key.recovery_hash(user.id, &code);
            if state.store.use_recovery_code(user.id, &hash, state.clock.now()).await? {
                let left = state.store.recovery_codes_left(user.id).await?;
                let detail = Some(format!("còn {left} mã dự phòng"));
                audit::record(state, SecurityEventKind::MfaRecoveryCodeUsed, account, client, None, detail).await;
                Ok(FactorCheck::Accepted { recovery_codes: None })
            } else {
                Ok(FactorCheck::Rejected)
            }
        }
        _ => Ok(FactorCheck::Rejected),
    }
}

/// What giving the second step of a sign-in came to.
#[derive(Debug, Clone)]
pub enum SecondStepOutcome {
    /// Signed in; `recovery_codes` when this step also finished enrolment (show them once).
    SignedIn {
        started: StartedSession,
        recovery_codes: Option<Vec<String>>,
    },
    InvalidCode,
    Locked {
        until: DateTime<Utc>,
    },
}

/// Finishes a pending sign-in with a code: on success the pending session is replaced by a full
/// one.
pub async fn complete(
    state: &AppState,
    pending: &Pending,
    code: &str,
    client: &ClientContext,
) -> Result<SecondStepOutcome, ApiError> {
    let enrolling = pending.session.stage == SessionStage::MfaEnrolment;
    match check_factor(state, &pending.user, enrolling, code, client).await? {
        FactorCheck::Rejected => Ok(SecondStepOutcome::InvalidCode),
        FactorCheck::Locked { until } => Ok(SecondStepOutcome::Locked { until }),
        FactorCheck::Accepted { recovery_codes } => {
            let account = pending.session.account;
            let now = state.clock.now();
            let expires_at = state.auth.session.expires_at(now);
            let (id, token) =
                open_session(state, account, SessionStage::Active, expires_at, client, Some(pending.session.id))
                    .await?;
            audit::record(state, SecurityEventKind::SignInSucceeded, Some(account), client, None, None).await;
            let started = StartedSession {
                session_id: id,
                account,
                display_name: pending.user.full_name.clone(),
                csrf_token: session::csrf_token(&token),
                expires_at,
                token,
            };
            Ok(SecondStepOutcome::SignedIn { started, recovery_codes })
        }
    }
}

/// Whether a staff member's second step is on, required, and how many recovery codes are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MfaStatus {
    pub enabled: bool,
    /// Required by the account's roles (`[auth] mfa_required_roles`): it cannot be turned off.
    pub required: bool,
    pub recovery_codes_left: i64,
}

pub async fn status(state: &AppState, user_id: Uuid, grants: &[RoleGrant]) -> Result<MfaStatus, ApiError> {
    let enabled = state.store.mfa_of(user_id).await?.is_some_and(|m| m.confirmed_at.is_some());
    let recovery_codes_left = if enabled { state.store.recovery_codes_left(user_id).await? } else { 0 };
    Ok(MfaStatus { enabled, required: state.auth.mfa.required_for(grants), recovery_codes_left })
}

/// What a signed-in staff member's change to their own second step came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    Done,
    /// New recovery codes, to show once.
    Codes(Vec<String>),
    /// The roles require a second step, so it stays on.
    Required,
    /// No authenticator is set up.
    NotEnabled,
    Rejected,
    Locked {
        until: DateTime<Utc>,
    },
}

impl FactorCheck {
    /// Why a change must not go ahead; `None` when the code was accepted.
    fn refusal(self) -> Option<ChangeOutcome> {
        match self {
            FactorCheck::Accepted { .. } => None,
            FactorCheck::Rejected => Some(ChangeOutcome::Rejected),
            FactorCheck::Locked { until } => Some(ChangeOutcome::Locked { until }),
        }
    }
}

/// Confirms the authenticator a signed-in staff member is enrolling; returns the recovery codes.
pub async fn confirm_enrolment(
    state: &AppState,
    user: &User,
    code: &str,
    client: &ClientContext,
) -> Result<ChangeOutcome, ApiError> {
    Ok(match check_factor(state, user, true, code, client).await? {
        FactorCheck::Accepted { recovery_codes } => ChangeOutcome::Codes(recovery_codes.unwrap_or_default()),
        other => other.refusal().unwrap_or(ChangeOutcome::Rejected),
    })
}

/// Replaces the recovery codes, after a current code proves the authenticator is at hand.
pub async fn renew_recovery_codes(
    state: &AppState,
    user: &User,
    code: &str,
    client: &ClientContext,
) -> Result<ChangeOutcome, ApiError> {
    if !status(state, user.id, &user.grants).await?.enabled {
        return Ok(ChangeOutcome::NotEnabled);
    }
    if let Some(refused) = check_factor(state, user, false, code, client).await?.refusal() {
        return Ok(refused);
    }
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| state.auth.mfa_key.recovery_hash(user.id, c)).collect();
    state.store.replace_recovery_codes(user.id, &hashes).await?;
    let account = Some(AccountRef::staff(user.id));
    audit::record(state, SecurityEventKind::MfaRecoveryCodesRenewed, account, client, None, None).await;
    Ok(ChangeOutcome::Codes(codes.iter().map(|c| display_recovery_code(c)).collect()))
}

/// Turns the second step off, when the roles allow it and a current code is given.
pub async fn disable(
    state: &AppState,
    user: &User,
    code: &str,
    client: &ClientContext,
) -> Result<ChangeOutcome, ApiError> {
    let s = status(state, user.id, &user.grants).await?;
    if s.required {
        return Ok(ChangeOutcome::Required);
    }
    if !s.enabled {
        return Ok(ChangeOutcome::NotEnabled);
    }
    if let Some(refused) = check_factor(state, user, false, code, client).await?.refusal() {
        return Ok(refused);
    }
    state.store.remove_mfa(user.id).await?;
    audit::record(state, SecurityEventKind::MfaDisabled, Some(AccountRef::staff(user.id)), client, None, None).await;
    Ok(ChangeOutcome::Done)
}

/// Removes a staff member's authenticator and ends their sessions (an administrator's act, for a
/// lost phone): at the next sign-in they enrol again if their roles require it. False if they
/// had none.
pub async fn reset(
    store: &dyn cqs_store::Store,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, cqs_store::StoreError> {
    let had = store.remove_mfa(user_id).await?;
    let account = AccountRef::staff(user_id);
    store.revoke_sessions_of(account, None, now).await?;
    let event = cqs_store::SecurityEvent {
        id: Uuid::now_v7(),
        at: now,
        kind: SecurityEventKind::MfaReset,
        account: Some(account),
        ip: None,
        route: None,
        detail: Some(if had { "xóa ứng dụng xác thực" } else { "không có ứng dụng xác thực" }.into()),
    };
    store.record_security_event(&event).await?;
    Ok(had)
}
