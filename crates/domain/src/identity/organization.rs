//! Organization accounts (tài khoản tổ chức, doanh nghiệp): a business identified by its
//! enterprise code (mã số doanh nghiệp), acting through several citizen accounts that are its
//! members. Its admin members add and remove members; every member may submit for the
//! organization and follow its dossiers. An organization always keeps at least one admin.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{IdError, IdentityKind, IdentityNumber};

/// What a member may do for the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Manages the members (người đại diện, quản trị tài khoản tổ chức).
    Admin,
    /// Submits and follows the organization's dossiers.
    Member,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Admin => "admin",
            MemberRole::Member => "member",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [MemberRole::Admin, MemberRole::Member].into_iter().find(|r| r.as_str() == s)
    }
}

/// An organization a citizen account belongs to, as the access rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Membership {
    pub organization_id: Uuid,
    /// Mã số doanh nghiệp: what the organization's dossiers name as the applicant.
    pub enterprise_code: String,
    pub role: MemberRole,
}

/// Reads an enterprise code: 10 digits, or 10 + "-" + 3 for a branch.
pub fn parse_enterprise_code(s: &str) -> Result<IdentityNumber, IdError> {
    IdentityNumber::parse(IdentityKind::Enterprise, s.trim())
}

/// Why a change to the members was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipProblem {
    #[error("Tổ chức phải còn ít nhất một người quản trị")]
    LastAdmin,
}

/// Whether removing (or demoting) a member with `role` leaves the organization an admin, given
/// how many admins it has now.
pub fn may_remove(role: MemberRole, admins_now: usize) -> Result<(), MembershipProblem> {
    if role == MemberRole::Admin && admins_now <= 1 { Err(MembershipProblem::LastAdmin) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_keeps_an_admin() {
        assert_eq!(may_remove(MemberRole::Admin, 1), Err(MembershipProblem::LastAdmin));
        assert_eq!(may_remove(MemberRole::Admin, 2), Ok(()));
        assert_eq!(may_remove(MemberRole::Member, 1), Ok(()));
        assert!(parse_enterprise_code("0101234567").is_ok());
        assert!(parse_enterprise_code(" 0101234567-001 ").is_ok());
        assert!(parse_enterprise_code("001203004567").is_err(), "a personal number is not an enterprise code");
        for r in [MemberRole::Admin, MemberRole::Member] {
            assert_eq!(MemberRole::parse(r.as_str()), Some(r));
        }
    }
}
