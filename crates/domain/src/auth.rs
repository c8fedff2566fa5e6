//! Who may do what. Staff hold roles scoped to an org unit; machine clients hold scopes and may be
//! limited to one org unit; citizens act for themselves (and, later, for the organizations they
//! are members of) and see only what they own. Every rule here is a pure function of the principal and the target,
//! so the web layer only asks and the authorization matrix can be tested without HTTP.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::organization::{MemberRole, Membership};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Cán bộ một cửa: accepts, refuses and returns dossiers at the desk.
    DeskOfficer,
    /// Chuyên viên xử lý: appraises dossiers.
    Specialist,
    /// Lãnh đạo: approves and signs.
    Leader,
    /// Văn thư: registers and issues documents.
    Clerk,
    /// Quản trị: manages the unit's catalog, users and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::DeskOfficer, Role::Specialist, Role::Leader, Role::Clerk, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::DeskOfficer => "desk_officer",
            Role::Specialist => "specialist",
            Role::Leader => "leader",
            Role::Clerk => "clerk",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Role::DeskOfficer => "Cán bộ tiếp nhận (một cửa)",
            Role::Specialist => "Chuyên viên xử lý",
            Role::Leader => "Lãnh đạo",
            Role::Clerk => "Văn thư",
            Role::Admin => "Quản trị hệ thống",
        }
    }
}

/// A role held in one org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoleGrant {
    pub role: Role,
    pub org_unit_id: Uuid,
}

/// What a machine client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// Submit dossiers on behalf of applicants (a portal, a kiosk, a partner system).
    #[serde(rename = "dossiers:submit")]
    DossiersSubmit,
    /// Read dossiers (all, or those of its org unit when the client is unit-scoped).
    #[serde(rename = "dossiers:read")]
    DossiersRead,
    /// Manage the procedure catalog and org units.
    #[serde(rename = "catalog:write")]
    CatalogWrite,
    /// Scrape `/metrics` (a Prometheus server); gives no access to any dossier.
    #[serde(rename = "metrics:read")]
    MetricsRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::DossiersSubmit, Scope::DossiersRead, Scope::CatalogWrite, Scope::MetricsRead];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::DossiersSubmit => "dossiers:submit",
            Scope::DossiersRead => "dossiers:read",
            Scope::CatalogWrite => "catalog:write",
            Scope::MetricsRead => "metrics:read",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Staff {
        user_id: Uuid,
        grants: Vec<RoleGrant>,
    },
    Client {
        client_id: Uuid,
        scopes: Vec<Scope>,
        org_unit_id: Option<Uuid>,
    },
    /// A signed-in citizen account. `organizations` are the business accounts it may act for.
    Citizen {
        account_id: Uuid,
        identity_number: String,
        organizations: Vec<Membership>,
    },
}

/// Whom a dossier belongs to, as the access rules need it: the citizen account that submitted it
/// online, and the enterprise it names as applicant, if it does (whose members share it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Owner<'a> {
    pub account: Option<Uuid>,
    pub enterprise: Option<&'a str>,
}

/// Why access was refused; the text reaches the caller and the security log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("Cần đăng nhập hoặc khóa API để thực hiện thao tác này")]
    Unauthenticated,
    #[error("Khóa API không có quyền {0}")]
    MissingScope(&'static str),
    #[error("Tài khoản không có vai trò phù hợp tại đơn vị này")]
    NoRoleInUnit,
    #[error("Khóa API chỉ được dùng cho đơn vị khác")]
    OutsideClientUnit,
    #[error("Hồ sơ này không thuộc tài khoản của bạn")]
    NotOwner,
    #[error("Tài khoản công dân chỉ nộp hồ sơ đứng tên chính mình hoặc tổ chức mình là thành viên")]
    ApplicantNotSelf,
    #[error("Chỉ người quản trị của tổ chức được thay đổi thành viên")]
    NotOrganizationAdmin,
    #[error("Tài khoản không thuộc tổ chức này")]
    NotOrganizationMember,
}

impl Principal {
    pub fn is_authenticated(&self) -> bool {
        !matches!(self, Principal::Anonymous)
    }

    /// Whether a staff member holds one of `roles` in `unit`. Admin of a unit covers every role
    /// there, which matches how provinces delegate.
    pub fn has_role_in(&self, unit: Uuid, roles: &[Role]) -> bool {
        match self {
            Principal::Staff { grants, .. } => {
                grants.iter().any(|g| g.org_unit_id == unit && (roles.contains(&g.role) || g.role == Role::Admin))
            }
            _ => false,
        }
    }

    fn client_scope(&self, scope: Scope, unit: Uuid) -> Option<Result<(), Denied>> {
        match self {
            Principal::Client { scopes, org_unit_id, .. } => Some(if !scopes.contains(&scope) {
                Err(Denied::MissingScope(scope.as_str()))
            } else if org_unit_id.is_some_and(|u| u != unit) {
                Err(Denied::OutsideClientUnit)
            } else {
                Ok(())
            }),
            _ => None,
        }
    }

    /// May submit a dossier to `receiving_unit`: a client with `dossiers:submit` (limited to its
    /// unit if it has one), a desk officer of that unit (counter intake), or a citizen (online,
    /// for themselves: see [`Principal::may_apply_as`]).
    pub fn may_submit(&self, receiving_unit: Uuid) -> Result<(), Denied> {
        if let Some(r) = self.client_scope(Scope::DossiersSubmit, receiving_unit) {
            return r;
        }
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            Principal::Citizen { .. } => Ok(()),
            _ if self.has_role_in(receiving_unit, &[Role::DeskOfficer]) => Ok(()),
            _ => Err(Denied::NoRoleInUnit),
        }
    }

    /// May name `applicant_identity` as the applicant of a new dossier. A citizen applies for
    /// themselves, or for an organization they are a member of (by its enterprise code), so the
    /// dossier is theirs (or the organization's) to follow; staff and clients enter dossiers for
    /// whoever comes to them.
    pub fn may_apply_as(&self, applicant_identity: &str) -> Result<(), Denied> {
        match self {
            Principal::Citizen { identity_number, organizations, .. }
                if identity_number != applicant_identity
                    && !organizations.iter().any(|m| m.enterprise_code == applicant_identity) =>
            {
                Err(Denied::ApplicantNotSelf)
            }
            _ => Ok(()),
        }
    }

    /// Whether this caller owns a dossier: they submitted it online, or it was submitted online
    /// for an organization they are a member of.
    pub fn owns(&self, owner: Owner<'_>) -> bool {
        match self {
            Principal::Citizen { account_id, organizations, .. } => {
                owner.account == Some(*account_id)
                    || (owner.account.is_some()
                        && owner.enterprise.is_some_and(|e| organizations.iter().any(|m| m.enterprise_code == e)))
            }
            _ => false,
        }
    }

    fn membership(&self, organization: Uuid) -> Option<MemberRole> {
        match self {
            Principal::Citizen { organizations, .. } => {
                organizations.iter().find(|m| m.organization_id == organization).map(|m| m.role)
            }
            _ => None,
        }
    }

    /// May open an organization account: an admin of the province's root unit (who checked the
    /// business registration).
    pub fn may_open_organization(&self, root_unit: Uuid) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            _ if self.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
            _ => Err(Denied::NoRoleInUnit),
        }
    }

    /// May see an organization and its members: its members and the province's admins.
    pub fn may_view_organization(&self, organization: Uuid, root_unit: Uuid) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            _ if self.membership(organization).is_some() || self.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
            Principal::Citizen { .. } => Err(Denied::NotOrganizationMember),
            _ => Err(Denied::NoRoleInUnit),
        }
    }

    /// May add, remove and change members: the organization's admin members, and the province's
    /// admins (who open organizations and help when the last admin leaves the company).
    pub fn may_manage_organization(&self, organization: Uuid, root_unit: Uuid) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            _ if self.membership(organization) == Some(MemberRole::Admin)
                || self.has_role_in(root_unit, &[Role::Admin]) =>
            {
                Ok(())
            }
            Principal::Citizen { .. } => Err(Denied::NotOrganizationAdmin),
            _ => Err(Denied::NoRoleInUnit),
        }
    }

    /// May read a dossier's full record (applicant, form data, files). `units` are the units that
    /// hold or held the dossier; `submitted_by` is the client that submitted it, if any; `owner`
    /// the citizen account it belongs to, if any.
    pub fn may_read_dossier(&self, units: &[Uuid], submitted_by: Option<Uuid>, owner: Owner<'_>) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            Principal::Citizen { .. } => {
                if self.owns(owner) {
                    Ok(())
                } else {
                    Err(Denied::NotOwner)
                }
            }
            Principal::Client { client_id, .. } if Some(*client_id) == submitted_by => Ok(()),
            Principal::Client { scopes, org_unit_id, .. } => {
                if !scopes.contains(&Scope::DossiersRead) {
                    Err(Denied::MissingScope(Scope::DossiersRead.as_str()))
                } else if org_unit_id.is_some_and(|u| !units.contains(&u)) {
                    Err(Denied::OutsideClientUnit)
                } else {
                    Ok(())
                }
            }
            Principal::Staff { .. } => {
                if units.iter().any(|u| self.has_role_in(*u, &Role::ALL)) {
                    Ok(())
                } else {
                    Err(Denied::NoRoleInUnit)
                }
            }
        }
    }

    /// May read the security log: an admin of the province's root unit.
    pub fn may_read_security_events(&self, root_unit: Uuid) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            _ if self.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
            _ => Err(Denied::NoRoleInUnit),
        }
    }

    /// May list, create, rotate and revoke API keys: an admin of the province's root unit. A
    /// system client's key never manages keys (a leaked one must not be able to mint more).
    pub fn may_manage_api_keys(&self, root_unit: Uuid) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            _ if self.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
            _ => Err(Denied::NoRoleInUnit),
        }
    }

    /// May read the operational metrics: only a client key with `metrics:read`. Staff and
    /// citizens never need them, and metrics say how busy each route and unit of work is.
    pub fn may_read_metrics(&self) -> Result<(), Denied> {
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            Principal::Client { scopes, .. } if scopes.contains(&Scope::MetricsRead) => Ok(()),
            _ => Err(Denied::MissingScope(Scope::MetricsRead.as_str())),
        }
    }

    /// May change the catalog (procedures, org units): an admin of the province's root unit, or
    /// a client with `catalog:write`.
    pub fn may_write_catalog(&self, root_unit: Uuid) -> Result<(), Denied> {
        if let Some(r) = self.client_scope(Scope::CatalogWrite, root_unit) {
            return r;
        }
        match self {
            Principal::Anonymous => Err(Denied::Unauthenticated),
            _ if self.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
            _ => Err(Denied::NoRoleInUnit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role, unit: Uuid) -> Principal {
        Principal::Staff { user_id: Uuid::now_v7(), grants: vec![RoleGrant { role, org_unit_id: unit }] }
    }

    #[test]
    fn submission_rules() {
        let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(Principal::Anonymous.may_submit(x), Err(Denied::Unauthenticated));
        assert_eq!(staff(Role::DeskOfficer, x).may_submit(x), Ok(()));
        assert_eq!(staff(Role::DeskOfficer, y).may_submit(x), Err(Denied::NoRoleInUnit));
        assert_eq!(staff(Role::Specialist, x).may_submit(x), Err(Denied::NoRoleInUnit));
        assert_eq!(staff(Role::Admin, x).may_submit(x), Ok(()));
        let portal =
            Principal::Client { client_id: Uuid::now_v7(), scopes: vec![Scope::DossiersSubmit], org_unit_id: None };
        assert_eq!(portal.may_submit(x), Ok(()));
        let kiosk =
            Principal::Client { client_id: Uuid::now_v7(), scopes: vec![Scope::DossiersSubmit], org_unit_id: Some(y) };
        assert_eq!(kiosk.may_submit(x), Err(Denied::OutsideClientUnit));
        assert_eq!(kiosk.may_submit(y), Ok(()));
        let reader =
            Principal::Client { client_id: Uuid::now_v7(), scopes: vec![Scope::DossiersRead], org_unit_id: None };
        assert_eq!(reader.may_submit(x), Err(Denied::MissingScope("dossiers:submit")));
    }

    #[test]
    fn reading_rules() {
        let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
        let submitter = Uuid::now_v7();
        let own = Principal::Client { client_id: submitter, scopes: vec![Scope::DossiersSubmit], org_unit_id: None };
        assert_eq!(own.may_read_dossier(&[x], Some(submitter), Owner::default()), Ok(()));
        assert_eq!(own.may_read_dossier(&[x], None, Owner::default()), Err(Denied::MissingScope("dossiers:read")));
        let unit_reader =
            Principal::Client { client_id: Uuid::now_v7(), scopes: vec![Scope::DossiersRead], org_unit_id: Some(y) };
        assert_eq!(unit_reader.may_read_dossier(&[x, y], None, Owner::default()), Ok(()));
        assert_eq!(unit_reader.may_read_dossier(&[x], None, Owner::default()), Err(Denied::OutsideClientUnit));
        assert_eq!(staff(Role::Clerk, x).may_read_dossier(&[x], None, Owner::default()), Ok(()));
        assert_eq!(staff(Role::Leader, y).may_read_dossier(&[x], None, Owner::default()), Err(Denied::NoRoleInUnit));
        assert_eq!(Principal::Anonymous.may_read_dossier(&[x], None, Owner::default()), Err(Denied::Unauthenticated));
    }

    #[test]
    fn only_a_metrics_key_reads_metrics() {
        let root = Uuid::now_v7();
        let scraper =
            Principal::Client { client_id: Uuid::now_v7(), scopes: vec![Scope::MetricsRead], org_unit_id: None };
        assert_eq!(scraper.may_read_metrics(), Ok(()));
        assert_eq!(
            scraper.may_read_dossier(&[root], None, Owner::default()),
            Err(Denied::MissingScope("dossiers:read"))
        );
        assert_eq!(Principal::Anonymous.may_read_metrics(), Err(Denied::Unauthenticated));
        assert_eq!(staff(Role::Admin, root).may_read_metrics(), Err(Denied::MissingScope("metrics:read")));
        let portal =
            Principal::Client { client_id: Uuid::now_v7(), scopes: vec![Scope::DossiersSubmit], org_unit_id: None };
        assert_eq!(portal.may_read_metrics(), Err(Denied::MissingScope("metrics:read")));
    }

    #[test]
    fn citizens_submit_for_themselves_and_read_what_they_own() {
        let (x, me, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let citizen =
            Principal::Citizen { account_id: me, identity_number: "001203004567".into(), organizations: vec![] };
        assert_eq!(citizen.may_submit(x), Ok(()));
        assert_eq!(citizen.may_apply_as("001203004567"), Ok(()));
        assert_eq!(citizen.may_apply_as("001203009999"), Err(Denied::ApplicantNotSelf));
        assert_eq!(staff(Role::DeskOfficer, x).may_apply_as("001203009999"), Ok(()));
        assert_eq!(citizen.may_read_dossier(&[x], None, Owner { account: Some(me), enterprise: None }), Ok(()));
        assert_eq!(
            citizen.may_read_dossier(&[x], None, Owner { account: Some(other), enterprise: None }),
            Err(Denied::NotOwner)
        );
        assert_eq!(citizen.may_read_dossier(&[x], None, Owner::default()), Err(Denied::NotOwner));
        assert_eq!(citizen.may_write_catalog(x), Err(Denied::NoRoleInUnit));
        assert!(!citizen.has_role_in(x, &Role::ALL));
        assert!(!staff(Role::Admin, x).owns(Owner { account: Some(me), enterprise: None }));
    }

    #[test]
    fn organization_members_apply_for_it_and_share_its_dossiers() {
        let (root, x, org, other_org) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let membership = |role| Membership { organization_id: org, enterprise_code: "0101234567".into(), role };
        let citizen = |id, role: Option<MemberRole>| Principal::Citizen {
            account_id: id,
            identity_number: "001203004567".into(),
            organizations: role.map(membership).into_iter().collect(),
        };
        let (me, colleague) = (Uuid::now_v7(), Uuid::now_v7());
        let member = citizen(me, Some(MemberRole::Member));
        let admin = citizen(Uuid::now_v7(), Some(MemberRole::Admin));
        let outsider = citizen(Uuid::now_v7(), None);
        assert_eq!(member.may_apply_as("0101234567"), Ok(()));
        assert_eq!(outsider.may_apply_as("0101234567"), Err(Denied::ApplicantNotSelf));
        // A dossier a colleague submitted online for the organization is shared by its members.
        let theirs = Owner { account: Some(colleague), enterprise: Some("0101234567") };
        assert_eq!(member.may_read_dossier(&[x], None, theirs), Ok(()));
        assert_eq!(outsider.may_read_dossier(&[x], None, theirs), Err(Denied::NotOwner));
        // Not one entered at a counter (nobody's account vouches that it is the organization's).
        let counter = Owner { account: None, enterprise: Some("0101234567") };
        assert_eq!(member.may_read_dossier(&[x], None, counter), Err(Denied::NotOwner));
        assert_eq!(member.may_manage_organization(org, root), Err(Denied::NotOrganizationAdmin));
        assert_eq!(admin.may_manage_organization(org, root), Ok(()));
        assert_eq!(admin.may_manage_organization(other_org, root), Err(Denied::NotOrganizationAdmin));
        assert_eq!(member.may_view_organization(org, root), Ok(()));
        assert_eq!(outsider.may_view_organization(org, root), Err(Denied::NotOrganizationMember));
        assert_eq!(staff(Role::Admin, root).may_manage_organization(org, root), Ok(()));
        assert_eq!(staff(Role::Admin, root).may_open_organization(root), Ok(()));
        assert_eq!(staff(Role::Leader, root).may_open_organization(root), Err(Denied::NoRoleInUnit));
        assert_eq!(admin.may_open_organization(root), Err(Denied::NoRoleInUnit));
        assert_eq!(Principal::Anonymous.may_view_organization(org, root), Err(Denied::Unauthenticated));
    }

    #[test]
    fn only_root_admins_manage_keys() {
        let root = Uuid::now_v7();
        assert_eq!(staff(Role::Admin, root).may_manage_api_keys(root), Ok(()));
        assert_eq!(staff(Role::Admin, Uuid::now_v7()).may_manage_api_keys(root), Err(Denied::NoRoleInUnit));
        let client = Principal::Client { client_id: Uuid::now_v7(), scopes: Scope::ALL.to_vec(), org_unit_id: None };
        assert_eq!(client.may_manage_api_keys(root), Err(Denied::NoRoleInUnit));
        assert_eq!(Principal::Anonymous.may_manage_api_keys(root), Err(Denied::Unauthenticated));
    }

    #[test]
    fn catalog_rules() {
        let root = Uuid::now_v7();
        assert_eq!(staff(Role::Admin, root).may_write_catalog(root), Ok(()));
        assert_eq!(staff(Role::Leader, root).may_write_catalog(root), Err(Denied::NoRoleInUnit));
        assert!(Role::parse("desk_officer").is_some() && Scope::parse("catalog:write").is_some());
    }
}
