//! Persistence of the exchange (LGSP) registry: members, subsystems and their credentials,
//! services, grants, access requests with their answers, client limits and their shared
//! counters. Every registry change bumps one version number in the same transaction, so each
//! node's cached copy of the registry knows when to reload.

use chrono::{DateTime, Utc};
use cqs_domain::exchange::quota::Window;
use cqs_domain::exchange::request::{AccessRequest, Decided, RequestState};
use cqs_domain::exchange::{ClientId, Grant, Member, MemberId, Service, ServiceId, ServiceSpec, Status, Subsystem};
use serde::Serialize;
use uuid::Uuid;

use crate::Result;

/// A member to add or rename.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub id: MemberId,
    pub name: String,
    pub org_unit_id: Option<Uuid>,
    pub status: Status,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewSubsystem {
    pub id: ClientId,
    pub name: String,
    pub system_id: String,
    pub status: Status,
    pub at: DateTime<Utc>,
}

/// What a gateway needs to authenticate a subsystem (kept out of API answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub client: ClientId,
    pub system_id: String,
    pub secret_hash: Option<String>,
    pub credential_version: i32,
    pub status: Status,
}

/// A limit on a client's calls, to one service or to all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClientLimit {
    pub client: ClientId,
    pub service: Option<ServiceId>,
    pub window: Window,
    pub max_requests: i64,
}

impl ClientLimit {
    /// The counter key of this limit.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.client,
            self.service.as_ref().map(|s| s.to_string()).unwrap_or_default(),
            self.window.as_str()
        )
    }
}

/// Everything a gateway node reads per call, loaded at once.
#[derive(Debug, Clone, Default)]
pub struct RegistrySnapshot {
    pub version: i64,
    pub members: Vec<Member>,
    pub subsystems: Vec<Subsystem>,
    pub credentials: Vec<Credential>,
    pub services: Vec<Service>,
    /// Grants not revoked.
    pub grants: Vec<Grant>,
    pub limits: Vec<ClientLimit>,
}

/// One sealed batch of the message log, with its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    pub node: String,
    pub batch: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub head: Vec<u8>,
    /// The exact bytes the node signed.
    pub statement: String,
    pub signature: Vec<u8>,
    pub sealed_at: DateTime<Utc>,
    pub records: Vec<LogRow>,
}

/// One record of the message log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub node: String,
    pub seq: i64,
    pub batch: i64,
    pub at: DateTime<Utc>,
    pub message_id: String,
    pub client: String,
    pub service: String,
    pub status: i32,
    /// The record's exact bytes (JSON).
    pub record: Vec<u8>,
    pub digest: Vec<u8>,
    /// The exchange's request and response bodies, sealed by the gateway (`cqs_exchange::bodies`);
    /// `None` when bodies are not kept or have been forgotten.
    pub bodies: Option<Vec<u8>>,
}

/// One timestamp round of a node's message log: the statements of batches
/// `first_batch..=last_batch` are the leaves of a Merkle tree whose root a timestamp authority
/// signed (see `cqs_exchange::stamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStamp {
    pub node: String,
    pub first_batch: i64,
    pub last_batch: i64,
    /// The leaf values in batch order: SHA-256 of each batch's statement, 32 bytes each.
    pub leaves: Vec<u8>,
    /// The tree's root (RFC 6962 Merkle tree hash, SHA-256).
    pub root: Vec<u8>,
    /// The RFC 3161 token over `root`, DER, as the authority sent it.
    pub token: Vec<u8>,
    /// The authority's address.
    pub tsa: String,
    /// When the authority says it saw the root (the token's genTime).
    pub stamped_at: DateTime<Utc>,
}

/// Filters for listing access requests.
#[derive(Debug, Clone, Default)]
pub struct AccessRequestQuery {
    pub state: Option<RequestState>,
    /// Requests to services of these providers (subsystem ids); none = any.
    pub provider: Option<ClientId>,
    pub client: Option<ClientId>,
    pub service: Option<ServiceId>,
    pub limit: i64,
}

/// The exchange part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Exchange: Send + Sync {
    /// Adds a member, or renames it and changes its status and unit.
    async fn upsert_member(&self, m: &NewMember) -> Result<Member>;
    async fn exchange_members(&self) -> Result<Vec<Member>>;
    /// Adds a subsystem; an existing id or system id is a `Conflict`, an unknown member `NotFound`.
    async fn create_subsystem(&self, s: &NewSubsystem) -> Result<Subsystem>;
    async fn update_subsystem(
        &self,
        id: &ClientId,
        name: Option<&str>,
        status: Option<Status>,
        at: DateTime<Utc>,
    ) -> Result<Subsystem>;
    /// Replaces a subsystem's secret (its SHA-256) and returns the new credential version.
    async fn set_subsystem_secret(&self, id: &ClientId, secret_hash: &str, at: DateTime<Utc>) -> Result<i32>;
    async fn exchange_subsystems(&self) -> Result<Vec<Subsystem>>;
    /// Adds or replaces a service of `provider`; returns it and whether it was new.
    async fn upsert_service(
        &self,
        provider: &ClientId,
        spec: &ServiceSpec,
        at: DateTime<Utc>,
    ) -> Result<(Service, bool)>;
    async fn exchange_services(&self) -> Result<Vec<Service>>;
    async fn add_grants(&self, grants: &[Grant]) -> Result<()>;
    /// Revokes a grant; one already revoked is a `Conflict`.
    async fn revoke_grant(&self, id: Uuid, by: Uuid, reason: &str, at: DateTime<Utc>) -> Result<Grant>;
    /// Grants of a service (or all), revoked ones too when `include_revoked`.
    async fn exchange_grants(&self, service: Option<&ServiceId>, include_revoked: bool) -> Result<Vec<Grant>>;
    /// Records a new request with its outbox event (the provider is told).
    async fn create_access_request(&self, r: &AccessRequest) -> Result<()>;
    async fn access_request(&self, id: Uuid) -> Result<Option<AccessRequest>>;
    async fn access_requests(&self, q: &AccessRequestQuery) -> Result<Vec<AccessRequest>>;
    /// Records the answer to a pending request, the grants it makes and its outbox event, in one
    /// transaction. A request no longer pending (answered meanwhile) is a `Conflict`.
    async fn record_decision(
        &self,
        id: Uuid,
        decided: &Decided,
        by: Uuid,
        at: DateTime<Utc>,
        grants: &[Grant],
    ) -> Result<AccessRequest>;
    async fn set_limit(&self, limit: &ClientLimit, at: DateTime<Utc>) -> Result<()>;
    async fn delete_limit(&self, limit: &ClientLimit) -> Result<bool>;
    async fn registry_version(&self) -> Result<i64>;
    async fn registry_snapshot(&self) -> Result<RegistrySnapshot>;
    /// Adds `want` to the counter of `key` for the window starting at `window_start` and returns
    /// the counter's new value (see `domain::exchange::quota::granted`).
    async fn claim_quota(&self, key: &str, window_start: DateTime<Utc>, want: i64) -> Result<i64>;
    /// Sets a setting only if it has no value yet and returns the value that holds (so nodes
    /// starting at once agree on one generated secret).
    async fn init_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<String>;
    /// The last sealed batch of a node's log: (last seq, batch number, chain head).
    async fn log_head(&self, node: &str) -> Result<Option<(i64, i64, Vec<u8>)>>;
    /// Writes a sealed batch and its records in one transaction. A batch or record number the
    /// node already used is a `Conflict` (another process writes under the same node id).
    async fn append_log_batch(&self, batch: &LogBatch) -> Result<()>;
    /// Records with a message id (`X-Road-Id`), oldest first.
    async fn log_rows(&self, message_id: &str) -> Result<Vec<LogRow>>;
    /// A sealed batch without its records.
    async fn log_batch(&self, node: &str, batch: i64) -> Result<Option<LogBatch>>;
    /// Digests of a node's records `from..=to`, in order.
    async fn log_digests(&self, node: &str, from: i64, to: i64) -> Result<Vec<Vec<u8>>>;
    /// Deletes whole batches sealed before `before` (retention), except each node's last batch,
    /// and the timestamp rounds none of whose batches is left; returns the records deleted.
    async fn delete_log_before(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Forgets the kept bodies of records made before `before`, leaving the records (and so the
    /// signed chain) whole; returns the records whose bodies were dropped.
    async fn forget_log_bodies_before(&self, before: DateTime<Utc>) -> Result<u64>;
    /// A node's batches after its last timestamp round, oldest first, at most `limit`:
    /// (batch number, statement).
    async fn log_unstamped(&self, node: &str, limit: i64) -> Result<Vec<(i64, String)>>;
    /// Records a timestamp round. A round that starts at a batch already stamped is a
    /// `Conflict`.
    async fn add_log_stamp(&self, stamp: &LogStamp) -> Result<()>;
    /// The timestamp round holding `batch` of `node`, if it was stamped.
    async fn log_stamp(&self, node: &str, batch: i64) -> Result<Option<LogStamp>>;
}

/// Implements [`Exchange`] for a backend. Expanded after `impl_store!` in the same module, whose
/// imports and row helpers it uses.
macro_rules! impl_exchange {
    ($store:ty, $db:ty) => {
        mod exchange_impl {
            use super::*;
            use cqs_domain::exchange::quota::Window;
            use cqs_domain::exchange::request::{AccessRequest, Decided, RequestState};
            use cqs_domain::exchange::{
                ClientId, Endpoint, Grant, Member, MemberId, Service, ServiceId, ServiceSpec, Status, Subsystem,
            };
            use $crate::exchange::{
                AccessRequestQuery, ClientLimit, Credential, LogBatch, LogRow, LogStamp, NewMember, NewSubsystem,
                RegistrySnapshot,
            };

            /// A write that hit a unique key of the message log is a `Conflict` saying `what`.
            fn taken(e: sqlx::Error, what: &str) -> StoreError {
                if is_unique_violation(&e) { StoreError::Conflict(what.into()) } else { e.into() }
            }

            fn parse<T, E>(r: std::result::Result<T, E>, what: &str) -> Result<T> {
                r.map_err(|_| corrupt(what))
            }

            fn status_col(r: &DbRow, col: &str) -> Result<Status> {
                Status::parse(r.try_get::<&str, _>(col)?).ok_or_else(|| corrupt("exchange status"))
            }

            fn member_from_row(r: &DbRow) -> Result<Member> {
                Ok(Member {
                    id: parse(MemberId::parse(r.try_get::<&str, _>("id")?), "exchange_members.id")?,
                    name: r.try_get("name")?,
                    org_unit_id: r.try_get("org_unit_id")?,
                    status: status_col(r, "status")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn subsystem_from_row(r: &DbRow) -> Result<Subsystem> {
                Ok(Subsystem {
                    id: parse(ClientId::parse(r.try_get::<&str, _>("id")?), "exchange_subsystems.id")?,
                    name: r.try_get("name")?,
                    system_id: r.try_get("system_id")?,
                    status: status_col(r, "status")?,
                    has_secret: r.try_get::<Option<String>, _>("secret_hash")?.is_some(),
                    credential_version: r.try_get("credential_version")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn service_from_row(r: &DbRow) -> Result<Service> {
                Ok(Service {
                    id: parse(ServiceId::parse(r.try_get::<&str, _>("id")?), "exchange_services.id")?,
                    title: r.try_get("title")?,
                    description: r.try_get("description")?,
                    version: r.try_get("version")?,
                    owner: r.try_get("owner")?,
                    status: status_col(r, "status")?,
                    base_url: r.try_get("base_url")?,
                    timeout_ms: r.try_get("timeout_ms")?,
                    openapi: r.try_get::<Option<Json<serde_json::Value>>, _>("openapi")?.map(|j| j.0),
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn grant_from_row(r: &DbRow) -> Result<Grant> {
                let method: Option<String> = r.try_get("method")?;
                let path: Option<String> = r.try_get("path")?;
                let endpoint = match (method, path) {
                    (Some(m), Some(p)) => Some(parse(Endpoint::parse(&m, &p), "exchange_grants.endpoint")?),
                    _ => None,
                };
                Ok(Grant {
                    id: r.try_get("id")?,
                    service: parse(ServiceId::parse(r.try_get::<&str, _>("service_id")?), "exchange_grants.service_id")?,
                    client: parse(ClientId::parse(r.try_get::<&str, _>("client_id")?), "exchange_grants.client_id")?,
                    endpoint,
                    granted_at: r.try_get("granted_at")?,
                    granted_by: r.try_get("granted_by")?,
                    access_request_id: r.try_get("access_request_id")?,
                    revoked_at: r.try_get("revoked_at")?,
                    revoked_by: r.try_get("revoked_by")?,
                    revoke_reason: r.try_get("revoke_reason")?,
                })
            }

            fn request_from_row(r: &DbRow) -> Result<AccessRequest> {
                Ok(AccessRequest {
                    id: r.try_get("id")?,
                    client: parse(ClientId::parse(r.try_get::<&str, _>("client_id")?), "access_requests.client_id")?,
                    service: parse(ServiceId::parse(r.try_get::<&str, _>("service_id")?), "access_requests.service_id")?,
                    endpoints: r.try_get::<Json<Vec<Endpoint>>, _>("endpoints")?.0,
                    purpose: r.try_get("purpose")?,
                    legal_basis: r.try_get("legal_basis")?,
                    requested_by: r.try_get("requested_by")?,
                    requested_at: r.try_get("requested_at")?,
                    answer_due_at: r.try_get("answer_due_at")?,
                    answer_rule: r.try_get("answer_rule")?,
                    state: RequestState::parse(r.try_get::<&str, _>("state")?)
                        .ok_or_else(|| corrupt("access_requests.state"))?,
                    decided_at: r.try_get("decided_at")?,
                    decided_by: r.try_get("decided_by")?,
                    decision_note: r.try_get("decision_note")?,
                    refusal_legal_basis: r.try_get("refusal_legal_basis")?,
                    answered_late: r.try_get("answered_late")?,
                })
            }

            fn limit_from_row(r: &DbRow) -> Result<ClientLimit> {
                let service: String = r.try_get("service_id")?;
                Ok(ClientLimit {
                    client: parse(ClientId::parse(r.try_get::<&str, _>("client_id")?), "exchange_limits.client_id")?,
                    service: if service.is_empty() {
                        None
                    } else {
                        Some(parse(ServiceId::parse(&service), "exchange_limits.service_id")?)
                    },
                    window: Window::parse(r.try_get::<&str, _>("window_kind")?)
                        .ok_or_else(|| corrupt("exchange_limits.window_kind"))?,
                    max_requests: r.try_get("max_requests")?,
                })
            }

            async fn bump(tx: &mut sqlx::Transaction<'static, $db>) -> Result<()> {
                sqlx::query("UPDATE exchange_registry_version SET version = version + 1 WHERE id = 1")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn outbox(
                tx: &mut sqlx::Transaction<'static, $db>,
                topic: &str,
                aggregate: Uuid,
                payload: serde_json::Value,
                at: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(Uuid::now_v7())
                    .bind(topic)
                    .bind(aggregate)
                    .bind(Json(payload))
                    .bind(at)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn insert_grants(tx: &mut sqlx::Transaction<'static, $db>, grants: &[Grant]) -> Result<()> {
                for g in grants {
                    sqlx::query(
                        "INSERT INTO exchange_grants (id, service_id, client_id, method, path, granted_at, granted_by, access_request_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(g.id)
                    .bind(g.service.to_string())
                    .bind(g.client.to_string())
                    .bind(g.endpoint.as_ref().map(|e| e.method.as_str().to_owned()))
                    .bind(g.endpoint.as_ref().map(|e| e.path.to_string()))
                    .bind(g.granted_at)
                    .bind(g.granted_by)
                    .bind(g.access_request_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| {
                        if matches!(&e, sqlx::Error::Database(d) if d.is_foreign_key_violation()) {
                            StoreError::NotFound("dịch vụ")
                        } else {
                            e.into()
                        }
                    })?;
                }
                Ok(())
            }

            const REQUEST_COLUMNS: &str = "id, client_id, service_id, endpoints, purpose, legal_basis, requested_by,
                requested_at, answer_due_at, answer_rule, state, decided_at, decided_by, decision_note,
                refusal_legal_basis, answered_late";

            #[async_trait::async_trait]
            impl $crate::exchange::Exchange for $store {
                async fn upsert_member(&self, m: &NewMember) -> Result<Member> {
                    let mut tx = self.begin_write().await?;
                    let row = sqlx::query(
                        "INSERT INTO exchange_members (id, instance, class, code, name, org_unit_id, status, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_unit_id = excluded.org_unit_id,
                             status = excluded.status, updated_at = excluded.updated_at
                         RETURNING *",
                    )
                    .bind(m.id.to_string())
                    .bind(m.id.instance.as_str())
                    .bind(m.id.class.as_str())
                    .bind(m.id.code.as_str())
                    .bind(&m.name)
                    .bind(m.org_unit_id)
                    .bind(m.status.as_str())
                    .bind(m.at)
                    .fetch_one(&mut *tx)
                    .await?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    member_from_row(&row)
                }

                async fn exchange_members(&self) -> Result<Vec<Member>> {
                    let rows = sqlx::query("SELECT * FROM exchange_members ORDER BY id").fetch_all(self.read_pool()).await?;
                    rows.iter().map(member_from_row).collect()
                }

                async fn create_subsystem(&self, s: &NewSubsystem) -> Result<Subsystem> {
                    let mut tx = self.begin_write().await?;
                    let member = s.id.member.to_string();
                    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM exchange_members WHERE id = $1")
                        .bind(&member)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound("thành viên"));
                    }
                    let row = sqlx::query(
                        "INSERT INTO exchange_subsystems (id, member_id, code, name, system_id, status, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *",
                    )
                    .bind(s.id.to_string())
                    .bind(&member)
                    .bind(s.id.subsystem.as_str())
                    .bind(&s.name)
                    .bind(&s.system_id)
                    .bind(s.status.as_str())
                    .bind(s.at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            StoreError::Conflict("hệ thống hoặc mã X-SystemId đã có".into())
                        } else {
                            e.into()
                        }
                    })?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    subsystem_from_row(&row)
                }

                async fn update_subsystem(
                    &self,
                    id: &ClientId,
                    name: Option<&str>,
                    status: Option<Status>,
                    at: DateTime<Utc>,
                ) -> Result<Subsystem> {
                    let mut tx = self.begin_write().await?;
                    let row = sqlx::query(
                        "UPDATE exchange_subsystems SET name = COALESCE($2, name), status = COALESCE($3, status), updated_at = $4
                         WHERE id = $1 RETURNING *",
                    )
                    .bind(id.to_string())
                    .bind(name)
                    .bind(status.map(Status::as_str))
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("hệ thống"))?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    subsystem_from_row(&row)
                }

                async fn set_subsystem_secret(&self, id: &ClientId, secret_hash: &str, at: DateTime<Utc>) -> Result<i32> {
                    let mut tx = self.begin_write().await?;
                    let v: i32 = sqlx::query_scalar(
                        "UPDATE exchange_subsystems SET secret_hash = $2, credential_version = credential_version + 1,
                             updated_at = $3 WHERE id = $1 RETURNING credential_version",
                    )
                    .bind(id.to_string())
                    .bind(secret_hash)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("hệ thống"))?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    Ok(v)
                }

                async fn exchange_subsystems(&self) -> Result<Vec<Subsystem>> {
                    let rows =
                        sqlx::query("SELECT * FROM exchange_subsystems ORDER BY id").fetch_all(self.read_pool()).await?;
                    rows.iter().map(subsystem_from_row).collect()
                }

                async fn upsert_service(
                    &self,
                    provider: &ClientId,
                    spec: &ServiceSpec,
                    at: DateTime<Utc>,
                ) -> Result<(Service, bool)> {
                    let id = ServiceId::new(provider.clone(), &spec.code)
                        .map_err(|e| StoreError::Conflict(e.to_string()))?
                        .to_string();
                    let mut tx = self.begin_write().await?;
                    let sub: Option<String> = sqlx::query_scalar("SELECT id FROM exchange_subsystems WHERE id = $1")
                        .bind(provider.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if sub.is_none() {
                        return Err(StoreError::NotFound("hệ thống cung cấp"));
                    }
                    let existed: Option<String> = sqlx::query_scalar("SELECT id FROM exchange_services WHERE id = $1")
                        .bind(&id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let row = sqlx::query(
                        "INSERT INTO exchange_services (id, subsystem_id, code, title, description, version, owner, status,
                             base_url, timeout_ms, openapi, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                         ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
                             version = excluded.version, owner = excluded.owner, status = excluded.status,
                             base_url = excluded.base_url, timeout_ms = excluded.timeout_ms, openapi = excluded.openapi,
                             updated_at = excluded.updated_at
                         RETURNING *",
                    )
                    .bind(&id)
                    .bind(provider.to_string())
                    .bind(&spec.code)
                    .bind(&spec.title)
                    .bind(&spec.description)
                    .bind(&spec.version)
                    .bind(&spec.owner)
                    .bind(spec.status.as_str())
                    .bind(&spec.base_url)
                    .bind(spec.timeout_ms)
                    .bind(spec.openapi.clone().map(Json))
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    Ok((service_from_row(&row)?, existed.is_none()))
                }

                async fn exchange_services(&self) -> Result<Vec<Service>> {
                    let rows =
                        sqlx::query("SELECT * FROM exchange_services ORDER BY id").fetch_all(self.read_pool()).await?;
                    rows.iter().map(service_from_row).collect()
                }

                async fn add_grants(&self, grants: &[Grant]) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    insert_grants(&mut tx, grants).await?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn revoke_grant(&self, id: Uuid, by: Uuid, reason: &str, at: DateTime<Utc>) -> Result<Grant> {
                    let mut tx = self.begin_write().await?;
                    let row = sqlx::query(
                        "UPDATE exchange_grants SET revoked_at = $2, revoked_by = $3, revoke_reason = $4
                         WHERE id = $1 AND revoked_at IS NULL RETURNING *",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(by)
                    .bind(reason)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        let known: Option<Uuid> = sqlx::query_scalar("SELECT id FROM exchange_grants WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                        return Err(match known {
                            Some(_) => StoreError::Conflict("quyền truy cập đã bị thu hồi trước đó".into()),
                            None => StoreError::NotFound("quyền truy cập"),
                        });
                    };
                    let grant = grant_from_row(&row)?;
                    outbox(
                        &mut tx,
                        "exchange.grant_revoked",
                        id,
                        serde_json::json!({"grant": grant.id, "service": grant.service, "client": grant.client,
                            "reason": reason, "by": by, "at": at}),
                        at,
                    )
                    .await?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    Ok(grant)
                }

                async fn exchange_grants(&self, service: Option<&ServiceId>, include_revoked: bool) -> Result<Vec<Grant>> {
                    let mut b = sqlx::QueryBuilder::<$db>::new("SELECT * FROM exchange_grants WHERE 1 = 1");
                    if let Some(s) = service {
                        b.push(" AND service_id = ").push_bind(s.to_string());
                    }
                    if !include_revoked {
                        b.push(" AND revoked_at IS NULL");
                    }
                    b.push(" ORDER BY granted_at, id");
                    let rows = b.build().fetch_all(self.read_pool()).await?;
                    rows.iter().map(grant_from_row).collect()
                }

                async fn create_access_request(&self, r: &AccessRequest) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO exchange_access_requests (id, client_id, service_id, endpoints, purpose, legal_basis,
                             requested_by, requested_at, answer_due_at, answer_rule, state)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(r.id)
                    .bind(r.client.to_string())
                    .bind(r.service.to_string())
                    .bind(Json(&r.endpoints))
                    .bind(&r.purpose)
                    .bind(&r.legal_basis)
                    .bind(r.requested_by)
                    .bind(r.requested_at)
                    .bind(r.answer_due_at)
                    .bind(&r.answer_rule)
                    .bind(r.state.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        if matches!(&e, sqlx::Error::Database(d) if d.is_foreign_key_violation()) {
                            StoreError::NotFound("dịch vụ")
                        } else {
                            e.into()
                        }
                    })?;
                    outbox(
                        &mut tx,
                        "exchange.access_requested",
                        r.id,
                        serde_json::json!({"request": r.id, "client": r.client, "service": r.service,
                            "answer_due_at": r.answer_due_at, "at": r.requested_at}),
                        r.requested_at,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn access_request(&self, id: Uuid) -> Result<Option<AccessRequest>> {
                    let sql = format!("SELECT {REQUEST_COLUMNS} FROM exchange_access_requests WHERE id = $1");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.read_pool()).await?;
                    row.as_ref().map(request_from_row).transpose()
                }

                async fn access_requests(&self, q: &AccessRequestQuery) -> Result<Vec<AccessRequest>> {
                    let mut b = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {REQUEST_COLUMNS} FROM exchange_access_requests WHERE 1 = 1"
                    ));
                    if let Some(s) = q.state {
                        b.push(" AND state = ").push_bind(s.as_str());
                    }
                    if let Some(c) = &q.client {
                        b.push(" AND client_id = ").push_bind(c.to_string());
                    }
                    if let Some(s) = &q.service {
                        b.push(" AND service_id = ").push_bind(s.to_string());
                    }
                    if let Some(p) = &q.provider {
                        b.push(" AND service_id IN (SELECT id FROM exchange_services WHERE subsystem_id = ")
                            .push_bind(p.to_string())
                            .push(")");
                    }
                    b.push(" ORDER BY requested_at DESC, id DESC LIMIT ").push_bind(q.limit);
                    let rows = b.build().fetch_all(self.read_pool()).await?;
                    rows.iter().map(request_from_row).collect()
                }

                async fn record_decision(
                    &self,
                    id: Uuid,
                    decided: &Decided,
                    by: Uuid,
                    at: DateTime<Utc>,
                    grants: &[Grant],
                ) -> Result<AccessRequest> {
                    let mut tx = self.begin_write().await?;
                    let sql = format!(
                        "UPDATE exchange_access_requests SET state = $2, decided_at = $3, decided_by = $4,
                             decision_note = $5, refusal_legal_basis = $6, answered_late = $7
                         WHERE id = $1 AND state = 'pending' RETURNING {REQUEST_COLUMNS}"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(id)
                        .bind(decided.state.as_str())
                        .bind(at)
                        .bind(by)
                        .bind(&decided.note)
                        .bind(&decided.refusal_legal_basis)
                        .bind(decided.late)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| StoreError::Conflict("đề nghị đã được trả lời".into()))?;
                    let request = request_from_row(&row)?;
                    insert_grants(&mut tx, grants).await?;
                    outbox(
                        &mut tx,
                        "exchange.access_decided",
                        id,
                        serde_json::json!({"request": id, "client": request.client, "service": request.service,
                            "state": decided.state, "late": decided.late, "grants": grants.iter().map(|g| g.id).collect::<Vec<_>>(),
                            "at": at}),
                        at,
                    )
                    .await?;
                    if !grants.is_empty() {
                        bump(&mut tx).await?;
                    }
                    tx.commit().await?;
                    Ok(request)
                }

                async fn set_limit(&self, limit: &ClientLimit, at: DateTime<Utc>) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO exchange_limits (client_id, service_id, window_kind, max_requests, updated_at)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (client_id, service_id, window_kind) DO UPDATE
                             SET max_requests = excluded.max_requests, updated_at = excluded.updated_at",
                    )
                    .bind(limit.client.to_string())
                    .bind(limit.service.as_ref().map(|s| s.to_string()).unwrap_or_default())
                    .bind(limit.window.as_str())
                    .bind(limit.max_requests)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn delete_limit(&self, limit: &ClientLimit) -> Result<bool> {
                    let mut tx = self.begin_write().await?;
                    let n = sqlx::query(
                        "DELETE FROM exchange_limits WHERE client_id = $1 AND service_id = $2 AND window_kind = $3",
                    )
                    .bind(limit.client.to_string())
                    .bind(limit.service.as_ref().map(|s| s.to_string()).unwrap_or_default())
                    .bind(limit.window.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    bump(&mut tx).await?;
                    tx.commit().await?;
                    Ok(n > 0)
                }

                async fn registry_version(&self) -> Result<i64> {
                    Ok(sqlx::query_scalar("SELECT version FROM exchange_registry_version WHERE id = 1")
                        .fetch_one(self.read_pool())
                        .await?)
                }

                async fn registry_snapshot(&self) -> Result<RegistrySnapshot> {
                    // The version is read first: a change landing during the reads bumps it again,
                    // so the next poll reloads.
                    let version = self.registry_version().await?;
                    let members = self.exchange_members().await?;
                    let rows =
                        sqlx::query("SELECT * FROM exchange_subsystems ORDER BY id").fetch_all(self.read_pool()).await?;
                    let mut subsystems = Vec::with_capacity(rows.len());
                    let mut credentials = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let s = subsystem_from_row(r)?;
                        credentials.push(Credential {
                            client: s.id.clone(),
                            system_id: s.system_id.clone(),
                            secret_hash: r.try_get("secret_hash")?,
                            credential_version: s.credential_version,
                            status: s.status,
                        });
                        subsystems.push(s);
                    }
                    let services = self.exchange_services().await?;
                    let grants = self.exchange_grants(None, false).await?;
                    let rows = sqlx::query("SELECT * FROM exchange_limits ORDER BY client_id, service_id, window_kind")
                        .fetch_all(self.read_pool())
                        .await?;
                    let limits = rows.iter().map(limit_from_row).collect::<Result<Vec<_>>>()?;
                    Ok(RegistrySnapshot { version, members, subsystems, credentials, services, grants, limits })
                }

                async fn claim_quota(&self, key: &str, window_start: DateTime<Utc>, want: i64) -> Result<i64> {
                    let mut tx = self.begin_write().await?;
                    let used: i64 = sqlx::query_scalar(
                        "INSERT INTO exchange_quota_counters (limit_key, window_start, used) VALUES ($1, $2, $3)
                         ON CONFLICT (limit_key, window_start) DO UPDATE SET used = exchange_quota_counters.used + excluded.used
                         RETURNING used",
                    )
                    .bind(key)
                    .bind(window_start)
                    .bind(want)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(used)
                }

                async fn log_head(&self, node: &str) -> Result<Option<(i64, i64, Vec<u8>)>> {
                    let row = sqlx::query(
                        "SELECT last_seq, batch, head FROM exchange_log_batches WHERE node = $1 ORDER BY batch DESC LIMIT 1",
                    )
                    .bind(node)
                    .fetch_optional(self.read_pool())
                    .await?;
                    row.map(|r| Ok((r.try_get("last_seq")?, r.try_get("batch")?, r.try_get("head")?))).transpose()
                }

                async fn append_log_batch(&self, b: &LogBatch) -> Result<()> {
                    let conflict = |e| taken(e, "số lô hoặc số bản ghi nhật ký đã dùng");
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO exchange_log_batches (node, batch, first_seq, last_seq, head, statement, signature, sealed_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&b.node)
                    .bind(b.batch)
                    .bind(b.first_seq)
                    .bind(b.last_seq)
                    .bind(&b.head)
                    .bind(&b.statement)
                    .bind(&b.signature)
                    .bind(b.sealed_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(conflict)?;
                    for chunk in b.records.chunks(100) {
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO exchange_log (node, seq, batch, at, message_id, client_id, service_id, status, record, digest, bodies) ",
                        );
                        q.push_values(chunk, |mut row, r| {
                            row.push_bind(&r.node)
                                .push_bind(r.seq)
                                .push_bind(r.batch)
                                .push_bind(r.at)
                                .push_bind(&r.message_id)
                                .push_bind(&r.client)
                                .push_bind(&r.service)
                                .push_bind(r.status)
                                .push_bind(&r.record)
                                .push_bind(&r.digest)
                                .push_bind(&r.bodies);
                        });
                        q.build().execute(&mut *tx).await.map_err(conflict)?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn log_rows(&self, message_id: &str) -> Result<Vec<LogRow>> {
                    let rows = sqlx::query("SELECT * FROM exchange_log WHERE message_id = $1 ORDER BY at, node, seq")
                        .bind(message_id)
                        .fetch_all(self.read_pool())
                        .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(LogRow {
                                node: r.try_get("node")?,
                                seq: r.try_get("seq")?,
                                batch: r.try_get("batch")?,
                                at: r.try_get("at")?,
                                message_id: r.try_get("message_id")?,
                                client: r.try_get("client_id")?,
                                service: r.try_get("service_id")?,
                                status: r.try_get("status")?,
                                record: r.try_get("record")?,
                                digest: r.try_get("digest")?,
                                bodies: r.try_get("bodies")?,
                            })
                        })
                        .collect()
                }

                async fn log_batch(&self, node: &str, batch: i64) -> Result<Option<LogBatch>> {
                    let row = sqlx::query("SELECT * FROM exchange_log_batches WHERE node = $1 AND batch = $2")
                        .bind(node)
                        .bind(batch)
                        .fetch_optional(self.read_pool())
                        .await?;
                    row.map(|r| {
                        Ok(LogBatch {
                            node: r.try_get("node")?,
                            batch: r.try_get("batch")?,
                            first_seq: r.try_get("first_seq")?,
                            last_seq: r.try_get("last_seq")?,
                            head: r.try_get("head")?,
                            statement: r.try_get("statement")?,
                            signature: r.try_get("signature")?,
                            sealed_at: r.try_get("sealed_at")?,
                            records: Vec::new(),
                        })
                    })
                    .transpose()
                }

                async fn log_digests(&self, node: &str, from: i64, to: i64) -> Result<Vec<Vec<u8>>> {
                    Ok(sqlx::query_scalar(
                        "SELECT digest FROM exchange_log WHERE node = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
                    )
                    .bind(node)
                    .bind(from)
                    .bind(to)
                    .fetch_all(self.read_pool())
                    .await?)
                }

                async fn forget_log_bodies_before(&self, before: DateTime<Utc>) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let n = sqlx::query("UPDATE exchange_log SET bodies = NULL WHERE bodies IS NOT NULL AND at < $1")
                        .bind(before)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(n)
                }

                async fn delete_log_before(&self, before: DateTime<Utc>) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let n = sqlx::query(
                        "DELETE FROM exchange_log WHERE EXISTS (SELECT 1 FROM exchange_log_batches b
                             WHERE b.node = exchange_log.node AND b.batch = exchange_log.batch AND b.sealed_at < $1
                               AND b.batch < (SELECT MAX(m.batch) FROM exchange_log_batches m WHERE m.node = b.node))",
                    )
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    // Each node's last batch stays: it carries the chain head the next batch links to.
                    sqlx::query(
                        "DELETE FROM exchange_log_batches WHERE sealed_at < $1
                           AND batch < (SELECT MAX(m.batch) FROM exchange_log_batches m WHERE m.node = exchange_log_batches.node)",
                    )
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "DELETE FROM exchange_log_stamps WHERE NOT EXISTS (SELECT 1 FROM exchange_log_batches b
                           WHERE b.node = exchange_log_stamps.node
                             AND b.batch >= exchange_log_stamps.first_batch AND b.batch <= exchange_log_stamps.last_batch)",
                    )
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(n)
                }

                async fn log_unstamped(&self, node: &str, limit: i64) -> Result<Vec<(i64, String)>> {
                    let rows = sqlx::query(
                        "SELECT batch, statement FROM exchange_log_batches
                         WHERE node = $1 AND batch > COALESCE((SELECT MAX(last_batch) FROM exchange_log_stamps WHERE node = $1), 0)
                         ORDER BY batch LIMIT $2",
                    )
                    .bind(node)
                    .bind(limit)
                    .fetch_all(self.read_pool())
                    .await?;
                    rows.iter().map(|r| Ok((r.try_get("batch")?, r.try_get("statement")?))).collect()
                }

                async fn add_log_stamp(&self, s: &LogStamp) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO exchange_log_stamps (node, first_batch, last_batch, leaves, root, token, tsa, stamped_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&s.node)
                    .bind(s.first_batch)
                    .bind(s.last_batch)
                    .bind(&s.leaves)
                    .bind(&s.root)
                    .bind(&s.token)
                    .bind(&s.tsa)
                    .bind(s.stamped_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| taken(e, "lô này đã được gắn dấu thời gian"))?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn log_stamp(&self, node: &str, batch: i64) -> Result<Option<LogStamp>> {
                    let row = sqlx::query(
                        "SELECT * FROM exchange_log_stamps WHERE node = $1 AND first_batch <= $2 AND last_batch >= $2
                         ORDER BY first_batch DESC LIMIT 1",
                    )
                    .bind(node)
                    .bind(batch)
                    .fetch_optional(self.read_pool())
                    .await?;
                    row.map(|r| {
                        Ok(LogStamp {
                            node: r.try_get("node")?,
                            first_batch: r.try_get("first_batch")?,
                            last_batch: r.try_get("last_batch")?,
                            leaves: r.try_get("leaves")?,
                            root: r.try_get("root")?,
                            token: r.try_get("token")?,
                            tsa: r.try_get("tsa")?,
                            stamped_at: r.try_get("stamped_at")?,
                        })
                    })
                    .transpose()
                }

                async fn init_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<String> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key)
                    .bind(value)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    let v: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(v)
                }
            }
        }
    };
}

pub(crate) use impl_exchange;
