//! Pure rules of identity: who an account is, how it signs in, how long a session lasts. The
//! web layer hashes, stores and sends; what is allowed and when is decided here, so every rule
//! can be tested without a clock, a database or a browser.

pub mod api_key;
pub mod contact;
pub mod lockout;
pub mod mfa;
pub mod organization;
pub mod otp;
pub mod password;
pub mod registration;
pub mod session;

pub use contact::{CitizenLogin, Email, Phone};
pub use lockout::{Failures, LockoutPolicy, Throttle};
pub use mfa::{MfaPolicy, SecondFactor, SessionStage};
pub use otp::{CodePolicy, CodePurpose, CodeVerdict, SendVerdict, Sends};
pub use password::{PasswordPolicy, PasswordProblem};
pub use registration::{CitizenRegistration, RegistrationInput};
pub use session::{SessionCheck, SessionPolicy};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which kind of account a session or a security event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Cán bộ, công chức: roles in org units.
    Staff,
    /// Công dân: submits and follows their own dossiers.
    Citizen,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Staff => "staff",
            AccountKind::Citizen => "citizen",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff" => Some(AccountKind::Staff),
            "citizen" => Some(AccountKind::Citizen),
            _ => None,
        }
    }
}

/// What happened, for the security log (sự kiện an ninh). The log says who, when, from where
/// and what; never a password, a one-time code or a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventKind {
    SignInSucceeded,
    SignInFailed,
    /// A sign-in refused without checking the password, because of a lockout.
    SignInLocked,
    SignedOut,
    SessionRevoked,
    PasswordChanged,
    CitizenRegistered,
    /// An authenticated caller refused by an access rule, or a request refused by the CSRF guard.
    AccessDenied,
    /// A staff member confirmed an authenticator app (two-step sign-in is now on).
    MfaEnrolled,
    /// A staff member turned two-step sign-in off for their own account.
    MfaDisabled,
    /// An administrator removed a staff member's authenticator (`cqs user mfa-reset`).
    MfaReset,
    /// A recovery code was spent to sign in.
    MfaRecoveryCodeUsed,
    /// New recovery codes replaced the old ones.
    MfaRecoveryCodesRenewed,
    /// A citizen proved an e-mail address or phone number with a code sent to it.
    ContactVerified,
    /// A code to reset a forgotten password was asked for.
    PasswordResetRequested,
    /// An organization account was opened, or its members changed.
    OrganizationChanged,
    /// An API key was created, rotated or revoked (the detail says which and its prefix).
    ApiKeyChanged,
    /// A person's identity at an e-ID provider was linked to an account (the detail names the
    /// provider and whether the account was found by its verified identity number or opened).
    EidLinked,
    /// An administrator created a staff account or changed its role grants (the detail names
    /// the account and the grants, never a password).
    StaffChanged,
}

impl SecurityEventKind {
    pub const ALL: [SecurityEventKind; 19] = [
        Self::SignInSucceeded,
        Self::SignInFailed,
        Self::SignInLocked,
        Self::SignedOut,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::CitizenRegistered,
        Self::AccessDenied,
        Self::MfaEnrolled,
        Self::MfaDisabled,
        Self::MfaReset,
        Self::MfaRecoveryCodeUsed,
        Self::MfaRecoveryCodesRenewed,
        Self::ContactVerified,
        Self::PasswordResetRequested,
        Self::OrganizationChanged,
        Self::ApiKeyChanged,
        Self::EidLinked,
        Self::StaffChanged,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignInSucceeded => "sign_in_succeeded",
            Self::SignInFailed => "sign_in_failed",
            Self::SignInLocked => "sign_in_locked",
            Self::SignedOut => "signed_out",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::CitizenRegistered => "citizen_registered",
            Self::AccessDenied => "access_denied",
            Self::MfaEnrolled => "mfa_enrolled",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaReset => "mfa_reset",
            Self::MfaRecoveryCodeUsed => "mfa_recovery_code_used",
            Self::MfaRecoveryCodesRenewed => "mfa_recovery_codes_renewed",
            Self::ContactVerified => "contact_verified",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::OrganizationChanged => "organization_changed",
            Self::ApiKeyChanged => "api_key_changed",
            Self::EidLinked => "eid_linked",
            Self::StaffChanged => "staff_changed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One account, of either kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountRef {
    pub kind: AccountKind,
    pub id: Uuid,
}

impl AccountRef {
    pub fn staff(id: Uuid) -> Self {
        Self { kind: AccountKind::Staff, id }
    }
    pub fn citizen(id: Uuid) -> Self {
        Self { kind: AccountKind::Citizen, id }
    }
}
