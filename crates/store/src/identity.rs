//! Persistence of identity: citizen accounts, staff passwords, and signed-in sessions. Sessions
//! live here rather than in process memory so that they survive a restart and every node of a
//! cluster accepts the same cookie. Only hashes are kept: the argon2id PHC string of a password,
//! the SHA-256 of a session token.

use chrono::{DateTime, Utc};
use cqs_domain::identity::{AccountRef, CitizenLogin, Failures, SecurityEventKind, SessionStage};
use serde::Serialize;
use uuid::Uuid;

use crate::Result;

/// A citizen account to create.
#[derive(Debug, Clone)]
pub struct NewCitizen {
    pub id: Uuid,
    pub identity_number: String,
    pub full_name: String,
    /// E.164 form (see `domain::identity::Phone`).
    pub phone: Option<String>,
    /// Lower-cased (see `domain::identity::Email`).
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A citizen account as shown to its owner and to administrators (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CitizenAccount {
    pub id: Uuid,
    pub identity_number: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub phone_verified_at: Option<DateTime<Utc>>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// An account with the hash its password is checked against.
#[derive(Debug, Clone)]
pub struct CitizenCredentials {
    pub account: CitizenAccount,
    pub password_hash: Option<String>,
}

/// A session to record at sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    /// SHA-256 (hex) of the cookie token.
    pub token_hash: String,
    pub account: AccountRef,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `Active`, or a sign-in waiting for its second step.
    pub stage: SessionStage,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionRecord {
    pub id: Uuid,
    pub account: AccountRef,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(skip)]
    pub stage: SessionStage,
}

/// An entry of the security log. `detail` is a short reason (an access rule's refusal, "unknown
/// account"); callers never put secrets in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SecurityEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub kind: SecurityEventKind,
    pub account: Option<AccountRef>,
    pub ip: Option<String>,
    /// The route template the request matched, never the URI.
    pub route: Option<String>,
    pub detail: Option<String>,
}

/// Which security events to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct SecurityEventQuery {
    pub kind: Option<SecurityEventKind>,
    pub account_id: Option<Uuid>,
    /// Continue with events older than this one.
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// The identity part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Identity: Send + Sync {
    /// Creates a citizen account. An identity number, phone or e-mail already registered is
    /// `StoreError::Taken` naming the field.
    async fn create_citizen(&self, c: &NewCitizen) -> Result<CitizenAccount>;
    async fn citizen_by_id(&self, id: Uuid) -> Result<Option<CitizenAccount>>;
    /// The account a sign-in name belongs to, with its password hash.
    async fn citizen_credentials(&self, login: &CitizenLogin) -> Result<Option<CitizenCredentials>>;
    /// A staff member's password hash, if one was set.
    async fn user_password_hash(&self, user_id: Uuid) -> Result<Option<String>>;
    /// Sets a staff member's password hash; false if there is no such user.
    async fn set_user_password(&self, user_id: Uuid, hash: &str) -> Result<bool>;
    /// Records a new session; `replacing` (the session the browser presented at sign-in) is
    /// revoked in the same transaction, so a sign-in always rotates the session id.
    async fn create_session(&self, s: &NewSession, replacing: Option<Uuid>) -> Result<()>;
    async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<SessionRecord>>;
    /// Records use of a session (the caller limits how often).
    async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> Result<()>;
    /// Revokes one session of `account`; false if it was not theirs or already ended.
    async fn revoke_session(&self, account: AccountRef, id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Revokes every open session of `account` except `except`; returns how many.
    async fn revoke_sessions_of(&self, account: AccountRef, except: Option<Uuid>, at: DateTime<Utc>) -> Result<u64>;
    /// Active sessions of `account` (not those waiting for a second step) neither revoked nor
    /// past their absolute end at `now`, newest first.
    async fn sessions_of(&self, account: AccountRef, now: DateTime<Utc>) -> Result<Vec<SessionRecord>>;
    /// Records one failed sign-in under each key (an account, a login, an address), and forgets
    /// failures of those keys older than a day.
    async fn record_auth_failure(&self, keys: &[String], at: DateTime<Utc>) -> Result<()>;
    /// Failures recorded under `key` since `since`.
    async fn auth_failures(&self, key: &str, since: DateTime<Utc>) -> Result<Failures>;
    /// Forgets the failures of `key` (after a successful sign-in).
    async fn clear_auth_failures(&self, key: &str) -> Result<()>;
    /// Deletes sessions that ended (expired or revoked) before `before`, sign-in failures older
    /// than it, and one-time codes and e-ID sign-ins that expired before it; returns how many rows went.
    async fn purge_identity(&self, before: DateTime<Utc>) -> Result<u64>;
    async fn record_security_event(&self, e: &SecurityEvent) -> Result<()>;
    async fn security_events(&self, q: &SecurityEventQuery) -> Result<Vec<SecurityEvent>>;
    /// Dossiers owned by a citizen account, newest first, continuing after `after`
    /// (received_at, id).
    async fn owned_dossiers(
        &self,
        owner: Uuid,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<crate::InboxItem>>;
}

/// Implements [`Identity`] for a backend. Expanded after `impl_store!` in the same module, whose
/// imports and row helpers it uses.
macro_rules! impl_identity {
    ($store:ty, $db:ty) => {
        use cqs_domain::identity::{AccountKind, AccountRef, CitizenLogin, Failures, SecurityEventKind, SessionStage};
        use $crate::identity::{
            CitizenAccount, CitizenCredentials, NewCitizen, NewSession, SecurityEvent, SecurityEventQuery, SessionRecord,
        };

        const CITIZEN_COLUMNS: &str = "id, identity_number, full_name, phone, email, phone_verified_at, email_verified_at, disabled, created_at, password_hash";

        fn citizen_from_row(r: &DbRow) -> Result<CitizenAccount> {
            Ok(CitizenAccount {
                id: r.try_get("id")?,
                identity_number: r.try_get("identity_number")?,
                full_name: r.try_get("full_name")?,
                phone: r.try_get("phone")?,
                email: r.try_get("email")?,
                phone_verified_at: r.try_get("phone_verified_at")?,
                email_verified_at: r.try_get("email_verified_at")?,
                disabled: r.try_get("disabled")?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn session_from_row(r: &DbRow) -> Result<SessionRecord> {
            let kind = AccountKind::parse(r.try_get::<&str, _>("account_kind")?)
                .ok_or_else(|| corrupt("sessions.account_kind"))?;
            Ok(SessionRecord {
                id: r.try_get("id")?,
                account: AccountRef { kind, id: r.try_get("account_id")? },
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                stage: SessionStage::parse(r.try_get::<&str, _>("stage")?).ok_or_else(|| corrupt("sessions.stage"))?,
            })
        }

        const SESSION_COLUMNS: &str =
            "id, account_kind, account_id, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent, stage";

        #[async_trait::async_trait]
        impl $crate::identity::Identity for $store {
            async fn create_citizen(&self, c: &NewCitizen) -> Result<CitizenAccount> {
                let mut tx = self.begin_write().await?;
                // Name the field already taken, so the person knows what to change.
                for (field, column, value) in [
                    ("identity_number", "identity_number", Some(&c.identity_number)),
                    ("phone", "phone", c.phone.as_ref()),
                    ("email", "email", c.email.as_ref()),
                ] {
                    let Some(value) = value else { continue };
                    let taken: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM citizen_accounts WHERE {column} = $1"
                    )))
                    .bind(value)
                    .fetch_one(&mut *tx)
                    .await?;
                    if taken > 0 {
                        return Err(StoreError::Taken(field));
                    }
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
                tx.commit().await?;
                Ok(CitizenAccount {
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

            async fn citizen_by_id(&self, id: Uuid) -> Result<Option<CitizenAccount>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CITIZEN_COLUMNS} FROM citizen_accounts WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(self.read_pool())
                .await?;
                row.as_ref().map(citizen_from_row).transpose()
            }

            async fn citizen_credentials(&self, login: &CitizenLogin) -> Result<Option<CitizenCredentials>> {
                let (column, value) = match login {
                    CitizenLogin::IdentityNumber(n) => ("identity_number", n.as_str()),
                    CitizenLogin::Email(e) => ("email", e.as_str()),
                    CitizenLogin::Phone(p) => ("phone", p.as_str()),
                };
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CITIZEN_COLUMNS} FROM citizen_accounts WHERE {column} = $1"
                )))
                .bind(value)
                .fetch_optional(self.read_pool())
                .await?;
                row.map(|r| Ok(CitizenCredentials { account: citizen_from_row(&r)?, password_hash: r.try_get("password_hash")? }))
                    .transpose()
            }

            async fn user_password_hash(&self, user_id: Uuid) -> Result<Option<String>> {
                Ok(sqlx::query_scalar::<_, Option<String>>("SELECT password_hash FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(self.read_pool())
                    .await?
                    .flatten())
            }

            async fn set_user_password(&self, user_id: Uuid, hash: &str) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_session(&self, s: &NewSession, replacing: Option<Uuid>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                if let Some(old) = replacing {
                    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(s.created_at)
                        .bind(old)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO sessions (id, token_hash, account_kind, account_id, created_at, last_seen_at, expires_at, ip, user_agent, stage)
                     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)",
                )
                .bind(s.id)
                .bind(&s.token_hash)
                .bind(s.account.kind.as_str())
                .bind(s.account.id)
                .bind(s.created_at)
                .bind(s.expires_at)
                .bind(&s.ip)
                .bind(&s.user_agent)
                .bind(s.stage.as_str())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session_by_token_hash(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"
                )))
                .bind(token_hash)
                .fetch_optional(self.read_pool())
                .await?;
                row.as_ref().map(session_from_row).transpose()
            }

            async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn revoke_session(&self, account: AccountRef, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1
                     WHERE id = $2 AND account_kind = $3 AND account_id = $4 AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind(at)
                .bind(id)
                .bind(account.kind.as_str())
                .bind(account.id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_sessions_of(&self, account: AccountRef, except: Option<Uuid>, at: DateTime<Utc>) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1
                     WHERE account_kind = $2 AND account_id = $3 AND revoked_at IS NULL AND expires_at > $1
                       AND ($4 IS NULL OR id <> $4)",
                )
                .bind(at)
                .bind(account.kind.as_str())
                .bind(account.id)
                .bind(except)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn sessions_of(&self, account: AccountRef, now: DateTime<Utc>) -> Result<Vec<SessionRecord>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions
                     WHERE account_kind = $1 AND account_id = $2 AND revoked_at IS NULL AND expires_at > $3
                       AND stage = 'active'
                     ORDER BY created_at DESC, id DESC"
                )))
                .bind(account.kind.as_str())
                .bind(account.id)
                .bind(now)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter().map(session_from_row).collect()
            }

            async fn record_auth_failure(&self, keys: &[String], at: DateTime<Utc>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for key in keys {
                    sqlx::query("DELETE FROM auth_failures WHERE key = $1 AND at < $2")
                        .bind(key)
                        .bind(at - chrono::Duration::days(1))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("INSERT INTO auth_failures (key, at) VALUES ($1, $2)")
                        .bind(key)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn auth_failures(&self, key: &str, since: DateTime<Utc>) -> Result<Failures> {
                let r = sqlx::query("SELECT COUNT(*) AS n, MAX(at) AS latest FROM auth_failures WHERE key = $1 AND at >= $2")
                    .bind(key)
                    .bind(since)
                    .fetch_one(self.read_pool())
                    .await?;
                let n: i64 = r.try_get("n")?;
                Ok(Failures { count: u32::try_from(n).unwrap_or(u32::MAX), latest: r.try_get("latest")? })
            }

            async fn clear_auth_failures(&self, key: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM auth_failures WHERE key = $1").bind(key).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn purge_identity(&self, before: DateTime<Utc>) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let failures = sqlx::query("DELETE FROM auth_failures WHERE at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let codes = sqlx::query("DELETE FROM one_time_codes WHERE expires_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let eid_logins = sqlx::query("DELETE FROM eid_logins WHERE expires_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(sessions + failures + codes + eid_logins)
            }

            async fn record_security_event(&self, e: &SecurityEvent) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO security_events (id, at, kind, account_kind, account_id, ip, route, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(e.id)
                .bind(e.at)
                .bind(e.kind.as_str())
                .bind(e.account.map(|a| a.kind.as_str()))
                .bind(e.account.map(|a| a.id))
                .bind(&e.ip)
                .bind(&e.route)
                .bind(&e.detail)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn security_events(&self, q: &SecurityEventQuery) -> Result<Vec<SecurityEvent>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, at, kind, account_kind, account_id, ip, route, detail FROM security_events WHERE 1 = 1",
                );
                if let Some(k) = q.kind {
                    b.push(" AND kind = ").push_bind(k.as_str());
                }
                if let Some(a) = q.account_id {
                    b.push(" AND account_id = ").push_bind(a);
                }
                if let Some(before) = q.before {
                    b.push(" AND id < ").push_bind(before);
                }
                b.push(" ORDER BY id DESC LIMIT ").push_bind(q.limit);
                let rows = b.build().fetch_all(self.read_pool()).await?;
                rows.iter()
                    .map(|r| {
                        let account = match (r.try_get::<Option<&str>, _>("account_kind")?, r.try_get::<Option<Uuid>, _>("account_id")?) {
                            (Some(k), Some(id)) => Some(AccountRef {
                                kind: AccountKind::parse(k).ok_or_else(|| corrupt("security_events.account_kind"))?,
                                id,
                            }),
                            _ => None,
                        };
                        Ok(SecurityEvent {
                            id: r.try_get("id")?,
                            at: r.try_get("at")?,
                            kind: SecurityEventKind::parse(r.try_get::<&str, _>("kind")?)
                                .ok_or_else(|| corrupt("security_events.kind"))?,
                            account,
                            ip: r.try_get("ip")?,
                            route: r.try_get("route")?,
                            detail: r.try_get("detail")?,
                        })
                    })
                    .collect()
            }

            async fn owned_dossiers(
                &self,
                owner: Uuid,
                after: Option<(DateTime<Utc>, Uuid)>,
                limit: i64,
            ) -> Result<Vec<InboxItem>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("{NEWEST_DOSSIERS} WHERE owner_account_id = "));
                b.push_bind(owner);
                newest_page(b, after, limit, self.read_pool()).await
            }
        }

        /// The columns of a list of dossiers (a citizen's, an organization's), to add a condition to.
        const NEWEST_DOSSIERS: &str = "SELECT id, code, state, procedure_code, procedure_name, applicant, received_at, due_at, paused_at, due_sort, version FROM dossiers";

        /// Finishes a list of dossiers begun with [`NEWEST_DOSSIERS`] and a condition: newest first,
        /// continuing after `after` (received_at, id).
        async fn newest_page(
            mut b: sqlx::QueryBuilder<$db>,
            after: Option<(DateTime<Utc>, Uuid)>,
            limit: i64,
            pool: &sqlx::Pool<$db>,
        ) -> Result<Vec<InboxItem>> {
            if let Some((at, id)) = after {
                b.push(" AND (received_at < ").push_bind(at);
                b.push(" OR (received_at = ").push_bind(at);
                b.push(" AND id < ").push_bind(id);
                b.push("))");
            }
            b.push(" ORDER BY received_at DESC, id DESC LIMIT ").push_bind(limit);
            let rows = b.build().fetch_all(pool).await?;
            rows.iter().map(inbox_item_from_row).collect()
        }
    };
}

pub(crate) use impl_identity;
