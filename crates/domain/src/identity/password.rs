//! Password policy (following NIST SP 800-63B: length over composition rules, no forced
//! expiry, refuse passwords that are common or built from the account's own data). The hash
//! itself is argon2id, done by the web layer off the async runtime.

use unicode_normalization::UnicodeNormalization;

/// Passwords people pick first; refusing them stops most guessing. Compared case-insensitively
/// and with digits and punctuation at the ends removed.
const COMMON: [&str; 24] = [
    "password",
    "matkhau",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "qwertyuiop",
    "abc123",
    "iloveyou",
    "admin",
    "administrator",
    "welcome",
    "letmein",
    "passw0rd",
    "vietnam",
    "hanoi",
    "saigon",
    "anhyeuem",
    "emyeuanh",
    "111111",
    "000000",
    "123123",
    "abcdef",
    "baomat",
];

/// Why a password was refused; the text reaches people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("Mật khẩu phải có ít nhất {0} ký tự")]
    TooShort(usize),
    #[error("Mật khẩu không được dài quá {0} ký tự")]
    TooLong(usize),
    #[error("Mật khẩu quá đơn giản hoặc quá phổ biến")]
    TooCommon,
    #[error("Mật khẩu không được chứa số định danh, số điện thoại, thư điện tử hay tên đăng nhập")]
    ContainsAccountData,
    #[error("Mật khẩu chứa ký tự điều khiển không hợp lệ")]
    ControlCharacters,
}

/// Length limits; the maximum bounds the hashing work one request can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 10, max_chars: 128 }
    }
}

impl PasswordPolicy {
    /// Checks a new password. `account_data` are the account's own identifiers (identity number,
    /// phone, e-mail, username); a password containing one of them is refused.
    pub fn check(&self, password: &str, account_data: &[&str]) -> Result<(), PasswordProblem> {
        let pw: String = password.nfc().collect();
        let chars = pw.chars().count();
        if pw.chars().any(char::is_control) {
            return Err(PasswordProblem::ControlCharacters);
        }
        if chars < self.min_chars {
            return Err(PasswordProblem::TooShort(self.min_chars));
        }
        if chars > self.max_chars {
            return Err(PasswordProblem::TooLong(self.max_chars));
        }
        let lower = pw.to_lowercase();
        let core = lower.trim_matches(|c: char| !c.is_alphabetic());
        let distinct = {
            let mut cs: Vec<char> = lower.chars().collect();
            cs.sort_unstable();
            cs.dedup();
            cs.len()
        };
        if distinct < 5 || COMMON.contains(&core) || COMMON.contains(&lower.as_str()) || is_sequence(&lower) {
            return Err(PasswordProblem::TooCommon);
        }
        for data in account_data {
            let d = data.trim().to_lowercase();
            let d = d.split('@').next().unwrap_or_default();
            let d = d.strip_prefix("+84").unwrap_or(d);
            if d.chars().count() >= 4 && lower.contains(d) {
                return Err(PasswordProblem::ContainsAccountData);
            }
        }
        Ok(())
    }
}

/// Whether every character follows the previous one by the same step ("abcdefghij", "9876543210").
fn is_sequence(s: &str) -> bool {
    let cs: Vec<u32> = s.chars().map(u32::from).collect();
    let steps: Vec<i64> = cs.windows(2).map(|w| i64::from(w[1]) - i64::from(w[0])).collect();
    steps.first().is_some_and(|first| first.abs() <= 1 && steps.iter().all(|s| s == first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn policy() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("Sông Hồng chảy mãi", &[]), Ok(()));
        assert_eq!(p.check("ngắn", &[]), Err(PasswordProblem::TooShort(10)));
        assert_eq!(p.check(&"a1".repeat(70), &[]), Err(PasswordProblem::TooLong(128)));
        assert_eq!(p.check("1234567890", &[]), Err(PasswordProblem::TooCommon));
        assert_eq!(p.check("Password!!", &[]), Err(PasswordProblem::TooCommon));
        assert_eq!(p.check("aaaaaaaaaaaab", &[]), Err(PasswordProblem::TooCommon));
        assert_eq!(p.check("abcdefghijk", &[]), Err(PasswordProblem::TooCommon));
        assert_eq!(p.check("x001203004567x", &["001203004567"]), Err(PasswordProblem::ContainsAccountData));
        assert_eq!(p.check("an.nguyen-rất-dài", &["an.nguyen@example.vn"]), Err(PasswordProblem::ContainsAccountData));
        assert_eq!(p.check("so912345678la", &["+84912345678"]), Err(PasswordProblem::ContainsAccountData));
        assert_eq!(p.check("mật\u{0}khẩu dài lắm", &[]), Err(PasswordProblem::ControlCharacters));
    }

    #[test]
    fn decomposed_and_composed_passwords_count_the_same() {
        let p = PasswordPolicy { min_chars: 9, max_chars: 9 };
        let composed = "Đồng hồ 9";
        let decomposed: String = composed.nfd().collect();
        assert_eq!(p.check(composed, &[]), Ok(()));
        assert_eq!(p.check(&decomposed, &[]), Ok(()));
    }

    proptest! {
        #[test]
        fn short_passwords_are_always_refused(s in "[a-zA-Z0-9 đăâêôơưĐ!?]{0,9}") {
            prop_assert!(PasswordPolicy::default().check(&s, &[]).is_err());
        }
    }
}
