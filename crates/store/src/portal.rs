//! What the citizen portal and the staff console read and keep beyond the dossier itself: how
//! often each procedure is used (for the home page), citizens' submissions in progress (drafts,
//! with the files uploaded for them) and applicants' satisfaction ratings.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Result;

/// A citizen's online submission in progress: one per account and procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub id: Uuid,
    pub account_id: Uuid,
    pub procedure_code: String,
    /// What the person has answered so far (unit, contact details, form data, reused documents).
    pub answers: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The files uploaded for its components, oldest first.
    pub files: Vec<DraftFile>,
}

/// A file uploaded for a draft's component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftFile {
    pub id: Uuid,
    pub component: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
}

/// The portal's part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait PortalData: Send + Sync {
    /// How many dossiers each procedure received since `since`, most used first (ties by code).
    async fn procedure_counts(&self, since: DateTime<Utc>, limit: i64) -> Result<Vec<(String, i64)>>;

    /// The account's drafts: procedure code and when each was last changed, newest first.
    async fn drafts_of(&self, account_id: Uuid) -> Result<Vec<(String, DateTime<Utc>)>>;
    /// The account's draft for a procedure, with its files.
    async fn draft(&self, account_id: Uuid, procedure_code: &str) -> Result<Option<Draft>>;
    /// Creates the account's draft for a procedure or replaces its answers; returns its id.
    async fn save_draft(
        &self,
        account_id: Uuid,
        procedure_code: &str,
        answers: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<Uuid>;
    /// Records a file uploaded for a draft (its file already written); touches the draft.
    async fn add_draft_file(&self, draft_id: Uuid, file: &DraftFile) -> Result<()>;
    /// Removes a draft's file; returns its storage key, `None` if the draft has no such file.
    async fn remove_draft_file(&self, draft_id: Uuid, file_id: Uuid) -> Result<Option<String>>;
    /// Deletes a draft and its file rows; returns the storage keys of its files.
    async fn delete_draft(&self, draft_id: Uuid) -> Result<Vec<String>>;
    /// Deletes up to `limit` drafts not changed since `before`, with their file rows; returns
    /// how many went and the storage keys of their files.
    async fn purge_drafts(&self, before: DateTime<Utc>, limit: i64) -> Result<(u64, Vec<String>)>;

    /// Records an applicant's rating of a dossier with its event; false if they rated it already.
    async fn rate_dossier(
        &self,
        dossier_id: Uuid,
        account_id: Uuid,
        rating: &cqs_domain::rating::Rating,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// An applicant's rating of a dossier and when it was given.
    async fn dossier_rating(
        &self,
        dossier_id: Uuid,
        account_id: Uuid,
    ) -> Result<Option<(cqs_domain::rating::Rating, DateTime<Utc>)>>;
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

            async fn drafts_of(&self, account_id: Uuid) -> Result<Vec<(String, DateTime<Utc>)>> {
                let rows = sqlx::query(
                    "SELECT procedure_code, updated_at FROM submission_drafts WHERE account_id = $1
                     ORDER BY updated_at DESC, procedure_code",
                )
                .bind(account_id)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter().map(|r| Ok((r.try_get("procedure_code")?, r.try_get("updated_at")?))).collect()
            }

            async fn draft(&self, account_id: Uuid, procedure_code: &str) -> Result<Option<$crate::portal::Draft>> {
                let Some(r) = sqlx::query(
                    "SELECT id, account_id, procedure_code, answers, created_at, updated_at FROM submission_drafts
                     WHERE account_id = $1 AND procedure_code = $2",
                )
                .bind(account_id)
                .bind(procedure_code)
                .fetch_optional(self.read_pool())
                .await?
                else {
                    return Ok(None);
                };
                let id: Uuid = r.try_get("id")?;
                let files = sqlx::query(
                    "SELECT id, component, file_name, content_type, size, sha256, storage_key, created_at
                     FROM submission_draft_files WHERE draft_id = $1 ORDER BY created_at, id",
                )
                .bind(id)
                .fetch_all(self.read_pool())
                .await?
                .iter()
                .map(|f| {
                    Ok($crate::portal::DraftFile {
                        id: f.try_get("id")?,
                        component: f.try_get("component")?,
                        file_name: f.try_get("file_name")?,
                        content_type: f.try_get("content_type")?,
                        size: f.try_get("size")?,
                        sha256: f.try_get("sha256")?,
                        storage_key: f.try_get("storage_key")?,
                        created_at: f.try_get("created_at")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
                Ok(Some($crate::portal::Draft {
                    id,
                    account_id: r.try_get("account_id")?,
                    procedure_code: r.try_get("procedure_code")?,
                    answers: r.try_get::<Json<serde_json::Value>, _>("answers")?.0,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                    files,
                }))
            }

            async fn save_draft(
                &self,
                account_id: Uuid,
                procedure_code: &str,
                answers: &serde_json::Value,
                at: DateTime<Utc>,
            ) -> Result<Uuid> {
                let mut tx = self.begin_write().await?;
                let id: Uuid = sqlx::query_scalar(
                    "INSERT INTO submission_drafts (id, account_id, procedure_code, answers, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5)
                     ON CONFLICT (account_id, procedure_code) DO UPDATE SET answers = $4, updated_at = $5
                     RETURNING id",
                )
                .bind(Uuid::now_v7())
                .bind(account_id)
                .bind(procedure_code)
                .bind(Json(answers))
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn add_draft_file(&self, draft_id: Uuid, f: &$crate::portal::DraftFile) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let touched = sqlx::query("UPDATE submission_drafts SET updated_at = $2 WHERE id = $1")
                    .bind(draft_id)
                    .bind(f.created_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if touched == 0 {
                    return Err(StoreError::NotFound("bản nháp"));
                }
                sqlx::query(
                    "INSERT INTO submission_draft_files (id, draft_id, component, file_name, content_type, size, sha256, storage_key, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(f.id)
                .bind(draft_id)
                .bind(&f.component)
                .bind(&f.file_name)
                .bind(&f.content_type)
                .bind(f.size)
                .bind(&f.sha256)
                .bind(&f.storage_key)
                .bind(f.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn remove_draft_file(&self, draft_id: Uuid, file_id: Uuid) -> Result<Option<String>> {
                let mut tx = self.begin_write().await?;
                let key: Option<String> = sqlx::query_scalar(
                    "DELETE FROM submission_draft_files WHERE draft_id = $1 AND id = $2 RETURNING storage_key",
                )
                .bind(draft_id)
                .bind(file_id)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(key)
            }

            async fn delete_draft(&self, draft_id: Uuid) -> Result<Vec<String>> {
                let mut tx = self.begin_write().await?;
                let keys: Vec<String> =
                    sqlx::query_scalar("DELETE FROM submission_draft_files WHERE draft_id = $1 RETURNING storage_key")
                        .bind(draft_id)
                        .fetch_all(&mut *tx)
                        .await?;
                sqlx::query("DELETE FROM submission_drafts WHERE id = $1").bind(draft_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(keys)
            }

            async fn purge_drafts(&self, before: DateTime<Utc>, limit: i64) -> Result<(u64, Vec<String>)> {
                let mut tx = self.begin_write().await?;
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM submission_drafts WHERE updated_at < $1 ORDER BY updated_at LIMIT $2",
                )
                .bind(before)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                let mut keys = Vec::new();
                for id in &ids {
                    let mut k: Vec<String> = sqlx::query_scalar(
                        "DELETE FROM submission_draft_files WHERE draft_id = $1 RETURNING storage_key",
                    )
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                    keys.append(&mut k);
                    sqlx::query("DELETE FROM submission_drafts WHERE id = $1").bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok((ids.len() as u64, keys))
            }

            async fn rate_dossier(
                &self,
                dossier_id: Uuid,
                account_id: Uuid,
                rating: &cqs_domain::rating::Rating,
                at: DateTime<Utc>,
            ) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let code: Option<String> = sqlx::query_scalar("SELECT code FROM dossiers WHERE id = $1")
                    .bind(dossier_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(code) = code else { return Err(StoreError::NotFound("hồ sơ")) };
                let added = sqlx::query(
                    "INSERT INTO dossier_ratings (dossier_id, account_id, overall, criteria, comment, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dossier_id, account_id) DO NOTHING",
                )
                .bind(dossier_id)
                .bind(account_id)
                .bind(rating.overall.as_str())
                .bind(Json(&rating.criteria))
                .bind(&rating.comment)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if added == 0 {
                    return Ok(false);
                }
                sqlx::query("INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(Uuid::now_v7())
                    .bind("dossier.rated")
                    .bind(dossier_id)
                    .bind(Json(serde_json::json!({
                        "dossier_id": dossier_id,
                        "code": code,
                        "overall": rating.overall,
                        "criteria": rating.criteria,
                        "at": at,
                    })))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn dossier_rating(
                &self,
                dossier_id: Uuid,
                account_id: Uuid,
            ) -> Result<Option<(cqs_domain::rating::Rating, DateTime<Utc>)>> {
                let Some(r) = sqlx::query(
                    "SELECT overall, criteria, comment, created_at FROM dossier_ratings
                     WHERE dossier_id = $1 AND account_id = $2",
                )
                .bind(dossier_id)
                .bind(account_id)
                .fetch_optional(self.read_pool())
                .await?
                else {
                    return Ok(None);
                };
                let overall = cqs_domain::rating::Level::parse(r.try_get::<&str, _>("overall")?)
                    .ok_or_else(|| corrupt("dossier_ratings.overall"))?;
                let criteria = r
                    .try_get::<Json<std::collections::BTreeMap<String, cqs_domain::rating::Level>>, _>("criteria")?
                    .0;
                let rating = cqs_domain::rating::Rating { criteria, overall, comment: r.try_get("comment")? };
                Ok(Some((rating, r.try_get("created_at")?)))
            }
        }
    };
}

pub(crate) use impl_portal;
