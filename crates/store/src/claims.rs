//! Claims of events by consumers whose effect lies outside the database (a notice sent to a
//! person): the claim is taken before the effect and given back if the effect fails, so a
//! redelivered event, or the same event on two nodes, causes it once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Result;

/// The claims part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Claims: Send + Sync {
    /// Claims `event_id` for `consumer`; false if it was claimed before (by any node).
    async fn claim_event(&self, consumer: &str, event_id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Gives a claim back after the effect failed, so the redelivery tries again.
    async fn release_event(&self, consumer: &str, event_id: Uuid) -> Result<()>;
}

/// Implements [`Claims`] for a backend over `consumed_events`. Expanded after `impl_store!`.
macro_rules! impl_claims {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::claims::Claims for $store {
            async fn claim_event(&self, consumer: &str, event_id: Uuid, at: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO consumed_events (consumer, event_id, consumed_at) VALUES ($1, $2, $3)
                     ON CONFLICT (consumer, event_id) DO NOTHING",
                )
                .bind(consumer)
                .bind(event_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn release_event(&self, consumer: &str, event_id: Uuid) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM consumed_events WHERE consumer = $1 AND event_id = $2")
                    .bind(consumer)
                    .bind(event_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_claims;
