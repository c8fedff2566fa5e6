//! Background work: the deadline sweeper, the recomputation of due dates when the working
//! calendar changes, the outbox relay and the outbox's clean-up. Each is a plain async function
//! over the store (callable from tests and the CLI), run by `cqs serve` as a leased job
//! ([`lease`]): with several nodes on one database exactly one node runs each job at a time,
//! and when that node dies another takes the job over once its lease runs out.
//!
//! The jobs stay safe without the lease, too: every effect is claimed by a database key in the
//! transaction that makes it (a notice by dossier, kind and due date; a new due date by the
//! dossier's version; an event by its id at each consumer), so a second runner finds the work
//! done. The lease keeps nodes from doing it twice, not from doing it wrong.

pub mod lease;
pub mod recompute;
pub mod sweeper;

use std::sync::Arc;
use std::time::Duration;

pub use lease::{JobSettings, NodeId, Stop, Work, spawn_leased};
pub use recompute::{RecomputeReport, recompute_due_dates, recompute_if_calendar_changed};
pub use sweeper::{SweepReport, sweep};

use crate::AppState;
use crate::events::{RELAY_JOB, relay_pending};

/// The deadline sweeper's lease.
pub const SWEEP_JOB: &str = "deadline-sweep";
/// The calendar check (and recomputation when it changed).
pub const RECOMPUTE_JOB: &str = "calendar-recompute";
/// Deleting published events and consumer claims past their retention.
pub const PURGE_JOB: &str = "outbox-purge";

/// How often each job runs on the node that holds it.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// `None` leaves the sweeper to other nodes.
    pub sweep: Option<Duration>,
    pub relay: Duration,
    pub recompute: Duration,
    pub purge: Duration,
    /// How long published events stay in the outbox (and in the JetStream stream).
    pub retention: Duration,
    /// How long a citizen's unsent submission (draft) is kept after its last change.
    pub drafts: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            sweep: Some(Duration::from_secs(60)),
            relay: Duration::from_millis(200),
            recompute: Duration::from_secs(600),
            purge: Duration::from_secs(600),
            retention: Duration::from_secs(7 * 24 * 3600),
            drafts: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

fn work<F, Fut>(f: F) -> Work
where
    F: Fn(AppState) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(move |state| Box::pin(f(state)))
}

/// Starts every background job of this node and the bus's consumers; all stop when `stop`
/// turns true (leases are released then).
pub fn spawn_all(state: &AppState, schedule: &Schedule, stop: Stop) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks =
        state.bus.run_consumers(crate::events::consumers::standard(&state.store, &state.notifier), stop.clone());
    tasks.push(crate::telemetry::spawn_upkeep(stop.clone()));
    let relay = work(|s: AppState| async move {
        relay_pending(s.store.as_ref(), s.bus.as_ref(), &s.clock).await.map(|_| ()).map_err(|e| e.to_string())
    });
    tasks.push(spawn_leased(state.clone(), RELAY_JOB, schedule.relay, stop.clone(), relay));
    if let Some(every) = schedule.sweep {
        let sweep = work(|s: AppState| async move {
            let r = sweep(s.store.as_ref(), &s.rules.calendar, s.clock.now()).await.map_err(|e| e.to_string())?;
            if r.due_soon + r.overdue > 0 {
                tracing::info!(examined = r.examined, due_soon = r.due_soon, overdue = r.overdue, "deadline sweep");
            }
            Ok(())
        });
        tasks.push(spawn_leased(state.clone(), SWEEP_JOB, every, stop.clone(), sweep));
    }
    let recompute = work(|s: AppState| async move {
        match recompute_if_calendar_changed(&s).await {
            Ok(Some(r)) => {
                tracing::info!(
                    examined = r.examined,
                    changed = r.changed,
                    kept = r.kept,
                    "working calendar changed: due dates recomputed"
                );
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(format!("{e:?}")),
        }
    });
    tasks.push(spawn_leased(state.clone(), RECOMPUTE_JOB, schedule.recompute, stop.clone(), recompute));
    let retention = schedule.retention;
    let drafts = schedule.drafts;
    let purge = work(move |s: AppState| async move {
        purge(&s, retention).await.map(|_| ()).map_err(|e| e.to_string())?;
        purge_drafts(&s, drafts).await.map(|_| ()).map_err(|e| e.to_string())?;
        // Identity: sessions that ended and sign-in failures older than a day (the security log
        // keeps the history).
        s.store.purge_identity(s.clock.now() - chrono::Duration::days(1)).await.map_err(|e| e.to_string())?;
        crate::idempotency::purge(&s).await.map(|_| ()).map_err(|e| e.to_string())
    });
    tasks.push(spawn_leased(state.clone(), PURGE_JOB, schedule.purge, stop, purge));
    tasks
}

/// Deletes citizens' drafts not changed for `keep`, and their files. Returns how many went.
pub async fn purge_drafts(state: &AppState, keep: Duration) -> Result<u64, cqs_store::StoreError> {
    const CHUNK: i64 = 500;
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(30));
    let before = state.clock.now() - keep;
    let mut total = 0;
    loop {
        let (n, keys) = state.store.purge_drafts(before, CHUNK).await?;
        for key in keys {
            state.files.delete(&key).await;
        }
        total += n;
        if n < CHUNK as u64 {
            break;
        }
    }
    if total > 0 {
        tracing::info!(drafts = total, "unsent submissions purged");
    }
    Ok(total)
}

/// Deletes published events older than `retention`, and consumer claims a day older still
/// (a redelivery can only come from the stream, which keeps events for `retention`).
pub async fn purge(state: &AppState, retention: Duration) -> Result<(u64, u64), cqs_store::StoreError> {
    const CHUNK: i64 = 5000;
    let now = state.clock.now();
    let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(7));
    let (mut events, mut claims) = (0, 0);
    loop {
        let n = state.store.purge_published(now - keep, CHUNK).await?;
        events += n;
        if n < CHUNK as u64 {
            break;
        }
    }
    loop {
        let n = state.store.purge_consumed(now - keep - chrono::Duration::days(1), CHUNK).await?;
        claims += n;
        if n < CHUNK as u64 {
            break;
        }
    }
    if events + claims > 0 {
        tracing::info!(events, claims, "outbox purged");
    }
    Ok((events, claims))
}
