//! One-time codes sent to a person (mã xác minh): to prove an e-mail address or a phone number
//! is theirs, and to reset a forgotten password. Six digits, valid for a few minutes, a few
//! tries each, and only the newest code of a purpose counts. How often codes may be sent is
//! limited per account and purpose, counted in the store so every node enforces the same limit.

use chrono::{DateTime, Duration, Utc};

/// What a code is for; each purpose has its own codes and its own sending limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    VerifyEmail,
    VerifyPhone,
    ResetPassword,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::VerifyPhone => "verify_phone",
            CodePurpose::ResetPassword => "reset_password",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [CodePurpose::VerifyEmail, CodePurpose::VerifyPhone, CodePurpose::ResetPassword]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Digits in a one-time code.
pub const CODE_DIGITS: usize = 6;

/// Limits on one-time codes (configurable under `[auth]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePolicy {
    /// How long a code is valid.
    pub ttl: Duration,
    /// Wrong tries a code survives; the next wrong try ends it.
    pub max_attempts: u32,
    /// Shortest gap between two codes of one purpose to one account.
    pub resend_after: Duration,
    /// Most codes of one purpose to one account within an hour.
    pub max_per_hour: u32,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self { ttl: Duration::minutes(10), max_attempts: 5, resend_after: Duration::seconds(60), max_per_hour: 5 }
    }
}

/// Codes sent recently for one account and purpose, as the store counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sends {
    /// Codes sent since an hour ago.
    pub last_hour: u32,
    pub latest: Option<DateTime<Utc>>,
    /// The oldest of those sent within the hour (when the hourly count drops).
    pub oldest_in_hour: Option<DateTime<Utc>>,
}

/// Whether a code may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendVerdict {
    Allowed,
    /// Too soon after the last code, or too many this hour: try again at `until`.
    Wait {
        until: DateTime<Utc>,
    },
}

/// A stored code, as the check needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: DateTime<Utc>,
    /// Wrong tries so far.
    pub attempts: u32,
}

/// What a code typed in came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVerdict {
    Accepted,
    /// Wrong; `left` more tries before the code ends.
    Wrong {
        left: u32,
    },
    /// No code was sent, it expired, was used, or ran out of tries: ask for a new one.
    Expired,
}

impl CodePolicy {
    /// The start of the hour the store counts sends from.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::hours(1)
    }

    pub fn may_send(&self, sends: Sends, now: DateTime<Utc>) -> SendVerdict {
        let gap = sends.latest.map(|t| t + self.resend_after).filter(|until| *until > now);
        let hourly = (sends.last_hour >= self.max_per_hour)
            .then(|| sends.oldest_in_hour.map(|t| t + Duration::hours(1)))
            .flatten()
            .filter(|until| *until > now);
        match gap.into_iter().chain(hourly).max() {
            Some(until) => SendVerdict::Wait { until },
            None => SendVerdict::Allowed,
        }
    }

    /// Judges a try against the newest code (`None`: none is open). `matches` says whether the
    /// digits typed are the code's.
    pub fn check(&self, code: Option<CodeState>, matches: bool, now: DateTime<Utc>) -> CodeVerdict {
        match code {
            Some(c) if now < c.expires_at && c.attempts < self.max_attempts => {
                if matches {
                    CodeVerdict::Accepted
                } else {
                    CodeVerdict::Wrong { left: self.max_attempts - c.attempts - 1 }
                }
            }
            _ => CodeVerdict::Expired,
        }
    }
}

/// Digits typed as a code, without spaces; `None` if they cannot be a code.
pub fn parse_code(input: &str) -> Option<String> {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (s.len() == CODE_DIGITS && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// A code from a random number below one million.
pub fn format_code(n: u32) -> String {
    format!("{:06}", n % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(sec: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::seconds(sec)
    }

    #[test]
    fn sending_waits_a_minute_and_five_an_hour() {
        let p = CodePolicy::default();
        assert_eq!(p.may_send(Sends::default(), t(0)), SendVerdict::Allowed);
        let one = Sends { last_hour: 1, latest: Some(t(0)), oldest_in_hour: Some(t(0)) };
        assert_eq!(p.may_send(one, t(30)), SendVerdict::Wait { until: t(60) });
        assert_eq!(p.may_send(one, t(60)), SendVerdict::Allowed);
        let five = Sends { last_hour: 5, latest: Some(t(600)), oldest_in_hour: Some(t(100)) };
        assert_eq!(p.may_send(five, t(700)), SendVerdict::Wait { until: t(3700) });
        assert_eq!(p.may_send(five, t(3700)), SendVerdict::Allowed);
    }

    #[test]
    fn codes_expire_and_run_out_of_tries() {
        let p = CodePolicy::default();
        let c = CodeState { expires_at: t(600), attempts: 0 };
        assert_eq!(p.check(Some(c), true, t(10)), CodeVerdict::Accepted);
        assert_eq!(p.check(Some(c), false, t(10)), CodeVerdict::Wrong { left: 4 });
        assert_eq!(p.check(Some(CodeState { attempts: 4, ..c }), false, t(10)), CodeVerdict::Wrong { left: 0 });
        assert_eq!(p.check(Some(CodeState { attempts: 5, ..c }), true, t(10)), CodeVerdict::Expired);
        assert_eq!(p.check(Some(c), true, t(600)), CodeVerdict::Expired);
        assert_eq!(p.check(None, true, t(0)), CodeVerdict::Expired);
        assert_eq!(parse_code(" 012 345 "), Some("012345".into()));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(format_code(42), "000042");
        for purpose in [CodePurpose::VerifyEmail, CodePurpose::VerifyPhone, CodePurpose::ResetPassword] {
            assert_eq!(CodePurpose::parse(purpose.as_str()), Some(purpose));
        }
    }

    proptest! {
        /// However sends are spread, never more than `max_per_hour` in any hour and never two
        /// within `resend_after`.
        #[test]
        fn limits_hold_for_any_sequence(gaps in proptest::collection::vec(0i64..900, 1..80)) {
            let p = CodePolicy::default();
            let mut sent: Vec<DateTime<Utc>> = Vec::new();
            let mut now = t(0);
            for g in gaps {
                now += Duration::seconds(g);
                let in_hour: Vec<_> = sent.iter().copied().filter(|s| *s > p.since(now)).collect();
                let sends = Sends { last_hour: in_hour.len() as u32, latest: sent.last().copied(), oldest_in_hour: in_hour.first().copied() };
                if p.may_send(sends, now) == SendVerdict::Allowed {
                    sent.push(now);
                }
            }
            for (i, s) in sent.iter().enumerate() {
                prop_assert!(sent.iter().filter(|x| **x > *s - Duration::hours(1) && **x <= *s).count() <= 5, "{i}");
                if i > 0 { prop_assert!(*s - sent[i - 1] >= p.resend_after); }
            }
        }
    }
}
