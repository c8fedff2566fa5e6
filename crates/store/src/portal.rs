//! What the citizen portal and the staff console read and keep beyond the dossier itself: how
//! often each procedure is used (for the home page).

use chrono::{DateTime, Utc};

use crate::Result;

/// The portal's part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait PortalData: Send + Sync {
    /// How many dossiers each procedure received since `since`, most used first (ties by code).
    async fn procedure_counts(&self, since: DateTime<Utc>, limit: i64) -> Result<Vec<(String, i64)>>;
}

/// Implements [`PortalData`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_portal {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::portal::PortalData for $store {
            async fn procedure_counts(&self, since: DateTime<Utc>, limit: i64) -> Result<Vec<(String, i64)>> {
                let rows = sqlx::query(
                    "SELECT procedure_code, COUNT(*) AS n FROM dossiers WHERE received_at >= $1
                     GROUP BY procedure_code ORDER BY n DESC, procedure_code LIMIT $2",
                )
                .bind(since)
                .bind(limit)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter().map(|r| Ok((r.try_get("procedure_code")?, r.try_get("n")?))).collect()
            }
        }
    };
}

pub(crate) use impl_portal;
