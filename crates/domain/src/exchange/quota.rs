//! Rate limits and quotas of a client: at most `max` calls in each window (a second, a minute, an
//! hour, a local day or a local month, fixed windows in Asia/Ho_Chi_Minh). Counters live in the
//! store so that every node counts against the same total; a node claims calls from the counter
//! in leases and spends them locally, so the store is not written on every call.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Second,
    Minute,
    Hour,
    Day,
    Month,
}

impl Window {
    pub const ALL: [Window; 5] = [Window::Second, Window::Minute, Window::Hour, Window::Day, Window::Month];
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Second => "second",
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// The start of the window holding `at`. Days and months are local (a quota "per day" resets
    /// at midnight in Việt Nam, not in UTC).
    pub fn start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&Ho_Chi_Minh);
        let midnight = |d: NaiveDate| {
            Ho_Chi_Minh
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .expect("no gaps in Asia/Ho_Chi_Minh")
                .with_timezone(&Utc)
        };
        match self {
            Window::Second => at.with_nanosecond(0).expect("valid"),
            Window::Minute => at.with_nanosecond(0).and_then(|t| t.with_second(0)).expect("valid"),
            Window::Hour => {
                at.with_nanosecond(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_minute(0)).expect("valid")
            }
            Window::Day => midnight(local.date_naive()),
            Window::Month => midnight(local.date_naive().with_day(1).expect("day 1")),
        }
    }

    /// The start of the window after the one holding `at` (when a refused client may retry).
    pub fn next_start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let start = self.start(at);
        match self {
            Window::Second => start + chrono::Duration::seconds(1),
            Window::Minute => start + chrono::Duration::minutes(1),
            Window::Hour => start + chrono::Duration::hours(1),
            Window::Day => Window::Day.start(start + chrono::Duration::hours(36)),
            Window::Month => Window::Month.start(start + chrono::Duration::days(40)),
        }
    }
}

/// A limit on a client's calls, to one service or to all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limit {
    pub window: Window,
    pub max: i64,
}

/// How many calls a node claims from the shared counter at once: a twentieth of the limit (at
/// least one, at most 1,000). With `n` nodes a client can be refused early by at most
/// `n × lease` calls in a window, and never admitted beyond `max`.
pub fn lease_size(max: i64) -> i64 {
    (max / 20).clamp(1, 1000)
}

/// Calls granted by a claim of `want` on a counter that stood at `before`: what is left under
/// `max`, at most `want`. The store adds `want` unconditionally and returns the new value, so
/// `before = after - want`; a counter past `max` just means the window is spent.
pub fn granted(after: i64, want: i64, max: i64) -> i64 {
    (max - (after - want)).clamp(0, want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_days_and_months() {
        let at: DateTime<Utc> = "2026-03-31T18:30:00Z".parse().unwrap(); // 01:30 on 1 April in Việt Nam
        assert_eq!(Window::Day.start(at), "2026-03-31T17:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(Window::Month.start(at), "2026-03-31T17:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(Window::Month.next_start(at), "2026-04-30T17:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(
            Window::Minute.start("2026-01-01T10:11:12.5Z".parse().unwrap()),
            "2026-01-01T10:11:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(Window::parse("hour"), Some(Window::Hour));
    }

    proptest! {
        /// Claims on one counter never grant more than `max` in total, and grant everything asked
        /// while room is left.
        #[test]
        fn claims_never_exceed_the_limit(max in 0i64..500, wants in prop::collection::vec(1i64..50, 1..60)) {
            let (mut counter, mut total) = (0i64, 0i64);
            for want in wants {
                let room = (max - counter).max(0);
                counter += want;
                let g = granted(counter, want, max);
                prop_assert_eq!(g, want.min(room));
                total += g;
            }
            prop_assert!(total <= max);
        }

        #[test]
        fn windows_contain_their_instant(secs in 1_600_000_000i64..2_000_000_000) {
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            for w in Window::ALL {
                prop_assert!(w.start(at) <= at && at < w.next_start(at));
            }
        }
    }
}
