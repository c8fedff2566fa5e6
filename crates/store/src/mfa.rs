//! Persistence of two-step sign-in for staff: the authenticator secret of each account (sealed
//! by the web layer with a key kept outside the database, so a copy of the database gives no
//! codes), the newest TOTP step accepted (so a code is taken once across every node), and the
//! recovery codes (keyed hashes; each spent once).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Result;

/// A staff member's authenticator, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaRecord {
    /// The sealed secret (see `cqs_web::auth::mfa`); opaque here.
    pub sealed_secret: String,
    pub created_at: DateTime<Utc>,
    /// Unset while enrolment waits for its first code.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The newest TOTP step accepted (0 before any).
    pub last_step: i64,
}

/// The two-step sign-in part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Mfa: Send + Sync {
    async fn mfa_of(&self, user_id: Uuid) -> Result<Option<MfaRecord>>;
    /// Records a secret waiting for its first code, replacing an earlier unconfirmed one; false
    /// (nothing written) if the account already has a confirmed authenticator.
    async fn put_pending_mfa(&self, user_id: Uuid, sealed_secret: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Confirms the pending secret with the step its first code matched and stores the recovery
    /// codes in the same transaction; false if there was no pending secret.
    async fn confirm_mfa(
        &self,
        user_id: Uuid,
        step: i64,
        recovery_hashes: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Accepts a code of `step` if no code of that step or a later one was accepted before: the
    /// conditional update is the claim, so two nodes never both accept one code.
    async fn accept_mfa_step(&self, user_id: Uuid, step: i64) -> Result<bool>;
    /// Spends a recovery code; false if it is unknown or already spent.
    async fn use_recovery_code(&self, user_id: Uuid, code_hash: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Replaces every recovery code of a confirmed authenticator; false without one.
    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String]) -> Result<bool>;
    /// Recovery codes not yet spent.
    async fn recovery_codes_left(&self, user_id: Uuid) -> Result<i64>;
    /// Removes the authenticator and recovery codes (turned off, or reset by an administrator);
    /// false if there was none.
    async fn remove_mfa(&self, user_id: Uuid) -> Result<bool>;
}

/// Implements [`Mfa`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_mfa {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::mfa::Mfa for $store {
            async fn mfa_of(&self, user_id: Uuid) -> Result<Option<$crate::mfa::MfaRecord>> {
                let row = sqlx::query(
                    "SELECT secret, created_at, confirmed_at, last_step FROM staff_mfa WHERE user_id = $1",
                )
                .bind(user_id)
                .fetch_optional(self.read_pool())
                .await?;
                row.map(|r| {
                    Ok($crate::mfa::MfaRecord {
                        sealed_secret: r.try_get("secret")?,
                        created_at: r.try_get("created_at")?,
                        confirmed_at: r.try_get("confirmed_at")?,
                        last_step: r.try_get("last_step")?,
                    })
                })
                .transpose()
            }

            async fn put_pending_mfa(&self, user_id: Uuid, sealed_secret: &str, at: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO staff_mfa (user_id, secret, created_at, confirmed_at, last_step) VALUES ($1, $2, $3, NULL, 0)
                     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
                     WHERE staff_mfa.confirmed_at IS NULL",
                )
                .bind(user_id)
                .bind(sealed_secret)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn confirm_mfa(
                &self,
                user_id: Uuid,
                step: i64,
                recovery_hashes: &[String],
                at: DateTime<Utc>,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE staff_mfa SET confirmed_at = $1, last_step = $2 WHERE user_id = $3 AND confirmed_at IS NULL",
                )
                .bind(at)
                .bind(step)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                write_recovery_codes(&mut tx, user_id, recovery_hashes).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn accept_mfa_step(&self, user_id: Uuid, step: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE staff_mfa SET last_step = $1 WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1",
                )
                .bind(step)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn use_recovery_code(&self, user_id: Uuid, code_hash: &str, at: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                )
                .bind(at)
                .bind(user_id)
                .bind(code_hash)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String]) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let confirmed: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM staff_mfa WHERE user_id = $1 AND confirmed_at IS NOT NULL",
                )
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                if confirmed == 0 {
                    return Ok(false);
                }
                write_recovery_codes(&mut tx, user_id, hashes).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn recovery_codes_left(&self, user_id: Uuid) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user_id)
                    .fetch_one(self.read_pool())
                    .await?)
            }

            async fn remove_mfa(&self, user_id: Uuid) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                let done = sqlx::query("DELETE FROM staff_mfa WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }
        }

        /// Replaces a user's recovery codes inside `tx`.
        async fn write_recovery_codes(
            tx: &mut sqlx::Transaction<'static, $db>,
            user_id: Uuid,
            hashes: &[String],
        ) -> Result<()> {
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
            for h in hashes {
                sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                    .bind(user_id)
                    .bind(h)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }
    };
}

pub(crate) use impl_mfa;
