//! Background work on the legal clock: the deadline sweeper, and the recomputation of due dates
//! when the working calendar changes. Each is a plain async function over the store (callable
//! from tests and the CLI) plus a loop that `cqs serve` runs.
//!
//! Several nodes may run them against one PostgreSQL database at once. No leader is elected:
//! every effect is claimed by a database key in the transaction that makes it (a notice by
//! dossier, kind and due date; a new due date by the dossier's version), so a second node
//! finds the work done and does nothing.

pub mod recompute;
pub mod sweeper;

pub use recompute::{RecomputeReport, recompute_due_dates, recompute_if_calendar_changed};
pub use sweeper::{SweepReport, spawn_sweeper, sweep};
