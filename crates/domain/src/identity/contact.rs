//! Contact details a citizen signs in with: a Vietnamese phone number or an e-mail address, in
//! one canonical form each, so "0912 345 678" and "+84912345678" are the same account.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{IdentityKind, IdentityNumber};

/// A phone number in E.164 form. Vietnamese numbers (`0` + 9 digits, or `84`/`+84` + 9 digits)
/// become `+84…`; other international numbers keep their `+` and 8–15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Option<Self> {
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
        let (plus, digits) = match compact.strip_prefix('+') {
            Some(d) => (true, d),
            None => (false, compact.as_str()),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let national = if let Some(rest) = digits.strip_prefix("84").filter(|r| r.len() == 9) {
            rest
        } else if let Some(rest) = digits.strip_prefix('0').filter(|r| r.len() == 9 && !plus) {
            rest
        } else if plus && (8..=15).contains(&digits.len()) && !digits.starts_with("84") {
            return Some(Self(format!("+{digits}")));
        } else {
            return None;
        };
        // Vietnamese subscriber numbers never start with 0 after the country code.
        (!national.starts_with('0')).then(|| Self(format!("+84{national}")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Phone::parse(&s).ok_or_else(|| format!("số điện thoại không hợp lệ: {s}"))
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, trimmed and lower-cased (mailbox providers treat case as equal, and two
/// accounts differing only in case would be one person).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Option<Self> {
        let e = s.trim().to_lowercase();
        let (local, domain) = e.rsplit_once('@')?;
        let ok = e.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !e.chars().any(|c| c.is_whitespace() || c.is_control())
            && !local.contains('@');
        ok.then_some(Self(e))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Email::parse(&s).ok_or_else(|| "địa chỉ thư điện tử không hợp lệ".to_owned())
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a citizen typed in the sign-in box: their personal identity number, e-mail or phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitizenLogin {
    IdentityNumber(String),
    Email(Email),
    Phone(Phone),
}

impl CitizenLogin {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(id) = IdentityNumber::parse(IdentityKind::Citizen, s) {
            return Some(Self::IdentityNumber(id.as_str().to_owned()));
        }
        if s.contains('@') {
            return Email::parse(s).map(Self::Email);
        }
        Phone::parse(s).map(Self::Phone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones_are_canonical() {
        let want = Some("+84912345678");
        assert_eq!(Phone::parse("0912345678").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("0912 345 678").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("+84 912.345.678").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("84912345678").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("+6591234567").as_ref().map(Phone::as_str), Some("+6591234567"));
        for bad in ["", "091234567", "09123456789", "+840912345678", "0012345678", "abc", "+84"] {
            assert_eq!(Phone::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn emails_are_lower_cased() {
        assert_eq!(Email::parse(" An.Nguyen@Example.VN ").unwrap().as_str(), "an.nguyen@example.vn");
        for bad in ["a@b", "@x.vn", "a b@x.vn", "a@.vn", "a@x..vn", "a@x.vn."] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn logins_are_classified() {
        assert_eq!(CitizenLogin::parse("001203004567"), Some(CitizenLogin::IdentityNumber("001203004567".into())));
        assert!(matches!(CitizenLogin::parse("an@example.vn"), Some(CitizenLogin::Email(_))));
        assert!(matches!(CitizenLogin::parse("0912345678"), Some(CitizenLogin::Phone(_))));
        assert_eq!(CitizenLogin::parse("nobody"), None);
    }

    proptest! {
        #[test]
        fn phone_parsing_is_idempotent(s in "[+0-9 .-]{0,20}") {
            if let Some(p) = Phone::parse(&s) {
                prop_assert_eq!(Phone::parse(p.as_str()), Some(p));
            }
        }

        #[test]
        fn email_parsing_is_idempotent(s in "\\PC{0,40}") {
            if let Some(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()), Some(e));
            }
        }
    }
}
