//! Readings for operators' metrics that only the store can give: how busy its connection pools
//! are and how many dossiers are past due.

use chrono::{DateTime, Utc};

use crate::Result;

/// One connection pool: connections open, idle among them, and the most it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `read`, `write`, or `main` on a backend with a single pool.
    pub pool: &'static str,
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The gauge part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Gauges: Send + Sync {
    fn pool_stats(&self) -> Vec<PoolStats>;
    /// Running dossiers past their due date at `now` (the same rule as the inbox's overdue
    /// filter: past due with the clock running, or stopped after the due date).
    async fn overdue_count(&self, now: DateTime<Utc>) -> Result<i64>;
}

/// Implements [`Gauges`] for a backend, given `(name, pool)` expressions for its pools.
macro_rules! impl_gauges {
    ($store:ty, $(($name:literal, $pool:ident)),+) => {
        #[async_trait::async_trait]
        impl $crate::gauges::Gauges for $store {
            fn pool_stats(&self) -> Vec<$crate::gauges::PoolStats> {
                vec![$($crate::gauges::PoolStats {
                    pool: $name,
                    size: self.$pool.size(),
                    idle: self.$pool.num_idle() as u32,
                    max: self.$pool.options().get_max_connections(),
                }),+]
            }

            async fn overdue_count(&self, now: DateTime<Utc>) -> Result<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM dossiers WHERE holder_unit_id IS NOT NULL AND state <> 'resolved'
                       AND ((paused_at IS NULL AND due_sort < $1) OR (paused_at IS NOT NULL AND paused_at > due_at))",
                )
                .bind(now)
                .fetch_one(self.read_pool())
                .await?)
            }
        }
    };
}

pub(crate) use impl_gauges;
