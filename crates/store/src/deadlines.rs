//! Persistence of the legal clock's side effects: deadline notices (claimed by a unique key, so
//! several nodes sweeping at once send each notice exactly once), apology tasks, the open
//! dossiers a calendar change must re-time, and the platform's small settings.

use chrono::{DateTime, Utc};
use cqs_domain::deadline::NoticeKind;
use cqs_domain::dossier::DossierState;
use serde::Serialize;
use uuid::Uuid;

use crate::Result;

/// An open dossier whose due date is near or past, as the sweeper sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineCandidate {
    pub id: Uuid,
    pub code: String,
    pub state: DossierState,
    pub due_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub holder_unit_id: Option<Uuid>,
    pub due_sort: DateTime<Utc>,
}

/// A notice to record (and announce) once per dossier, kind and due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineNotice {
    pub dossier_id: Uuid,
    pub code: String,
    pub kind: NoticeKind,
    pub due_at: DateTime<Utc>,
    /// The unit holding the dossier: it is notified, and owes the apology.
    pub unit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// Xin lỗi và hẹn lại owed by a unit for a dossier that went past due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApologyTask {
    pub dossier_id: Uuid,
    pub code: String,
    pub procedure_name: String,
    pub state: DossierState,
    /// The due date that was missed.
    pub due_at: DateTime<Utc>,
    pub unit_id: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The action that closed it: the apology itself, or the dossier's result or end.
    pub closed_by_action: Option<String>,
}

/// The deadline part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Deadlines: Send + Sync {
    /// Dossiers whose clock runs, due at or before `horizon`, not yet told they are overdue for
    /// their current due date, nor (while still before it at `now`) that it is near; by due
    /// date, continuing after `after`.
    async fn deadline_candidates(
        &self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<DeadlineCandidate>>;
    /// Records the notices not recorded before, each with its outbox event and, when overdue,
    /// its apology task, in one transaction. Returns the ones that were new.
    async fn record_deadline_notices(&self, notices: &[DeadlineNotice]) -> Result<Vec<DeadlineNotice>>;
    /// A unit's apology tasks, oldest first; open ones only unless `include_closed`.
    async fn apology_tasks(&self, unit_id: Uuid, include_closed: bool, limit: i64) -> Result<Vec<ApologyTask>>;
    /// The open apology task of a dossier, if it has one.
    async fn open_apology_task(&self, dossier_id: Uuid) -> Result<Option<ApologyTask>>;
    /// Dossiers whose legal clock runs (open, result not yet recorded), by id after `after`.
    async fn running_dossiers(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<cqs_domain::dossier::Dossier>>;
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<()>;
}

/// Implements [`Deadlines`] for a backend. Expanded after `impl_store!` in the same module, whose
/// imports and row helpers it uses.
macro_rules! impl_deadlines {
    ($store:ty, $db:ty) => {
        use cqs_domain::deadline::NoticeKind;
        use $crate::deadlines::{ApologyTask, DeadlineCandidate, DeadlineNotice};

        fn apology_from_row(r: &DbRow) -> Result<ApologyTask> {
            Ok(ApologyTask {
                dossier_id: r.try_get("dossier_id")?,
                code: r.try_get("code")?,
                procedure_name: r.try_get("procedure_name")?,
                state: state_col(r, "state")?,
                due_at: r.try_get("due_at")?,
                unit_id: r.try_get("unit_id")?,
                opened_at: r.try_get("opened_at")?,
                closed_at: r.try_get("closed_at")?,
                closed_by_action: r.try_get("closed_by_action")?,
            })
        }

        const APOLOGY_SELECT: &str = "SELECT t.dossier_id, d.code, d.procedure_name, d.state, t.due_at, t.unit_id,
                t.opened_at, t.closed_at, t.closed_by_action
             FROM apology_tasks t JOIN dossiers d ON d.id = t.dossier_id";

        #[async_trait::async_trait]
        impl $crate::deadlines::Deadlines for $store {
            async fn deadline_candidates(
                &self,
                now: DateTime<Utc>,
                horizon: DateTime<Utc>,
                after: Option<(DateTime<Utc>, Uuid)>,
                limit: i64,
            ) -> Result<Vec<DeadlineCandidate>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, code, state, due_at, paused_at, holder_unit_id, due_sort FROM dossiers d
                     WHERE holder_unit_id IS NOT NULL AND state <> 'resolved' AND due_sort <= ",
                );
                b.push_bind(horizon);
                // Already notified: overdue for this due date, or due soon while it is not yet past
                // (so the steady-state sweep reads only dossiers that may be owed something).
                b.push(
                    " AND NOT EXISTS (SELECT 1 FROM deadline_notices n
                       WHERE n.dossier_id = d.id AND n.due_at = d.due_at
                         AND (n.kind = 'overdue' OR (n.kind = 'due_soon' AND d.due_sort >= ",
                );
                b.push_bind(now);
                b.push(")))");
                if let Some((due, id)) = after {
                    b.push(" AND (due_sort > ").push_bind(due);
                    b.push(" OR (due_sort = ").push_bind(due);
                    b.push(" AND id > ").push_bind(id);
                    b.push("))");
                }
                b.push(" ORDER BY due_sort, id LIMIT ").push_bind(limit);
                let rows = b.build().fetch_all(self.read_pool()).await?;
                rows.iter()
                    .map(|r| {
                        Ok(DeadlineCandidate {
                            id: r.try_get("id")?,
                            code: r.try_get("code")?,
                            state: state_col(r, "state")?,
                            due_at: r.try_get("due_at")?,
                            paused_at: r.try_get("paused_at")?,
                            holder_unit_id: r.try_get("holder_unit_id")?,
                            due_sort: r.try_get("due_sort")?,
                        })
                    })
                    .collect()
            }

            async fn record_deadline_notices(&self, notices: &[DeadlineNotice]) -> Result<Vec<DeadlineNotice>> {
                if notices.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let mut fresh = Vec::new();
                for n in notices {
                    let claimed = sqlx::query(
                        "INSERT INTO deadline_notices (dossier_id, kind, due_at, unit_id, sent_at) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(n.dossier_id)
                    .bind(n.kind.as_str())
                    .bind(n.due_at)
                    .bind(n.unit_id)
                    .bind(n.at)
                    .execute(&mut *tx)
                    .await?;
                    if claimed.rows_affected() == 0 {
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(Uuid::now_v7())
                    .bind(n.kind.topic())
                    .bind(n.dossier_id)
                    .bind(Json(serde_json::json!({
                        "dossier_id": n.dossier_id,
                        "code": n.code,
                        "kind": n.kind,
                        "due_at": n.due_at,
                        "unit_id": n.unit_id,
                        "at": n.at,
                    })))
                    .bind(n.at)
                    .execute(&mut *tx)
                    .await?;
                    if n.kind == NoticeKind::Overdue {
                        sqlx::query(
                            "INSERT INTO apology_tasks (dossier_id, due_at, unit_id, opened_at) VALUES ($1, $2, $3, $4)
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(n.dossier_id)
                        .bind(n.due_at)
                        .bind(n.unit_id)
                        .bind(n.at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    fresh.push(n.clone());
                }
                tx.commit().await?;
                Ok(fresh)
            }

            async fn apology_tasks(&self, unit_id: Uuid, include_closed: bool, limit: i64) -> Result<Vec<ApologyTask>> {
                let open = if include_closed { "" } else { " AND t.closed_at IS NULL" };
                let sql = format!(
                    "{APOLOGY_SELECT} WHERE t.unit_id = $1{open} ORDER BY t.opened_at, t.dossier_id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(unit_id)
                    .bind(limit)
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(apology_from_row).collect()
            }

            async fn open_apology_task(&self, dossier_id: Uuid) -> Result<Option<ApologyTask>> {
                let sql = format!("{APOLOGY_SELECT} WHERE t.dossier_id = $1 AND t.closed_at IS NULL");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dossier_id).fetch_optional(self.read_pool()).await?;
                row.as_ref().map(apology_from_row).transpose()
            }

            async fn running_dossiers(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Dossier>> {
                let sql = format!(
                    "SELECT {DOSSIER_COLUMNS} FROM dossiers
                     WHERE holder_unit_id IS NOT NULL AND state <> 'resolved' AND id > $1 ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after.unwrap_or(Uuid::nil()))
                    .bind(limit)
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(dossier_from_row).collect()
            }

            async fn setting(&self, key: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(self.read_pool())
                    .await?)
            }

            async fn put_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_deadlines;
