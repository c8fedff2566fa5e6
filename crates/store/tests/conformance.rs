//! The store conformance suite: every test runs against SQLite and PostgreSQL.
//!
//! Databases come from `cqs_store::testing`: a temporary SQLite file, and a throw-away
//! PostgreSQL database per test from `CQS_TEST_POSTGRES_URL`.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use cqs_domain::auth::{Role, RoleGrant, Scope};
use cqs_domain::catalog::{ProcedureSpec, VersionStatus};
use cqs_domain::dossier::{Actor, ActorKind, Applicant, ApplicantKind, Channel, DossierState};
use cqs_domain::ids::{AgencyCode, IdentityKind};
use cqs_domain::org::{OrgUnitKind, OrgUnitSpec};
use cqs_store::*;
use serde_json::json;
use uuid::Uuid;

#[path = "conformance/exchange.rs"]
mod exchange;
use exchange::*;
#[path = "conformance/identity.rs"]
mod identity;
use identity::*;
#[path = "conformance/documents.rs"]
mod documents;
use documents::*;
#[path = "conformance/idempotency.rs"]
mod idempotency;
use idempotency::*;
#[path = "conformance/portal.rs"]
mod portal;
use portal::*;
#[path = "conformance/statistics.rs"]
mod statistics;
use statistics::*;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _dir) = cqs_store::testing::sqlite_store().await;
                super::$name(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = cqs_store::testing::postgres_store().await {
                    super::$name(store).await;
                }
            })*
        }
    };
}

/// Tests that need several nodes on one database.
macro_rules! conformance_nodes {
    ($($name:ident),* $(,)?) => {
        mod sqlite_nodes {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (nodes, _dir) = cqs_store::testing::sqlite_nodes(4).await;
                super::$name(nodes).await;
            })*
        }
        mod postgres_nodes {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(nodes) = cqs_store::testing::postgres_nodes(4).await {
                    super::$name(nodes).await;
                }
            })*
        }
    };
}

#[path = "conformance/cluster.rs"]
mod cluster;
use cluster::*;

conformance_nodes!(
    deadline_notices_are_sent_once_across_nodes,
    exchange_decisions_race_across_nodes,
    exchange_quota_claims_share_one_counter,
    sessions_are_shared_by_nodes,
    mfa_steps_are_claimed_once_across_nodes,
    two_admins_removing_each_other_leave_one,
    leases_are_exclusive_and_expire,
    state_counts_apply_each_event_once,
);

conformance!(
    exchange_stats_are_kept_per_node_and_minute,
    org_units_upsert_is_idempotent_and_links_tree,
    procedure_versions_are_numbered_and_deduplicated,
    dossier_creation_writes_history_outbox_and_code,
    idempotency_replays_first_receipt,
    concurrent_submissions_get_unique_sequential_codes,
    failed_creation_leaves_nothing_behind,
    users_and_api_keys,
    one_bad_submission_among_concurrent_ones_fails_alone,
    inbox_orders_by_due_date_and_pages_by_cursor,
    inbox_name_search_follows_the_holder,
    inbox_name_search_of_common_words_scans_in_due_order,
    deadline_candidates_skip_resolved_and_notified_dossiers,
    apology_tasks_close_on_apology_or_result,
    history_records_due_dates_and_settings_round_trip,
    exchange_registry_round_trips,
    exchange_grants_revoke_and_limits,
    exchange_access_requests_are_answered_once,
    exchange_log_batches_chain_and_expire,
    procedure_counts_rank_the_most_used,
    citizens_register_once_and_are_found_by_any_login,
    staff_passwords_are_stored_as_given_hashes,
    sessions_rotate_expire_and_revoke,
    citizens_list_only_their_own_dossiers,
    sign_in_failures_are_counted_per_key_and_forgotten,
    security_events_filter_and_page,
    outbox_is_relayed_and_purged,
    gauges_report_pools_and_overdue_dossiers,
    ended_sessions_and_old_failures_are_purged,
    mfa_is_confirmed_once_and_each_step_is_taken_once,
    one_time_codes_are_counted_superseded_and_spent_once,
    eid_sign_ins_are_taken_once_and_subjects_link_once,
    organizations_keep_an_admin_and_list_their_dossiers,
    api_keys_rotate_keeping_the_old_secret_for_a_while,
    register_lists_a_units_dossiers_of_a_period,
    issued_documents_commit_with_their_action,
    document_store_keeps_results_and_verified_components,
    idempotency_claims_are_exclusive_and_replay,
    transitions_write_their_answer_in_their_transaction,
    drafts_are_kept_per_account_and_procedure_and_purged,
    an_action_adds_its_files_in_its_transaction,
    ratings_are_given_once_with_their_event,
    unit_facts_cover_the_period,
    admin_lists_every_version_and_replaces_grants,
);

fn code(s: &str) -> AgencyCode {
    AgencyCode::parse(s).unwrap()
}

fn unit(c: &str, kind: OrgUnitKind, parent: Option<&str>) -> OrgUnitSpec {
    OrgUnitSpec {
        code: code(c),
        name: format!("Đơn vị {c}"),
        short_name: None,
        kind,
        parent: parent.map(code),
        valid_from: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
        valid_to: None,
        successor: None,
        address: Some("Số 1, đường Lê Lợi".into()),
        phone: None,
    }
}

fn spec(name: &str) -> ProcedureSpec {
    serde_json::from_value(json!({
        "code": "1.001193", "name": name, "field": "ho-tich", "summary": "Tóm tắt.", "applicants": "Công dân",
        "receiving_units": ["kind:commune"], "deciding_unit": "receiving", "online_level": "full",
        "deadline": {"kind": "working_hours", "hours": 8}, "fees": [],
        "components": [{"code": "to-khai", "name": "Tờ khai", "required": true, "file_types": ["pdf"], "originals": 1, "copies": 0, "document_type": "to-khai"}],
        "form_schema": {"type": "object", "properties": {"ho_ten": {"type": "string", "title": "Họ tên"}}},
        "result": {"name": "Giấy khai sinh", "document_type": "giay-khai-sinh"}, "return_channels": ["counter"],
        "legal_basis": ["Luật Hộ tịch 2014"],
        "process": [{"step": "intake", "unit": "receiving", "role": "desk_officer", "hours": 8}],
        "effective_from": "2025-07-01", "effective_to": null
    }))
    .unwrap()
}

pub(crate) struct Fixture {
    pub(crate) unit_id: Uuid,
    pub(crate) unit_code: AgencyCode,
    pub(crate) version_id: Uuid,
}

pub(crate) async fn fixture(store: &Arc<dyn Store>) -> Fixture {
    store
        .upsert_org_units(&[
            unit("000.00.00.H99", OrgUnitKind::ProvinceCommittee, None),
            unit("000.00.31.H99", OrgUnitKind::Commune, Some("000.00.00.H99")),
        ])
        .await
        .unwrap();
    store.add_procedure_versions(&[spec("Đăng ký khai sinh")], true).await.unwrap();
    let u = store.org_unit_by_code("000.00.31.H99").await.unwrap().unwrap();
    let v = store.procedure_versions("1.001193").await.unwrap().pop().unwrap();
    Fixture { unit_id: u.id, unit_code: u.code, version_id: v.id }
}

pub(crate) fn new_dossier(f: &Fixture, day: NaiveDate) -> NewDossier {
    let received_at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 30, 0).unwrap();
    NewDossier {
        id: Uuid::now_v7(),
        procedure_version_id: f.version_id,
        procedure_code: "1.001193".into(),
        procedure_version: 1,
        procedure_name: "Đăng ký khai sinh".into(),
        receiving_unit_id: f.unit_id,
        receiving_unit_code: f.unit_code.clone(),
        local_day: day,
        channel: Channel::Online,
        applicant: Applicant {
            kind: ApplicantKind::Person,
            identity_kind: IdentityKind::Citizen,
            identity_number: "001203004567".into(),
            name: "Trần Thị Bình".into(),
            phone: None,
            email: None,
            address: None,
        },
        form_data: json!({"ho_ten": "Bé Na"}),
        received_at,
        due_at: Some(received_at + chrono::Duration::hours(8)),
        submitted_by_client: None,
        owner_account: None,
        actor: Actor { kind: ActorKind::Client, id: Some(Uuid::now_v7()) },
        actor_unit_id: None,
        attachments: vec![],
        reused: vec![],
        idempotency: None,
        holder: Some((f.unit_id, Role::DeskOfficer)),
        note: None,
    }
}

pub(crate) fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn receipt(o: CreateOutcome) -> SubmissionReceipt {
    match o {
        CreateOutcome::Created(r) => r,
        CreateOutcome::Replayed(_) => panic!("expected a new dossier"),
    }
}

async fn org_units_upsert_is_idempotent_and_links_tree(store: Arc<dyn Store>) {
    let mut district = unit("000.00.90.H99", OrgUnitKind::District, Some("000.00.00.H99"));
    district.valid_from = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
    district.valid_to = NaiveDate::from_ymd_opt(2025, 6, 30);
    district.successor = Some(code("000.00.31.H99"));
    let specs = vec![
        unit("000.00.00.H99", OrgUnitKind::ProvinceCommittee, None),
        district,
        unit("000.00.31.H99", OrgUnitKind::Commune, Some("000.00.00.H99")),
    ];
    store.upsert_org_units(&specs).await.unwrap();
    store.upsert_org_units(&specs).await.unwrap();
    let units = store.org_units().await.unwrap();
    assert_eq!(units.len(), 3);
    let root = units.iter().find(|u| u.code.as_str() == "000.00.00.H99").unwrap();
    let old = units.iter().find(|u| u.kind == OrgUnitKind::District).unwrap();
    let commune = units.iter().find(|u| u.kind == OrgUnitKind::Commune).unwrap();
    assert_eq!(old.parent_id, Some(root.id));
    assert_eq!(old.successor_id, Some(commune.id));
    assert!(!old.is_valid_on(day()) && commune.is_valid_on(day()));
    let mut renamed = specs.clone();
    renamed[2].name = "UBND phường Hòa Bình".into();
    store.upsert_org_units(&renamed).await.unwrap();
    let again = store.org_unit_by_code("000.00.31.H99").await.unwrap().unwrap();
    assert_eq!(again.name, "UBND phường Hòa Bình");
    assert_eq!(again.id, commune.id, "an update keeps the unit's id");
    let mut orphan = unit("000.00.32.H99", OrgUnitKind::Commune, Some("000.00.77.H99"));
    orphan.name = "x".into();
    assert!(store.upsert_org_units(&[orphan]).await.is_err());
    assert_eq!(store.org_units().await.unwrap().len(), 3);
}

async fn procedure_versions_are_numbered_and_deduplicated(store: Arc<dyn Store>) {
    let first = store.add_procedure_versions(&[spec("Đăng ký khai sinh")], false).await.unwrap();
    assert_eq!(first, vec![AddedVersion { code: "1.001193".into(), version: 1, created: true }]);
    assert!(store.published_versions().await.unwrap().is_empty());
    let same = store.add_procedure_versions(&[spec("Đăng ký khai sinh")], true).await.unwrap();
    assert!(!same[0].created, "an identical spec adds no version");
    assert_eq!(store.published_versions().await.unwrap().len(), 1, "but publishing it publishes the draft");
    let changed = store.add_procedure_versions(&[spec("Đăng ký khai sinh (sửa đổi)")], false).await.unwrap();
    assert_eq!(changed[0].version, 2);
    store.publish_procedure_version("1.001193", 2).await.unwrap();
    assert!(matches!(store.publish_procedure_version("1.001193", 2).await, Err(StoreError::NotFound(_))));
    let versions = store.procedure_versions("1.001193").await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(versions[1].spec.name, "Đăng ký khai sinh (sửa đổi)");
    assert_eq!(store.published_versions().await.unwrap().len(), 2);
}

async fn admin_lists_every_version_and_replaces_grants(store: Arc<dyn Store>) {
    store.add_procedure_versions(&[spec("Đăng ký khai sinh")], true).await.unwrap();
    store.add_procedure_versions(&[spec("Đăng ký khai sinh (sửa đổi)")], false).await.unwrap();
    let all = store.all_procedure_versions().await.unwrap();
    assert_eq!(
        all.iter().map(|v| (v.version, v.status)).collect::<Vec<_>>(),
        vec![(1, VersionStatus::Published), (2, VersionStatus::Draft)],
        "drafts are listed with the published ones"
    );

    let f = fixture(&store).await;
    let desk = RoleGrant { role: Role::DeskOfficer, org_unit_id: f.unit_id };
    let b = store
        .create_user(&NewUser { username: "b.can.bo".into(), full_name: "B".into(), email: None, grants: vec![desk] })
        .await
        .unwrap();
    let a = store
        .create_user(&NewUser { username: "a.can.bo".into(), full_name: "A".into(), email: None, grants: vec![] })
        .await
        .unwrap();
    let names = |us: Vec<User>| us.into_iter().map(|u| (u.username, u.grants.len())).collect::<Vec<_>>();
    assert_eq!(names(store.users().await.unwrap()), vec![("a.can.bo".into(), 0), ("b.can.bo".into(), 1)]);
    let lead = RoleGrant { role: Role::Leader, org_unit_id: f.unit_id };
    store.set_user_grants(b.id, &[lead, lead]).await.unwrap();
    assert_eq!(store.user_by_id(b.id).await.unwrap().unwrap().grants, vec![lead], "replaced, duplicates once");
    store.set_user_grants(b.id, &[]).await.unwrap();
    assert!(store.user_by_id(b.id).await.unwrap().unwrap().grants.is_empty());
    assert!(store.user_by_id(a.id).await.unwrap().unwrap().grants.is_empty());
    assert!(matches!(store.set_user_grants(Uuid::now_v7(), &[lead]).await, Err(StoreError::NotFound(_))));
}

async fn dossier_creation_writes_history_outbox_and_code(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut new = new_dossier(&f, day());
    new.attachments.push(NewAttachment {
        id: Uuid::now_v7(),
        component: "to-khai".into(),
        file_name: "Tờ khai.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        storage_key: Uuid::now_v7().to_string(),
    });
    let r1 = receipt(store.create_dossier(&new).await.unwrap());
    assert_eq!(r1.code, "000.00.31.H99-261123-0001");
    assert_eq!(r1.state, DossierState::Submitted);
    let r2 = receipt(store.create_dossier(&new_dossier(&f, day())).await.unwrap());
    assert_eq!(r2.code, "000.00.31.H99-261123-0002");
    let next_day = receipt(store.create_dossier(&new_dossier(&f, day().succ_opt().unwrap())).await.unwrap());
    assert_eq!(next_day.code, "000.00.31.H99-261124-0001", "the counter restarts each day");

    let d = store.dossier_by_code(&r1.code).await.unwrap().unwrap();
    assert_eq!(d.id, new.id);
    assert_eq!(d.applicant.name, "Trần Thị Bình");
    assert_eq!(d.form_data, json!({"ho_ten": "Bé Na"}));
    assert_eq!(d.received_at, new.received_at);
    assert_eq!(d.due_at, new.due_at);
    assert_eq!(d.version, 1);
    let h = store.history(d.id).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].seq, h[0].from_state, h[0].to_state), (1, None, DossierState::Submitted));
    assert_eq!(h[0].actor, new.actor);
    let files = store.attachments(d.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].attachment.file_name, "Tờ khai.pdf");
    assert!(store.storage_key_exists(&new.attachments[0].storage_key).await.unwrap());
    assert!(!store.storage_key_exists("nope").await.unwrap());
    let events = store.pending_events(10).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].topic, "dossier.submitted");
    assert_eq!(events[0].payload["code"], r1.code);
    assert!(events[0].payload.get("applicant").is_none(), "events carry no personal data");
    let public = store.public_status(&r1.code).await.unwrap().unwrap();
    assert_eq!(public.procedure_name, "Đăng ký khai sinh");
    assert_eq!(public.state, DossierState::Submitted);
    assert!(store.public_status("000.00.31.H99-261123-0099").await.unwrap().is_none());
    assert_eq!(store.count_dossiers().await.unwrap(), 3);
}

async fn idempotency_replays_first_receipt(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let key = |hash: &str| IdempotencyKey { scope: "client:1".into(), key: "k-1".into(), request_hash: hash.into() };
    let mut a = new_dossier(&f, day());
    a.idempotency = Some(key("h1"));
    let first = receipt(store.create_dossier(&a).await.unwrap());
    let mut retry = new_dossier(&f, day());
    retry.idempotency = Some(key("h1"));
    assert_eq!(store.create_dossier(&retry).await.unwrap(), CreateOutcome::Replayed(first.clone()));
    let mut other = new_dossier(&f, day());
    other.idempotency = Some(key("h2"));
    assert!(matches!(store.create_dossier(&other).await, Err(StoreError::IdempotencyMismatch)));
    let mut other_scope = new_dossier(&f, day());
    other_scope.idempotency = Some(IdempotencyKey { scope: "client:2".into(), ..key("h1") });
    assert!(matches!(store.create_dossier(&other_scope).await.unwrap(), CreateOutcome::Created(_)));
    assert_eq!(store.count_dossiers().await.unwrap(), 2);
    // Concurrent retries of one key create exactly one dossier.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, mut d) = (store.clone(), new_dossier(&f, day()));
        d.idempotency = Some(IdempotencyKey { scope: "client:3".into(), key: "same".into(), request_hash: "h".into() });
        tasks.push(tokio::spawn(async move { store.create_dossier(&d).await.unwrap() }));
    }
    let mut codes = std::collections::HashSet::new();
    for t in tasks {
        let r = match t.await.unwrap() {
            CreateOutcome::Created(r) | CreateOutcome::Replayed(r) => r,
        };
        codes.insert(r.code);
    }
    assert_eq!(codes.len(), 1);
    assert_eq!(store.count_dossiers().await.unwrap(), 3);
}

async fn concurrent_submissions_get_unique_sequential_codes(store: Arc<dyn Store>) {
    let f = Arc::new(fixture(&store).await);
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (store, f) = (store.clone(), f.clone());
        tasks.push(tokio::spawn(
            async move { receipt(store.create_dossier(&new_dossier(&f, day())).await.unwrap()).code },
        ));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    let expected: Vec<String> = (1..=40).map(|n| format!("000.00.31.H99-261123-{n:04}")).collect();
    assert_eq!(codes, expected);
}

async fn failed_creation_leaves_nothing_behind(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let attach = |key: &str| NewAttachment {
        id: Uuid::now_v7(),
        component: "to-khai".into(),
        file_name: "a.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1,
        sha256: "00".repeat(32),
        storage_key: key.into(),
    };
    let mut ok = new_dossier(&f, day());
    ok.attachments.push(attach("k-1"));
    store.create_dossier(&ok).await.unwrap();
    // The second dossier's attachment reuses a storage key: the insert fails after the counter,
    // the dossier row and the first attachment were written.
    let mut bad = new_dossier(&f, day());
    bad.idempotency = Some(IdempotencyKey { scope: "s".into(), key: "k".into(), request_hash: "h".into() });
    bad.attachments.push(attach("k-2"));
    bad.attachments.push(attach("k-1"));
    assert!(store.create_dossier(&bad).await.is_err());
    assert_eq!(store.count_dossiers().await.unwrap(), 1);
    assert_eq!(store.pending_events(10).await.unwrap().len(), 1);
    assert!(!store.storage_key_exists("k-2").await.unwrap());
    assert!(store.dossier_by_code("000.00.31.H99-261123-0002").await.unwrap().is_none());
    // The counter rolled back with it, and the idempotency key is free again.
    bad.attachments.pop();
    let r = receipt(store.create_dossier(&bad).await.unwrap());
    assert_eq!(r.code, "000.00.31.H99-261123-0002");
}

async fn users_and_api_keys(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let grants = vec![RoleGrant { role: Role::DeskOfficer, org_unit_id: f.unit_id }];
    let u = store
        .create_user(&NewUser {
            username: "mot.cua".into(),
            full_name: "Lê Một Cửa".into(),
            email: None,
            grants: grants.clone(),
        })
        .await
        .unwrap();
    let again = store
        .create_user(&NewUser { username: "mot.cua".into(), full_name: "x".into(), email: None, grants: vec![] })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let found = store.user_by_username("mot.cua").await.unwrap().unwrap();
    assert_eq!(found, u);
    assert_eq!(found.grants, grants);
    assert!(store.user_by_username("khong.co").await.unwrap().is_none());

    let key = NewApiKey {
        id: Uuid::now_v7(),
        prefix: "abcd1234".into(),
        secret_hash: "ff".repeat(32),
        name: "Cổng DVC".into(),
        user_id: None,
        scopes: vec![Scope::DossiersSubmit, Scope::DossiersRead],
        org_unit_id: Some(f.unit_id),
        created_at: Utc::now(),
    };
    store.create_api_key(&key).await.unwrap();
    let rec = store.api_key_by_prefix("abcd1234").await.unwrap().unwrap();
    assert_eq!(rec.key.scopes, key.scopes);
    assert_eq!(rec.key.org_unit_id, Some(f.unit_id));
    assert!(rec.last_used_at.is_none() && rec.revoked_at.is_none());
    let t = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    store.touch_api_key(key.id, t).await.unwrap();
    assert_eq!(store.api_key_by_prefix("abcd1234").await.unwrap().unwrap().last_used_at, Some(t));
    assert!(store.revoke_api_key("abcd1234", t).await.unwrap());
    assert!(!store.revoke_api_key("abcd1234", t).await.unwrap());
    assert!(store.api_key_by_prefix("abcd1234").await.unwrap().unwrap().revoked_at.is_some());
}

async fn one_bad_submission_among_concurrent_ones_fails_alone(store: Arc<dyn Store>) {
    let f = Arc::new(fixture(&store).await);
    let attach = |key: String| NewAttachment {
        id: Uuid::now_v7(),
        component: "to-khai".into(),
        file_name: "a.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1,
        sha256: "00".repeat(32),
        storage_key: key,
    };
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (store, f) = (store.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            let mut d = new_dossier(&f, day());
            d.attachments.push(attach(format!("key-{i}")));
            // Submission 13 names one storage key twice and must fail on its own.
            if i == 13 {
                d.attachments.push(attach("key-13".into()));
            }
            store.create_dossier(&d).await
        }));
    }
    let (mut ok, mut failed) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(o) => ok.push(receipt(o).code),
            Err(_) => failed += 1,
        }
    }
    assert_eq!((ok.len(), failed), (29, 1));
    ok.sort();
    let expected: Vec<String> = (1..=29).map(|n| format!("000.00.31.H99-261123-{n:04}")).collect();
    assert_eq!(ok, expected, "codes stay unique and contiguous");
    assert_eq!(store.count_dossiers().await.unwrap(), 29);
    assert_eq!(store.pending_events(100).await.unwrap().len(), 29);
    for code in &ok {
        let d = store.dossier_by_code(code).await.unwrap().unwrap();
        assert_eq!(store.history(d.id).await.unwrap().len(), 1);
        assert_eq!(store.attachments(d.id).await.unwrap().len(), 1);
    }
}

async fn inbox_orders_by_due_date_and_pages_by_cursor(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let base = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    // Five dossiers due on different days (one without a deadline), one held for another role.
    let mut made = Vec::new();
    for (i, due_days) in [3i64, 1, 4, -1, 2].into_iter().enumerate() {
        let mut d = new_dossier(&f, day());
        d.due_at = (due_days >= 0).then(|| base + chrono::Duration::days(due_days));
        if i == 4 {
            d.holder = Some((f.unit_id, Role::Specialist));
        }
        d.applicant.name = if i == 2 { "Lê Thị Hồng".into() } else { "Trần Thị Bình".into() };
        made.push((receipt(store.create_dossier(&d).await.unwrap()).code, due_days));
    }
    let q = |roles: Option<Vec<Role>>| InboxQuery { unit_id: f.unit_id, roles, limit: 10, ..Default::default() };
    let codes = |items: Vec<InboxItem>| items.into_iter().map(|i| i.code).collect::<Vec<_>>();
    let all = store.inbox(&q(None)).await.unwrap();
    let expected: Vec<String> = [1, 4, 0, 2, 3].iter().map(|&i| made[i].0.clone()).collect();
    assert_eq!(codes(all.clone()), expected, "by due date, no deadline last");
    let desk = store.inbox(&q(Some(vec![Role::DeskOfficer]))).await.unwrap();
    assert_eq!(desk.len(), 4);
    let page1 = store.inbox(&InboxQuery { limit: 2, ..q(None) }).await.unwrap();
    let last = page1.last().unwrap();
    let page2 = store.inbox(&InboxQuery { limit: 2, after: Some((last.due_sort, last.id)), ..q(None) }).await.unwrap();
    assert_eq!(codes(page2), expected[2..4].to_vec());
    let overdue = store
        .inbox(&InboxQuery {
            overdue_at: Some(base + chrono::Duration::days(2) + chrono::Duration::hours(1)),
            ..q(None)
        })
        .await
        .unwrap();
    assert_eq!(codes(overdue), expected[..2].to_vec());
    let name = |q: &str| Some(InboxText::Name(cqs_domain::text::NameQuery::parse(q).unwrap()));
    let named = store.inbox(&InboxQuery { text: name("le thi hong"), ..q(None) }).await.unwrap();
    assert_eq!(codes(named), vec![made[2].0.clone()]);
    // Punctuation separates words like a space; LIKE wildcards never reach the database.
    let punctuated = store.inbox(&InboxQuery { text: name("lê_thị%"), ..q(None) }).await.unwrap();
    assert_eq!(codes(punctuated), vec![made[2].0.clone()]);
    let exact = store.inbox(&InboxQuery { text: Some(InboxText::Code(made[3].0.clone())), ..q(None) }).await.unwrap();
    assert_eq!(codes(exact), vec![made[3].0.clone()]);
    let prefix = &made[3].0[..made[3].0.len() - 1];
    let by_prefix =
        store.inbox(&InboxQuery { text: Some(InboxText::CodePrefix(prefix.into())), ..q(None) }).await.unwrap();
    assert!(codes(by_prefix).contains(&made[3].0));
    let other_unit = store.inbox(&InboxQuery { unit_id: Uuid::now_v7(), ..q(None) }).await.unwrap();
    assert!(other_unit.is_empty());
}

/// The word index behind name searches: every form of query finds what a plain scan would, and
/// the index follows a dossier from holder to holder, out of the inbox when it closes, and back
/// after a rebuild.
async fn inbox_name_search_follows_the_holder(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    store.upsert_org_units(&[unit("000.00.32.H99", OrgUnitKind::Commune, Some("000.00.00.H99"))]).await.unwrap();
    let other = store.org_unit_by_code("000.00.32.H99").await.unwrap().unwrap().id;
    let names = ["Nguyễn Văn An", "Nguyễn Văn Anh", "Trần Thị Bình", "Lê Văn An", "CÔNG TY TNHH AN BÌNH"];
    let mut codes = Vec::new();
    for n in names {
        let mut d = new_dossier(&f, day());
        d.applicant.name = n.into();
        codes.push(receipt(store.create_dossier(&d).await.unwrap()).code);
    }
    let search = |unit: Uuid, text: &str| {
        let store = store.clone();
        let q = InboxQuery {
            unit_id: unit,
            text: Some(InboxText::Name(cqs_domain::text::NameQuery::parse(text).unwrap())),
            limit: 50,
            ..Default::default()
        };
        async move {
            let mut got: Vec<String> = store.inbox(&q).await.unwrap().into_iter().map(|i| i.applicant_name).collect();
            got.sort();
            got
        }
    };
    assert_eq!(search(f.unit_id, "an").await, ["CÔNG TY TNHH AN BÌNH", "Lê Văn An", "Nguyễn Văn An", "Nguyễn Văn Anh"]);
    assert_eq!(search(f.unit_id, "van an").await, ["Lê Văn An", "Nguyễn Văn An", "Nguyễn Văn Anh"]);
    assert_eq!(search(f.unit_id, "NGUYEN VAN AN").await, ["Nguyễn Văn An", "Nguyễn Văn Anh"]);
    assert_eq!(search(f.unit_id, "nguyễn văn anh").await, ["Nguyễn Văn Anh"]);
    assert_eq!(search(f.unit_id, "an binh").await, ["CÔNG TY TNHH AN BÌNH"]);
    assert!(search(f.unit_id, "binh an").await.is_empty(), "words in order");
    assert!(search(f.unit_id, "guyen").await.is_empty(), "from the start of a word");
    assert!(search(f.unit_id, "hoang").await.is_empty());
    assert!(search(other, "an").await.is_empty(), "scoped to the unit");
    // Forwarded to the other commune's specialists: found there, no longer here.
    let an = store.dossier_by_code(&codes[0]).await.unwrap().unwrap();
    let mut pos = an.position();
    pos.state = DossierState::InProgress;
    store.apply_transition(&transition(&an, pos.clone(), "forward", Some((other, Role::Specialist)))).await.unwrap();
    assert_eq!(search(f.unit_id, "nguyen van an").await, ["Nguyễn Văn Anh"]);
    assert_eq!(search(other, "nguyen van an").await, ["Nguyễn Văn An"]);
    // Closed: out of every inbox.
    let an = store.dossier_by_code(&codes[0]).await.unwrap().unwrap();
    pos.state = DossierState::Returned;
    store.apply_transition(&transition(&an, pos, "return_result", None)).await.unwrap();
    assert!(search(other, "an").await.is_empty());
    // A rebuild from the dossiers alone gives the same answers.
    assert_eq!(store.reindex_inbox_words().await.unwrap(), 4);
    assert_eq!(search(f.unit_id, "an").await, ["CÔNG TY TNHH AN BÌNH", "Lê Văn An", "Nguyễn Văn Anh"]);
    assert_eq!(search(f.unit_id, "tran thi b").await, ["Trần Thị Bình"]);
    assert!(search(other, "an").await.is_empty());
}

/// When every word of a search is common in the unit (more dossiers than the word index's
/// probe counts), the search scans the unit in due order instead: same answers, found early.
async fn inbox_name_search_of_common_words_scans_in_due_order(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut tasks = Vec::new();
    for i in 0..1600 {
        let mut d = new_dossier(&f, day());
        d.applicant.name = format!("Nguyễn Văn {i}");
        d.due_at = d.due_at.map(|t| t + chrono::Duration::minutes(1600 - i));
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.create_dossier(&d).await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let q = |text: Option<&str>| InboxQuery {
        unit_id: f.unit_id,
        text: text.map(|t| InboxText::Name(cqs_domain::text::NameQuery::parse(t).unwrap())),
        limit: 20,
        ..Default::default()
    };
    let names = |items: Vec<InboxItem>| items.into_iter().map(|i| i.applicant_name).collect::<Vec<_>>();
    let everyone = names(store.inbox(&q(None)).await.unwrap());
    assert_eq!(everyone[0], "Nguyễn Văn 1599", "latest created is due first");
    assert_eq!(names(store.inbox(&q(Some("nguyen van"))).await.unwrap()), everyone, "common words: a scan");
    assert_eq!(names(store.inbox(&q(Some("nguyen v"))).await.unwrap()), everyone);
    // A rare last word drives from the index even after common ones.
    let sevens = names(store.inbox(&q(Some("nguyen van 77"))).await.unwrap());
    assert_eq!(
        sevens,
        [
            "Nguyễn Văn 779",
            "Nguyễn Văn 778",
            "Nguyễn Văn 777",
            "Nguyễn Văn 776",
            "Nguyễn Văn 775",
            "Nguyễn Văn 774",
            "Nguyễn Văn 773",
            "Nguyễn Văn 772",
            "Nguyễn Văn 771",
            "Nguyễn Văn 770",
            "Nguyễn Văn 77"
        ]
    );
    assert!(store.inbox(&q(Some("van nguyen"))).await.unwrap().is_empty());
}

fn overdue_notice(id: Uuid, code: &str, due: chrono::DateTime<Utc>, unit: Uuid) -> DeadlineNotice {
    DeadlineNotice {
        dossier_id: id,
        code: code.into(),
        kind: cqs_domain::deadline::NoticeKind::Overdue,
        due_at: due,
        unit_id: Some(unit),
        at: due + chrono::Duration::hours(1),
    }
}

async fn deadline_notices_are_sent_once_across_nodes(nodes: Vec<Arc<dyn Store>>) {
    let store = &nodes[0];
    let f = fixture(store).await;
    let mut notices = Vec::new();
    for _ in 0..30 {
        let d = new_dossier(&f, day());
        let r = receipt(store.create_dossier(&d).await.unwrap());
        notices.push(overdue_notice(r.id, &r.code, d.due_at.unwrap(), f.unit_id));
        let mut soon = notices.last().unwrap().clone();
        soon.kind = cqs_domain::deadline::NoticeKind::DueSoon;
        notices.push(soon);
    }
    // Every node tries to send every notice at once, in different orders.
    let mut tasks = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (node, mut mine) = (node.clone(), notices.clone());
        mine.rotate_left(i * 7);
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for chunk in mine.chunks(9) {
                sent.extend(node.record_deadline_notices(chunk).await.unwrap());
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await.unwrap());
    }
    assert_eq!(sent.len(), 60, "each notice exactly once");
    let mut keys: Vec<_> = sent.iter().map(|n| (n.dossier_id, n.kind.as_str())).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 60);
    let events = store.pending_events(1000).await.unwrap();
    let count = |topic: &str| events.iter().filter(|e| e.topic == topic).count();
    assert_eq!((count("dossier.overdue"), count("dossier.due_soon")), (30, 30));
    assert_eq!(store.apology_tasks(f.unit_id, false, 100).await.unwrap().len(), 30);
    // Sending again is a no-op.
    assert!(nodes[1].record_deadline_notices(&notices).await.unwrap().is_empty());
}

async fn deadline_candidates_skip_resolved_and_notified_dossiers(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        let d = new_dossier(&f, day());
        made.push((receipt(store.create_dossier(&d).await.unwrap()), d.due_at.unwrap()));
    }
    let horizon = made[0].1 + chrono::Duration::days(1);
    let early = made[0].1 - chrono::Duration::hours(2);
    let all = store.deadline_candidates(early, horizon, None, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(
        store.deadline_candidates(early, made[0].1 - chrono::Duration::hours(1), None, 100).await.unwrap().is_empty()
    );
    // Paged by (due, id).
    let first = store.deadline_candidates(early, horizon, None, 2).await.unwrap();
    let last = first.last().unwrap();
    let rest = store.deadline_candidates(early, horizon, Some((last.due_sort, last.id)), 100).await.unwrap();
    assert_eq!(first.len() + rest.len(), 5);
    // Once told it is overdue, a dossier is no longer a candidate for that due date.
    let (r, due) = &made[0];
    store.record_deadline_notices(&[overdue_notice(r.id, &r.code, *due, f.unit_id)]).await.unwrap();
    // Told it is due soon: not a candidate again before its due date, but again after it.
    let (r4, due4) = &made[4];
    let mut soon = overdue_notice(r4.id, &r4.code, *due4, f.unit_id);
    soon.kind = cqs_domain::deadline::NoticeKind::DueSoon;
    store.record_deadline_notices(&[soon]).await.unwrap();
    let before = store.deadline_candidates(early, horizon, None, 100).await.unwrap();
    assert!(!before.iter().any(|c| c.id == r4.id));
    let after_due = store.deadline_candidates(*due4 + chrono::Duration::hours(1), horizon, None, 100).await.unwrap();
    assert!(after_due.iter().any(|c| c.id == r4.id));
    // A resolved dossier's clock has stopped.
    let (r1, _) = &made[1];
    let d1 = store.dossier_by_code(&r1.code).await.unwrap().unwrap();
    let mut pos = d1.position();
    pos.state = DossierState::Resolved;
    store.apply_transition(&transition(&d1, pos, "record_result", Some((f.unit_id, Role::DeskOfficer)))).await.unwrap();
    let left: Vec<Uuid> =
        store.deadline_candidates(early, horizon, None, 100).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&r.id) && !left.contains(&r1.id));
    // Running dossiers exclude the resolved one too.
    let running = store.running_dossiers(None, 100).await.unwrap();
    assert_eq!(running.len(), 4);
    let page = store.running_dossiers(Some(running[1].id), 100).await.unwrap();
    assert_eq!(page.len(), 2);
}

pub(crate) fn transition(
    d: &cqs_domain::dossier::Dossier,
    position: cqs_domain::workflow::Position,
    action: &str,
    holder: Option<(Uuid, Role)>,
) -> Transition {
    Transition {
        dossier_id: d.id,
        code: d.code.to_string(),
        expected_version: d.version,
        from_state: d.state,
        position,
        action: action.into(),
        note: None,
        actor: Actor { kind: ActorKind::Staff, id: None },
        actor_unit_id: None,
        at: d.received_at + chrono::Duration::days(2),
        holder,
        issued: Vec::new(),
        attachments: Vec::new(),
    }
}

async fn apology_tasks_close_on_apology_or_result(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let d = new_dossier(&f, day());
        let r = receipt(store.create_dossier(&d).await.unwrap());
        store.record_deadline_notices(&[overdue_notice(r.id, &r.code, d.due_at.unwrap(), f.unit_id)]).await.unwrap();
        codes.push(r.code);
    }
    let open = store.apology_tasks(f.unit_id, false, 10).await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].procedure_name, "Đăng ký khai sinh");
    assert!(store.apology_tasks(Uuid::now_v7(), true, 10).await.unwrap().is_empty(), "scoped to the unit");
    let d0 = store.dossier_by_code(&codes[0]).await.unwrap().unwrap();
    assert!(store.open_apology_task(d0.id).await.unwrap().is_some());
    let mut pos = d0.position();
    pos.original_due_at = pos.due_at;
    pos.due_at = pos.due_at.map(|d| d + chrono::Duration::days(5));
    store
        .apply_transition(&transition(&d0, pos, "apologize_and_reschedule", Some((f.unit_id, Role::DeskOfficer))))
        .await
        .unwrap();
    assert!(store.open_apology_task(d0.id).await.unwrap().is_none());
    let d1 = store.dossier_by_code(&codes[1]).await.unwrap().unwrap();
    let mut pos = d1.position();
    pos.state = DossierState::Withdrawn;
    store.apply_transition(&transition(&d1, pos, "withdraw", None)).await.unwrap();
    assert!(store.apology_tasks(f.unit_id, false, 10).await.unwrap().is_empty());
    let all = store.apology_tasks(f.unit_id, true, 10).await.unwrap();
    let mut closed_by: Vec<_> = all.iter().map(|t| t.closed_by_action.clone().unwrap()).collect();
    closed_by.sort();
    assert_eq!(closed_by, vec!["apologize_and_reschedule".to_owned(), "withdraw".to_owned()]);
}

async fn history_records_due_dates_and_settings_round_trip(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let d = new_dossier(&f, day());
    let r = receipt(store.create_dossier(&d).await.unwrap());
    let dossier = store.dossier_by_code(&r.code).await.unwrap().unwrap();
    let mut pos = dossier.position();
    let promised = d.due_at.unwrap() + chrono::Duration::days(3);
    pos.due_at = Some(promised);
    store.apply_transition(&transition(&dossier, pos, "apologize_and_reschedule", None)).await.unwrap();
    let h = store.history(dossier.id).await.unwrap();
    assert_eq!(h.iter().map(|e| e.due_at).collect::<Vec<_>>(), vec![d.due_at, Some(promised)]);
    assert_eq!(store.setting("calendar").await.unwrap(), None);
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    store.put_setting("calendar", "a", at).await.unwrap();
    store.put_setting("calendar", "b", at).await.unwrap();
    assert_eq!(store.setting("calendar").await.unwrap().as_deref(), Some("b"));
}

async fn procedure_counts_rank_the_most_used(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    for code in ["1.001193", "1.000656", "1.001193"] {
        let mut d = new_dossier(&f, day());
        d.procedure_code = code.into();
        store.create_dossier(&d).await.unwrap();
    }
    let at = new_dossier(&f, day()).received_at;
    let counts = store.procedure_counts(at, 10).await.unwrap();
    assert_eq!(counts, [("1.001193".to_owned(), 2), ("1.000656".to_owned(), 1)]);
    assert_eq!(store.procedure_counts(at, 1).await.unwrap().len(), 1);
    assert!(store.procedure_counts(at + chrono::Duration::seconds(1), 10).await.unwrap().is_empty());
}
