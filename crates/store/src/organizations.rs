//! Persistence of organization accounts: the organization (by enterprise code) and its members
//! (citizen accounts, admin or member). Member changes lock the organization's row first, so two
//! admins removing each other at once cannot leave it without an admin.

use chrono::{DateTime, Utc};
use cqs_domain::identity::organization::{MemberRole, Membership};
use serde::Serialize;
use uuid::Uuid;

use crate::Result;

/// An organization account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub enterprise_code: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A member as the organization's admins see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub account_id: Uuid,
    pub full_name: String,
    pub identity_number: String,
    pub role: MemberRole,
    pub added_at: DateTime<Utc>,
}

/// What a change to the members came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// It would leave the organization without an admin.
    LastAdmin,
    /// No such organization, or the account is not a member.
    NotFound,
}

/// The organizations part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Organizations: Send + Sync {
    /// Creates an organization with its first admin member. An enterprise code already
    /// registered is `StoreError::Taken("enterprise_code")`.
    async fn create_organization(&self, org: &Organization, first_admin: Uuid) -> Result<()>;
    async fn organization(&self, id: Uuid) -> Result<Option<Organization>>;
    /// Members, admins first, then by name.
    async fn members(&self, organization: Uuid) -> Result<Vec<Member>>;
    /// The organizations a citizen account belongs to.
    async fn memberships_of(&self, account: Uuid) -> Result<Vec<Membership>>;
    /// Adds a member or changes their role (a change that would leave no admin is refused).
    async fn put_member(
        &self,
        organization: Uuid,
        account: Uuid,
        role: MemberRole,
        at: DateTime<Utc>,
    ) -> Result<MemberChange>;
    async fn remove_member(&self, organization: Uuid, account: Uuid) -> Result<MemberChange>;
    /// Dossiers submitted online (through a citizen account) naming the enterprise as applicant,
    /// newest first, continuing after `after` (received_at, id).
    async fn enterprise_dossiers(
        &self,
        enterprise_code: &str,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<crate::InboxItem>>;
}

/// Implements [`Organizations`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_organizations {
    ($store:ty, $db:ty) => {
        fn member_role(s: &str) -> Result<cqs_domain::identity::organization::MemberRole> {
            cqs_domain::identity::organization::MemberRole::parse(s).ok_or_else(|| corrupt("organization_members.role"))
        }

        /// Locks the organization's row for the rest of `tx` (a no-op write), so member changes
        /// of one organization run one after another on every backend; false if it does not exist.
        async fn lock_organization(tx: &mut sqlx::Transaction<'static, $db>, id: Uuid) -> Result<bool> {
            let done = sqlx::query("UPDATE organizations SET name = name WHERE id = $1").bind(id).execute(&mut **tx).await?;
            Ok(done.rows_affected() > 0)
        }

        async fn admins(tx: &mut sqlx::Transaction<'static, $db>, id: Uuid) -> Result<usize> {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organization_members WHERE organization_id = $1 AND role = 'admin'")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
            Ok(usize::try_from(n).unwrap_or(0))
        }

        async fn role_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: Uuid,
            account: Uuid,
        ) -> Result<Option<cqs_domain::identity::organization::MemberRole>> {
            let r: Option<String> = sqlx::query_scalar(
                "SELECT role FROM organization_members WHERE organization_id = $1 AND account_id = $2",
            )
            .bind(id)
            .bind(account)
            .fetch_optional(&mut **tx)
            .await?;
            r.as_deref().map(member_role).transpose()
        }

        #[async_trait::async_trait]
        impl $crate::organizations::Organizations for $store {
            async fn create_organization(&self, org: &$crate::organizations::Organization, first_admin: Uuid) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations WHERE enterprise_code = $1")
                    .bind(&org.enterprise_code)
                    .fetch_one(&mut *tx)
                    .await?;
                if taken > 0 {
                    return Err(StoreError::Taken("enterprise_code"));
                }
                sqlx::query("INSERT INTO organizations (id, enterprise_code, name, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(org.id)
                    .bind(&org.enterprise_code)
                    .bind(&org.name)
                    .bind(org.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| if is_unique_violation(&e) { StoreError::Taken("enterprise_code") } else { e.into() })?;
                sqlx::query(
                    "INSERT INTO organization_members (organization_id, account_id, role, added_at) VALUES ($1, $2, 'admin', $3)",
                )
                .bind(org.id)
                .bind(first_admin)
                .bind(org.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn organization(&self, id: Uuid) -> Result<Option<$crate::organizations::Organization>> {
                let row = sqlx::query("SELECT id, enterprise_code, name, created_at FROM organizations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.read_pool())
                    .await?;
                row.map(|r| {
                    Ok($crate::organizations::Organization {
                        id: r.try_get("id")?,
                        enterprise_code: r.try_get("enterprise_code")?,
                        name: r.try_get("name")?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .transpose()
            }

            async fn members(&self, organization: Uuid) -> Result<Vec<$crate::organizations::Member>> {
                let rows = sqlx::query(
                    "SELECT m.account_id, c.full_name, c.identity_number, m.role, m.added_at
                     FROM organization_members m JOIN citizen_accounts c ON c.id = m.account_id
                     WHERE m.organization_id = $1
                     ORDER BY CASE m.role WHEN 'admin' THEN 0 ELSE 1 END, c.full_name, m.account_id",
                )
                .bind(organization)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::organizations::Member {
                            account_id: r.try_get("account_id")?,
                            full_name: r.try_get("full_name")?,
                            identity_number: r.try_get("identity_number")?,
                            role: member_role(r.try_get::<&str, _>("role")?)?,
                            added_at: r.try_get("added_at")?,
                        })
                    })
                    .collect()
            }

            async fn memberships_of(&self, account: Uuid) -> Result<Vec<cqs_domain::identity::organization::Membership>> {
                let rows = sqlx::query(
                    "SELECT o.id, o.enterprise_code, m.role FROM organization_members m
                     JOIN organizations o ON o.id = m.organization_id
                     WHERE m.account_id = $1 ORDER BY o.enterprise_code",
                )
                .bind(account)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(cqs_domain::identity::organization::Membership {
                            organization_id: r.try_get("id")?,
                            enterprise_code: r.try_get("enterprise_code")?,
                            role: member_role(r.try_get::<&str, _>("role")?)?,
                        })
                    })
                    .collect()
            }

            async fn put_member(
                &self,
                organization: Uuid,
                account: Uuid,
                role: cqs_domain::identity::organization::MemberRole,
                at: DateTime<Utc>,
            ) -> Result<$crate::organizations::MemberChange> {
                use $crate::organizations::MemberChange;
                let mut tx = self.begin_write().await?;
                if !lock_organization(&mut tx, organization).await? {
                    return Ok(MemberChange::NotFound);
                }
                if let Some(now) = role_in(&mut tx, organization, account).await? {
                    if now != role && cqs_domain::identity::organization::may_remove(now, admins(&mut tx, organization).await?).is_err() {
                        return Ok(MemberChange::LastAdmin);
                    }
                }
                sqlx::query(
                    "INSERT INTO organization_members (organization_id, account_id, role, added_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (organization_id, account_id) DO UPDATE SET role = excluded.role",
                )
                .bind(organization)
                .bind(account)
                .bind(role.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(MemberChange::Done)
            }

            async fn remove_member(&self, organization: Uuid, account: Uuid) -> Result<$crate::organizations::MemberChange> {
                use $crate::organizations::MemberChange;
                let mut tx = self.begin_write().await?;
                if !lock_organization(&mut tx, organization).await? {
                    return Ok(MemberChange::NotFound);
                }
                let Some(now) = role_in(&mut tx, organization, account).await? else {
                    return Ok(MemberChange::NotFound);
                };
                if cqs_domain::identity::organization::may_remove(now, admins(&mut tx, organization).await?).is_err() {
                    return Ok(MemberChange::LastAdmin);
                }
                sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND account_id = $2")
                    .bind(organization)
                    .bind(account)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(MemberChange::Done)
            }

            async fn enterprise_dossiers(
                &self,
                enterprise_code: &str,
                after: Option<(DateTime<Utc>, Uuid)>,
                limit: i64,
            ) -> Result<Vec<InboxItem>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!(
                    "{NEWEST_DOSSIERS} WHERE owner_account_id IS NOT NULL AND applicant_identity = "
                ));
                b.push_bind(enterprise_code.to_owned());
                newest_page(b, after, limit, self.read_pool()).await
            }
        }
    };
}

pub(crate) use impl_organizations;
