//! The relay's side of the outbox, and the store's own consumer of it.
//!
//! Every state change writes an outbox row in its transaction (see [`crate::Store`]); the relay
//! (one node at a time, under a job lease) reads pending rows, publishes them to the event bus,
//! and marks them published. Delivery is therefore at least once: a relay that dies between
//! publishing and marking publishes again. Consumers claim each event in `consumed_events` in
//! the transaction that applies it, so a redelivered event changes nothing.
//!
//! The consumer kept here counts dossiers by state from the dossier events: it is what metrics
//! and statistics read instead of counting millions of rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqs_domain::dossier::DossierState;
use uuid::Uuid;

use crate::Result;

/// Unpublished events: how many, and since when the oldest waits (the relay's lag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// What one dossier event does to the counts: a new dossier enters `to`; a transition leaves
/// `from` for `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    pub event_id: Uuid,
    pub from: Option<DossierState>,
    pub to: DossierState,
}

/// Adds up what a batch of changes does to each state, in a fixed order of states (so two
/// nodes applying batches at once lock the count rows in the same order).
pub fn state_deltas<'a>(changes: impl IntoIterator<Item = &'a StateChange>) -> BTreeMap<&'static str, i64> {
    let mut deltas = BTreeMap::new();
    for c in changes {
        if let Some(from) = c.from {
            *deltas.entry(from.as_str()).or_default() -= 1;
        }
        *deltas.entry(c.to.as_str()).or_default() += 1;
    }
    deltas.retain(|_, d| *d != 0);
    deltas
}

/// The outbox part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Outbox: Send + Sync {
    /// Marks events (by outbox row id) as published at `at`.
    async fn mark_published(&self, ids: &[i64], at: DateTime<Utc>) -> Result<()>;
    async fn outbox_backlog(&self) -> Result<OutboxBacklog>;
    /// Deletes up to `limit` events published before `before`; returns how many.
    async fn purge_published(&self, before: DateTime<Utc>, limit: i64) -> Result<u64>;
    /// Deletes up to `limit` consumer claims made before `before` (older than any redelivery
    /// the bus still makes); returns how many.
    async fn purge_consumed(&self, before: DateTime<Utc>, limit: i64) -> Result<u64>;
    /// Claims for `consumer` the events of `changes` it has not handled, and applies those to
    /// the dossier counts, in one transaction. Returns how many were new.
    async fn apply_state_changes(&self, consumer: &str, changes: &[StateChange], at: DateTime<Utc>) -> Result<usize>;
    /// Dossiers by state, as the counting consumer has seen them (states with none are left out).
    async fn dossier_state_counts(&self) -> Result<Vec<(DossierState, i64)>>;
}

/// Implements [`Outbox`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_outbox {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Runs a purge (`$1` the cut-off time, `$2` the most rows) in its own transaction.
            async fn delete_older(&self, sql: &'static str, before: DateTime<Utc>, limit: i64) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(sql).bind(before).bind(limit).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl $crate::outbox::Outbox for $store {
            async fn mark_published(&self, ids: &[i64], at: DateTime<Utc>) -> Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut b = sqlx::QueryBuilder::<$db>::new("UPDATE outbox SET published_at = ");
                b.push_bind(at).push(" WHERE published_at IS NULL AND id IN (");
                let mut list = b.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                list.push_unseparated(")");
                let mut tx = self.begin_write().await?;
                b.build().execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn outbox_backlog(&self) -> Result<$crate::outbox::OutboxBacklog> {
                let r = sqlx::query(
                    "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL",
                )
                .fetch_one(self.read_pool())
                .await?;
                Ok($crate::outbox::OutboxBacklog { pending: r.try_get("n")?, oldest: r.try_get("oldest")? })
            }

            async fn purge_published(&self, before: DateTime<Utc>, limit: i64) -> Result<u64> {
                self.delete_older(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
                       WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY published_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }

            async fn purge_consumed(&self, before: DateTime<Utc>, limit: i64) -> Result<u64> {
                self.delete_older(
                    "DELETE FROM consumed_events WHERE (consumer, event_id) IN (SELECT consumer, event_id
                       FROM consumed_events WHERE consumed_at < $1 ORDER BY consumed_at LIMIT $2)",
                    before,
                    limit,
                )
                .await
            }

            async fn apply_state_changes(
                &self,
                consumer: &str,
                changes: &[$crate::outbox::StateChange],
                at: DateTime<Utc>,
            ) -> Result<usize> {
                // An event listed twice in one batch counts once. Claims are made in event order,
                // so two nodes handed overlapping batches lock rows in the same order (no deadlock).
                let mut changes: Vec<_> = changes.iter().collect();
                changes.sort_by_key(|c| c.event_id);
                changes.dedup_by_key(|c| c.event_id);
                if changes.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let mut b =
                    sqlx::QueryBuilder::<$db>::new("INSERT INTO consumed_events (consumer, event_id, consumed_at) ");
                b.push_values(&changes, |mut row, c| {
                    row.push_bind(consumer).push_bind(c.event_id).push_bind(at);
                });
                b.push(" ON CONFLICT DO NOTHING RETURNING event_id");
                let claimed: std::collections::HashSet<Uuid> =
                    b.build_query_scalar::<Uuid>().fetch_all(&mut *tx).await?.into_iter().collect();
                let fresh = changes.iter().copied().filter(|c| claimed.contains(&c.event_id));
                for (state, delta) in $crate::outbox::state_deltas(fresh) {
                    sqlx::query(
                        "INSERT INTO dossier_state_counts (state, count) VALUES ($1, $2)
                         ON CONFLICT (state) DO UPDATE SET count = dossier_state_counts.count + excluded.count",
                    )
                    .bind(state)
                    .bind(delta)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(claimed.len())
            }

            async fn dossier_state_counts(&self) -> Result<Vec<(DossierState, i64)>> {
                let rows = sqlx::query("SELECT state, count FROM dossier_state_counts WHERE count <> 0 ORDER BY state")
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(|r| Ok((state_col(r, "state")?, r.try_get("count")?))).collect()
            }
        }
    };
}

pub(crate) use impl_outbox;
