//! The legal clock over a dossier's life, beyond single actions: which deadline notice a dossier
//! is owed at a moment (for the sweeper), and its due dates replayed from history on a working
//! calendar (so a changed calendar can move the due date of every open dossier correctly).

use chrono::{DateTime, Utc};

use crate::calendar::{WorkingCalendar, deadline_flags};
use crate::catalog::Deadline;
use crate::dossier::{DossierState, HistoryEntry};

/// A notice the sweeper sends once per dossier, kind and due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Sắp đến hạn: one working day or less is left.
    DueSoon,
    /// Quá hạn: the due moment has passed; an apology task opens.
    Overdue,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::DueSoon => "due_soon",
            NoticeKind::Overdue => "overdue",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [NoticeKind::DueSoon, NoticeKind::Overdue].into_iter().find(|k| k.as_str() == s)
    }

    /// The outbox topic of the notice's event.
    pub fn topic(self) -> &'static str {
        match self {
            NoticeKind::DueSoon => "dossier.due_soon",
            NoticeKind::Overdue => "dossier.overdue",
        }
    }
}

/// Whether a dossier in `state` still runs against its deadline: it is open and its result is
/// not yet ready (timeliness is judged when the result is recorded).
pub fn clock_runs(state: DossierState) -> bool {
    !state.is_closed() && state != DossierState::Resolved
}

/// The notice a dossier is owed at `now`, if any: overdue wins over due soon, and a dossier
/// waiting on the applicant (clock stopped) is not "due soon", since nobody here can act on it.
pub fn notice_due(
    calendar: &WorkingCalendar,
    state: DossierState,
    due: Option<DateTime<Utc>>,
    paused_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<NoticeKind> {
    let flags = deadline_flags(calendar, clock_runs(state), due, paused_at, now);
    if flags.overdue {
        Some(NoticeKind::Overdue)
    } else if flags.due_soon && paused_at.is_none() {
        Some(NoticeKind::DueSoon)
    } else {
        None
    }
}

/// A moment no earlier than the due date of any dossier that is due soon or overdue at `now`,
/// so the sweeper can select candidates by due date alone and let [`notice_due`] decide.
pub fn sweep_horizon(calendar: &WorkingCalendar, now: DateTime<Utc>) -> DateTime<Utc> {
    // One working minute more than the window covers due moments in the non-working gap just
    // after its end (a calendar-day deadline may fall there).
    calendar.add_working_minutes(now, calendar.due_soon_minutes(now) + 1)
}

/// Due dates replayed from a dossier's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayedDue {
    pub due_at: Option<DateTime<Utc>>,
    /// The due date before the first apology, if there was one.
    pub original_due_at: Option<DateTime<Utc>>,
}

/// Why a history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An apology row from before due dates were recorded in history: its promised date is
    /// unknown, so the stored due date is kept.
    #[error("dòng lịch sử {seq} (xin lỗi, hẹn lại) không ghi ngày hẹn mới")]
    PromisedDateUnknown { seq: i32 },
}

/// Replays the legal clock over `history` on `calendar`, with the same rules the workflow
/// applies action by action: receipt and acceptance (re)start the clock, a supplement or
/// payment request stops it and the answer resumes it with the working time that was left, and
/// an apology sets the promised date recorded in its row. With the calendar the dossier was
/// processed on, the result equals its stored due dates (property-tested in `workflow`).
pub fn replay_due(
    history: &[HistoryEntry],
    deadline: Deadline,
    calendar: &WorkingCalendar,
) -> Result<ReplayedDue, ReplayError> {
    let mut due = None;
    let mut original = None;
    let mut paused: Option<DateTime<Utc>> = None;
    for row in history {
        match row.action.as_str() {
            "submit" | "accept" => {
                due = calendar.due_at(row.at, deadline);
                paused = None;
            }
            "request_supplement" | "request_payment" => paused = Some(row.at),
            "supply_supplement" | "confirm_payment" => {
                if let (Some(p), Some(d)) = (paused, due) {
                    due = Some(calendar.add_working_minutes(row.at, calendar.working_minutes_between(p, d)));
                }
                paused = None;
            }
            "apologize_and_reschedule" => {
                original = original.or(due);
                due = Some(row.due_at.ok_or(ReplayError::PromisedDateUnknown { seq: row.seq })?);
            }
            _ => {}
        }
    }
    Ok(ReplayedDue { due_at: due, original_due_at: original })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{WorkingTime, YearDecision, embedded_decisions};
    use chrono::TimeZone;

    fn vn(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap().with_timezone(&Utc)
    }

    fn row(seq: i32, at: DateTime<Utc>, action: &str, due_at: Option<DateTime<Utc>>) -> HistoryEntry {
        crate::dossier::history_row(seq, at, action, DossierState::InProgress, None, due_at)
    }

    fn calendar_with_extra_day_off(date: &str) -> WorkingCalendar {
        let mut decisions = embedded_decisions().unwrap();
        let year: i32 = date[..4].parse().unwrap();
        let d = decisions.iter_mut().find(|d| d.year == year).unwrap();
        d.days_off.push(serde_json::from_value(serde_json::json!({ "date": date, "name": "Nghỉ thêm" })).unwrap());
        YearDecision::validate(d).unwrap();
        WorkingCalendar::new(WorkingTime::embedded(), &decisions).unwrap()
    }

    #[test]
    fn acceptance_restarts_and_pauses_move_the_due_date() {
        let cal = crate::calendar::embedded_calendar().unwrap();
        let three_days = Deadline::WorkingHours { hours: 24 };
        // Received Friday 20/11 after hours, accepted Monday 23/11 08:00: due Thursday 26/11 08:00.
        let h = [row(1, vn(2026, 11, 20, 18, 0), "submit", None), row(2, vn(2026, 11, 23, 8, 0), "accept", None)];
        let r = replay_due(&h, three_days, &cal).unwrap();
        assert_eq!(r.due_at, Some(vn(2026, 11, 26, 8, 0)));
        // A supplement asked Monday 10:00 and supplied Tuesday 10:00 stops the clock for one
        // working day: due Friday 27/11 08:00.
        let mut h = h.to_vec();
        h.push(row(3, vn(2026, 11, 23, 10, 0), "request_supplement", None));
        h.push(row(4, vn(2026, 11, 24, 10, 0), "supply_supplement", None));
        let r = replay_due(&h, three_days, &cal).unwrap();
        assert_eq!(r.due_at, Some(vn(2026, 11, 27, 8, 0)));
        assert_eq!(r.original_due_at, None);
    }

    #[test]
    fn an_apology_sets_the_promised_date_and_keeps_the_first() {
        let cal = crate::calendar::embedded_calendar().unwrap();
        let promised = vn(2026, 12, 4, 16, 0);
        let h = [
            row(1, vn(2026, 11, 23, 8, 0), "submit", None),
            row(2, vn(2026, 11, 23, 8, 0), "accept", None),
            row(3, vn(2026, 11, 25, 9, 0), "apologize_and_reschedule", Some(promised)),
            row(4, vn(2026, 11, 25, 10, 0), "request_payment", None),
            row(5, vn(2026, 11, 25, 11, 0), "confirm_payment", None),
        ];
        let r = replay_due(&h, Deadline::WorkingHours { hours: 16 }, &cal).unwrap();
        assert_eq!(r.original_due_at, Some(vn(2026, 11, 25, 8, 0)));
        assert_eq!(r.due_at, Some(vn(2026, 12, 4, 17, 0)), "the hour the payment took is added to the promise");
    }

    #[test]
    fn an_apology_without_its_date_cannot_be_replayed() {
        let cal = crate::calendar::embedded_calendar().unwrap();
        let h = [
            row(1, vn(2026, 11, 23, 8, 0), "accept", None),
            row(2, vn(2026, 11, 24, 8, 0), "apologize_and_reschedule", None),
        ];
        assert_eq!(
            replay_due(&h, Deadline::WorkingHours { hours: 8 }, &cal),
            Err(ReplayError::PromisedDateUnknown { seq: 2 })
        );
    }

    #[test]
    fn a_new_day_off_moves_the_due_date_by_one_working_day() {
        let old = crate::calendar::embedded_calendar().unwrap();
        let new = calendar_with_extra_day_off("2026-11-25");
        let h = [row(1, vn(2026, 11, 23, 8, 0), "accept", None)];
        let d = Deadline::WorkingHours { hours: 24 };
        assert_eq!(replay_due(&h, d, &old).unwrap().due_at, Some(vn(2026, 11, 26, 8, 0)));
        assert_eq!(replay_due(&h, d, &new).unwrap().due_at, Some(vn(2026, 11, 27, 8, 0)));
        assert_eq!(replay_due(&h, Deadline::None, &new).unwrap().due_at, None);
    }

    #[test]
    fn notices_follow_the_flags() {
        let cal = crate::calendar::embedded_calendar().unwrap();
        let due = Some(vn(2026, 11, 24, 10, 0));
        let s = DossierState::InProgress;
        assert_eq!(notice_due(&cal, s, due, None, vn(2026, 11, 23, 9, 0)), None);
        assert_eq!(notice_due(&cal, s, due, None, vn(2026, 11, 23, 11, 0)), Some(NoticeKind::DueSoon));
        assert_eq!(notice_due(&cal, s, due, None, vn(2026, 11, 24, 10, 1)), Some(NoticeKind::Overdue));
        assert_eq!(notice_due(&cal, DossierState::Resolved, due, None, vn(2026, 11, 25, 8, 0)), None);
        // Paused before the due moment: judged when the clock stopped.
        assert_eq!(notice_due(&cal, s, due, Some(vn(2026, 11, 20, 8, 0)), vn(2026, 12, 1, 8, 0)), None);
        assert_eq!(notice_due(&cal, s, due, Some(vn(2026, 11, 24, 9, 0)), vn(2026, 11, 30, 8, 0)), None);
        assert_eq!(NoticeKind::parse("overdue"), Some(NoticeKind::Overdue));
    }

    proptest::proptest! {
        /// Every dossier that is owed a notice at `now` is due no later than the horizon.
        #[test]
        fn the_horizon_covers_every_notice(now_min in 0i64..(60 * 24 * 400), due_min in 0i64..(60 * 24 * 400)) {
            let cal = crate::calendar::embedded_calendar().unwrap();
            let base = vn(2025, 6, 1, 0, 0);
            let now = base + chrono::Duration::minutes(now_min);
            let due = base + chrono::Duration::minutes(due_min);
            if notice_due(&cal, DossierState::InProgress, Some(due), None, now).is_some() {
                proptest::prop_assert!(due <= sweep_horizon(&cal, now));
            }
        }
    }
}
