//! Persistence for Chính Quyền Số. One [`Store`] interface with two backends, SQLite (the
//! embedded default, WAL mode) and PostgreSQL (the scale path), sharing their SQL text. Every
//! state change writes its history row and its outbox row in the same transaction.

pub mod api_keys;
mod backend;
pub mod backup;
pub mod claims;
pub mod codes;
pub mod deadlines;
pub mod docstore;
pub mod documents;
pub mod eid;
pub mod exchange;
pub mod exchange_stats;
pub mod files;
pub mod gauges;
pub mod idempotency;
pub mod identity;
mod inbox_words;
pub mod jobs;
pub mod mfa;
mod model;
pub mod organizations;
pub mod outbox;
pub mod portal;
mod postgres;
pub mod snapshot;
mod sqlite;
pub mod statistics;
pub mod testing;

use std::sync::Arc;

pub use api_keys::ApiKeys;
pub use claims::Claims;
pub use codes::{Codes, Contact, NewCode, OpenCode};
pub use deadlines::{ApologyTask, DeadlineCandidate, DeadlineNotice, Deadlines};
pub use docstore::{DocStore, VerifiedComponent};
pub use documents::{Documents, IssuedDocument, NewIssuedDocument, RegisterEntry};
pub use eid::{Eid, EidLink, EidLogin, NewEidLogin};
pub use exchange::Exchange;
pub use exchange_stats::ExchangeStats;
pub use gauges::{Gauges, PoolStats};
pub use idempotency::{Claim, HeldKey, Idempotency, RequestKey, StoredAnswer};
pub use identity::{
    CitizenAccount, CitizenCredentials, Identity, NewCitizen, NewSession, SecurityEvent, SecurityEventQuery,
    SessionRecord,
};
pub use jobs::{JobLease, JobStatus, Jobs};
pub use mfa::{Mfa, MfaRecord};
pub use model::*;
pub use organizations::{Member, MemberChange, Organization, Organizations};
pub use outbox::{Outbox, OutboxBacklog, StateChange};
pub use portal::{Draft, DraftFile, PortalData};
pub use snapshot::{SnapshotError, SnapshotManifest, Snapshots};
pub use statistics::Statistics;

/// Errors a store reports. Database faults are kept whole for logs; callers turn the rest into
/// 4xx answers.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("không tìm thấy: {0}")]
    NotFound(&'static str),
    #[error("xung đột dữ liệu: {0}")]
    Conflict(String),
    #[error("khóa Idempotency-Key đã được dùng cho một yêu cầu khác")]
    IdempotencyMismatch,
    #[error("đơn vị đã dùng hết số thứ tự hồ sơ trong ngày")]
    DailySequenceExhausted,
    /// A unique account detail (`identity_number`, `phone`, `email`) already belongs to an account.
    #[error("đã được dùng cho một tài khoản khác: {0}")]
    Taken(&'static str),
    #[error("dữ liệu lưu trữ không hợp lệ: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The database is overloaded or unreachable: the caller should retry later (503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path` or `postgres://...`.
    pub url: String,
    /// SQLite `synchronous` mode: `normal` survives a process crash (the WAL is durable once
    /// written), `full` also survives power loss at some cost in write rate.
    pub sqlite_synchronous_full: bool,
    /// Largest number of pooled connections for reads (and for writes on PostgreSQL).
    pub max_connections: u32,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), sqlite_synchronous_full: false, max_connections: 8 }
    }
}

/// The persistence interface every module goes through. Both backends pass the same
/// conformance suite (`tests/conformance.rs`).
#[async_trait::async_trait]
pub trait Store:
    ApiKeys
    + Claims
    + Codes
    + Deadlines
    + DocStore
    + Documents
    + Eid
    + Exchange
    + ExchangeStats
    + Identity
    + Idempotency
    + Mfa
    + Organizations
    + PortalData
    + Jobs
    + Outbox
    + Gauges
    + Snapshots
    + Statistics
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for health output and benchmarks.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<()>;

    // Org units and fields.
    /// Inserts units that are new and updates the ones whose code exists, in one transaction.
    async fn upsert_org_units(&self, specs: &[cqs_domain::org::OrgUnitSpec]) -> Result<usize>;
    async fn org_units(&self) -> Result<Vec<cqs_domain::org::OrgUnit>>;
    async fn org_unit_by_code(&self, code: &str) -> Result<Option<cqs_domain::org::OrgUnit>>;
    async fn upsert_fields(&self, fields: &[cqs_domain::catalog::Field]) -> Result<usize>;
    async fn fields(&self) -> Result<Vec<cqs_domain::catalog::Field>>;

    // Catalog.
    /// Adds each spec as a new version of its procedure, all or nothing. A spec identical to the
    /// procedure's latest version adds nothing (so loading the same file twice is a no-op).
    async fn add_procedure_versions(
        &self,
        specs: &[cqs_domain::catalog::ProcedureSpec],
        publish: bool,
    ) -> Result<Vec<AddedVersion>>;
    async fn publish_procedure_version(&self, code: &str, version: i32) -> Result<()>;
    async fn procedure_versions(&self, code: &str) -> Result<Vec<cqs_domain::catalog::ProcedureVersion>>;
    /// Every published version of every procedure (the catalog is small: thousands at most).
    async fn published_versions(&self) -> Result<Vec<cqs_domain::catalog::ProcedureVersion>>;
    /// Every version of every procedure, drafts and withdrawn ones included, by code then
    /// version (the admin pages list them).
    async fn all_procedure_versions(&self) -> Result<Vec<cqs_domain::catalog::ProcedureVersion>>;

    // Staff and API keys.
    async fn create_user(&self, user: &NewUser) -> Result<User>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: uuid::Uuid) -> Result<Option<User>>;
    /// Every staff account with its grants, by username.
    async fn users(&self) -> Result<Vec<User>>;
    /// Replaces a staff account's role grants, all at once. `NotFound` for an unknown account.
    async fn set_user_grants(&self, user_id: uuid::Uuid, grants: &[cqs_domain::auth::RoleGrant]) -> Result<()>;
    async fn create_api_key(&self, key: &NewApiKey) -> Result<()>;
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>>;
    /// Records use of a key at most once per `min_interval`, to keep reads from turning into writes.
    async fn touch_api_key(&self, id: uuid::Uuid, at: chrono::DateTime<chrono::Utc>) -> Result<()>;
    async fn api_key_named_exists(&self, name: &str) -> Result<bool>;
    async fn revoke_api_key(&self, prefix: &str, at: chrono::DateTime<chrono::Utc>) -> Result<bool>;

    // Dossiers.
    /// Creates a dossier with its code, attachments, first history row and outbox event in one
    /// transaction; with an idempotency key, a repeat returns the first receipt instead.
    async fn create_dossier(&self, new: &NewDossier) -> Result<CreateOutcome>;
    /// Applies a workflow decision if the dossier is still at `expected_version`: state, history
    /// row and outbox event in one transaction. Returns the new version; a stale version is a
    /// `Conflict` (two officers acting at once: exactly one wins).
    async fn apply_transition(&self, t: &Transition) -> Result<i32> {
        self.apply_transition_answered(t, None).await
    }
    /// [`Store::apply_transition`] that also writes the answer for an `Idempotency-Key` claim in
    /// the same transaction, so a retry finds the answer even if the server died right after.
    async fn apply_transition_answered(&self, t: &Transition, answer: Option<(&HeldKey, &StoredAnswer)>)
    -> Result<i32>;
    /// Dossiers a unit (or some of its roles) must act on, by due date, keyset-paginated.
    async fn inbox(&self, q: &InboxQuery) -> Result<Vec<InboxItem>>;
    /// Rebuilds the inbox word index from the dossiers themselves and returns how many were
    /// indexed: an operator's repair (`cqs maintenance reindex`); the store also rebuilds it by
    /// itself when it finds it incomplete at start-up.
    async fn reindex_inbox_words(&self) -> Result<usize>;
    async fn dossier_by_code(&self, code: &str) -> Result<Option<cqs_domain::dossier::Dossier>>;
    async fn public_status(&self, code: &str) -> Result<Option<PublicStatus>>;
    async fn history(&self, dossier_id: uuid::Uuid) -> Result<Vec<cqs_domain::dossier::HistoryEntry>>;
    async fn attachments(&self, dossier_id: uuid::Uuid) -> Result<Vec<StoredAttachment>>;
    /// Whether any attachment or issued document points at this storage key (for the orphan
    /// sweep).
    async fn storage_key_exists(&self, key: &str) -> Result<bool>;
    async fn count_dossiers(&self) -> Result<i64>;

    // Outbox.
    async fn pending_events(&self, limit: i64) -> Result<Vec<OutboxEvent>>;
}

/// Opens the store named by the URL, creating the SQLite file if needed, and runs migrations.
pub async fn open(opts: &StoreOptions) -> Result<Arc<dyn Store>> {
    if opts.url.starts_with("postgres://") || opts.url.starts_with("postgresql://") {
        let store = postgres::PgStore::connect(opts).await?;
        store.ensure_inbox_words().await?;
        Ok(Arc::new(store))
    } else {
        let store = sqlite::SqliteStore::connect(opts).await?;
        store.ensure_inbox_words().await?;
        Ok(Arc::new(store))
    }
}
