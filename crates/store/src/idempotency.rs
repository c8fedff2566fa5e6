//! `Idempotency-Key` for any state-changing request: the key row is claimed before the handler
//! runs and keeps the answer once the request succeeded, so a retry gets the first answer back
//! instead of doing the work twice.
//!
//! A claim is a lease (`locked_until`): while it runs, a retry is told the first request is still
//! in progress; a request can never outlive its lease (the server's request timeout is shorter),
//! so a claim whose lease ran out belongs to a request that died without an answer, and a retry
//! takes it over. Routes whose effect must never repeat (workflow actions, submissions) write
//! their answer in the same transaction as the effect (see [`crate::Store::apply_transition_answered`]),
//! so even a crash between commit and answer leaves the answer in place. Only successful answers
//! are kept: a failed request changed nothing and its claim is released.

use chrono::{DateTime, SubsecRound, Utc};

use crate::Result;

/// A request's key, scoped to its caller, with the fingerprint of what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// The answer kept for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// A claim this request holds: the key and the lease that identifies the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldKey {
    pub key: RequestKey,
    pub locked_until: DateTime<Utc>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: run the request, then record its answer or release the key.
    Held(HeldKey),
    /// Another request with this key still runs (until its lease ends).
    InProgress { until: DateTime<Utc> },
    /// The key was used for a different request.
    Mismatch,
    /// The request was answered before: this is the answer.
    Answered(StoredAnswer),
}

/// The idempotency part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Idempotency: Send + Sync {
    /// Claims `key` until `now + lease`, or says why not.
    async fn claim_key(&self, key: &RequestKey, now: DateTime<Utc>, lease: std::time::Duration) -> Result<Claim>;
    /// Keeps the answer of a request that succeeded (no-op if the claim is no longer ours or
    /// the answer was already written with the effect).
    async fn record_answer(&self, held: &HeldKey, answer: &StoredAnswer) -> Result<()>;
    /// Gives the key up after a request that failed, so it may be sent again.
    async fn release_key(&self, held: &HeldKey) -> Result<()>;
    /// Deletes up to `limit` keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>, limit: i64) -> Result<u64>;
}

/// The end of a lease taken at `now`, at the precision both backends store.
pub fn lease_end(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    (now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1))).trunc_subsecs(6)
}

/// Implements [`Idempotency`] for a backend. Expanded after `impl_store!` in the same module;
/// also defines `record_answer_in`, which writes an answer inside another write's transaction.
macro_rules! impl_idempotency {
    ($store:ty, $db:ty) => {
        /// Writes `answer` for the claim `held` inside `tx`.
        pub(crate) async fn record_answer_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            held: &$crate::idempotency::HeldKey,
            answer: &$crate::idempotency::StoredAnswer,
        ) -> Result<()> {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $1, content_type = $2, location = $3, body = $4
                 WHERE scope = $5 AND key = $6 AND request_hash = $7 AND locked_until = $8 AND status IS NULL",
            )
            .bind(i32::from(answer.status))
            .bind(&answer.content_type)
            .bind(&answer.location)
            .bind(&answer.body)
            .bind(&held.key.scope)
            .bind(&held.key.key)
            .bind(&held.key.request_hash)
            .bind(held.locked_until)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::idempotency::Idempotency for $store {
            async fn claim_key(
                &self,
                key: &$crate::idempotency::RequestKey,
                now: DateTime<Utc>,
                lease: std::time::Duration,
            ) -> Result<$crate::idempotency::Claim> {
                use $crate::idempotency::{Claim, HeldKey, StoredAnswer};
                let until = $crate::idempotency::lease_end(now, lease);
                let held = HeldKey { key: key.clone(), locked_until: until };
                let mut tx = self.begin_write().await?;
                let fresh = sqlx::query(
                    "INSERT INTO idempotency_keys (scope, key, request_hash, created_at, locked_until)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
                )
                .bind(&key.scope)
                .bind(&key.key)
                .bind(&key.request_hash)
                .bind(now)
                .bind(until)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if fresh {
                    tx.commit().await?;
                    return Ok(Claim::Held(held));
                }
                let r = sqlx::query(
                    "SELECT request_hash, response, status, content_type, location, body, locked_until
                     FROM idempotency_keys WHERE scope = $1 AND key = $2",
                )
                .bind(&key.scope)
                .bind(&key.key)
                .fetch_one(&mut *tx)
                .await?;
                if r.try_get::<&str, _>("request_hash")? != key.request_hash {
                    return Ok(Claim::Mismatch);
                }
                if let Some(status) = r.try_get::<Option<i32>, _>("status")? {
                    return Ok(Claim::Answered(StoredAnswer {
                        status: u16::try_from(status).map_err(|_| corrupt("idempotency_keys.status"))?,
                        content_type: r.try_get("content_type")?,
                        location: r.try_get("location")?,
                        body: r.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
                    }));
                }
                // A submission's receipt, written with the dossier by `create_dossier`.
                if let Some(receipt) = r.try_get::<Option<Json<serde_json::Value>>, _>("response")? {
                    return Ok(Claim::Answered(StoredAnswer {
                        status: 200,
                        content_type: Some("application/json".into()),
                        location: None,
                        body: serde_json::to_vec(&receipt.0).map_err(|_| corrupt("idempotency_keys.response"))?,
                    }));
                }
                let Some(old) = r.try_get::<Option<DateTime<Utc>>, _>("locked_until")? else {
                    return Ok(Claim::InProgress { until });
                };
                if old > now {
                    return Ok(Claim::InProgress { until: old });
                }
                // The request holding the claim died without an answer: take the claim over.
                let taken = sqlx::query(
                    "UPDATE idempotency_keys SET locked_until = $1
                     WHERE scope = $2 AND key = $3 AND locked_until = $4 AND status IS NULL",
                )
                .bind(until)
                .bind(&key.scope)
                .bind(&key.key)
                .bind(old)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(if taken { Claim::Held(held) } else { Claim::InProgress { until } })
            }

            async fn record_answer(
                &self,
                held: &$crate::idempotency::HeldKey,
                answer: &$crate::idempotency::StoredAnswer,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                record_answer_in(&mut tx, held, answer).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn release_key(&self, held: &$crate::idempotency::HeldKey) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "DELETE FROM idempotency_keys
                     WHERE scope = $1 AND key = $2 AND request_hash = $3 AND locked_until = $4
                       AND status IS NULL AND response IS NULL",
                )
                .bind(&held.key.scope)
                .bind(&held.key.key)
                .bind(&held.key.request_hash)
                .bind(held.locked_until)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn purge_idempotency_keys(&self, before: DateTime<Utc>, limit: i64) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "DELETE FROM idempotency_keys WHERE (scope, key) IN
                       (SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
                )
                .bind(before)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n)
            }
        }
    };
}
pub(crate) use impl_idempotency;
