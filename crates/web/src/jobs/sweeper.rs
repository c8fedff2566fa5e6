//! Deadline sweeper: finds dossiers that are due soon or overdue, records one notice per
//! dossier, kind and due date with its outbox event (for notifications), and opens the apology
//! task of each dossier that went past due. The domain decides which notice a dossier is owed;
//! the store makes sending it idempotent.

use chrono::{DateTime, Utc};
use cqs_domain::calendar::WorkingCalendar;
use cqs_domain::deadline::{NoticeKind, notice_due, sweep_horizon};
use cqs_store::{DeadlineNotice, Store, StoreError};

/// Candidates read per page.
const PAGE: i64 = 500;
/// Notices recorded per transaction.
const WRITE_BATCH: usize = 100;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Dossiers near or past their due date that were looked at.
    pub examined: usize,
    /// Notices sent by this sweep (others had been sent before, by this node or another).
    pub due_soon: usize,
    pub overdue: usize,
}

/// Sweeps every running dossier once, as of `now`.
pub async fn sweep(
    store: &dyn Store,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Result<SweepReport, StoreError> {
    let horizon = sweep_horizon(calendar, now);
    let mut report = SweepReport::default();
    let mut after = None;
    loop {
        let page = store.deadline_candidates(now, horizon, after, PAGE).await?;
        let notices: Vec<DeadlineNotice> = page
            .iter()
            .filter_map(|c| {
                let kind = notice_due(calendar, c.state, c.due_at, c.paused_at, now)?;
                Some(DeadlineNotice {
                    dossier_id: c.id,
                    code: c.code.clone(),
                    kind,
                    due_at: c.due_at?,
                    unit_id: c.holder_unit_id,
                    at: now,
                })
            })
            .collect();
        // Short write transactions: on SQLite the sweeper shares the one writer with intake.
        for chunk in notices.chunks(WRITE_BATCH) {
            for sent in store.record_deadline_notices(chunk).await? {
                match sent.kind {
                    NoticeKind::DueSoon => report.due_soon += 1,
                    NoticeKind::Overdue => report.overdue += 1,
                }
            }
        }
        report.examined += page.len();
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some((last.due_sort, last.id)),
            _ => break,
        }
    }
    Ok(report)
}
