//! Two-step sign-in for staff (xác thực hai bước): a time-based one-time code (TOTP, RFC 6238)
//! from an authenticator app after the password, or one of the recovery codes given at
//! enrolment. Which staff must use it is policy (leaders and admins by default); the rest may
//! turn it on. The web layer computes codes and keeps secrets sealed; what is required, which
//! stage a sign-in is at, and whether a code may be accepted again are decided here.

use crate::auth::{Role, RoleGrant};

/// Seconds in one TOTP step: what authenticator apps use.
pub const TOTP_PERIOD_SECS: u64 = 30;
/// Digits in a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Recovery codes handed out at enrolment (each works once).
pub const RECOVERY_CODES: usize = 10;
/// Characters in a recovery code: 16 from a 31-letter alphabet, about 79 random bits.
pub const RECOVERY_CODE_CHARS: usize = 16;
/// Letters and digits a recovery code is written with: no 0/o, 1/l/i, so none is misread.
const RECOVERY_ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Who must use a second step (configurable under `[auth]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Staff holding any of these roles in any unit must use a second step.
    pub required_roles: Vec<Role>,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self { required_roles: vec![Role::Leader, Role::Admin] }
    }
}

impl MfaPolicy {
    /// Whether an account with these roles must use a second step.
    pub fn required_for(&self, grants: &[RoleGrant]) -> bool {
        grants.iter().any(|g| self.required_roles.contains(&g.role))
    }

    /// What a staff sign-in whose password was right must do next. An enrolled account always
    /// gives a code (having turned it on, its owner expects it to guard the account); one that
    /// must use the second step and has not enrolled enrols first.
    pub fn after_password(&self, grants: &[RoleGrant], enrolled: bool) -> SessionStage {
        if enrolled {
            SessionStage::MfaCode
        } else if self.required_for(grants) {
            SessionStage::MfaEnrolment
        } else {
            SessionStage::Active
        }
    }
}

/// How far a session has come. Only an `Active` session stands for its account; the others
/// only let their browser finish signing in, and end after a few minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStage {
    Active,
    /// The password was right; a one-time code (or a recovery code) must follow.
    MfaCode,
    /// The password was right; the account must enrol an authenticator before it is used.
    MfaEnrolment,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Active => "active",
            SessionStage::MfaCode => "mfa_code",
            SessionStage::MfaEnrolment => "mfa_enrolment",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [SessionStage::Active, SessionStage::MfaCode, SessionStage::MfaEnrolment].into_iter().find(|x| x.as_str() == s)
    }
}

/// The TOTP step a Unix time falls in.
pub fn totp_step(unix_secs: u64) -> u64 {
    unix_secs / TOTP_PERIOD_SECS
}

/// Whether a code that matched `step` may be accepted after `last_accepted`: each step is
/// accepted once, and never one older than the last (RFC 6238 §5.2), so a code seen over a
/// shoulder or replayed from a log is useless.
pub fn step_is_fresh(step: u64, last_accepted: Option<u64>) -> bool {
    last_accepted.is_none_or(|last| step > last)
}

/// What a person typed at the second step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Six digits from the authenticator app.
    Totp(String),
    /// A recovery code, normalized (lower case, no separators).
    Recovery(String),
}

impl SecondFactor {
    /// Reads what was typed: spaces and dashes are ignored, letters may be upper case.
    pub fn parse(input: &str) -> Option<Self> {
        let s: String =
            input.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect();
        if s.len() == TOTP_DIGITS && s.bytes().all(|b| b.is_ascii_digit()) {
            Some(SecondFactor::Totp(s))
        } else if s.len() == RECOVERY_CODE_CHARS && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            Some(SecondFactor::Recovery(s))
        } else {
            None
        }
    }
}

/// A recovery code from random bytes (one character per byte), normalized as
/// [`SecondFactor::parse`] returns it.
pub fn recovery_code(random: [u8; RECOVERY_CODE_CHARS]) -> String {
    // A byte's remainder by 31 is close enough to uniform (each letter 8 or 9 of 256).
    random.iter().map(|b| RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()] as char).collect()
}

/// A recovery code as shown to people: four groups of four.
pub fn display_recovery_code(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn grant(role: Role) -> RoleGrant {
        RoleGrant { role, org_unit_id: Uuid::nil() }
    }

    #[test]
    fn leaders_and_admins_must_enrol_others_may() {
        let p = MfaPolicy::default();
        assert!(p.required_for(&[grant(Role::DeskOfficer), grant(Role::Leader)]));
        assert!(p.required_for(&[grant(Role::Admin)]));
        assert!(!p.required_for(&[grant(Role::DeskOfficer), grant(Role::Specialist), grant(Role::Clerk)]));
        assert_eq!(p.after_password(&[grant(Role::Leader)], false), SessionStage::MfaEnrolment);
        assert_eq!(p.after_password(&[grant(Role::Leader)], true), SessionStage::MfaCode);
        assert_eq!(p.after_password(&[grant(Role::DeskOfficer)], false), SessionStage::Active);
        assert_eq!(p.after_password(&[grant(Role::DeskOfficer)], true), SessionStage::MfaCode);
        let none = MfaPolicy { required_roles: vec![] };
        assert_eq!(none.after_password(&[grant(Role::Admin)], false), SessionStage::Active);
        for s in [SessionStage::Active, SessionStage::MfaCode, SessionStage::MfaEnrolment] {
            assert_eq!(SessionStage::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn codes_are_read_as_people_type_them() {
        assert_eq!(SecondFactor::parse(" 123 456 "), Some(SecondFactor::Totp("123456".into())));
        assert_eq!(SecondFactor::parse("12345"), None);
        assert_eq!(SecondFactor::parse("12345a"), None);
        let code = recovery_code([7; 16]);
        let shown = display_recovery_code(&code);
        assert_eq!(shown.len(), 19);
        assert_eq!(SecondFactor::parse(&shown.to_uppercase()), Some(SecondFactor::Recovery(code)));
        assert_eq!(SecondFactor::parse("abcd-efgh-jkmn-pqr0"), None, "0 is not in the alphabet");
    }

    #[test]
    fn each_step_is_accepted_once_and_in_order() {
        assert!(step_is_fresh(10, None));
        assert!(step_is_fresh(11, Some(10)));
        assert!(!step_is_fresh(10, Some(10)));
        assert!(!step_is_fresh(9, Some(10)));
        assert_eq!(totp_step(59), 1);
        assert_eq!(totp_step(60), 2);
    }

    proptest! {
        /// Every recovery code generated reads back as itself, in any case and grouping.
        #[test]
        fn recovery_codes_round_trip(bytes in proptest::array::uniform16(any::<u8>())) {
            let code = recovery_code(bytes);
            prop_assert_eq!(code.len(), RECOVERY_CODE_CHARS);
            prop_assert_eq!(SecondFactor::parse(&display_recovery_code(&code)), Some(SecondFactor::Recovery(code.clone())));
            prop_assert_eq!(SecondFactor::parse(&code.to_uppercase()), Some(SecondFactor::Recovery(code)));
        }
    }
}
