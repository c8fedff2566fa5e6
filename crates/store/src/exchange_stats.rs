//! Operational monitoring of the data-sharing gateway: per minute, node, service, client and
//! outcome, what the calls added up to (`domain::exchange::monitor::Tally`). Each node writes only
//! its own rows, with absolute values, so a repeated write changes nothing and nodes never wait
//! on each other; readers add the rows of every node up.

use chrono::{DateTime, Utc};
use cqs_domain::exchange::monitor::Tally;

use crate::Result;

/// One row: a node's calls of one minute for one service, client and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// Start of the minute (UTC).
    pub minute: DateTime<Utc>,
    pub node: String,
    /// The service id; empty when the call named no valid service.
    pub service: String,
    /// The client subsystem id; empty when the caller was not identified.
    pub client: String,
    /// `ok`, `provider_error` (the provider answered 4xx/5xx) or an X-Road error type.
    pub outcome: String,
    pub tally: Tally,
}

/// Which rows to read: minutes in `[from, to)`, optionally of one service or one client.
#[derive(Debug, Clone)]
pub struct StatQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub service: Option<String>,
    pub client: Option<String>,
}

/// Most rows one query returns (a month of one busy pair is 43 200 minutes).
pub const MAX_STAT_ROWS: i64 = 200_000;

/// The monitoring part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait ExchangeStats: Send + Sync {
    /// Writes rows, replacing what the same node wrote for the same key before.
    async fn put_exchange_stats(&self, rows: &[StatRow]) -> Result<()>;
    /// Rows of every node matching `q`, oldest first, at most [`MAX_STAT_ROWS`].
    async fn exchange_stats(&self, q: &StatQuery) -> Result<Vec<StatRow>>;
    /// Deletes rows of minutes before `before`; returns how many.
    async fn delete_exchange_stats_before(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Implements [`ExchangeStats`] for a backend over `exchange_stats`. Expanded after `impl_store!`.
macro_rules! impl_exchange_stats {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::exchange_stats::ExchangeStats for $store {
            async fn put_exchange_stats(&self, rows: &[$crate::exchange_stats::StatRow]) -> Result<()> {
                if rows.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for r in rows {
                    let buckets = serde_json::to_string(&r.tally.buckets).map_err(|_| corrupt("exchange_stats.buckets"))?;
                    sqlx::query(
                        "INSERT INTO exchange_stats (minute, node, service_id, client_id, outcome, requests, bytes_in,
                                                     bytes_out, duration_us, buckets)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         ON CONFLICT (minute, node, service_id, client_id, outcome) DO UPDATE SET
                           requests = excluded.requests, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
                           duration_us = excluded.duration_us, buckets = excluded.buckets",
                    )
                    .bind(r.minute)
                    .bind(&r.node)
                    .bind(&r.service)
                    .bind(&r.client)
                    .bind(&r.outcome)
                    .bind(r.tally.requests)
                    .bind(r.tally.bytes_in)
                    .bind(r.tally.bytes_out)
                    .bind(r.tally.duration_us)
                    .bind(buckets)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn exchange_stats(
                &self,
                q: &$crate::exchange_stats::StatQuery,
            ) -> Result<Vec<$crate::exchange_stats::StatRow>> {
                let rows = sqlx::query(
                    "SELECT minute, node, service_id, client_id, outcome, requests, bytes_in, bytes_out, duration_us,
                            buckets
                       FROM exchange_stats
                      WHERE minute >= $1 AND minute < $2
                        AND ($3 IS NULL OR service_id = $3) AND ($4 IS NULL OR client_id = $4)
                      ORDER BY minute, node, service_id, client_id, outcome
                      LIMIT $5",
                )
                .bind(q.from)
                .bind(q.to)
                .bind(q.service.as_deref())
                .bind(q.client.as_deref())
                .bind($crate::exchange_stats::MAX_STAT_ROWS)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter()
                    .map(|r| {
                        let buckets: String = r.try_get("buckets")?;
                        Ok($crate::exchange_stats::StatRow {
                            minute: r.try_get("minute")?,
                            node: r.try_get("node")?,
                            service: r.try_get("service_id")?,
                            client: r.try_get("client_id")?,
                            outcome: r.try_get("outcome")?,
                            tally: cqs_domain::exchange::monitor::Tally {
                                requests: r.try_get("requests")?,
                                bytes_in: r.try_get("bytes_in")?,
                                bytes_out: r.try_get("bytes_out")?,
                                duration_us: r.try_get("duration_us")?,
                                buckets: serde_json::from_str(&buckets).map_err(|_| corrupt("exchange_stats.buckets"))?,
                            },
                        })
                    })
                    .collect()
            }

            async fn delete_exchange_stats_before(&self, before: DateTime<Utc>) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM exchange_stats WHERE minute < $1").bind(before).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(n.rows_affected())
            }
        }
    };
}

pub(crate) use impl_exchange_stats;
