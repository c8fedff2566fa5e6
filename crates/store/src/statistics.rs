//! What the statistics of a unit read: the facts of each dossier the unit received that may fall
//! in a period (received before its end, and still open or ended after its start). The counting
//! itself is `cqs_domain::statistics`.

use chrono::{DateTime, Utc};
use cqs_domain::statistics::DossierFacts;
use uuid::Uuid;

use crate::Result;

/// The statistics part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Statistics: Send + Sync {
    /// The unit's dossiers received before `end` that were still open at `start` or ended
    /// after it (a superset: the domain's report drops those outside the period), at most
    /// `limit`.
    async fn unit_facts(
        &self,
        unit_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DossierFacts>>;
}

/// Implements [`Statistics`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_statistics {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::statistics::Statistics for $store {
            async fn unit_facts(
                &self,
                unit_id: Uuid,
                start: DateTime<Utc>,
                end: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<cqs_domain::statistics::DossierFacts>> {
                // A dossier's last change is at or after the moment it ended, so one ended
                // before `start` has `updated_at < start` and is left out here already.
                let rows = sqlx::query(
                    "SELECT d.procedure_code, d.procedure_name, d.state, d.received_at,
                            COALESCE(d.original_due_at, d.due_at) AS judged_due, d.paused_at,
                            (SELECT MIN(h.at) FROM dossier_history h WHERE h.dossier_id = d.id
                               AND h.to_state IN ('resolved', 'returned')) AS resolved_at,
                            (SELECT MIN(h.at) FROM dossier_history h WHERE h.dossier_id = d.id
                               AND h.to_state IN ('refused', 'withdrawn', 'stopped')) AS closed_at
                     FROM dossiers d
                     WHERE d.receiving_unit_id = $1 AND d.received_at < $3
                       AND (d.state NOT IN ('resolved', 'returned', 'refused', 'withdrawn', 'stopped')
                            OR d.updated_at >= $2)
                     ORDER BY d.received_at, d.code LIMIT $4",
                )
                .bind(unit_id)
                .bind(start)
                .bind(end)
                .bind(limit)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(cqs_domain::statistics::DossierFacts {
                            procedure_code: r.try_get("procedure_code")?,
                            procedure_name: r.try_get("procedure_name")?,
                            state: state_col(r, "state")?,
                            received_at: r.try_get("received_at")?,
                            due_at: r.try_get("judged_due")?,
                            paused_at: r.try_get("paused_at")?,
                            resolved_at: r.try_get("resolved_at")?,
                            closed_at: r.try_get("closed_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_statistics;
