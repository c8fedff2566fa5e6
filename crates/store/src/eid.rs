//! Persistence of sign-in through external e-ID providers (OpenID Connect): the sign-ins waiting
//! for a provider's answer (kept here, not in process memory, so the provider may send the
//! person back to any node; each is taken once) and the links from a provider's subject to an
//! account.

use chrono::{DateTime, Utc};
use cqs_domain::identity::AccountRef;

use crate::Result;

/// A sign-in sent to a provider, to record before the browser goes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEidLogin {
    /// SHA-256 (hex) of the `state` parameter.
    pub state_hash: String,
    pub login: EidLogin,
}

/// A sign-in waiting for the provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EidLogin {
    /// The provider's name in the configuration.
    pub provider: String,
    /// SHA-256 (hex) of the cookie that ties the sign-in to the browser that started it.
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The page to show after signing in (a local path).
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A provider's subject linked to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EidLink {
    pub provider: String,
    pub subject: String,
    pub account: AccountRef,
    pub linked_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

/// The e-ID part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Eid: Send + Sync {
    async fn begin_eid_login(&self, l: &NewEidLogin) -> Result<()>;
    /// Takes the sign-in whose state hashes to `state_hash`: it is deleted as it is read, so a
    /// second take (a replayed callback, on any node) finds nothing. One that expired before
    /// `now` is deleted too and not returned.
    async fn take_eid_login(&self, state_hash: &str, now: DateTime<Utc>) -> Result<Option<EidLogin>>;
    /// The account a provider's subject is linked to, noting the use at `at`.
    async fn use_eid_link(&self, provider: &str, subject: &str, at: DateTime<Utc>) -> Result<Option<AccountRef>>;
    /// Links a subject to an existing account; false (nothing written) if the subject is
    /// linked already.
    async fn link_eid(&self, link: &EidLink) -> Result<bool>;
    /// Opens a citizen account and links the subject to it, in one transaction. An identity
    /// number already registered is `StoreError::Taken("identity_number")`.
    async fn create_eid_citizen(&self, c: &crate::NewCitizen, link: &EidLink) -> Result<crate::CitizenAccount>;
    /// The providers an account is linked to, oldest link first.
    async fn eid_links_of(&self, account: AccountRef) -> Result<Vec<EidLink>>;
}

/// Implements [`Eid`] for a backend. Expanded after `impl_store!` and `impl_identity!` in the
/// same module, whose imports and row helpers it uses.
macro_rules! impl_eid {
    ($store:ty, $db:ty) => {
        fn eid_link_from_row(r: &DbRow) -> Result<$crate::eid::EidLink> {
            let kind = AccountKind::parse(r.try_get::<&str, _>("account_kind")?)
                .ok_or_else(|| corrupt("eid_links.account_kind"))?;
            Ok($crate::eid::EidLink {
                provider: r.try_get("provider")?,
                subject: r.try_get("subject")?,
                account: AccountRef { kind, id: r.try_get("account_id")? },
                linked_at: r.try_get("linked_at")?,
                last_used_at: r.try_get("last_used_at")?,
            })
        }

        async fn insert_eid_link(
            tx: &mut sqlx::Transaction<'static, $db>,
            l: &$crate::eid::EidLink,
        ) -> Result<bool> {
            let n = sqlx::query(
                "INSERT INTO eid_links (provider, subject, account_kind, account_id, linked_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, subject) DO NOTHING",
            )
            .bind(&l.provider)
            .bind(&l.subject)
            .bind(l.account.kind.as_str())
            .bind(l.account.id)
            .bind(l.linked_at)
            .bind(l.last_used_at)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(n > 0)
        }

        #[async_trait::async_trait]
        impl $crate::eid::Eid for $store {
            async fn begin_eid_login(&self, n: &$crate::eid::NewEidLogin) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let l = &n.login;
                sqlx::query(
                    "INSERT INTO eid_logins (state_hash, provider, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&n.state_hash)
                .bind(&l.provider)
                .bind(&l.browser_hash)
                .bind(&l.nonce)
                .bind(&l.pkce_verifier)
                .bind(&l.return_to)
                .bind(l.created_at)
                .bind(l.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_eid_login(
                &self,
                state_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Option<$crate::eid::EidLogin>> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(
                    "DELETE FROM eid_logins WHERE state_hash = $1
                     RETURNING provider, browser_hash, nonce, pkce_verifier, return_to, created_at, expires_at",
                )
                .bind(state_hash)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                let Some(r) = row else { return Ok(None) };
                let login = $crate::eid::EidLogin {
                    provider: r.try_get("provider")?,
                    browser_hash: r.try_get("browser_hash")?,
                    nonce: r.try_get("nonce")?,
                    pkce_verifier: r.try_get("pkce_verifier")?,
                    return_to: r.try_get("return_to")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                };
                Ok((login.expires_at > now).then_some(login))
            }

            async fn use_eid_link(&self, provider: &str, subject: &str, at: DateTime<Utc>) -> Result<Option<AccountRef>> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(
                    "UPDATE eid_links SET last_used_at = $3 WHERE provider = $1 AND subject = $2
                     RETURNING account_kind, account_id",
                )
                .bind(provider)
                .bind(subject)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(|r| {
                    let kind = AccountKind::parse(r.try_get::<&str, _>("account_kind")?)
                        .ok_or_else(|| corrupt("eid_links.account_kind"))?;
                    Ok(AccountRef { kind, id: r.try_get("account_id")? })
                })
                .transpose()
            }

            async fn link_eid(&self, link: &$crate::eid::EidLink) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = insert_eid_link(&mut tx, link).await?;
                tx.commit().await?;
                Ok(done)
            }

            async fn create_eid_citizen(
                &self,
                c: &$crate::NewCitizen,
                link: &$crate::eid::EidLink,
            ) -> Result<$crate::CitizenAccount> {
                let mut tx = self.begin_write().await?;
                let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizen_accounts WHERE identity_number = $1")
                    .bind(&c.identity_number)
                    .fetch_one(&mut *tx)
                    .await?;
                if taken > 0 {
                    return Err(StoreError::Taken("identity_number"));
                }
                sqlx::query(
                    "INSERT INTO citizen_accounts (id, identity_number, full_name, phone, email, password_hash, disabled, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(c.id)
                .bind(&c.identity_number)
                .bind(&c.full_name)
                .bind(&c.phone)
                .bind(&c.email)
                .bind(&c.password_hash)
                .bind(false)
                .bind(c.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::Taken("identity_number") } else { e.into() })?;
                if !insert_eid_link(&mut tx, link).await? {
                    return Err(StoreError::Conflict("tài khoản định danh điện tử đã được liên kết".into()));
                }
                tx.commit().await?;
                Ok($crate::CitizenAccount {
                    id: c.id,
                    identity_number: c.identity_number.clone(),
                    full_name: c.full_name.clone(),
                    phone: c.phone.clone(),
                    email: c.email.clone(),
                    phone_verified_at: None,
                    email_verified_at: None,
                    disabled: false,
                    created_at: c.created_at,
                })
            }

            async fn eid_links_of(&self, account: AccountRef) -> Result<Vec<$crate::eid::EidLink>> {
                let rows = sqlx::query(
                    "SELECT provider, subject, account_kind, account_id, linked_at, last_used_at FROM eid_links
                     WHERE account_kind = $1 AND account_id = $2 ORDER BY linked_at, provider",
                )
                .bind(account.kind.as_str())
                .bind(account.id)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter().map(eid_link_from_row).collect()
            }

        }
    };
}

pub(crate) use impl_eid;
