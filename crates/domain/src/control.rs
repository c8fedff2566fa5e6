//! The control sheet (phiếu kiểm soát quá trình giải quyết hồ sơ, Mẫu 05), derived from the
//! dossier's history rather than kept separately: one row per step the dossier passed through,
//! with the time the process allows that step and the working time it used, paused time
//! excluded, classified early / on time / late by minutes (vn-standards §3).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Role;
use crate::calendar::{Timeliness, WorkingCalendar};
use crate::catalog::{ProcessStep, StepKind};
use crate::dossier::{DossierState, HistoryEntry};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ControlRow {
    /// Index of the step in the process.
    pub step: usize,
    pub kind: StepKind,
    pub role: Role,
    /// When the step received the dossier.
    pub received_at: DateTime<Utc>,
    /// When the step handed it over; `None` while the step still holds it.
    pub handed_over_at: Option<DateTime<Utc>>,
    pub allowed_minutes: i64,
    /// Working minutes used, without the time the clock stood still.
    pub used_minutes: i64,
    /// Early / on time / late once handed over; while open, `late` as soon as the allowance is
    /// exceeded and otherwise `None`.
    pub timeliness: Option<Timeliness>,
}

fn judge(used: i64, allowed: i64) -> Timeliness {
    match used.cmp(&allowed) {
        std::cmp::Ordering::Less => Timeliness::Early,
        std::cmp::Ordering::Equal => Timeliness::OnTime,
        std::cmp::Ordering::Greater => Timeliness::Late,
    }
}

struct Open {
    step: usize,
    since: DateTime<Utc>,
    paused_since: Option<DateTime<Utc>>,
    paused_minutes: i64,
}

/// Builds the sheet from history rows in order. `now` measures the step still open.
pub fn control_sheet(
    process: &[ProcessStep],
    history: &[HistoryEntry],
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Vec<ControlRow> {
    let mut rows = Vec::new();
    let mut open: Option<Open> = None;
    let close = |o: &Open, until: DateTime<Utc>, done: bool| -> Option<ControlRow> {
        let s = process.get(o.step)?;
        let mut paused = o.paused_minutes;
        if let Some(p) = o.paused_since {
            paused += calendar.working_minutes_between(p, until);
        }
        let used = (calendar.working_minutes_between(o.since, until) - paused).max(0);
        let allowed = i64::from(s.hours) * 60;
        let timeliness = if done { Some(judge(used, allowed)) } else { (used > allowed).then_some(Timeliness::Late) };
        Some(ControlRow {
            step: o.step,
            kind: s.step,
            role: s.role,
            received_at: o.since,
            handed_over_at: done.then_some(until),
            allowed_minutes: allowed,
            used_minutes: used,
            timeliness,
        })
    };
    for h in history {
        let step = h.step.and_then(|s| usize::try_from(s).ok());
        let pausing = matches!(h.to_state, DossierState::NeedSupplement | DossierState::NeedPayment);
        match open.as_mut() {
            Some(o) if step == Some(o.step) && !h.to_state.is_closed() => {
                // Same step: only the clock may have stopped or started again.
                if pausing && o.paused_since.is_none() {
                    o.paused_since = Some(h.at);
                } else if !pausing && let Some(p) = o.paused_since.take() {
                    o.paused_minutes += calendar.working_minutes_between(p, h.at);
                }
            }
            _ => {
                if let Some(o) = open.take() {
                    rows.extend(close(&o, h.at, true));
                }
                if let Some(s) = step.filter(|_| !h.to_state.is_closed()) {
                    open =
                        Some(Open { step: s, since: h.at, paused_since: pausing.then_some(h.at), paused_minutes: 0 });
                }
            }
        }
    }
    if let Some(o) = open {
        rows.extend(close(&o, now.max(o.since), false));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::sample_spec;
    use chrono::TimeZone;

    fn vn(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(2026, 11, d, h, mi, 0).unwrap().with_timezone(&Utc)
    }

    fn row(seq: i32, at: DateTime<Utc>, action: &str, to: DossierState, step: Option<i32>) -> HistoryEntry {
        crate::dossier::history_row(seq, at, action, to, step, None)
    }

    #[test]
    fn one_row_per_step_with_its_timeliness() {
        use DossierState as S;
        // Steps: intake 1h, appraisal 5h, approval 1h, returning 1h.
        let process = sample_spec().process;
        let cal = crate::calendar::embedded_calendar().unwrap();
        let history = vec![
            row(1, vn(23, 7, 55), "submit", S::Submitted, None),
            row(2, vn(23, 8, 0), "accept", S::Accepted, Some(0)),
            row(3, vn(23, 8, 30), "forward", S::InProgress, Some(1)), // intake used 30 min of 60
            row(4, vn(23, 9, 30), "request_supplement", S::NeedSupplement, Some(1)),
            row(5, vn(24, 9, 30), "supply_supplement", S::InProgress, Some(1)), // a full working day paused
            row(6, vn(24, 13, 30), "forward", S::InProgress, Some(2)), // appraisal: 1h + 2h = 3h of 5h (lunch excluded)
            row(7, vn(24, 15, 30), "approve", S::InProgress, Some(3)), // approval: 2h of 1h: late
            row(8, vn(24, 16, 30), "record_result", S::Resolved, Some(3)),
            row(9, vn(24, 16, 30), "return_result", S::Returned, Some(3)), // returning: exactly 1h
        ];
        let sheet = control_sheet(&process, &history, &cal, vn(25, 8, 0));
        let summary: Vec<(usize, i64, Option<Timeliness>)> =
            sheet.iter().map(|r| (r.step, r.used_minutes, r.timeliness)).collect();
        assert_eq!(
            summary,
            vec![
                (0, 30, Some(Timeliness::Early)),
                (1, 180, Some(Timeliness::Early)),
                (2, 120, Some(Timeliness::Late)),
                (3, 60, Some(Timeliness::OnTime)),
            ]
        );
        assert!(sheet.iter().all(|r| r.handed_over_at.is_some()));
    }

    #[test]
    fn the_open_step_is_measured_until_now() {
        use DossierState as S;
        let process = sample_spec().process;
        let cal = crate::calendar::embedded_calendar().unwrap();
        let history = vec![
            row(1, vn(23, 8, 0), "submit", S::Accepted, Some(0)),
            row(2, vn(23, 8, 10), "forward", S::InProgress, Some(1)),
        ];
        let sheet = control_sheet(&process, &history, &cal, vn(23, 10, 10));
        assert_eq!(sheet.len(), 2);
        assert_eq!((sheet[1].used_minutes, sheet[1].handed_over_at, sheet[1].timeliness), (120, None, None));
        let later = control_sheet(&process, &history, &cal, vn(24, 10, 10));
        assert_eq!(later[1].timeliness, Some(Timeliness::Late), "past its 5 hours while still open");
        let refused =
            vec![row(1, vn(23, 8, 0), "submit", S::Submitted, None), row(2, vn(23, 8, 5), "refuse", S::Refused, None)];
        assert!(control_sheet(&process, &refused, &cal, vn(23, 9, 0)).is_empty());
    }
}
