//! Administration of API keys beyond their creation: listing them with their last use, and
//! rotating a key's secret with a grace period during which the old secret still works.

use chrono::{DateTime, Utc};

use crate::{ApiKeyRecord, Result};

/// The key-administration part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait ApiKeys: Send + Sync {
    /// Every key, newest first (revoked ones too, for the record).
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Gives a live key a new secret; the current one stays valid until `old_valid_until`, and a
    /// secret replaced before stops at once. False if there is no live key with this prefix.
    async fn rotate_api_key(
        &self,
        prefix: &str,
        new_secret_hash: &str,
        old_valid_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool>;
}

/// Implements [`ApiKeys`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_api_keys {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::api_keys::ApiKeys for $store {
            async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
                let rows = sqlx::query("SELECT * FROM api_keys ORDER BY created_at DESC, id DESC")
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(api_key_from_row).collect()
            }

            async fn rotate_api_key(
                &self,
                prefix: &str,
                new_secret_hash: &str,
                old_valid_until: DateTime<Utc>,
                at: DateTime<Utc>,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE api_keys SET previous_secret_hash = secret_hash, previous_valid_until = $1,
                       secret_hash = $2, rotated_at = $3
                     WHERE prefix = $4 AND revoked_at IS NULL",
                )
                .bind(old_valid_until)
                .bind(new_secret_hash)
                .bind(at)
                .bind(prefix)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_api_keys;
