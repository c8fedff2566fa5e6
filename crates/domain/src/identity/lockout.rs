//! Lockout after repeated sign-in failures, per account and per client address. Failures are
//! counted in the store (so every node sees the same count); the rule that turns a count into a
//! lock lives here. While locked, no password is even checked, so guessing costs the attacker
//! time and the server no hashing.

use chrono::{DateTime, Duration, Utc};

/// Limits on failed sign-ins (configurable under `[auth]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures on one account within `window` that lock it.
    pub account_failures: u32,
    /// Failures from one address within `window` (on any accounts) that lock the address.
    pub address_failures: u32,
    pub window: Duration,
    /// How long a lock lasts after the last failure. Never shorter than `window`, so a lock that
    /// ends finds no failure left to count.
    pub lock: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self { account_failures: 5, address_failures: 30, window: Duration::minutes(15), lock: Duration::minutes(15) }
    }
}

/// Recent failures for one key (an account or an address), as the store counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// Failures since `now - window`.
    pub count: u32,
    pub latest: Option<DateTime<Utc>>,
}

/// Whether a sign-in may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Allowed,
    Locked { until: DateTime<Utc> },
}

impl LockoutPolicy {
    /// The start of the window the store counts failures from.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }

    fn judge(&self, f: Failures, limit: u32, now: DateTime<Utc>) -> Throttle {
        match f.latest {
            Some(latest) if f.count >= limit && now < latest + self.lock.max(self.window) => {
                Throttle::Locked { until: latest + self.lock.max(self.window) }
            }
            _ => Throttle::Allowed,
        }
    }

    /// The verdict for an attempt on an account with `account` failures from an address with
    /// `address` failures: the later lock wins.
    pub fn throttle(&self, account: Failures, address: Failures, now: DateTime<Utc>) -> Throttle {
        match (self.judge(account, self.account_failures, now), self.judge(address, self.address_failures, now)) {
            (Throttle::Locked { until: a }, Throttle::Locked { until: b }) => Throttle::Locked { until: a.max(b) },
            (l @ Throttle::Locked { .. }, _) | (_, l @ Throttle::Locked { .. }) => l,
            _ => Throttle::Allowed,
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
    fn five_failures_lock_an_account_for_fifteen_minutes() {
        let p = LockoutPolicy::default();
        let f = |count| Failures { count, latest: Some(t(0)) };
        assert_eq!(p.throttle(f(4), Failures::default(), t(1)), Throttle::Allowed);
        assert_eq!(p.throttle(f(5), Failures::default(), t(1)), Throttle::Locked { until: t(15) });
        assert_eq!(p.throttle(f(5), Failures::default(), t(15)), Throttle::Allowed);
        let addr = Failures { count: 30, latest: Some(t(2)) };
        assert_eq!(p.throttle(f(1), addr, t(3)), Throttle::Locked { until: t(17) });
        assert_eq!(p.throttle(f(5), addr, t(3)), Throttle::Locked { until: t(17) }, "the later lock wins");
    }

    proptest! {
        /// Below the limit nothing is ever locked; at or above it, locked exactly until the lock ends.
        #[test]
        fn locks_follow_the_count(count in 0u32..50, ago in 0i64..60) {
            let p = LockoutPolicy::default();
            let now = t(60);
            let f = Failures { count, latest: Some(now - Duration::minutes(ago)) };
            let v = p.throttle(f, Failures::default(), now);
            if count < p.account_failures || ago >= 15 {
                prop_assert_eq!(v, Throttle::Allowed);
            } else {
                prop_assert_eq!(v, Throttle::Locked { until: now - Duration::minutes(ago) + p.lock });
            }
        }
    }
}
