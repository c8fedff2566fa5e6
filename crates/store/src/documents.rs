//! The documents part of the store: what the one-stop register (Sổ theo dõi hồ sơ, Mẫu 06)
//! lists for a unit and a period, and the documents the platform issued for dossiers (signed
//! electronic results), found by dossier or by the SHA-256 of a copy someone verifies. Issued
//! documents are written by `apply_transition`, in the transaction of the action that issues
//! them.

use chrono::{DateTime, Utc};
use cqs_domain::dossier::{Applicant, DossierState};
use uuid::Uuid;

use crate::Result;

/// One dossier as the register lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterEntry {
    pub code: String,
    pub procedure_version_id: Uuid,
    pub procedure_name: String,
    pub applicant: Applicant,
    pub state: DossierState,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    /// When the result was handed back, if it was.
    pub returned_at: Option<DateTime<Utc>>,
}

/// A signed document to record with the action that issues it; its bytes are already in file
/// storage (pending until the transaction commits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssuedDocument {
    pub id: Uuid,
    /// `result` for an electronic result.
    pub kind: String,
    /// The procedure's result document type, so the applicant's store can offer it later.
    pub document_type: String,
    pub title: String,
    pub issuer_unit_id: Uuid,
    pub file_name: String,
    pub size: i64,
    /// SHA-256 of the signed file, hexadecimal.
    pub sha256: String,
    pub storage_key: String,
    /// The signing certificate's subject and SHA-256 fingerprint.
    pub signer_subject: String,
    pub signer_fingerprint: String,
    /// `B-B` or `B-T`.
    pub pades_level: String,
    pub signed_at: DateTime<Utc>,
    /// The timestamp authority's time, for B-T.
    pub timestamped_at: Option<DateTime<Utc>>,
}

/// An issued document as stored, with its dossier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedDocument {
    pub id: Uuid,
    #[serde(skip)]
    pub dossier_id: Uuid,
    pub dossier_code: String,
    pub kind: String,
    pub document_type: String,
    pub title: String,
    #[serde(skip)]
    pub issuer_unit_id: Uuid,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
    #[serde(skip)]
    pub storage_key: String,
    pub signer_subject: String,
    pub signer_fingerprint: String,
    pub pades_level: String,
    pub signed_at: DateTime<Utc>,
    pub timestamped_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The documents part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Documents: Send + Sync {
    /// Dossiers a unit received in `[from, to)`, in the order they were received, at most `limit`.
    async fn register(
        &self,
        unit_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RegisterEntry>>;
    /// The documents issued for a dossier, oldest first.
    async fn issued_documents(&self, dossier_id: Uuid) -> Result<Vec<IssuedDocument>>;
    /// The issued documents whose signed file has this SHA-256 (hexadecimal, lower case).
    async fn issued_documents_by_sha256(&self, sha256: &str) -> Result<Vec<IssuedDocument>>;
}

/// The columns of an issued document with its dossier's code.
pub(crate) const ISSUED_SELECT: &str =
    "SELECT i.*, d.code AS dossier_code FROM issued_documents i JOIN dossiers d ON d.id = i.dossier_id";

/// Implements [`Documents`] for a backend. Expanded after `impl_store!` in the same module, whose
/// imports and row helpers it uses.
macro_rules! impl_documents {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::documents::Documents for $store {
            async fn register(
                &self,
                unit_id: Uuid,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<$crate::documents::RegisterEntry>> {
                let rows = sqlx::query(
                    "SELECT d.code, d.procedure_version_id, d.procedure_name, d.applicant, d.state, d.received_at,
                            d.due_at,
                            (SELECT MAX(h.at) FROM dossier_history h
                              WHERE h.dossier_id = d.id AND h.action = 'return_result') AS returned_at
                     FROM dossiers d
                     WHERE d.receiving_unit_id = $1 AND d.received_at >= $2 AND d.received_at < $3
                     ORDER BY d.received_at, d.code LIMIT $4",
                )
                .bind(unit_id)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(self.read_pool())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::documents::RegisterEntry {
                            code: r.try_get("code")?,
                            procedure_version_id: r.try_get("procedure_version_id")?,
                            procedure_name: r.try_get("procedure_name")?,
                            applicant: r.try_get::<Json<Applicant>, _>("applicant")?.0,
                            state: state_col(r, "state")?,
                            received_at: r.try_get("received_at")?,
                            due_at: r.try_get("due_at")?,
                            returned_at: r.try_get("returned_at")?,
                        })
                    })
                    .collect()
            }

            async fn issued_documents(&self, dossier_id: Uuid) -> Result<Vec<$crate::documents::IssuedDocument>> {
                let sql =
                    format!("{} WHERE i.dossier_id = $1 ORDER BY i.created_at, i.id", $crate::documents::ISSUED_SELECT);
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dossier_id).fetch_all(self.read_pool()).await?;
                rows.iter().map(issued_from_row).collect()
            }

            async fn issued_documents_by_sha256(&self, sha256: &str) -> Result<Vec<$crate::documents::IssuedDocument>> {
                let sql =
                    format!("{} WHERE i.sha256 = $1 ORDER BY i.created_at, i.id", $crate::documents::ISSUED_SELECT);
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(sha256).fetch_all(self.read_pool()).await?;
                rows.iter().map(issued_from_row).collect()
            }
        }

        fn issued_from_row(r: &DbRow) -> Result<$crate::documents::IssuedDocument> {
            Ok($crate::documents::IssuedDocument {
                id: r.try_get("id")?,
                dossier_id: r.try_get("dossier_id")?,
                dossier_code: r.try_get("dossier_code")?,
                kind: r.try_get("kind")?,
                document_type: r.try_get("document_type")?,
                title: r.try_get("title")?,
                issuer_unit_id: r.try_get("issuer_unit_id")?,
                file_name: r.try_get("file_name")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                storage_key: r.try_get("storage_key")?,
                signer_subject: r.try_get("signer_subject")?,
                signer_fingerprint: r.try_get("signer_fingerprint")?,
                pades_level: r.try_get("pades_level")?,
                signed_at: r.try_get("signed_at")?,
                timestamped_at: r.try_get("timestamped_at")?,
                created_at: r.try_get("created_at")?,
            })
        }
    };
}

pub(crate) use impl_documents;
