//! The document store part of the store (kho dữ liệu điện tử): each person's stored documents
//! (signed results, written with the action that issued them; components an officer verified),
//! and which stored document each dossier reused for which component.

use chrono::{DateTime, NaiveDate, Utc};
use cqs_domain::docstore::StoredDocument;
use uuid::Uuid;

use crate::Result;

/// A submitted component an officer verified, to keep in the applicant's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedComponent {
    pub id: Uuid,
    pub dossier_id: Uuid,
    pub attachment_id: Uuid,
    pub document_type: String,
    pub title: String,
    pub issuer: String,
    pub issuer_unit_id: Uuid,
    pub valid_until: Option<NaiveDate>,
    pub at: DateTime<Utc>,
}

/// The document store part, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait DocStore: Send + Sync {
    /// Keeps a verified attachment in its applicant's store; verifying it again returns the
    /// document kept the first time. `None` when the attachment is not the dossier's.
    async fn store_verified_component(&self, v: &VerifiedComponent) -> Result<Option<StoredDocument>>;
    /// A person's stored documents, newest first.
    async fn stored_documents(&self, owner_identity: &str) -> Result<Vec<StoredDocument>>;
    /// Stored documents by id, with the storage key of their file.
    async fn stored_documents_by_id(&self, ids: &[Uuid]) -> Result<Vec<(StoredDocument, String)>>;
    /// The documents a dossier reused, by component.
    async fn reused_documents(&self, dossier_id: Uuid) -> Result<Vec<(String, StoredDocument)>>;
}

/// The columns of a stored document with its dossier's code.
pub(crate) const STORED_SELECT: &str =
    "SELECT p.*, d.code AS dossier_code FROM personal_documents p JOIN dossiers d ON d.id = p.dossier_id";

/// Implements [`DocStore`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_docstore {
    ($store:ty, $db:ty) => {
        fn stored_from_row(r: &DbRow) -> Result<cqs_domain::docstore::StoredDocument> {
            Ok(cqs_domain::docstore::StoredDocument {
                id: r.try_get("id")?,
                owner_identity: r.try_get("owner_identity")?,
                document_type: r.try_get("document_type")?,
                title: r.try_get("title")?,
                issuer: r.try_get("issuer")?,
                source: cqs_domain::docstore::Source::parse(r.try_get::<&str, _>("source")?)
                    .ok_or_else(|| corrupt("personal_documents.source"))?,
                valid_from: r.try_get("valid_from")?,
                valid_until: r.try_get("valid_until")?,
                sha256: r.try_get("sha256")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                dossier_code: r.try_get("dossier_code")?,
                created_at: r.try_get("created_at")?,
            })
        }

        #[async_trait::async_trait]
        impl $crate::docstore::DocStore for $store {
            async fn store_verified_component(
                &self,
                v: &$crate::docstore::VerifiedComponent,
            ) -> Result<Option<cqs_domain::docstore::StoredDocument>> {
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO personal_documents (id, owner_identity, document_type, title, issuer, issuer_unit_id,
                       source, valid_from, valid_until, sha256, content_type, size, storage_key, dossier_id, source_id,
                       created_at)
                     SELECT $1, d.applicant_identity, $2, $3, $4, $5, 'verified_component', $6, $7, a.sha256,
                       a.content_type, a.size, a.storage_key, d.id, a.id, $8
                     FROM dossier_attachments a JOIN dossiers d ON d.id = a.dossier_id
                     WHERE a.id = $9 AND a.dossier_id = $10
                     ON CONFLICT (source_id) DO NOTHING",
                )
                .bind(v.id)
                .bind(&v.document_type)
                .bind(&v.title)
                .bind(&v.issuer)
                .bind(v.issuer_unit_id)
                .bind(cqs_domain::dossier::local_date(v.at))
                .bind(v.valid_until)
                .bind(v.at)
                .bind(v.attachment_id)
                .bind(v.dossier_id)
                .execute(&mut *tx)
                .await?;
                let _ = inserted;
                let sql = format!("{} WHERE p.source_id = $1 AND p.dossier_id = $2", $crate::docstore::STORED_SELECT);
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(v.attachment_id)
                    .bind(v.dossier_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.as_ref().map(stored_from_row).transpose()
            }

            async fn stored_documents(&self, owner_identity: &str) -> Result<Vec<cqs_domain::docstore::StoredDocument>> {
                let sql = format!(
                    "{} WHERE p.owner_identity = $1 ORDER BY p.created_at DESC, p.id DESC",
                    $crate::docstore::STORED_SELECT
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner_identity).fetch_all(self.read_pool()).await?;
                rows.iter().map(stored_from_row).collect()
            }

            async fn stored_documents_by_id(
                &self,
                ids: &[Uuid],
            ) -> Result<Vec<(cqs_domain::docstore::StoredDocument, String)>> {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let sql = format!("{} WHERE p.id = $1", $crate::docstore::STORED_SELECT);
                    if let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.read_pool()).await? {
                        out.push((stored_from_row(&r)?, r.try_get("storage_key")?));
                    }
                }
                Ok(out)
            }

            async fn reused_documents(&self, dossier_id: Uuid) -> Result<Vec<(String, cqs_domain::docstore::StoredDocument)>> {
                let sql = format!(
                    "SELECT p.*, d.code AS dossier_code, r.component AS reused_for FROM dossier_reuses r
                     JOIN personal_documents p ON p.id = r.document_id JOIN dossiers d ON d.id = p.dossier_id
                     WHERE r.dossier_id = $1 ORDER BY r.component"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dossier_id).fetch_all(self.read_pool()).await?;
                rows.iter().map(|r| Ok((r.try_get("reused_for")?, stored_from_row(r)?))).collect()
            }
        }
    };
}

pub(crate) use impl_docstore;
