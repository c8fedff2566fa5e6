//! How long a signed-in session lives. A session ends at whichever comes first: the absolute
//! limit from sign-in, the idle limit from its last use, or revocation (sign-out, an admin, a
//! password change). Last use is recorded at most once per `touch_every`, so reads do not turn
//! every request into a write; the idle limit is therefore exact to within that interval.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
    pub touch_every: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle: Duration::minutes(30), absolute: Duration::hours(12), touch_every: Duration::seconds(60) }
    }
}

/// What a request may do with the session it presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Valid; `touch` says the last-use time should be written now.
    Active {
        touch: bool,
    },
    /// Unused for longer than the idle limit.
    Idle,
    /// Past its absolute limit.
    Expired,
    Revoked,
}

impl SessionPolicy {
    /// The absolute end of a session started at `now`.
    pub fn expires_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.absolute
    }

    pub fn check(
        &self,
        last_seen: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        revoked: bool,
        now: DateTime<Utc>,
    ) -> SessionCheck {
        if revoked {
            SessionCheck::Revoked
        } else if now >= expires_at {
            SessionCheck::Expired
        } else if now - last_seen >= self.idle {
            SessionCheck::Idle
        } else {
            SessionCheck::Active { touch: now - last_seen >= self.touch_every }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn lifetimes() {
        let p = SessionPolicy::default();
        let exp = p.expires_at(t(0));
        assert_eq!(p.check(t(0), exp, false, t(0)), SessionCheck::Active { touch: false });
        assert_eq!(p.check(t(0), exp, false, t(2)), SessionCheck::Active { touch: true });
        assert_eq!(p.check(t(0), exp, false, t(30)), SessionCheck::Idle);
        assert_eq!(p.check(t(12 * 60 - 1), exp, false, t(12 * 60)), SessionCheck::Expired);
        assert_eq!(p.check(t(0), exp, true, t(1)), SessionCheck::Revoked);
    }

    proptest! {
        /// However often it is used, no session is active past its absolute limit, nor after an
        /// idle gap longer than the idle limit.
        #[test]
        fn never_active_past_a_limit(gaps in proptest::collection::vec(0i64..40, 1..60)) {
            let p = SessionPolicy::default();
            let exp = p.expires_at(t(0));
            let (mut last_seen, mut now) = (t(0), t(0));
            for g in gaps {
                now += Duration::minutes(g);
                match p.check(last_seen, exp, false, now) {
                    SessionCheck::Active { touch } => {
                        prop_assert!(now < exp && now - last_seen < p.idle);
                        if touch { last_seen = now; }
                    }
                    SessionCheck::Idle => { prop_assert!(now - last_seen >= p.idle); break; }
                    SessionCheck::Expired => { prop_assert!(now >= exp); break; }
                    SessionCheck::Revoked => prop_assert!(false),
                }
            }
        }
    }
}
