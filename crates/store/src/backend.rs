//! The store implementation shared by both backends. SQLite accepts PostgreSQL's `$1` placeholder
//! style and both speak `ON CONFLICT ... DO UPDATE` and `RETURNING`, so one SQL text serves both;
//! the macro stamps the code out once per sqlx database type. A backend only supplies how it
//! connects, which pools serve reads and writes, and how a write transaction begins.
//!
//! Submissions without an idempotency key go through a group-commit queue: concurrent ones are
//! written together in one transaction with multi-row inserts. On SQLite the single writer's
//! per-statement cost limits the rate; on PostgreSQL the daily counter's row lock, held until
//! each commit, does. A failed batch is retried item by item, so one bad submission never takes
//! others down with it. Submissions with a key are written alone, because a retry must find the
//! first one's stored receipt.

/// Most submissions written in one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// Drops LIKE's wildcards from search text: names and dossier codes never contain them, and a
/// pattern without them (and without an ESCAPE clause) keeps SQLite's LIKE on its fast path.
pub(crate) fn strip_wildcards(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '%' | '_' | '\\')).collect()
}

/// Maps a decode or enum-parse failure to a store error naming the column.
pub(crate) fn corrupt(what: &str) -> crate::StoreError {
    crate::StoreError::Corrupt(what.to_owned())
}

macro_rules! impl_store {
    ($store:ty, $db:ty, $name:literal, $begin:ident) => {
        use chrono::{DateTime, Utc};
        use cqs_domain::auth::{Role, RoleGrant, Scope};
        use cqs_domain::catalog::{Field, ProcedureSpec, ProcedureVersion, VersionStatus};
        use cqs_domain::dossier::{
            Actor, ActorKind, Applicant, Attachment, Channel, Dossier, DossierState, HistoryEntry,
        };
        use cqs_domain::ids::{AgencyCode, DossierCode, ProcedureCode};
        use cqs_domain::org::{OrgUnit, OrgUnitKind, OrgUnitSpec};
        use sqlx::types::Json;
        use sqlx::Row;
        use uuid::Uuid;

        use crate::backend::{corrupt, strip_wildcards};
        use crate::model::*;
        use crate::{Result, StoreError};

        type DbRow = <$db as sqlx::Database>::Row;

        fn org_unit_from_row(r: &DbRow) -> Result<OrgUnit> {
            Ok(OrgUnit {
                id: r.try_get("id")?,
                code: AgencyCode::parse(r.try_get::<&str, _>("code")?).map_err(|_| corrupt("org_units.code"))?,
                name: r.try_get("name")?,
                short_name: r.try_get("short_name")?,
                kind: OrgUnitKind::parse(r.try_get::<&str, _>("kind")?).ok_or_else(|| corrupt("org_units.kind"))?,
                parent_id: r.try_get("parent_id")?,
                valid_from: r.try_get("valid_from")?,
                valid_to: r.try_get("valid_to")?,
                successor_id: r.try_get("successor_id")?,
                address: r.try_get("address")?,
                phone: r.try_get("phone")?,
            })
        }

        fn version_from_row(r: &DbRow) -> Result<ProcedureVersion> {
            let status = match r.try_get::<&str, _>("status")? {
                "draft" => VersionStatus::Draft,
                "published" => VersionStatus::Published,
                _ => return Err(corrupt("procedure_versions.status")),
            };
            Ok(ProcedureVersion {
                id: r.try_get("id")?,
                version: r.try_get("version")?,
                status,
                spec: r.try_get::<Json<ProcedureSpec>, _>("spec")?.0,
                created_at: r.try_get("created_at")?,
                published_at: r.try_get("published_at")?,
            })
        }

        fn state_col(r: &DbRow, col: &str) -> Result<DossierState> {
            DossierState::parse(r.try_get::<&str, _>(col)?).ok_or_else(|| corrupt("dossier state"))
        }

        fn dossier_from_row(r: &DbRow) -> Result<Dossier> {
            Ok(Dossier {
                id: r.try_get("id")?,
                code: DossierCode::parse(r.try_get::<&str, _>("code")?).map_err(|_| corrupt("dossiers.code"))?,
                procedure_id: r.try_get("procedure_version_id")?,
                procedure_code: ProcedureCode::parse(r.try_get::<&str, _>("procedure_code")?)
                    .map_err(|_| corrupt("dossiers.procedure_code"))?,
                procedure_version: r.try_get("procedure_version")?,
                receiving_unit_id: r.try_get("receiving_unit_id")?,
                state: state_col(r, "state")?,
                channel: Channel::parse(r.try_get::<&str, _>("channel")?).ok_or_else(|| corrupt("dossiers.channel"))?,
                applicant: r.try_get::<Json<Applicant>, _>("applicant")?.0,
                form_data: r.try_get::<Json<serde_json::Value>, _>("form_data")?.0,
                received_at: r.try_get("received_at")?,
                due_at: r.try_get("due_at")?,
                submitted_by_client: r.try_get("submitted_by_client")?,
                owner_account_id: r.try_get("owner_account_id")?,
                updated_at: r.try_get("updated_at")?,
                version: r.try_get("version")?,
                current_step: r.try_get("current_step")?,
                original_due_at: r.try_get("original_due_at")?,
                paused_at: r.try_get("paused_at")?,
                resume_state: r
                    .try_get::<Option<&str>, _>("resume_state")?
                    .map(|s| DossierState::parse(s).ok_or_else(|| corrupt("dossiers.resume_state")))
                    .transpose()?,
            })
        }

        /// One dossier of a list (an inbox, a citizen's own dossiers).
        fn inbox_item_from_row(r: &DbRow) -> Result<InboxItem> {
            Ok(InboxItem {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                state: state_col(r, "state")?,
                procedure_code: r.try_get("procedure_code")?,
                procedure_name: r.try_get("procedure_name")?,
                applicant_name: r.try_get::<Json<Applicant>, _>("applicant")?.0.name,
                received_at: r.try_get("received_at")?,
                due_at: r.try_get("due_at")?,
                paused_at: r.try_get("paused_at")?,
                due_sort: r.try_get("due_sort")?,
                version: r.try_get("version")?,
            })
        }

        /// A dossier accepted at the counter starts at the first step of its process.
        fn initial_step(state: DossierState) -> Option<i32> {
            (state == DossierState::Accepted).then_some(0)
        }

        fn actor_kind_str(k: ActorKind) -> &'static str {
            match k {
                ActorKind::Staff => "staff",
                ActorKind::Client => "client",
                ActorKind::Citizen => "citizen",
                ActorKind::System => "system",
            }
        }

        fn actor_kind_parse(s: &str) -> Result<ActorKind> {
            Ok(match s {
                "staff" => ActorKind::Staff,
                "client" => ActorKind::Client,
                "citizen" => ActorKind::Citizen,
                "system" => ActorKind::System,
                _ => return Err(corrupt("dossier_history.actor_kind")),
            })
        }

        fn is_unique_violation(e: &sqlx::Error) -> bool {
            matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
        }

        async fn grants_of(conn: &mut <$db as sqlx::Database>::Connection, user_id: Uuid) -> Result<Vec<RoleGrant>> {
            let rows = sqlx::query("SELECT role, org_unit_id FROM user_roles WHERE user_id = $1 ORDER BY role")
                .bind(user_id)
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(RoleGrant {
                        role: Role::parse(r.try_get::<&str, _>("role")?).ok_or_else(|| corrupt("user_roles.role"))?,
                        org_unit_id: r.try_get("org_unit_id")?,
                    })
                })
                .collect()
        }


        fn api_key_from_row(r: &DbRow) -> Result<ApiKeyRecord> {
            Ok(ApiKeyRecord {
                key: NewApiKey {
                    id: r.try_get("id")?,
                    prefix: r.try_get("prefix")?,
                    secret_hash: r.try_get("secret_hash")?,
                    name: r.try_get("name")?,
                    user_id: r.try_get("user_id")?,
                    scopes: r.try_get::<Json<Vec<Scope>>, _>("scopes")?.0,
                    org_unit_id: r.try_get("org_unit_id")?,
                    created_at: r.try_get("created_at")?,
                },
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
                previous_secret_hash: r.try_get("previous_secret_hash")?,
                previous_valid_until: r.try_get("previous_valid_until")?,
                rotated_at: r.try_get("rotated_at")?,
            })
        }

        /// Writes one dossier inside `tx` (the caller commits, or rolls back a replay).
        pub(crate) async fn create_one(
            tx: &mut sqlx::Transaction<'static, $db>,
            new: &NewDossier,
        ) -> Result<CreateOutcome> {
            if let Some(idem) = &new.idempotency {
                let fresh = sqlx::query(
                    "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (scope, key) DO NOTHING",
                )
                .bind(&idem.scope)
                .bind(&idem.key)
                .bind(&idem.request_hash)
                .bind(new.received_at)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1;
                if !fresh {
                    let r = sqlx::query("SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND key = $2")
                        .bind(&idem.scope)
                        .bind(&idem.key)
                        .fetch_one(&mut **tx)
                        .await?;
                    if r.try_get::<&str, _>("request_hash")? != idem.request_hash {
                        return Err(StoreError::IdempotencyMismatch);
                    }
                    let receipt = r
                        .try_get::<Option<Json<SubmissionReceipt>>, _>("response")?
                        .ok_or_else(|| corrupt("idempotency_keys.response"))?;
                    return Ok(CreateOutcome::Replayed(receipt.0));
                }
            }
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO dossier_counters (unit_code, day, last) VALUES ($1, $2, 1)
                 ON CONFLICT (unit_code, day) DO UPDATE SET last = dossier_counters.last + 1
                 RETURNING last",
            )
            .bind(new.receiving_unit_code.as_str())
            .bind(new.local_day)
            .fetch_one(&mut **tx)
            .await?;
            let seq = u32::try_from(seq).map_err(|_| StoreError::DailySequenceExhausted)?;
            let code = DossierCode::new(&new.receiving_unit_code, new.local_day, seq)
                .map_err(|_| StoreError::DailySequenceExhausted)?;
            let state = new.channel.initial_state();
            sqlx::query(
                "INSERT INTO dossiers (id, code, procedure_version_id, procedure_code, procedure_version, procedure_name,
                   receiving_unit_id, state, channel, applicant, applicant_identity, applicant_search, form_data,
                   received_at, due_at, submitted_by_client, updated_at, version, current_step, holder_unit_id, holder_role, due_sort, owner_account_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $19, $20, $21, $22)",
            )
            .bind(new.id)
            .bind(code.as_str())
            .bind(new.procedure_version_id)
            .bind(&new.procedure_code)
            .bind(new.procedure_version)
            .bind(&new.procedure_name)
            .bind(new.receiving_unit_id)
            .bind(state.as_str())
            .bind(new.channel.as_str())
            .bind(Json(&new.applicant))
            .bind(&new.applicant.identity_number)
            .bind(cqs_domain::text::fold(&new.applicant.name))
            .bind(Json(&new.form_data))
            .bind(new.received_at)
            .bind(new.due_at)
            .bind(new.submitted_by_client)
            .bind(new.received_at)
            .bind(initial_step(state))
            .bind(new.holder.map(|h| h.0))
            .bind(new.holder.map(|h| h.1.as_str()))
            .bind(cqs_domain::workflow::due_sort(new.due_at))
            .bind(new.owner_account)
            .execute(&mut **tx)
            .await?;
            if let Some((unit, role)) = new.holder {
                let name = cqs_domain::text::fold(&new.applicant.name);
                index_words(tx, &[(new.id, unit, role.as_str(), name.as_str())]).await?;
            }
            for a in &new.attachments {
                sqlx::query(
                    "INSERT INTO dossier_attachments (id, dossier_id, component, file_name, content_type, size, sha256, storage_key, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(a.id)
                .bind(new.id)
                .bind(&a.component)
                .bind(&a.file_name)
                .bind(&a.content_type)
                .bind(a.size)
                .bind(&a.sha256)
                .bind(&a.storage_key)
                .bind(new.received_at)
                .execute(&mut **tx)
                .await?;
            }
            for (component, document) in &new.reused {
                sqlx::query("INSERT INTO dossier_reuses (dossier_id, component, document_id) VALUES ($1, $2, $3)")
                    .bind(new.id)
                    .bind(component)
                    .bind(document)
                    .execute(&mut **tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO dossier_history (dossier_id, seq, at, actor_kind, actor_id, org_unit_id, action, from_state, to_state, note, step, due_at)
                 VALUES ($1, 1, $2, $3, $4, $5, 'submit', NULL, $6, $7, $8, $9)",
            )
            .bind(new.id)
            .bind(new.received_at)
            .bind(actor_kind_str(new.actor.kind))
            .bind(new.actor.id)
            .bind(new.actor_unit_id)
            .bind(state.as_str())
            .bind(&new.note)
            .bind(initial_step(state))
            .bind(new.due_at)
            .execute(&mut **tx)
            .await?;
            let receipt = SubmissionReceipt {
                id: new.id,
                code: code.as_str().to_owned(),
                state,
                procedure_code: new.procedure_code.clone(),
                procedure_version: new.procedure_version,
                received_at: new.received_at,
                due_at: new.due_at,
            };
            let payload = submitted_event(new, &receipt);
            sqlx::query(
                "INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at) VALUES ($1, 'dossier.submitted', $2, $3, $4)",
            )
            .bind(Uuid::now_v7())
            .bind(new.id)
            .bind(Json(&payload))
            .bind(new.received_at)
            .execute(&mut **tx)
            .await?;
            if let Some(idem) = &new.idempotency {
                sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE scope = $2 AND key = $3")
                    .bind(Json(&receipt))
                    .bind(&idem.scope)
                    .bind(&idem.key)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(CreateOutcome::Created(receipt))
        }

        /// Writes several dossiers without idempotency keys inside `tx` with one counter update
        /// per unit and day and one multi-row insert per table: the group-commit path. Any error
        /// leaves `tx` to be rolled back, and the caller retries the items one by one.
        pub(crate) async fn create_many(
            tx: &mut sqlx::Transaction<'static, $db>,
            items: &[NewDossier],
        ) -> Result<Vec<SubmissionReceipt>> {
            use std::collections::BTreeMap;
            let mut wanted: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
            for n in items {
                *wanted.entry((n.receiving_unit_code.as_str().to_owned(), n.local_day)).or_default() += 1;
            }
            let mut next: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
            for ((unit, day), k) in &wanted {
                let last: i64 = sqlx::query_scalar(
                    "INSERT INTO dossier_counters (unit_code, day, last) VALUES ($1, $2, $3)
                     ON CONFLICT (unit_code, day) DO UPDATE SET last = dossier_counters.last + excluded.last
                     RETURNING last",
                )
                .bind(unit)
                .bind(*day)
                .bind(*k)
                .fetch_one(&mut **tx)
                .await?;
                next.insert((unit.clone(), *day), last - k + 1);
            }
            let mut receipts = Vec::with_capacity(items.len());
            for n in items {
                let slot = next.get_mut(&(n.receiving_unit_code.as_str().to_owned(), n.local_day)).expect("counted above");
                let seq = u32::try_from(*slot).map_err(|_| StoreError::DailySequenceExhausted)?;
                *slot += 1;
                let code = DossierCode::new(&n.receiving_unit_code, n.local_day, seq)
                    .map_err(|_| StoreError::DailySequenceExhausted)?;
                receipts.push(SubmissionReceipt {
                    id: n.id,
                    code: code.as_str().to_owned(),
                    state: n.channel.initial_state(),
                    procedure_code: n.procedure_code.clone(),
                    procedure_version: n.procedure_version,
                    received_at: n.received_at,
                    due_at: n.due_at,
                });
            }
            let pairs: Vec<(&NewDossier, &SubmissionReceipt)> = items.iter().zip(&receipts).collect();
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO dossiers (id, code, procedure_version_id, procedure_code, procedure_version, procedure_name,
                   receiving_unit_id, state, channel, applicant, applicant_identity, applicant_search, form_data,
                   received_at, due_at, submitted_by_client, updated_at, version, current_step, holder_unit_id, holder_role, due_sort, owner_account_id) ",
            );
            q.push_values(&pairs, |mut b, (n, r)| {
                b.push_bind(n.id)
                    .push_bind(r.code.clone())
                    .push_bind(n.procedure_version_id)
                    .push_bind(n.procedure_code.clone())
                    .push_bind(n.procedure_version)
                    .push_bind(n.procedure_name.clone())
                    .push_bind(n.receiving_unit_id)
                    .push_bind(r.state.as_str())
                    .push_bind(n.channel.as_str())
                    .push_bind(Json(n.applicant.clone()))
                    .push_bind(n.applicant.identity_number.clone())
                    .push_bind(cqs_domain::text::fold(&n.applicant.name))
                    .push_bind(Json(n.form_data.clone()))
                    .push_bind(n.received_at)
                    .push_bind(n.due_at)
                    .push_bind(n.submitted_by_client)
                    .push_bind(n.received_at)
                    .push_bind(1i32)
                    .push_bind(initial_step(r.state))
                    .push_bind(n.holder.map(|h| h.0))
                    .push_bind(n.holder.map(|h| h.1.as_str()))
                    .push_bind(cqs_domain::workflow::due_sort(n.due_at))
                    .push_bind(n.owner_account);
            });
            q.build().execute(&mut **tx).await?;
            let names: Vec<(Uuid, Uuid, &'static str, String)> = items
                .iter()
                .filter_map(|n| n.holder.map(|(u, r)| (n.id, u, r.as_str(), cqs_domain::text::fold(&n.applicant.name))))
                .collect();
            let words: Vec<(Uuid, Uuid, &str, &str)> =
                names.iter().map(|(id, u, r, name)| (*id, *u, *r, name.as_str())).collect();
            index_words(tx, &words).await?;
            let files: Vec<(&NewDossier, &NewAttachment)> =
                items.iter().flat_map(|n| n.attachments.iter().map(move |a| (n, a))).collect();
            if !files.is_empty() {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO dossier_attachments (id, dossier_id, component, file_name, content_type, size, sha256, storage_key, created_at) ",
                );
                q.push_values(&files, |mut b, (n, a)| {
                    b.push_bind(a.id)
                        .push_bind(n.id)
                        .push_bind(a.component.clone())
                        .push_bind(a.file_name.clone())
                        .push_bind(a.content_type.clone())
                        .push_bind(a.size)
                        .push_bind(a.sha256.clone())
                        .push_bind(a.storage_key.clone())
                        .push_bind(n.received_at);
                });
                q.build().execute(&mut **tx).await?;
            }
            let reuses: Vec<(Uuid, &String, Uuid)> =
                items.iter().flat_map(|n| n.reused.iter().map(move |(c, d)| (n.id, c, *d))).collect();
            if !reuses.is_empty() {
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO dossier_reuses (dossier_id, component, document_id) ");
                q.push_values(&reuses, |mut b, (id, c, d)| {
                    b.push_bind(*id).push_bind((*c).clone()).push_bind(*d);
                });
                q.build().execute(&mut **tx).await?;
            }
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO dossier_history (dossier_id, seq, at, actor_kind, actor_id, org_unit_id, action, from_state, to_state, note, step, due_at) ",
            );
            q.push_values(&pairs, |mut b, (n, r)| {
                b.push_bind(n.id)
                    .push_bind(1i32)
                    .push_bind(n.received_at)
                    .push_bind(actor_kind_str(n.actor.kind))
                    .push_bind(n.actor.id)
                    .push_bind(n.actor_unit_id)
                    .push_bind("submit")
                    .push_bind(None::<String>)
                    .push_bind(r.state.as_str())
                    .push_bind(None::<String>)
                    .push_bind(initial_step(r.state))
                    .push_bind(n.due_at);
            });
            q.build().execute(&mut **tx).await?;
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at) ",
            );
            q.push_values(&pairs, |mut b, (n, r)| {
                b.push_bind(Uuid::now_v7())
                    .push_bind("dossier.submitted")
                    .push_bind(n.id)
                    .push_bind(Json(submitted_event(n, r)))
                    .push_bind(n.received_at);
            });
            q.build().execute(&mut **tx).await?;
            Ok(receipts)
        }

        /// The outbox payload of a new dossier: identifiers and dates, no personal data.
        fn submitted_event(n: &NewDossier, r: &SubmissionReceipt) -> serde_json::Value {
            serde_json::json!({
                "dossier_id": n.id,
                "code": r.code,
                "procedure_code": n.procedure_code,
                "procedure_version": n.procedure_version,
                "receiving_unit_id": n.receiving_unit_id,
                "channel": n.channel,
                "state": r.state,
                "received_at": n.received_at,
                "due_at": n.due_at,
            })
        }

        type Job = (NewDossier, tokio::sync::oneshot::Sender<Result<CreateOutcome>>);
        /// The sending end of the group-commit queue.
        pub(crate) type Batches = tokio::sync::mpsc::Sender<Job>;

        /// Starts the group-commit loop on `pool`; it ends when the store is dropped.
        pub(crate) fn spawn_batcher(pool: sqlx::Pool<$db>) -> Batches {
            let (tx, rx) = tokio::sync::mpsc::channel(4 * crate::backend::MAX_BATCH);
            tokio::spawn(run_batches(pool, rx));
            tx
        }

        async fn write_one(pool: &sqlx::Pool<$db>, new: &NewDossier) -> Result<CreateOutcome> {
            let mut tx = $begin(pool).await?;
            let out = create_one(&mut tx, new).await?;
            match out {
                CreateOutcome::Created(_) => tx.commit().await?,
                CreateOutcome::Replayed(_) => tx.rollback().await?,
            }
            Ok(out)
        }

        async fn write_many(pool: &sqlx::Pool<$db>, items: &[NewDossier]) -> Result<Vec<SubmissionReceipt>> {
            let mut tx = $begin(pool).await?;
            let receipts = create_many(&mut tx, items).await?;
            tx.commit().await?;
            Ok(receipts)
        }

        /// Takes whatever is queued (up to `MAX_BATCH`) and writes it in one transaction.
        async fn run_batches(pool: sqlx::Pool<$db>, mut rx: tokio::sync::mpsc::Receiver<Job>) {
            let mut jobs = Vec::with_capacity(crate::backend::MAX_BATCH);
            while rx.recv_many(&mut jobs, crate::backend::MAX_BATCH).await > 0 {
                let (items, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
                if items.len() > 1 {
                    match write_many(&pool, &items).await {
                        Ok(receipts) => {
                            for (r, reply) in receipts.into_iter().zip(replies) {
                                let _ = reply.send(Ok(CreateOutcome::Created(r)));
                            }
                            continue;
                        }
                        Err(e) => tracing::debug!(error = %e, size = items.len(), "batch failed, writing one by one"),
                    }
                }
                for (item, reply) in items.iter().zip(replies) {
                    let _ = reply.send(write_one(&pool, item).await);
                }
            }
        }

        impl $store {
            async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>> {
                $begin(self.write_pool()).await
            }

            async fn route_create(&self, new: &NewDossier) -> Result<CreateOutcome> {
                if new.idempotency.is_some() {
                    return write_one(self.write_pool(), new).await;
                }
                let (reply, answer) = tokio::sync::oneshot::channel();
                let stopped = || StoreError::Corrupt("hàng đợi ghi hồ sơ đã dừng".into());
                self.batches.send((new.clone(), reply)).await.map_err(|_| stopped())?;
                answer.await.map_err(|_| stopped())?
            }
        }

        const DOSSIER_COLUMNS: &str = "id, code, procedure_version_id, procedure_code, procedure_version, receiving_unit_id, state, channel, applicant, form_data, received_at, due_at, submitted_by_client, owner_account_id, updated_at, version, current_step, original_due_at, paused_at, resume_state";

        #[async_trait::async_trait]
        impl crate::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(self.read_pool()).await?;
                Ok(())
            }

            async fn upsert_org_units(&self, specs: &[OrgUnitSpec]) -> Result<usize> {
                let mut tx = self.begin_write().await?;
                for s in specs {
                    let parent: Option<Uuid> = match &s.parent {
                        Some(p) => Some(
                            sqlx::query_scalar("SELECT id FROM org_units WHERE code = $1")
                                .bind(p.as_str())
                                .fetch_optional(&mut *tx)
                                .await?
                                .ok_or(StoreError::NotFound("đơn vị cha"))?,
                        ),
                        None => None,
                    };
                    sqlx::query(
                        "INSERT INTO org_units (id, code, name, short_name, kind, parent_id, valid_from, valid_to, address, phone)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         ON CONFLICT (code) DO UPDATE SET name = excluded.name, short_name = excluded.short_name,
                           kind = excluded.kind, parent_id = excluded.parent_id, valid_from = excluded.valid_from,
                           valid_to = excluded.valid_to, address = excluded.address, phone = excluded.phone",
                    )
                    .bind(Uuid::now_v7())
                    .bind(s.code.as_str())
                    .bind(&s.name)
                    .bind(&s.short_name)
                    .bind(s.kind.as_str())
                    .bind(parent)
                    .bind(s.valid_from)
                    .bind(s.valid_to)
                    .bind(&s.address)
                    .bind(&s.phone)
                    .execute(&mut *tx)
                    .await?;
                }
                for s in specs {
                    let successor: Option<Uuid> = match &s.successor {
                        Some(c) => Some(
                            sqlx::query_scalar("SELECT id FROM org_units WHERE code = $1")
                                .bind(c.as_str())
                                .fetch_optional(&mut *tx)
                                .await?
                                .ok_or(StoreError::NotFound("đơn vị kế thừa"))?,
                        ),
                        None => None,
                    };
                    sqlx::query("UPDATE org_units SET successor_id = $1 WHERE code = $2")
                        .bind(successor)
                        .bind(s.code.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(specs.len())
            }

            async fn org_units(&self) -> Result<Vec<OrgUnit>> {
                let rows = sqlx::query("SELECT * FROM org_units ORDER BY code").fetch_all(self.read_pool()).await?;
                rows.iter().map(org_unit_from_row).collect()
            }

            async fn org_unit_by_code(&self, code: &str) -> Result<Option<OrgUnit>> {
                let row = sqlx::query("SELECT * FROM org_units WHERE code = $1")
                    .bind(code)
                    .fetch_optional(self.read_pool())
                    .await?;
                row.as_ref().map(org_unit_from_row).transpose()
            }

            async fn upsert_fields(&self, fields: &[Field]) -> Result<usize> {
                let mut tx = self.begin_write().await?;
                for f in fields {
                    sqlx::query("INSERT INTO fields (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = excluded.name")
                        .bind(&f.code)
                        .bind(&f.name)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(fields.len())
            }

            async fn fields(&self) -> Result<Vec<Field>> {
                let rows = sqlx::query("SELECT code, name FROM fields ORDER BY code").fetch_all(self.read_pool()).await?;
                rows.iter().map(|r| Ok(Field { code: r.try_get("code")?, name: r.try_get("name")? })).collect()
            }

            async fn add_procedure_versions(&self, specs: &[ProcedureSpec], publish: bool) -> Result<Vec<AddedVersion>> {
                let now = Utc::now();
                let mut out = Vec::with_capacity(specs.len());
                let mut tx = self.begin_write().await?;
                for spec in specs {
                    let code = spec.code.as_str();
                    let latest = sqlx::query(
                        "SELECT * FROM procedure_versions WHERE code = $1 ORDER BY version DESC LIMIT 1",
                    )
                    .bind(code)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let latest = latest.as_ref().map(version_from_row).transpose()?;
                    if let Some(v) = latest.as_ref().filter(|v| &v.spec == spec) {
                        if publish && v.status == VersionStatus::Draft {
                            sqlx::query("UPDATE procedure_versions SET status = 'published', published_at = $1 WHERE id = $2")
                                .bind(now)
                                .bind(v.id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        out.push(AddedVersion { code: code.to_owned(), version: v.version, created: false });
                        continue;
                    }
                    let version = latest.map_or(1, |v| v.version + 1);
                    sqlx::query(
                        "INSERT INTO procedure_versions (id, code, version, status, name, field, search_text, spec,
                           effective_from, effective_to, created_at, published_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(Uuid::now_v7())
                    .bind(code)
                    .bind(version)
                    .bind(if publish { "published" } else { "draft" })
                    .bind(&spec.name)
                    .bind(&spec.field)
                    .bind(spec.search_text())
                    .bind(Json(spec))
                    .bind(spec.effective_from)
                    .bind(spec.effective_to)
                    .bind(now)
                    .bind(publish.then_some(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            StoreError::Conflict(format!("thủ tục {code} vừa được cập nhật đồng thời"))
                        } else {
                            e.into()
                        }
                    })?;
                    out.push(AddedVersion { code: code.to_owned(), version, created: true });
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn publish_procedure_version(&self, code: &str, version: i32) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE procedure_versions SET status = 'published', published_at = $1
                     WHERE code = $2 AND version = $3 AND status = 'draft'",
                )
                .bind(Utc::now())
                .bind(code)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("phiên bản nháp của thủ tục"));
                }
                tx.commit().await?;
                Ok(())
            }

            async fn procedure_versions(&self, code: &str) -> Result<Vec<ProcedureVersion>> {
                let rows = sqlx::query("SELECT * FROM procedure_versions WHERE code = $1 ORDER BY version")
                    .bind(code)
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(version_from_row).collect()
            }

            async fn published_versions(&self) -> Result<Vec<ProcedureVersion>> {
                let rows = sqlx::query("SELECT * FROM procedure_versions WHERE status = 'published' ORDER BY code, version")
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(version_from_row).collect()
            }

            async fn all_procedure_versions(&self) -> Result<Vec<ProcedureVersion>> {
                let rows = sqlx::query("SELECT * FROM procedure_versions ORDER BY code, version")
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter().map(version_from_row).collect()
            }

            async fn create_user(&self, user: &NewUser) -> Result<User> {
                let id = Uuid::now_v7();
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO users (id, username, full_name, email, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(&user.username)
                .bind(&user.full_name)
                .bind(&user.email)
                .bind(false)
                .bind(Utc::now())
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("tên đăng nhập {} đã tồn tại", user.username))
                    } else {
                        e.into()
                    }
                })?;
                for g in &user.grants {
                    sqlx::query("INSERT INTO user_roles (user_id, role, org_unit_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(g.role.as_str())
                        .bind(g.org_unit_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(User {
                    id,
                    username: user.username.clone(),
                    full_name: user.full_name.clone(),
                    email: user.email.clone(),
                    disabled: false,
                    grants: user.grants.clone(),
                })
            }

            async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
                let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(self.read_pool())
                    .await?;
                match id {
                    Some(id) => self.user_by_id(id).await,
                    None => Ok(None),
                }
            }

            async fn user_by_id(&self, id: Uuid) -> Result<Option<User>> {
                let mut conn = self.read_pool().acquire().await?;
                let Some(r) = sqlx::query("SELECT * FROM users WHERE id = $1").bind(id).fetch_optional(&mut *conn).await? else {
                    return Ok(None);
                };
                Ok(Some(User {
                    id,
                    username: r.try_get("username")?,
                    full_name: r.try_get("full_name")?,
                    email: r.try_get("email")?,
                    disabled: r.try_get("disabled")?,
                    grants: grants_of(&mut conn, id).await?,
                }))
            }

            async fn users(&self) -> Result<Vec<User>> {
                let mut conn = self.read_pool().acquire().await?;
                let rows = sqlx::query("SELECT * FROM users ORDER BY username").fetch_all(&mut *conn).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let id: Uuid = r.try_get("id")?;
                    out.push(User {
                        id,
                        username: r.try_get("username")?,
                        full_name: r.try_get("full_name")?,
                        email: r.try_get("email")?,
                        disabled: r.try_get("disabled")?,
                        grants: grants_of(&mut conn, id).await?,
                    });
                }
                Ok(out)
            }

            async fn set_user_grants(&self, user_id: Uuid, grants: &[RoleGrant]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::NotFound("tài khoản cán bộ"));
                }
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                for g in grants {
                    sqlx::query("INSERT INTO user_roles (user_id, role, org_unit_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(user_id)
                        .bind(g.role.as_str())
                        .bind(g.org_unit_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_api_key(&self, key: &NewApiKey) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO api_keys (id, prefix, secret_hash, name, user_id, scopes, org_unit_id, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(key.id)
                .bind(&key.prefix)
                .bind(&key.secret_hash)
                .bind(&key.name)
                .bind(key.user_id)
                .bind(Json(&key.scopes))
                .bind(key.org_unit_id)
                .bind(key.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRecord>> {
                let row = sqlx::query("SELECT * FROM api_keys WHERE prefix = $1")
                    .bind(prefix)
                    .fetch_optional(self.read_pool())
                    .await?;
                row.as_ref().map(api_key_from_row).transpose()
            }

            async fn touch_api_key(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn api_key_named_exists(&self, name: &str) -> Result<bool> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE name = $1 AND revoked_at IS NULL")
                    .bind(name)
                    .fetch_one(self.read_pool())
                    .await?;
                Ok(n > 0)
            }

            async fn revoke_api_key(&self, prefix: &str, at: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE prefix = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(prefix)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_dossier(&self, new: &NewDossier) -> Result<CreateOutcome> {
                self.route_create(new).await
            }

            async fn apply_transition_answered(
                &self,
                t: &Transition,
                answer: Option<(&crate::HeldKey, &crate::StoredAnswer)>,
            ) -> Result<i32> {
                let mut tx = self.begin_write().await?;
                let p = &t.position;
                let updated: Option<String> = sqlx::query_scalar(
                    "UPDATE dossiers SET state = $1, current_step = $2, due_at = $3, original_due_at = $4,
                       paused_at = $5, resume_state = $6, updated_at = $7, version = version + 1,
                       holder_unit_id = $10, holder_role = $11, due_sort = $12
                     WHERE id = $8 AND version = $9
                     RETURNING applicant_search",
                )
                .bind(p.state.as_str())
                .bind(p.step.map(|s| s as i32))
                .bind(p.due_at)
                .bind(p.original_due_at)
                .bind(p.paused_at)
                .bind(p.resume_state.map(|s| s.as_str()))
                .bind(t.at)
                .bind(t.dossier_id)
                .bind(t.expected_version)
                .bind(t.holder.map(|h| h.0))
                .bind(t.holder.map(|h| h.1.as_str()))
                .bind(cqs_domain::workflow::due_sort(p.due_at))
                .fetch_optional(&mut *tx)
                .await?;
                let Some(name) = updated else {
                    return Err(StoreError::Conflict("hồ sơ vừa được người khác cập nhật".into()));
                };
                unindex_words(&mut tx, t.dossier_id).await?;
                if let Some((unit, role)) = t.holder {
                    index_words(&mut tx, &[(t.dossier_id, unit, role.as_str(), name.as_str())]).await?;
                }
                sqlx::query(
                    "INSERT INTO dossier_history (dossier_id, seq, at, actor_kind, actor_id, org_unit_id, action, from_state, to_state, note, step, due_at)
                     VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM dossier_history WHERE dossier_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(t.dossier_id)
                .bind(t.at)
                .bind(actor_kind_str(t.actor.kind))
                .bind(t.actor.id)
                .bind(t.actor_unit_id)
                .bind(&t.action)
                .bind(t.from_state.as_str())
                .bind(p.state.as_str())
                .bind(&t.note)
                .bind(p.step.map(|s| s as i32))
                .bind(p.due_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(Uuid::now_v7())
                    .bind(format!("dossier.{}", t.action))
                    .bind(t.dossier_id)
                    .bind(Json(serde_json::json!({
                        "dossier_id": t.dossier_id,
                        "code": t.code,
                        "action": t.action,
                        "from_state": t.from_state,
                        "state": p.state,
                        "due_at": p.due_at,
                        "at": t.at,
                    })))
                    .bind(t.at)
                    .execute(&mut *tx)
                    .await?;
                for a in &t.attachments {
                    sqlx::query(
                        "INSERT INTO dossier_attachments (id, dossier_id, component, file_name, content_type, size, sha256, storage_key, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(a.id)
                    .bind(t.dossier_id)
                    .bind(&a.component)
                    .bind(&a.file_name)
                    .bind(&a.content_type)
                    .bind(a.size)
                    .bind(&a.sha256)
                    .bind(&a.storage_key)
                    .bind(t.at)
                    .execute(&mut *tx)
                    .await?;
                }
                for doc in &t.issued {
                    sqlx::query(
                        "INSERT INTO issued_documents (id, dossier_id, kind, document_type, title, issuer_unit_id, file_name,
                           size, sha256, storage_key, signer_subject, signer_fingerprint, pades_level, signed_at,
                           timestamped_at, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                    )
                    .bind(doc.id)
                    .bind(t.dossier_id)
                    .bind(&doc.kind)
                    .bind(&doc.document_type)
                    .bind(&doc.title)
                    .bind(doc.issuer_unit_id)
                    .bind(&doc.file_name)
                    .bind(doc.size)
                    .bind(&doc.sha256)
                    .bind(&doc.storage_key)
                    .bind(&doc.signer_subject)
                    .bind(&doc.signer_fingerprint)
                    .bind(&doc.pades_level)
                    .bind(doc.signed_at)
                    .bind(doc.timestamped_at)
                    .bind(t.at)
                    .execute(&mut *tx)
                    .await?;
                    // A signed result goes to its applicant's document store (kho dữ liệu).
                    sqlx::query(
                        "INSERT INTO personal_documents (id, owner_identity, document_type, title, issuer, issuer_unit_id,
                           source, valid_from, valid_until, sha256, content_type, size, storage_key, dossier_id,
                           source_id, created_at)
                         SELECT $1, d.applicant_identity, $2, $3, u.name, u.id, 'result', $4, NULL, $5,
                           'application/pdf', $6, $7, d.id, $8, $9
                         FROM dossiers d, org_units u WHERE d.id = $10 AND u.id = $11",
                    )
                    .bind(Uuid::now_v7())
                    .bind(&doc.document_type)
                    .bind(&doc.title)
                    .bind(cqs_domain::dossier::local_date(doc.signed_at))
                    .bind(&doc.sha256)
                    .bind(doc.size)
                    .bind(&doc.storage_key)
                    .bind(doc.id)
                    .bind(t.at)
                    .bind(t.dossier_id)
                    .bind(doc.issuer_unit_id)
                    .execute(&mut *tx)
                    .await?;
                }
                // An apology answers the task the sweeper opened; a result or an end makes it moot.
                if t.action == "apologize_and_reschedule" || !cqs_domain::deadline::clock_runs(p.state) {
                    sqlx::query(
                        "UPDATE apology_tasks SET closed_at = $1, closed_by_action = $2 WHERE dossier_id = $3 AND closed_at IS NULL",
                    )
                    .bind(t.at)
                    .bind(&t.action)
                    .bind(t.dossier_id)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some((held, answer)) = answer {
                    record_answer_in(&mut tx, held, answer).await?;
                }
                tx.commit().await?;
                Ok(t.expected_version + 1)
            }

            async fn inbox(&self, q: &InboxQuery) -> Result<Vec<InboxItem>> {
                // A name search starts from its rarest word when one is rare in this unit (and
                // finds nothing at once when a word is absent); otherwise its matches are common
                // and the ordered scan below finds a page of them quickly.
                let driver = match &q.text {
                    Some(InboxText::Name(name)) => match choose_word_driver(self.read_pool(), q.unit_id, name).await? {
                        Some((_, 0)) => return Ok(Vec::new()),
                        found => found.map(|(d, _)| d),
                    },
                    _ => None,
                };
                // The page is chosen from the inbox index alone (every filter column is in it);
                // the wide rows are read only for the page itself.
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, code, state, procedure_code, procedure_name, applicant, received_at, due_at, paused_at, due_sort, version
                     FROM dossiers WHERE id IN (SELECT id FROM dossiers WHERE holder_unit_id = ",
                );
                b.push_bind(q.unit_id);
                if let Some(d) = &driver {
                    push_word_driver(&mut b, q.unit_id, d);
                }
                if let Some(roles) = &q.roles {
                    b.push(" AND holder_role IN (");
                    let mut list = b.separated(", ");
                    for r in roles {
                        list.push_bind(r.as_str());
                    }
                    list.push_unseparated(")");
                }
                if let Some(s) = q.state {
                    b.push(" AND state = ").push_bind(s.as_str());
                }
                if let Some(p) = &q.procedure_code {
                    b.push(" AND procedure_code = ").push_bind(p.clone());
                }
                if let Some(t) = q.received_from {
                    b.push(" AND received_at >= ").push_bind(t);
                }
                if let Some(t) = q.received_before {
                    b.push(" AND received_at < ").push_bind(t);
                }
                if let Some(now) = q.overdue_at {
                    b.push(" AND ((paused_at IS NULL AND due_sort < ").push_bind(now);
                    b.push(") OR (paused_at IS NOT NULL AND paused_at > due_at))");
                }
                if let Some((from, to)) = q.due_between {
                    b.push(" AND paused_at IS NULL AND due_sort >= ").push_bind(from);
                    b.push(" AND due_sort <= ").push_bind(to);
                }
                match &q.text {
                    Some(InboxText::Name(name)) => {
                        b.push(" AND (' ' || applicant_search) LIKE ").push_bind(name.like_pattern());
                    }
                    Some(InboxText::Code(code)) => {
                        b.push(" AND code = ").push_bind(code.clone());
                    }
                    Some(InboxText::CodePrefix(prefix)) => {
                        b.push(" AND code LIKE ").push_bind(format!("{}%", strip_wildcards(prefix)));
                    }
                    None => {}
                }
                if let Some((due, id)) = q.after {
                    b.push(" AND (due_sort > ").push_bind(due);
                    b.push(" OR (due_sort = ").push_bind(due);
                    b.push(" AND id > ").push_bind(id);
                    b.push("))");
                }
                b.push(" ORDER BY due_sort, id LIMIT ").push_bind(q.limit);
                b.push(") ORDER BY due_sort, id");
                let rows = b.build().fetch_all(self.read_pool()).await?;
                rows.iter().map(inbox_item_from_row).collect()
            }

            async fn reindex_inbox_words(&self) -> Result<usize> {
                self.reindex_words().await
            }

            async fn dossier_by_code(&self, code: &str) -> Result<Option<Dossier>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE code = $1")))
                    .bind(code)
                    .fetch_optional(self.read_pool())
                    .await?;
                row.as_ref().map(dossier_from_row).transpose()
            }

            async fn public_status(&self, code: &str) -> Result<Option<PublicStatus>> {
                let row = sqlx::query(
                    "SELECT code, state, procedure_code, procedure_name, received_at, due_at, paused_at FROM dossiers WHERE code = $1",
                )
                .bind(code)
                .fetch_optional(self.read_pool())
                .await?;
                row.map(|r| {
                    Ok(PublicStatus {
                        code: r.try_get("code")?,
                        state: state_col(&r, "state")?,
                        procedure_code: r.try_get("procedure_code")?,
                        procedure_name: r.try_get("procedure_name")?,
                        received_at: r.try_get("received_at")?,
                        due_at: r.try_get("due_at")?,
                        paused_at: r.try_get("paused_at")?,
                    })
                })
                .transpose()
            }

            async fn history(&self, dossier_id: Uuid) -> Result<Vec<HistoryEntry>> {
                let rows = sqlx::query("SELECT * FROM dossier_history WHERE dossier_id = $1 ORDER BY seq")
                    .bind(dossier_id)
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(HistoryEntry {
                            seq: r.try_get("seq")?,
                            at: r.try_get("at")?,
                            actor: Actor {
                                kind: actor_kind_parse(r.try_get::<&str, _>("actor_kind")?)?,
                                id: r.try_get("actor_id")?,
                            },
                            org_unit_id: r.try_get("org_unit_id")?,
                            action: r.try_get("action")?,
                            from_state: r
                                .try_get::<Option<&str>, _>("from_state")?
                                .map(|s| DossierState::parse(s).ok_or_else(|| corrupt("dossier_history.from_state")))
                                .transpose()?,
                            to_state: state_col(r, "to_state")?,
                            note: r.try_get("note")?,
                            step: r.try_get("step")?,
                            due_at: r.try_get("due_at")?,
                        })
                    })
                    .collect()
            }

            async fn attachments(&self, dossier_id: Uuid) -> Result<Vec<StoredAttachment>> {
                let rows = sqlx::query("SELECT * FROM dossier_attachments WHERE dossier_id = $1 ORDER BY component, created_at, id")
                    .bind(dossier_id)
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(StoredAttachment {
                            attachment: Attachment {
                                id: r.try_get("id")?,
                                component: r.try_get("component")?,
                                file_name: r.try_get("file_name")?,
                                content_type: r.try_get("content_type")?,
                                size: r.try_get("size")?,
                                sha256: r.try_get("sha256")?,
                                created_at: r.try_get("created_at")?,
                            },
                            storage_key: r.try_get("storage_key")?,
                        })
                    })
                    .collect()
            }

            async fn storage_key_exists(&self, key: &str) -> Result<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM dossier_attachments WHERE storage_key = $1)
                          + (SELECT COUNT(*) FROM issued_documents WHERE storage_key = $1)
                          + (SELECT COUNT(*) FROM submission_draft_files WHERE storage_key = $1)",
                )
                    .bind(key)
                    .fetch_one(self.read_pool())
                    .await?;
                Ok(n > 0)
            }

            async fn count_dossiers(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dossiers").fetch_one(self.read_pool()).await?)
            }

            async fn pending_events(&self, limit: i64) -> Result<Vec<OutboxEvent>> {
                let rows = sqlx::query("SELECT * FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(self.read_pool())
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(OutboxEvent {
                            id: r.try_get("id")?,
                            event_id: r.try_get("event_id")?,
                            topic: r.try_get("topic")?,
                            aggregate_id: r.try_get("aggregate_id")?,
                            payload: r.try_get::<Json<serde_json::Value>, _>("payload")?.0,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_store;
