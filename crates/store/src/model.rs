//! Records that cross the store boundary and are not domain types themselves.

use chrono::{DateTime, NaiveDate, Utc};
use cqs_domain::auth::{RoleGrant, Scope};
use cqs_domain::dossier::{Actor, Applicant, Channel, DossierState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Result of adding one procedure spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedVersion {
    pub code: String,
    pub version: i32,
    /// False when the spec equalled the latest version and nothing was written.
    pub created: bool,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub grants: Vec<RoleGrant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub disabled: bool,
    pub grants: Vec<RoleGrant>,
}

/// A new API key: the secret itself is never stored, only its SHA-256 (keys are 256-bit random,
/// so a slow password hash adds nothing).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: Uuid,
    pub prefix: String,
    pub secret_hash: String,
    pub name: String,
    /// Set when the key acts as a staff member; unset for a system client.
    pub user_id: Option<Uuid>,
    pub scopes: Vec<Scope>,
    pub org_unit_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A stored API key: what was created, and its use since.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub key: NewApiKey,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// After a rotation: the hash of the secret it replaced, accepted until `previous_valid_until`.
    pub previous_secret_hash: Option<String>,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
}

/// An attachment to record with a new dossier; its bytes are already in file storage.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: Uuid,
    pub component: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    pub attachment: cqs_domain::dossier::Attachment,
    pub storage_key: String,
}

/// Everything needed to create a dossier; the store adds the code from the unit's daily counter.
#[derive(Debug, Clone)]
pub struct NewDossier {
    pub id: Uuid,
    pub procedure_version_id: Uuid,
    pub procedure_code: String,
    pub procedure_version: i32,
    pub procedure_name: String,
    pub receiving_unit_id: Uuid,
    pub receiving_unit_code: cqs_domain::ids::AgencyCode,
    /// Local business date the code is numbered in.
    pub local_day: NaiveDate,
    pub channel: Channel,
    pub applicant: Applicant,
    pub form_data: serde_json::Value,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub submitted_by_client: Option<Uuid>,
    /// The citizen account submitting online, which will own the dossier.
    pub owner_account: Option<Uuid>,
    pub actor: Actor,
    pub actor_unit_id: Option<Uuid>,
    pub attachments: Vec<NewAttachment>,
    /// Components filled from the applicant's document store: (component code, stored document).
    pub reused: Vec<(String, Uuid)>,
    pub idempotency: Option<IdempotencyKey>,
    /// Who must act first (see `domain::workflow::holder`).
    pub holder: Option<(Uuid, cqs_domain::auth::Role)>,
    /// A note written with the first history row (the counter officer's note at intake).
    pub note: Option<String>,
}

/// A client's `Idempotency-Key`, scoped to the caller, with the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
}

/// What a submission returns, and what a retried submission returns again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmissionReceipt {
    pub id: Uuid,
    #[schema(value_type = String, example = "000.00.31.H99-261123-0001")]
    pub code: String,
    pub state: DossierState,
    pub procedure_code: String,
    pub procedure_version: i32,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(SubmissionReceipt),
    /// The same idempotency key and request were seen before: the first receipt.
    Replayed(SubmissionReceipt),
}

/// What anyone may see of a dossier by its code: no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicStatus {
    pub code: String,
    pub state: DossierState,
    pub procedure_code: String,
    pub procedure_name: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEvent {
    pub id: i64,
    pub event_id: Uuid,
    pub topic: String,
    pub aggregate_id: Uuid,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A decided workflow action, ready to persist.
#[derive(Debug, Clone)]
pub struct Transition {
    pub dossier_id: Uuid,
    pub code: String,
    pub expected_version: i32,
    pub from_state: DossierState,
    pub position: cqs_domain::workflow::Position,
    pub action: String,
    pub note: Option<String>,
    pub actor: Actor,
    pub actor_unit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub holder: Option<(Uuid, cqs_domain::auth::Role)>,
    /// Documents the action issues (the signed electronic result), recorded with it.
    pub issued: Vec<crate::documents::NewIssuedDocument>,
    /// Files the action adds to the dossier (documents the applicant supplied), recorded with it.
    pub attachments: Vec<NewAttachment>,
}

/// An officer's inbox request: one unit, optionally only the caller's roles there.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub unit_id: Uuid,
    /// Only dossiers held for one of these roles; `None` for the whole unit.
    pub roles: Option<Vec<cqs_domain::auth::Role>>,
    pub state: Option<DossierState>,
    pub procedure_code: Option<String>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
    /// Only dossiers past due at `now`.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only dossiers due between `now` and this limit.
    pub due_between: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub text: Option<InboxText>,
    /// Continue after this (due_sort, id).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// What an inbox search looks for. Name and code searches are separate conditions: combining
/// them with OR made every name search pay for a code comparison on each dossier it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxText {
    /// Words of the applicant's name, matched from word starts (see `NameQuery`).
    Name(cqs_domain::text::NameQuery),
    /// A whole dossier code.
    Code(String),
    /// The start of a dossier code.
    CodePrefix(String),
}

/// One dossier in an inbox.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub id: Uuid,
    pub code: String,
    pub state: DossierState,
    pub procedure_code: String,
    pub procedure_name: String,
    pub applicant_name: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub due_sort: DateTime<Utc>,
    pub version: i32,
}
