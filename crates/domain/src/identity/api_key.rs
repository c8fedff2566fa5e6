//! Rotation of API keys (khóa API): a key gets a new secret while the old one keeps working for
//! a grace period, so the system using it can switch without an outage; after that the old
//! secret is refused, as a revoked key would be.

use chrono::{DateTime, Duration, Utc};

/// The grace period when none is asked for.
pub const DEFAULT_GRACE_HOURS: i64 = 24;
/// The longest grace period: an old secret must not live on for long.
pub const MAX_GRACE_HOURS: i64 = 24 * 30;

/// The grace period asked for (hours, 0 for none), if it is allowed.
pub fn grace(hours: Option<i64>) -> Option<Duration> {
    let h = hours.unwrap_or(DEFAULT_GRACE_HOURS);
    (0..=MAX_GRACE_HOURS).contains(&h).then(|| Duration::hours(h))
}

/// Which secret a request presented, as the caller compared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    Current,
    /// The secret the last rotation replaced.
    Previous,
    Neither,
}

/// Whether a key accepts a request now.
pub fn accepts(
    presented: Presented,
    revoked: bool,
    previous_valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    !revoked
        && match presented {
            Presented::Current => true,
            Presented::Previous => previous_valid_until.is_some_and(|until| now < until),
            Presented::Neither => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_secret_works_until_the_grace_period_ends() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let until = Some(t + Duration::hours(24));
        assert!(accepts(Presented::Current, false, until, t));
        assert!(accepts(Presented::Previous, false, until, t + Duration::hours(23)));
        assert!(!accepts(Presented::Previous, false, until, t + Duration::hours(24)));
        assert!(!accepts(Presented::Previous, false, None, t));
        assert!(!accepts(Presented::Current, true, until, t), "revoked ends both");
        assert!(!accepts(Presented::Neither, false, until, t));
        assert_eq!(grace(None), Some(Duration::hours(24)));
        assert_eq!(grace(Some(0)), Some(Duration::zero()));
        assert_eq!(grace(Some(24 * 31)), None);
        assert_eq!(grace(Some(-1)), None);
    }
}
