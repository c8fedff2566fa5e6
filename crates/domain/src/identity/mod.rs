//! Pure rules of identity: who an account is, how it signs in, how long a session lasts. The
//! web layer hashes, stores and sends; what is allowed and when is decided here, so every rule
//! can be tested without a clock, a database or a browser.

pub mod contact;
pub mod password;
pub mod registration;
pub mod session;

pub use contact::{CitizenLogin, Email, Phone};
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
