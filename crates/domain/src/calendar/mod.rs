//! The working calendar: which days are working days and which hours of them count, so legal
//! deadlines in working hours can be computed (vn-standards §4). All arithmetic is on local
//! time in Asia/Ho_Chi_Minh through chrono-tz; instants in and out are UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Ho_Chi_Minh;
pub mod error;
pub mod holidays;
pub mod hours;
pub mod lunar;

pub use error::CalendarError;
pub use holidays::{DayKind, HolidayRules, NamedDate, YearDecision};
pub use hours::{Period, WorkingTime, WorkingTimeRule};

/// Years for which statutory holidays are computed when no yearly decision is loaded.
pub const COMPUTED_YEARS: std::ops::RangeInclusive<i32> = 2020..=2040;

/// Working days and hours.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    /// Hours of a working day and the due-soon window, by effective date.
    time: WorkingTime,
    /// Dates whose status differs from the weekday rule: true = working, false = day off.
    overrides: BTreeMap<NaiveDate, bool>,
}

fn to_utc(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    Ho_Chi_Minh
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .expect("Asia/Ho_Chi_Minh has no gaps since 1975")
        .with_timezone(&Utc)
}

impl WorkingCalendar {
    /// A calendar with the working `time` rules, the statutory holidays of the Labour Code 2019
    /// computed for every year of [`COMPUTED_YEARS`] (lunar ones included), and the government's
    /// yearly `decisions`, each of which replaces its year's computed days.
    pub fn new(time: WorkingTime, decisions: &[YearDecision]) -> Result<Self, CalendarError> {
        let overrides = holidays::build_overrides(COMPUTED_YEARS, &HolidayRules::labour_code_2019(), decisions)?
            .into_iter()
            .map(|(date, o)| (date, o.kind == DayKind::Working))
            .collect();
        Ok(Self { time, overrides })
    }

    /// A digest of everything that decides working time (hours by effective date, and every
    /// date that differs from the weekday rule), so a changed calendar can be told from the one
    /// due dates were computed on, whichever file or rule the change came from. The due-soon
    /// window is not part of it: it moves warnings, not due dates.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for (i, rule) in self.time.rules().iter().enumerate() {
            // The first rule covers every earlier day, so its own date does not matter.
            if i > 0 {
                h.update(format!("from {};", rule.effective_from));
            }
            for p in &rule.periods {
                h.update(format!("{}-{};", p.start, p.end));
            }
        }
        for (d, working) in &self.overrides {
            h.update(format!("{d}={};", u8::from(*working)));
        }
        hex::encode(h.finalize())
    }

    /// Work periods of `day` (by the working-time rule in force that day).
    fn periods(&self, day: NaiveDate) -> &[Period] {
        &self.time.on(day).periods
    }

    /// Minutes of work in one working day, by the rule in force on `day`.
    pub fn minutes_per_day(&self, day: NaiveDate) -> i64 {
        self.time.on(day).minutes_per_day()
    }

    /// Working minutes left below which a running dossier is flagged due soon, by the rule in
    /// force at `at`.
    pub fn due_soon_minutes(&self, at: DateTime<Utc>) -> i64 {
        i64::from(self.time.on(crate::dossier::local_date(at)).due_soon_working_hours) * 60
    }

    /// The working-time rules this calendar was built with.
    pub fn working_time(&self) -> &WorkingTime {
        &self.time
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.overrides.get(&d).copied().unwrap_or(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
    }

    fn next_working_day(&self, mut d: NaiveDate) -> NaiveDate {
        loop {
            d = d.succ_opt().expect("date in range");
            if self.is_working_day(d) {
                return d;
            }
        }
    }

    /// The moment the legal clock starts for something received at `at`: `at` itself inside a
    /// work period, else the next period start (lunch gap, before hours, after hours, day off).
    pub fn clock_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&Ho_Chi_Minh);
        let (date, time) = (local.date_naive(), local.time());
        if self.is_working_day(date) {
            for p in self.periods(date) {
                if time < p.start {
                    return to_utc(date, p.start);
                }
                if time < p.end {
                    return at;
                }
            }
        }
        let next = self.next_working_day(date);
        to_utc(next, self.periods(next)[0].start)
    }

    /// The moment `minutes` working minutes after `start`. A deadline that ends exactly at a
    /// period's end stays there (8 hours from Monday 07:00 is Monday 17:00, not Tuesday 07:00).
    pub fn add_working_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut at = self.clock_start(start);
        let mut left = minutes.max(0);
        loop {
            let local = at.with_timezone(&Ho_Chi_Minh);
            let (date, time) = (local.date_naive(), local.time());
            let periods = self.periods(date);
            // Whole days can be skipped when we are at the start of a working day.
            let per_day = self.minutes_per_day(date);
            if time == periods[0].start && left > per_day {
                let next = self.next_working_day(date);
                at = to_utc(next, self.periods(next)[0].start);
                left -= per_day;
                continue;
            }
            let end = periods.iter().find(|p| p.start <= time && time < p.end).expect("clock_start is in a period").end;
            let room = (end - time).num_minutes();
            if left <= room {
                return at + Duration::minutes(left);
            }
            left -= room;
            at = self.clock_start(to_utc(date, end));
        }
    }

    /// Working minutes in `[a, b)`.
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        let (mut at, mut total) = (self.clock_start(a), 0);
        while at < b {
            let local = at.with_timezone(&Ho_Chi_Minh);
            let (date, time) = (local.date_naive(), local.time());
            let end = self.periods(date).iter().find(|p| p.start <= time && time < p.end).expect("in a period").end;
            let end_at = to_utc(date, end);
            if b <= end_at {
                return total + (b - at).num_minutes();
            }
            total += (end_at - at).num_minutes();
            at = self.clock_start(end_at);
        }
        total
    }

    /// Due moment for a time limit in calendar days: the day `days` after receipt, moved off a
    /// non-working day when `skip_days_off`, due at the end of that day's work.
    pub fn add_calendar_days(&self, start: DateTime<Utc>, days: u32, skip_days_off: bool) -> DateTime<Utc> {
        let mut date = start.with_timezone(&Ho_Chi_Minh).date_naive() + Duration::days(i64::from(days));
        if skip_days_off && !self.is_working_day(date) {
            date = self.next_working_day(date);
        }
        to_utc(date, self.periods(date).last().expect("non-empty").end)
    }
}

impl WorkingCalendar {
    /// The legal due moment of something whose clock starts at `start`: working hours on this
    /// calendar, calendar days moved off a day off, or none when the law sets no deadline.
    pub fn due_at(&self, start: DateTime<Utc>, deadline: crate::catalog::Deadline) -> Option<DateTime<Utc>> {
        use crate::catalog::Deadline;
        match deadline {
            Deadline::WorkingHours { hours } => Some(self.add_working_minutes(start, i64::from(hours) * 60)),
            Deadline::CalendarDays { days } => Some(self.add_calendar_days(start, days, true)),
            Deadline::None => None,
        }
    }
}

/// Timeliness at date precision (vn-standards §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    Early,
    OnTime,
    Late,
}

impl Timeliness {
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Early => "Trước hạn",
            Self::OnTime => "Đúng hạn",
            Self::Late => "Quá hạn",
        }
    }
}

/// Compares the local dates of finishing and of the due moment.
pub fn classify(finished: DateTime<Utc>, due: DateTime<Utc>) -> Timeliness {
    let (f, d) = (crate::dossier::local_date(finished), crate::dossier::local_date(due));
    match f.cmp(&d) {
        std::cmp::Ordering::Less => Timeliness::Early,
        std::cmp::Ordering::Equal => Timeliness::OnTime,
        std::cmp::Ordering::Greater => Timeliness::Late,
    }
}

/// Deadline flags shown on every dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DeadlineFlags {
    pub overdue: bool,
    pub due_soon: bool,
}

/// Flags for a dossier still running against `due`. While the clock is stopped the dossier is
/// judged at the moment it stopped; closed dossiers and those without a deadline carry no flag.
pub fn deadline_flags(
    calendar: &WorkingCalendar,
    open: bool,
    due: Option<DateTime<Utc>>,
    paused_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DeadlineFlags {
    let (Some(due), true) = (due, open) else {
        return DeadlineFlags { overdue: false, due_soon: false };
    };
    let at = paused_at.unwrap_or(now);
    let overdue = at > due;
    DeadlineFlags {
        overdue,
        due_soon: !overdue && calendar.working_minutes_between(at, due) <= calendar.due_soon_minutes(at),
    }
}

/// Yearly decisions shipped with the binary.
pub const EMBEDDED_DECISIONS: &[(&str, &str)] = &[
    ("2025", include_str!("../../../../rules/calendar/2025.json")),
    ("2026", include_str!("../../../../rules/calendar/2026.json")),
];

/// The yearly decisions shipped with the binary.
pub fn embedded_decisions() -> Result<Vec<YearDecision>, CalendarError> {
    EMBEDDED_DECISIONS.iter().map(|(_, text)| YearDecision::from_json(text)).collect()
}

/// The calendar from the shipped yearly decisions and working-time rules.
pub fn embedded_calendar() -> Result<WorkingCalendar, CalendarError> {
    WorkingCalendar::new(WorkingTime::embedded(), &embedded_decisions()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cal() -> WorkingCalendar {
        embedded_calendar().unwrap()
    }
    fn vn(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        to_utc(NaiveDate::from_ymd_opt(y, mo, d).unwrap(), NaiveTime::from_hms_opt(h, mi, 0).unwrap())
    }

    #[test]
    fn fingerprint_changes_with_hours_or_days_only() {
        let base = cal().fingerprint();
        assert_eq!(base, cal().fingerprint());
        let shorter = WorkingCalendar::new(hours(&["07:30-11:30", "13:30-17:00"], 8), &embedded_decisions().unwrap());
        assert_ne!(shorter.unwrap().fingerprint(), base);
        let warned_earlier =
            WorkingCalendar::new(hours(&["07:00-11:30", "13:30-17:00"], 16), &embedded_decisions().unwrap());
        assert_eq!(warned_earlier.unwrap().fingerprint(), base, "the due-soon window moves no due date");
        let mut decisions = embedded_decisions().unwrap();
        let y2026 = decisions.iter_mut().find(|d| d.year == 2026).unwrap();
        y2026.working_days.clear();
        y2026.legal_basis.push_str(" (sửa)");
        assert_ne!(WorkingCalendar::new(WorkingTime::embedded(), &decisions).unwrap().fingerprint(), base);
        // Wording alone changes nothing that decides working time.
        let mut decisions = embedded_decisions().unwrap();
        decisions[0].legal_basis.push_str(" (sửa)");
        assert_eq!(WorkingCalendar::new(WorkingTime::embedded(), &decisions).unwrap().fingerprint(), base);
    }

    #[test]
    fn hand_checked_cases() {
        let c = cal();
        // Monday 07:00 + 8h = Monday 17:00.
        assert_eq!(c.add_working_minutes(vn(2026, 11, 23, 7, 0), 480), vn(2026, 11, 23, 17, 0));
        // Friday 16:00 + 8h = Monday 16:00.
        assert_eq!(c.add_working_minutes(vn(2026, 11, 20, 16, 0), 480), vn(2026, 11, 23, 16, 0));
        // Saturday: clock starts Monday 07:00.
        assert_eq!(c.clock_start(vn(2026, 11, 21, 9, 0)), vn(2026, 11, 23, 7, 0));
        // Lunch gap: clock starts 13:30; + 4h = 17:00 would exceed 3.5h afternoon, so next morning 07:30.
        assert_eq!(c.clock_start(vn(2026, 11, 23, 12, 0)), vn(2026, 11, 23, 13, 30));
        assert_eq!(c.add_working_minutes(vn(2026, 11, 23, 12, 0), 240), vn(2026, 11, 24, 7, 30));
        // After hours: next working morning.
        assert_eq!(c.clock_start(vn(2026, 11, 23, 18, 0)), vn(2026, 11, 24, 7, 0));
        // Calendar days ending on a Sunday move to Monday, due at 17:00.
        assert_eq!(c.add_calendar_days(vn(2026, 11, 23, 9, 0), 6, true), vn(2026, 11, 30, 17, 0));
        assert_eq!(c.working_minutes_between(vn(2026, 11, 20, 16, 0), vn(2026, 11, 23, 16, 0)), 480);
    }

    #[test]
    fn due_soon_and_overdue() {
        let c = cal();
        let due = vn(2026, 11, 24, 17, 0);
        let f = |now| deadline_flags(&c, true, Some(due), None, now);
        assert_eq!(f(vn(2026, 11, 23, 9, 0)), DeadlineFlags { overdue: false, due_soon: false });
        assert_eq!(f(vn(2026, 11, 24, 9, 0)), DeadlineFlags { overdue: false, due_soon: true });
        assert_eq!(f(vn(2026, 11, 24, 17, 1)), DeadlineFlags { overdue: true, due_soon: false });
        // Paused before the deadline: not overdue however late it is now.
        let paused = deadline_flags(&c, true, Some(due), Some(vn(2026, 11, 23, 9, 0)), vn(2026, 12, 10, 9, 0));
        assert!(!paused.overdue);
        assert!(!deadline_flags(&c, false, Some(due), None, vn(2026, 12, 10, 9, 0)).overdue);
    }

    #[test]
    fn years_without_a_decision_use_the_labour_code() {
        let c = cal();
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        // 2027: Tết (lunar 1/1) is 06/02; the computed default is the last day of the lunar year
        // and mùng 1–4; Giỗ Tổ (10/3 lunar) is 16/04; then the fixed days.
        for off in
            [d(2027, 1, 1), d(2027, 2, 5), d(2027, 2, 8), d(2027, 2, 9), d(2027, 4, 16), d(2027, 4, 30), d(2027, 9, 2)]
        {
            assert!(!c.is_working_day(off), "{off}");
        }
        // Mùng 1 and 2 fall on Saturday and Sunday: days in lieu follow (Art. 111(3)).
        assert!(!c.is_working_day(d(2027, 2, 10)) && !c.is_working_day(d(2027, 2, 11)));
        assert!(c.is_working_day(d(2027, 2, 12)));
        // 2026 follows its notice: Friday 02/01 off, Saturday 10/01 worked.
        assert!(!c.is_working_day(d(2026, 1, 2)) && c.is_working_day(d(2026, 1, 10)));
    }

    #[test]
    fn tet_and_swapped_days_of_2025() {
        let c = cal();
        let d = |m, dd| NaiveDate::from_ymd_opt(2025, m, dd).unwrap();
        assert!(!c.is_working_day(d(1, 27)) && !c.is_working_day(d(1, 31)));
        // Friday 02/05/2025 was swapped for Saturday 26/04/2025.
        assert!(!c.is_working_day(d(5, 2)) && c.is_working_day(d(4, 26)));
        // Received Friday 24/01/2025 at 15:00 with 3 working days: 2 hours that Friday, then the
        // Tết break (25/01–02/02), then 03/02 and 04/02 whole, and 6 more hours on 05/02.
        assert_eq!(c.add_working_minutes(vn(2025, 1, 24, 15, 0), 24 * 60), vn(2025, 2, 5, 15, 0));
        // Received Friday 25/04/2025 at 16:00 with 8 hours: one that Friday, seven on the make-up
        // Saturday.
        assert_eq!(c.add_working_minutes(vn(2025, 4, 25, 16, 0), 8 * 60), vn(2025, 4, 26, 16, 0));
    }

    fn hours(periods: &[&str], due_soon_hours: u32) -> WorkingTime {
        WorkingTime::single(periods.iter().map(|p| Period::parse(p).unwrap()).collect(), due_soon_hours).unwrap()
    }

    #[test]
    fn rejects_bad_periods() {
        assert!(Period::parse("13:00-12:00").is_err());
        assert!(WorkingTime::single(vec![], 8).is_err());
        let overlapping = ["07:00-12:00", "11:00-17:00"].iter().map(|p| Period::parse(p).unwrap()).collect();
        assert!(WorkingTime::single(overlapping, 8).is_err());
    }

    #[test]
    fn hours_change_on_their_effective_date() {
        // From Monday 04/01/2027 the province works 08:00-12:00 and 13:00-17:00 and warns four
        // working hours ahead.
        let rule = |from: &str, periods: &[&str], soon: u32| WorkingTimeRule {
            effective_from: from.parse().unwrap(),
            periods: periods.iter().map(|p| Period::parse(p).unwrap()).collect(),
            due_soon_working_hours: soon,
            legal_basis: format!("QĐ từ {from}"),
        };
        let time = WorkingTime::new(vec![
            rule("2020-01-01", &["07:00-11:30", "13:30-17:00"], 8),
            rule("2027-01-04", &["08:00-12:00", "13:00-17:00"], 4),
        ])
        .unwrap();
        let c = WorkingCalendar::new(time, &embedded_decisions().unwrap()).unwrap();
        // Thursday 31/12/2026 16:00 + 8 h: one hour that day (01/01 is Tết Dương lịch, 02-03/01
        // a weekend), then seven hours of Monday's new day: 08:00-12:00 and 13:00-16:00.
        assert_eq!(c.add_working_minutes(vn(2026, 12, 31, 16, 0), 480), vn(2027, 1, 4, 16, 0));
        // Before hours on the new rule's first day: the clock starts at 08:00, not 07:00.
        assert_eq!(c.clock_start(vn(2027, 1, 4, 7, 15)), vn(2027, 1, 4, 8, 0));
        assert_eq!(c.clock_start(vn(2027, 1, 4, 12, 30)), vn(2027, 1, 4, 13, 0));
        assert_eq!(c.working_minutes_between(vn(2026, 12, 31, 16, 0), vn(2027, 1, 4, 16, 0)), 480);
        assert_eq!(c.due_soon_minutes(vn(2026, 12, 31, 9, 0)), 480);
        assert_eq!(c.due_soon_minutes(vn(2027, 1, 5, 9, 0)), 240);
        let due = vn(2027, 1, 6, 17, 0);
        assert!(!deadline_flags(&c, true, Some(due), None, vn(2027, 1, 6, 9, 0)).due_soon, "8 h left, window 4 h");
        assert!(deadline_flags(&c, true, Some(due), None, vn(2027, 1, 6, 13, 0)).due_soon);
    }

    /// The shipped calendar with new hours from 04/01/2027, to check arithmetic across a change.
    fn changing_calendar() -> WorkingCalendar {
        let mut rules = WorkingTime::embedded().rules().to_vec();
        rules.push(WorkingTimeRule {
            effective_from: NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
            periods: ["08:00-12:00", "13:00-16:30"].iter().map(|p| Period::parse(p).unwrap()).collect(),
            due_soon_working_hours: 4,
            legal_basis: "thử nghiệm".into(),
        });
        WorkingCalendar::new(WorkingTime::new(rules).unwrap(), &embedded_decisions().unwrap()).unwrap()
    }

    proptest! {
        #[test]
        fn arithmetic_holds_across_a_change_of_hours(day in 0i64..60, minute in 0i64..1440, a in 0i64..3000, b in 1i64..3000) {
            let c = changing_calendar();
            let start = vn(2026, 12, 1, 0, 0) + Duration::days(day) + Duration::minutes(minute);
            let due = c.add_working_minutes(start, a);
            prop_assert!(c.is_working_day(crate::dossier::local_date(due)));
            prop_assert_eq!(c.working_minutes_between(start, due), a);
            prop_assert!(due <= c.add_working_minutes(start, a + b));
            prop_assert_eq!(c.add_working_minutes(due, b), c.add_working_minutes(start, a + b));
        }

        #[test]
        fn due_dates_fall_on_working_days(day in 0i64..730, minute in 0i64..1440, hours in 0i64..200) {
            let c = cal();
            let start = vn(2025, 1, 1, 0, 0) + Duration::days(day) + Duration::minutes(minute);
            let due = c.add_working_minutes(start, hours * 60);
            prop_assert!(c.is_working_day(crate::dossier::local_date(due)));
            prop_assert_eq!(c.working_minutes_between(start, due), hours * 60);
        }

        #[test]
        fn adding_is_monotonic_and_additive(day in 0i64..700, minute in 0i64..1440, a in 0i64..6000, b in 1i64..6000) {
            let c = cal();
            let start = vn(2025, 1, 1, 0, 0) + Duration::days(day) + Duration::minutes(minute);
            prop_assert!(c.add_working_minutes(start, a) <= c.add_working_minutes(start, a + b));
            prop_assert_eq!(c.add_working_minutes(c.add_working_minutes(start, a), b), c.add_working_minutes(start, a + b));
        }
    }
}
