//! Recomputing due dates when the working calendar changes (a new year's decision, a corrected
//! day off, other working hours). Each running dossier's clock is replayed from its history on
//! the current calendar (`domain::deadline::replay_due`); a dossier whose due date comes out
//! different gets it through an ordinary workflow transition (action `recompute_deadline`, by the
//! system), so the change is in its history, its outbox and its version.
//!
//! The calendar's fingerprint is kept in the store: a node that starts with a calendar other
//! than the one recorded recomputes, then records the new fingerprint. Two nodes doing it at
//! once compute the same dates; the second finds nothing to change.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqs_domain::catalog::ProcedureVersion;
use cqs_domain::deadline::{ReplayedDue, replay_due};
use cqs_domain::dossier::{Actor, ActorKind, Dossier};
use cqs_store::{StoreError, Transition};
use uuid::Uuid;

use crate::AppState;
use crate::api::workflow::{Context, pinned_version, unit_codes};
use crate::error::ApiError;

/// The setting that records which calendar the stored due dates were computed on.
pub const CALENDAR_SETTING: &str = "calendar_fingerprint";

/// The history action of a due date moved by a calendar change.
pub const RECOMPUTE_ACTION: &str = "recompute_deadline";

const PAGE: i64 = 200;
/// Attempts per dossier when an officer changes it at the same moment.
const ATTEMPTS: usize = 3;

/// What a recomputation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecomputeReport {
    pub examined: usize,
    pub changed: usize,
    /// Dossiers whose history cannot be replayed (an apology recorded before due dates were
    /// kept in history); their due dates are left as they are.
    pub kept: usize,
}

/// Recomputes the due dates of every running dossier on the current calendar.
pub async fn recompute_due_dates(state: &AppState, now: DateTime<Utc>) -> Result<RecomputeReport, ApiError> {
    let codes = unit_codes(state).await?;
    let mut versions: HashMap<Uuid, ProcedureVersion> = HashMap::new();
    let mut report = RecomputeReport::default();
    let mut after = None;
    loop {
        let page = state.store.running_dossiers(after, PAGE).await?;
        for d in &page {
            report.examined += 1;
            let version = match versions.get(&d.procedure_id) {
                Some(v) => v.clone(),
                None => {
                    let v = pinned_version(state, d).await?;
                    versions.insert(d.procedure_id, v.clone());
                    v
                }
            };
            match retime(state, Context::new(d.clone(), version, codes.clone()), now).await? {
                Retimed::Changed => report.changed += 1,
                Retimed::Unchanged => {}
                Retimed::Kept => report.kept += 1,
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.id),
            _ => break,
        }
    }
    Ok(report)
}

enum Retimed {
    Changed,
    Unchanged,
    Kept,
}

/// Replays one dossier and writes its new due dates if they differ, retrying when someone acts
/// on it meanwhile.
async fn retime(state: &AppState, mut ctx: Context, now: DateTime<Utc>) -> Result<Retimed, ApiError> {
    for _ in 0..ATTEMPTS {
        let d = &ctx.dossier;
        let history = state.store.history(d.id).await?;
        let replayed = match replay_due(&history, ctx.version.spec.deadline, &state.rules.calendar) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(code = %d.code, reason = %e, "due date kept: history cannot be replayed");
                return Ok(Retimed::Kept);
            }
        };
        if replayed.due_at == d.due_at && replayed.original_due_at == d.original_due_at {
            return Ok(Retimed::Unchanged);
        }
        let mut position = d.position();
        position.due_at = replayed.due_at;
        position.original_due_at = replayed.original_due_at;
        let t = Transition {
            dossier_id: d.id,
            code: d.code.to_string(),
            expected_version: d.version,
            from_state: d.state,
            holder: ctx.holder(&position),
            position,
            action: RECOMPUTE_ACTION.to_owned(),
            note: Some(note(d, &replayed)),
            actor: Actor { kind: ActorKind::System, id: None },
            actor_unit_id: None,
            at: now,
            issued: Vec::new(),
            attachments: Vec::new(),
        };
        match state.store.apply_transition(&t).await {
            Ok(_) => return Ok(Retimed::Changed),
            Err(StoreError::Conflict(_)) => {
                let Some(fresh) = state.store.dossier_by_code(d.code.as_str()).await? else {
                    return Ok(Retimed::Unchanged);
                };
                if !cqs_domain::deadline::clock_runs(fresh.state) {
                    return Ok(Retimed::Unchanged);
                }
                let codes = ctx.codes_map();
                ctx = Context::new(fresh, ctx.version, codes);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict(format!("hồ sơ {} thay đổi liên tục khi tính lại hạn", ctx.dossier.code)).into())
}

fn local(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "không có".to_owned(),
        |t| t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string(),
    )
}

fn note(d: &Dossier, r: &ReplayedDue) -> String {
    format!("Tính lại hạn giải quyết theo lịch làm việc mới: {} → {}", local(d.due_at), local(r.due_at))
}

/// Recomputes if the calendar differs from the one recorded in the store, then records it.
/// Returns `None` when nothing changed.
pub async fn recompute_if_calendar_changed(state: &AppState) -> Result<Option<RecomputeReport>, ApiError> {
    let fingerprint = state.rules.calendar.fingerprint();
    if state.store.setting(CALENDAR_SETTING).await?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(None);
    }
    let now = state.clock.now();
    let report = recompute_due_dates(state, now).await?;
    state.store.put_setting(CALENDAR_SETTING, &fingerprint, now).await?;
    Ok(Some(report))
}
