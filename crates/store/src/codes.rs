//! Persistence of one-time codes (verification of e-mail and phone, password reset) and what
//! they prove. Codes are kept as keyed hashes; sends are counted here so every node applies the
//! same limits, and a try is spent with a conditional update so parallel tries on several nodes
//! cannot exceed a code's allowance.

use chrono::{DateTime, Utc};
use cqs_domain::identity::otp::Sends;
use cqs_domain::identity::{AccountRef, CodePurpose};
use uuid::Uuid;

use crate::Result;

/// A code to record (its digits already sent, or about to be).
#[derive(Debug, Clone)]
pub struct NewCode {
    pub id: Uuid,
    pub purpose: CodePurpose,
    pub account: AccountRef,
    pub destination: String,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The newest open code of an account and purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCode {
    pub id: Uuid,
    pub destination: String,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub attempts: i32,
}

/// Which contact of a citizen account a code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    Email,
    Phone,
}

/// The one-time-code part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Codes: Send + Sync {
    /// Codes of `purpose` made for `account` since `since`.
    async fn code_sends(&self, purpose: CodePurpose, account: Uuid, since: DateTime<Utc>) -> Result<Sends>;
    /// Records a new code and closes the account's earlier open codes of the purpose, in one
    /// transaction. False (nothing written) if another code of the purpose was made for the
    /// account in the same minute, on any node.
    async fn issue_code(&self, c: &NewCode) -> Result<bool>;
    /// The newest code of `purpose` for `account` not yet used or closed.
    async fn open_code(&self, purpose: CodePurpose, account: Uuid) -> Result<Option<OpenCode>>;
    /// Counts one wrong try if the code is open and has tries left; false otherwise.
    async fn spend_code_attempt(&self, id: Uuid, max_attempts: i32) -> Result<bool>;
    /// Uses a code once; false if it was used or closed already.
    async fn consume_code(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Marks a citizen's e-mail or phone verified, if it is still `destination`.
    async fn mark_contact_verified(
        &self,
        account: Uuid,
        contact: Contact,
        destination: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Sets a citizen account's password hash; false if there is no such account.
    async fn set_citizen_password(&self, account: Uuid, hash: &str) -> Result<bool>;
}

/// Implements [`Codes`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_codes {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::codes::Codes for $store {
            async fn code_sends(
                &self,
                purpose: cqs_domain::identity::CodePurpose,
                account: Uuid,
                since: DateTime<Utc>,
            ) -> Result<cqs_domain::identity::otp::Sends> {
                let r = sqlx::query(
                    "SELECT COUNT(*) AS n, MAX(created_at) AS latest, MIN(created_at) AS oldest FROM one_time_codes
                     WHERE purpose = $1 AND account_id = $2 AND created_at >= $3",
                )
                .bind(purpose.as_str())
                .bind(account)
                .bind(since)
                .fetch_one(self.read_pool())
                .await?;
                let n: i64 = r.try_get("n")?;
                Ok(cqs_domain::identity::otp::Sends {
                    last_hour: u32::try_from(n).unwrap_or(u32::MAX),
                    latest: r.try_get("latest")?,
                    oldest_in_hour: r.try_get("oldest")?,
                })
            }

            async fn issue_code(&self, c: &$crate::codes::NewCode) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO one_time_codes
                       (id, purpose, account_kind, account_id, destination, code_hash, created_at, expires_at, attempts, consumed_at, slot)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9)
                     ON CONFLICT (purpose, account_id, slot) DO NOTHING",
                )
                .bind(c.id)
                .bind(c.purpose.as_str())
                .bind(c.account.kind.as_str())
                .bind(c.account.id)
                .bind(&c.destination)
                .bind(&c.code_hash)
                .bind(c.created_at)
                .bind(c.expires_at)
                .bind(c.created_at.timestamp().div_euclid(60))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE one_time_codes SET consumed_at = $1
                     WHERE purpose = $2 AND account_id = $3 AND id <> $4 AND consumed_at IS NULL",
                )
                .bind(c.created_at)
                .bind(c.purpose.as_str())
                .bind(c.account.id)
                .bind(c.id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn open_code(
                &self,
                purpose: cqs_domain::identity::CodePurpose,
                account: Uuid,
            ) -> Result<Option<$crate::codes::OpenCode>> {
                let row = sqlx::query(
                    "SELECT id, destination, code_hash, expires_at, attempts FROM one_time_codes
                     WHERE purpose = $1 AND account_id = $2 AND consumed_at IS NULL
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind(purpose.as_str())
                .bind(account)
                .fetch_optional(self.read_pool())
                .await?;
                row.map(|r| {
                    Ok($crate::codes::OpenCode {
                        id: r.try_get("id")?,
                        destination: r.try_get("destination")?,
                        code_hash: r.try_get("code_hash")?,
                        expires_at: r.try_get("expires_at")?,
                        attempts: r.try_get("attempts")?,
                    })
                })
                .transpose()
            }

            async fn spend_code_attempt(&self, id: Uuid, max_attempts: i32) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE one_time_codes SET attempts = attempts + 1
                     WHERE id = $1 AND consumed_at IS NULL AND attempts < $2",
                )
                .bind(id)
                .bind(max_attempts)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn consume_code(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE one_time_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn mark_contact_verified(
                &self,
                account: Uuid,
                contact: $crate::codes::Contact,
                destination: &str,
                at: DateTime<Utc>,
            ) -> Result<bool> {
                let sql = match contact {
                    $crate::codes::Contact::Email => {
                        "UPDATE citizen_accounts SET email_verified_at = $1 WHERE id = $2 AND email = $3"
                    }
                    $crate::codes::Contact::Phone => {
                        "UPDATE citizen_accounts SET phone_verified_at = $1 WHERE id = $2 AND phone = $3"
                    }
                };
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(sql).bind(at).bind(account).bind(destination).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_citizen_password(&self, account: Uuid, hash: &str) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE citizen_accounts SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(account)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use impl_codes;
