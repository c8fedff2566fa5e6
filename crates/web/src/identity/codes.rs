//! One-time codes sent to citizens, as a service the API and the pages share: proving an
//! e-mail address or phone number is theirs, and resetting a forgotten password. The rules
//! (validity, tries, how often) are `domain::identity::otp`; codes are kept as keyed hashes and
//! delivered through the configured [`crate::notify::Notifier`].

use aws_lc_rs::constant_time::verify_slices_are_equal;
use chrono::{DateTime, Utc};
use cqs_domain::form::FieldError;
use cqs_domain::identity::otp::{CodeState, format_code, parse_code};
use cqs_domain::identity::{AccountRef, CitizenLogin, CodePurpose, CodeVerdict, SecurityEventKind, SendVerdict};
use cqs_store::{CitizenAccount, Contact, NewCode};
use rand::Rng;
use uuid::Uuid;

use super::{ClientContext, account_key};
use crate::AppState;
use crate::auth::{audit, password};
use crate::error::ApiError;
use crate::notify::{Destination, Notice};

/// What asking for a code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Sent to `to` (masked, to tell the person where to look).
    Sent {
        to: String,
        expires_at: DateTime<Utc>,
    },
    /// Too soon after the last code, or too many this hour.
    Wait {
        until: DateTime<Utc>,
    },
    /// The account has no such contact.
    NoContact,
    AlreadyVerified,
}

/// What a code typed in came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Done,
    Wrong {
        left: u32,
    },
    /// No open code, expired, or out of tries: ask for a new one.
    Expired,
}

fn purpose_of(contact: Contact) -> CodePurpose {
    match contact {
        Contact::Email => CodePurpose::VerifyEmail,
        Contact::Phone => CodePurpose::VerifyPhone,
    }
}

/// Makes a code, records it (the store's claim on this minute), and sends it.
async fn issue(
    state: &AppState,
    purpose: CodePurpose,
    account: AccountRef,
    to: Destination,
    subject: &str,
    text: impl FnOnce(&str) -> String,
) -> Result<SendOutcome, ApiError> {
    let now = state.clock.now();
    let policy = &state.auth.codes;
    let sends = state.store.code_sends(purpose, account.id, policy.since(now)).await?;
    if let SendVerdict::Wait { until } = policy.may_send(sends, now) {
        return Ok(SendOutcome::Wait { until });
    }
    let code = format_code(rand::rng().random_range(0..1_000_000));
    let destination = match &to {
        Destination::Email(e) | Destination::Phone(e) => e.clone(),
    };
    let new = NewCode {
        id: Uuid::now_v7(),
        purpose,
        account,
        destination,
        code_hash: state.auth.mfa_key.one_time_code_hash(purpose.as_str(), account.id, &code),
        created_at: now,
        expires_at: now + policy.ttl,
    };
    if !state.store.issue_code(&new).await? {
        return Ok(SendOutcome::Wait { until: now + policy.resend_after });
    }
    let notice =
        Notice { to: to.clone(), subject: subject.to_owned(), text: text(&code), kind: purpose.as_str().into() };
    if let Err(e) = state.notifier.send(&notice).await {
        tracing::error!(error = %e, kind = purpose.as_str(), "a one-time code could not be sent");
        state.store.consume_code(new.id, now).await?;
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "notice_not_sent",
            "Chưa gửi được mã, vui lòng thử lại sau ít phút",
        ));
    }
    Ok(SendOutcome::Sent { to: to.masked(), expires_at: new.expires_at })
}

/// Judges a code typed in against the newest open code, spending a try when wrong and using the
/// code when right. Returns the destination the code was sent to when accepted.
async fn check(
    state: &AppState,
    purpose: CodePurpose,
    account: Uuid,
    input: &str,
) -> Result<(ConfirmOutcome, Option<String>), ApiError> {
    let now = state.clock.now();
    let policy = &state.auth.codes;
    let open = state.store.open_code(purpose, account).await?;
    let matches = match (&open, parse_code(input)) {
        (Some(o), Some(code)) => {
            let typed = state.auth.mfa_key.one_time_code_hash(purpose.as_str(), account, &code);
            verify_slices_are_equal(typed.as_bytes(), o.code_hash.as_bytes()).is_ok()
        }
        _ => false,
    };
    let stateful = open
        .as_ref()
        .map(|o| CodeState { expires_at: o.expires_at, attempts: u32::try_from(o.attempts).unwrap_or(u32::MAX) });
    let max = i32::try_from(policy.max_attempts).unwrap_or(i32::MAX);
    Ok(match (policy.check(stateful, matches, now), open) {
        (CodeVerdict::Accepted, Some(o)) if state.store.consume_code(o.id, now).await? => {
            (ConfirmOutcome::Done, Some(o.destination))
        }
        (CodeVerdict::Wrong { left }, Some(o)) if state.store.spend_code_attempt(o.id, max).await? => {
            (ConfirmOutcome::Wrong { left }, None)
        }
        _ => (ConfirmOutcome::Expired, None),
    })
}

fn verification_text(code: &str, what: &str, minutes: i64) -> String {
    format!(
        "Mã xác minh {what} của bạn trên Cổng Dịch vụ công là {code}.\n\
         Mã có hiệu lực trong {minutes} phút và chỉ dùng được một lần.\n\
         Không cung cấp mã này cho bất kỳ ai, kể cả người tự xưng là cán bộ.\n\
         Nếu bạn không yêu cầu mã, hãy bỏ qua thư này."
    )
}

/// Sends a code to the citizen's e-mail or phone to prove it is theirs.
pub async fn send_verification(
    state: &AppState,
    account: &CitizenAccount,
    contact: Contact,
) -> Result<SendOutcome, ApiError> {
    let (to, verified, what) = match contact {
        Contact::Email => (account.email.clone().map(Destination::Email), account.email_verified_at, "thư điện tử"),
        Contact::Phone => (account.phone.clone().map(Destination::Phone), account.phone_verified_at, "số điện thoại"),
    };
    let Some(to) = to else { return Ok(SendOutcome::NoContact) };
    if verified.is_some() {
        return Ok(SendOutcome::AlreadyVerified);
    }
    let minutes = state.auth.codes.ttl.num_minutes();
    let subject = format!("Mã xác minh {what}");
    issue(state, purpose_of(contact), AccountRef::citizen(account.id), to, &subject, |code| {
        verification_text(code, what, minutes)
    })
    .await
}

/// Checks a verification code; a right one marks the contact it was sent to as verified (if the
/// account still has that contact).
pub async fn confirm_verification(
    state: &AppState,
    account: &CitizenAccount,
    contact: Contact,
    code: &str,
    client: &ClientContext,
) -> Result<ConfirmOutcome, ApiError> {
    let (outcome, destination) = check(state, purpose_of(contact), account.id, code).await?;
    if let Some(destination) = destination {
        let now = state.clock.now();
        if !state.store.mark_contact_verified(account.id, contact, &destination, now).await? {
            return Ok(ConfirmOutcome::Expired);
        }
        let detail = Some(match contact {
            Contact::Email => "thư điện tử".to_owned(),
            Contact::Phone => "số điện thoại".to_owned(),
        });
        let who = Some(AccountRef::citizen(account.id));
        audit::record(state, SecurityEventKind::ContactVerified, who, client, None, detail).await;
    }
    Ok(outcome)
}

/// Where a reset code goes: a verified address first, e-mail before phone.
fn reset_destination(a: &CitizenAccount) -> Option<Destination> {
    let email = a.email.clone().map(|e| (a.email_verified_at.is_some(), Destination::Email(e)));
    let phone = a.phone.clone().map(|p| (a.phone_verified_at.is_some(), Destination::Phone(p)));
    let mut all: Vec<(bool, Destination)> = email.into_iter().chain(phone).collect();
    all.sort_by_key(|(verified, _)| !verified);
    all.into_iter().next().map(|(_, d)| d)
}

async fn account_for(state: &AppState, login: &str) -> Result<Option<CitizenAccount>, ApiError> {
    Ok(match CitizenLogin::parse(login) {
        Some(l) => state.store.citizen_credentials(&l).await?.map(|c| c.account).filter(|a| !a.disabled),
        None => None,
    })
}

/// Sends a password-reset code to the account a citizen names (identity number, phone or
/// e-mail). What it came to is not told to the caller, so nobody learns whether an account
/// exists; it is returned for the log and tests.
pub async fn request_password_reset(
    state: &AppState,
    login: &str,
    client: &ClientContext,
) -> Result<Option<SendOutcome>, ApiError> {
    let Some(account) = account_for(state, login).await? else {
        let detail = Some("không có tài khoản".to_owned());
        audit::record(state, SecurityEventKind::PasswordResetRequested, None, client, None, detail).await;
        return Ok(None);
    };
    let who = AccountRef::citizen(account.id);
    audit::record(state, SecurityEventKind::PasswordResetRequested, Some(who), client, None, None).await;
    let Some(to) = reset_destination(&account) else { return Ok(Some(SendOutcome::NoContact)) };
    let minutes = state.auth.codes.ttl.num_minutes();
    let outcome = issue(state, CodePurpose::ResetPassword, who, to, "Mã đặt lại mật khẩu", |code| {
        format!(
            "Mã đặt lại mật khẩu tài khoản Cổng Dịch vụ công của bạn là {code}.\n\
             Mã có hiệu lực trong {minutes} phút và chỉ dùng được một lần.\n\
             Không cung cấp mã này cho bất kỳ ai. Nếu bạn không yêu cầu đặt lại mật khẩu, hãy bỏ qua \
             thư này: mật khẩu của bạn vẫn giữ nguyên."
        )
    })
    .await?;
    Ok(Some(outcome))
}

/// What a password reset came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetOutcome {
    Done,
    /// The new password breaks the policy.
    Invalid(Vec<FieldError>),
    Code(ConfirmOutcome),
}

/// Sets a new password with a reset code. The code is checked first (a wrong code is a wrong
/// try whatever the password); every session of the account ends.
pub async fn reset_password(
    state: &AppState,
    login: &str,
    code: &str,
    new_password: String,
    client: &ClientContext,
) -> Result<ResetOutcome, ApiError> {
    let Some(account) = account_for(state, login).await? else {
        return Ok(ResetOutcome::Code(ConfirmOutcome::Expired));
    };
    let own: Vec<&str> = [Some(account.identity_number.as_str()), account.phone.as_deref(), account.email.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if let Err(p) = state.auth.password.check(&new_password, &own) {
        let e = FieldError { field: "/password".into(), label: "Mật khẩu mới".into(), message: p.to_string() };
        return Ok(ResetOutcome::Invalid(vec![e]));
    }
    let (outcome, destination) = check(state, CodePurpose::ResetPassword, account.id, code).await?;
    if destination.is_none() {
        return Ok(ResetOutcome::Code(outcome));
    }
    let hash = password::hash(new_password).await?;
    state.store.set_citizen_password(account.id, &hash).await?;
    let who = AccountRef::citizen(account.id);
    let now = state.clock.now();
    state.store.revoke_sessions_of(who, None, now).await?;
    // Proving control of the contact ends a lockout the forgotten password caused.
    state.store.clear_auth_failures(&account_key(who)).await?;
    let detail = Some("đặt lại bằng mã xác minh".to_owned());
    audit::record(state, SecurityEventKind::PasswordChanged, Some(who), client, None, detail).await;
    Ok(ResetOutcome::Done)
}
