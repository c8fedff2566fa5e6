//! Statistics of a unit's dossiers for a period, counted the way the provincial reports count
//! them (vn-standards §4.3): timeliness at date precision, dossiers carried over from before the
//! period, and those still open at its end judged against the end (or today, if sooner).
//!
//! Every dossier the unit took in lands in exactly one outcome, so
//! `carried_over + received = resolved + closed_without_result + pending` always holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use crate::calendar::{Timeliness, classify};
use crate::dossier::{DossierState, local_date};

/// Longest period one report covers.
pub const MAX_DAYS: i64 = 366;
/// Up to this many days a period is charted day by day; longer ones month by month.
pub const DAILY_UP_TO: i64 = 31;

/// What a report needs to know of one dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierFacts {
    pub procedure_code: String,
    pub procedure_name: String,
    pub state: DossierState,
    pub received_at: DateTime<Utc>,
    /// The due moment it is judged by: the original one when an apology set a new date.
    pub due_at: Option<DateTime<Utc>>,
    /// When the clock stopped (a supplement or a fee asked for), while it is stopped.
    pub paused_at: Option<DateTime<Utc>>,
    /// When the result was recorded (first entry into `resolved` or `returned`).
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it ended without a result (refused, withdrawn, stopped).
    pub closed_at: Option<DateTime<Utc>>,
}

/// A reporting period: whole local days from `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a period cannot be reported on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("Ngày đầu kỳ không được sau ngày cuối kỳ")]
    Reversed,
    #[error("Kỳ báo cáo dài nhất là một năm")]
    TooLong,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// The month `day` falls in, up to `day`.
    pub fn month_to_date(day: NaiveDate) -> Self {
        Self { from: day.with_day(1).expect("day 1 exists"), to: day }
    }

    /// The quarter `day` falls in, up to `day`.
    pub fn quarter_to_date(day: NaiveDate) -> Self {
        let first_month = (day.month0() / 3) * 3 + 1;
        Self { from: NaiveDate::from_ymd_opt(day.year(), first_month, 1).expect("valid"), to: day }
    }

    /// The year `day` falls in, up to `day`.
    pub fn year_to_date(day: NaiveDate) -> Self {
        Self { from: NaiveDate::from_ymd_opt(day.year(), 1, 1).expect("valid"), to: day }
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        let d = local_date(at);
        self.from <= d && d <= self.to
    }
}

/// The counts of one group of dossiers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Received before the period and still open when it began.
    pub carried_over: u64,
    /// Received within the period.
    pub received: u64,
    pub resolved_early: u64,
    pub resolved_on_time: u64,
    pub resolved_late: u64,
    /// Refused, withdrawn or stopped within the period.
    pub closed_without_result: u64,
    /// Still open at the end, not late then.
    pub pending_on_time: u64,
    /// Still open at the end and already past due.
    pub pending_late: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.carried_over + self.received
    }

    pub fn resolved(&self) -> u64 {
        self.resolved_early + self.resolved_on_time + self.resolved_late
    }

    pub fn pending(&self) -> u64 {
        self.pending_on_time + self.pending_late
    }

    /// Share of resolved dossiers resolved early or on time, in per cent; `None` if none were.
    pub fn on_time_percent(&self) -> Option<f64> {
        let r = self.resolved();
        (r > 0).then(|| (self.resolved_early + self.resolved_on_time) as f64 * 100.0 / r as f64)
    }

    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::CarriedOver => self.carried_over += 1,
            Outcome::Received => self.received += 1,
            Outcome::Resolved(Timeliness::Early) => self.resolved_early += 1,
            Outcome::Resolved(Timeliness::OnTime) => self.resolved_on_time += 1,
            Outcome::Resolved(Timeliness::Late) => self.resolved_late += 1,
            Outcome::Closed => self.closed_without_result += 1,
            Outcome::Pending { late: false } => self.pending_on_time += 1,
            Outcome::Pending { late: true } => self.pending_late += 1,
        }
    }
}

/// The counts of one procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProcedureCounts {
    pub procedure_code: String,
    pub procedure_name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Received and resolved in one stretch of the period (a day or a month), for the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// First day of the stretch.
    pub start: NaiveDate,
    /// `dd/mm` for a day, `mm/yyyy` for a month.
    pub label: String,
    pub received: u64,
    pub resolved: u64,
}

/// A unit's report for a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub period: Period,
    /// The day open dossiers were judged at: the period's end, or today if that is sooner.
    pub judged_on: NaiveDate,
    pub totals: Counts,
    /// Most dossiers first, then by code.
    pub by_procedure: Vec<ProcedureCounts>,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    CarriedOver,
    Received,
    Resolved(Timeliness),
    Closed,
    Pending { late: bool },
}

/// Where one dossier counts: how it entered the period and how it stood at its end; `None`
/// when it lies wholly outside the period.
fn outcomes(d: &DossierFacts, p: &Period, judged_on: NaiveDate) -> Option<(Outcome, Outcome)> {
    let received = local_date(d.received_at);
    if received > p.to {
        return None;
    }
    let ended = match (d.resolved_at, d.closed_at) {
        (Some(r), Some(c)) => Some(r.min(c)),
        (r, c) => r.or(c),
    };
    if ended.is_some_and(|e| local_date(e) < p.from) {
        return None;
    }
    let entry = if received < p.from { Outcome::CarriedOver } else { Outcome::Received };
    let exit = match (d.resolved_at, d.closed_at) {
        (Some(r), _) if p.contains(r) && ended == Some(r) => {
            Outcome::Resolved(d.due_at.map_or(Timeliness::OnTime, |due| classify(r, due)))
        }
        (_, Some(c)) if p.contains(c) && ended == Some(c) => Outcome::Closed,
        _ => {
            // Open at the end. A dossier whose clock stopped on or before its due date is
            // not late; otherwise it is late once its due date is before the day judged.
            let late = match (d.due_at, d.paused_at) {
                (None, _) => false,
                (Some(due), Some(paused)) if local_date(paused) <= local_date(due) => false,
                (Some(due), _) => local_date(due) < judged_on,
            };
            Outcome::Pending { late }
        }
    };
    Some((entry, exit))
}

fn bucket_start(day: NaiveDate, daily: bool) -> NaiveDate {
    if daily { day } else { day.with_day(1).expect("day 1 exists") }
}

fn buckets_of(p: &Period) -> (bool, Vec<Bucket>) {
    let daily = (p.to - p.from).num_days() < DAILY_UP_TO;
    let mut out = Vec::new();
    let mut day = bucket_start(p.from, daily);
    while day <= p.to {
        let label = if daily { day.format("%d/%m").to_string() } else { day.format("%m/%Y").to_string() };
        out.push(Bucket { start: day, label, received: 0, resolved: 0 });
        day = if daily {
            day.succ_opt().expect("in range")
        } else {
            day.checked_add_months(chrono::Months::new(1)).expect("in range")
        };
    }
    (daily, out)
}

/// Counts `facts` for `period`, judging open dossiers on the period's last day or on `today`,
/// whichever comes first.
pub fn report(facts: &[DossierFacts], period: Period, today: NaiveDate) -> Report {
    let judged_on = period.to.min(today);
    let mut totals = Counts::default();
    let mut by_code: BTreeMap<&str, (&str, Counts)> = BTreeMap::new();
    let (daily, mut buckets) = buckets_of(&period);
    let index: BTreeMap<NaiveDate, usize> = buckets.iter().enumerate().map(|(i, b)| (b.start, i)).collect();
    for d in facts {
        let Some((entry, exit)) = outcomes(d, &period, judged_on) else { continue };
        let group = &mut by_code.entry(&d.procedure_code).or_insert((&d.procedure_name, Counts::default())).1;
        for o in [entry, exit] {
            totals.add(o);
            group.add(o);
        }
        if entry == Outcome::Received
            && let Some(&i) = index.get(&bucket_start(local_date(d.received_at), daily))
        {
            buckets[i].received += 1;
        }
        if let (Outcome::Resolved(_), Some(r)) = (exit, d.resolved_at)
            && let Some(&i) = index.get(&bucket_start(local_date(r), daily))
        {
            buckets[i].resolved += 1;
        }
    }
    let mut by_procedure: Vec<ProcedureCounts> = by_code
        .into_iter()
        .map(|(code, (name, counts))| ProcedureCounts {
            procedure_code: code.to_owned(),
            procedure_name: name.to_owned(),
            counts,
        })
        .collect();
    by_procedure.sort_by(|a, b| b.counts.total().cmp(&a.counts.total()).then(a.procedure_code.cmp(&b.procedure_code)));
    Report { period, judged_on, totals, by_procedure, buckets }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    /// 09:00 local time on `d` November 2026 (02:00 UTC).
    fn nov(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 2, 0, 0).unwrap()
    }

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn facts(received: u32, due: Option<u32>) -> DossierFacts {
        DossierFacts {
            procedure_code: "1.001193".into(),
            procedure_name: "Đăng ký khai sinh".into(),
            state: DossierState::InProgress,
            received_at: nov(received),
            due_at: due.map(nov),
            paused_at: None,
            resolved_at: None,
            closed_at: None,
        }
    }

    fn resolved(mut f: DossierFacts, at: u32) -> DossierFacts {
        f.state = DossierState::Resolved;
        f.resolved_at = Some(nov(at));
        f
    }

    #[test]
    fn periods_are_checked_and_named() {
        assert_eq!(Period::new(day(11, 2), day(11, 1)), Err(PeriodError::Reversed));
        assert_eq!(Period::new(day(1, 1), NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()), Err(PeriodError::TooLong));
        assert!(
            Period::new(day(1, 1), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).is_ok(),
            "366 days, both ends included"
        );
        assert!(Period::new(day(1, 1), day(12, 31)).is_ok());
        assert_eq!(Period::month_to_date(day(11, 20)), Period { from: day(11, 1), to: day(11, 20) });
        assert_eq!(Period::quarter_to_date(day(11, 20)), Period { from: day(10, 1), to: day(11, 20) });
        assert_eq!(Period::year_to_date(day(2, 3)), Period { from: day(1, 1), to: day(2, 3) });
    }

    #[test]
    fn a_hand_checked_month() {
        let p = Period::new(day(11, 1), day(11, 30)).unwrap();
        let mut late_closed = facts(3, Some(5));
        late_closed.closed_at = Some(nov(4));
        late_closed.state = DossierState::Withdrawn;
        let mut paused = facts(10, Some(12));
        paused.paused_at = Some(nov(11));
        paused.state = DossierState::NeedSupplement;
        let mut old = facts(1, Some(3));
        old.received_at = Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0).unwrap();
        let mut done_before = resolved(facts(1, Some(3)), 2);
        done_before.received_at = old.received_at;
        done_before.resolved_at = Some(Utc.with_ymd_and_hms(2026, 10, 25, 2, 0, 0).unwrap());
        let all = vec![
            resolved(facts(2, Some(10)), 9),  // early
            resolved(facts(2, Some(10)), 10), // on time (same day, later hour is still that day)
            resolved(facts(2, Some(10)), 11), // late
            resolved(facts(2, None), 28),     // no deadline: on time
            late_closed,                      // withdrawn
            paused,                           // paused before its due date: on time
            facts(20, Some(25)),              // open, past due on the 27th: late
            facts(20, Some(29)),              // open, not yet due on the 27th
            old,                              // carried over, past due
            done_before,                      // finished before the period: not counted
            facts(28, Some(29)),              // received after the day judged, still within
        ];
        let r = report(&all, p, day(11, 27));
        assert_eq!(r.judged_on, day(11, 27));
        let t = r.totals;
        assert_eq!((t.carried_over, t.received), (1, 9));
        assert_eq!((t.resolved_early, t.resolved_on_time, t.resolved_late), (1, 2, 1));
        assert_eq!(t.closed_without_result, 1);
        assert_eq!((t.pending_on_time, t.pending_late), (3, 2));
        assert_eq!(t.total(), t.resolved() + t.closed_without_result + t.pending());
        assert_eq!(t.on_time_percent(), Some(75.0));
        assert_eq!(r.by_procedure.len(), 1);
        assert_eq!(r.by_procedure[0].counts, t);
        // Thirty days: charted by day; the 2nd received four, the 9th-11th one resolved each.
        assert_eq!(r.buckets.len(), 30);
        assert_eq!((r.buckets[1].label.as_str(), r.buckets[1].received), ("02/11", 4));
        assert_eq!(r.buckets[8].resolved + r.buckets[9].resolved + r.buckets[10].resolved, 3);
    }

    #[test]
    fn a_local_day_begins_at_midnight_in_vietnam() {
        // 17:30 UTC on 31 October is 00:30 on 1 November in Hà Nội: inside a November period.
        let p = Period::new(day(11, 1), day(11, 30)).unwrap();
        let mut f = facts(1, None);
        f.received_at = Utc.with_ymd_and_hms(2026, 10, 31, 17, 30, 0).unwrap();
        assert_eq!(report(&[f.clone()], p, day(11, 30)).totals.received, 1);
        f.received_at = Utc.with_ymd_and_hms(2026, 10, 31, 16, 30, 0).unwrap();
        assert_eq!(report(&[f], p, day(11, 30)).totals.carried_over, 1);
    }

    #[test]
    fn long_periods_are_charted_by_month() {
        let p = Period::new(day(1, 15), day(11, 30)).unwrap();
        let r = report(&[resolved(facts(2, Some(10)), 9)], p, day(12, 1));
        assert_eq!(r.buckets.len(), 11);
        assert_eq!((r.buckets[0].label.as_str(), r.buckets[0].start), ("01/2026", day(1, 1)));
        assert_eq!((r.buckets[10].label.as_str(), r.buckets[10].received, r.buckets[10].resolved), ("11/2026", 1, 1));
    }

    fn any_facts() -> impl Strategy<Value = DossierFacts> {
        (1u32..=30, proptest::option::of(0u32..20), proptest::option::of(0u32..25), any::<bool>(), any::<bool>())
            .prop_map(|(received, due, end, closes, paused)| {
                let mut f = facts(received, due.map(|d| (received + d).min(30)));
                if let Some(e) = end.map(|e| (received + e).min(30)) {
                    if closes { f.closed_at = Some(nov(e)) } else { f.resolved_at = Some(nov(e)) }
                } else if paused {
                    f.paused_at = Some(nov(received));
                }
                f
            })
    }

    proptest! {
        /// Every dossier in the period lands in one entry and one outcome, in the totals and in
        /// its procedure alike.
        #[test]
        fn every_dossier_is_counted_once(all in proptest::collection::vec(any_facts(), 0..60), from in 1u32..20, len in 0u32..10, today in 1u32..30) {
            let p = Period::new(day(11, from), day(11, from + len)).unwrap();
            let r = report(&all, p, day(11, today));
            let t = r.totals;
            prop_assert_eq!(t.total(), t.resolved() + t.closed_without_result + t.pending());
            let by: u64 = r.by_procedure.iter().map(|g| g.counts.total()).sum();
            prop_assert_eq!(by, t.total());
            let charted: u64 = r.buckets.iter().map(|b| b.received).sum();
            prop_assert_eq!(charted, t.received);
            let charted: u64 = r.buckets.iter().map(|b| b.resolved).sum();
            prop_assert_eq!(charted, t.resolved());
        }
    }
}
