//! Who may administer the exchange. The platform operator (an admin of the province's root unit)
//! keeps the registry; a member's own admins (admins of the org unit with the member's agency
//! code) manage its subsystems and services and answer the access requests made to them; a
//! client member's admins ask for access for their systems.

use uuid::Uuid;

use crate::auth::{Denied, Principal, Role};

/// May change the registry as a whole (add members, set limits): the operator only.
pub fn may_operate(p: &Principal, root_unit: Uuid) -> Result<(), Denied> {
    match p {
        Principal::Anonymous => Err(Denied::Unauthenticated),
        _ if p.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
        _ => Err(Denied::NoRoleInUnit),
    }
}

/// May act for a member (its subsystems, services, grants, requests and answers): the operator,
/// or an admin of the member's own unit.
pub fn may_act_for(p: &Principal, member_unit: Option<Uuid>, root_unit: Uuid) -> Result<(), Denied> {
    match p {
        Principal::Anonymous => Err(Denied::Unauthenticated),
        _ if p.has_role_in(root_unit, &[Role::Admin]) => Ok(()),
        _ if member_unit.is_some_and(|u| p.has_role_in(u, &[Role::Admin])) => Ok(()),
        _ => Err(Denied::NoRoleInUnit),
    }
}

/// May read the registry (members, systems, services, grants; never secrets): any signed-in staff
/// member or API client, so systems can discover what is offered.
pub fn may_read(p: &Principal) -> Result<(), Denied> {
    if p.is_authenticated() { Ok(()) } else { Err(Denied::Unauthenticated) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::RoleGrant;

    #[test]
    fn operator_and_member_admins() {
        let (root, unit, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let admin = |u| Principal::Staff {
            user_id: Uuid::now_v7(),
            grants: vec![RoleGrant { role: Role::Admin, org_unit_id: u }],
        };
        let clerk = Principal::Staff {
            user_id: Uuid::now_v7(),
            grants: vec![RoleGrant { role: Role::Clerk, org_unit_id: unit }],
        };
        assert_eq!(may_operate(&admin(root), root), Ok(()));
        assert_eq!(may_operate(&admin(unit), root), Err(Denied::NoRoleInUnit));
        assert_eq!(may_act_for(&admin(unit), Some(unit), root), Ok(()));
        assert_eq!(may_act_for(&admin(root), Some(unit), root), Ok(()));
        assert_eq!(may_act_for(&admin(other), Some(unit), root), Err(Denied::NoRoleInUnit));
        assert_eq!(may_act_for(&clerk, Some(unit), root), Err(Denied::NoRoleInUnit));
        assert_eq!(may_act_for(&admin(unit), None, root), Err(Denied::NoRoleInUnit));
        assert_eq!(may_act_for(&Principal::Anonymous, Some(unit), root), Err(Denied::Unauthenticated));
        assert_eq!(may_read(&clerk), Ok(()));
        assert_eq!(may_read(&Principal::Anonymous), Err(Denied::Unauthenticated));
    }
}
