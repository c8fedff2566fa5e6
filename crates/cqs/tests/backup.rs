//! `cqs backup` / `cqs restore`: a store filled with the demo province, dossiers in several
//! states with their files, and rows in every other table is backed up online and restored into
//! an empty SQLite store and an empty PostgreSQL database; every dossier, history row and file
//! hash must come back identical, and so must every row of every table.
//!
//! The snapshot must cover every table the database catalogue lists, and every table must have
//! rows in this fixture unless `ALLOWED_EMPTY` says why not: a table added by a later migration
//! fails here until the fixture gives it rows, so it cannot be skipped by accident.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use cqs_domain::auth::Role;
use cqs_domain::deadline::NoticeKind;
use cqs_domain::dossier::{Actor, ActorKind, Applicant, ApplicantKind, Channel, DossierState};
use cqs_domain::exchange::quota::Window;
use cqs_domain::exchange::request::{self, AccessRequest, RequestState};
use cqs_domain::exchange::{ClientId, Endpoint, Grant, MemberId, ServiceSpec, Status};
use cqs_domain::identity::{AccountRef, SessionStage};
use cqs_domain::org::OrgUnitKind;
use cqs_store::backup::{self, BackupManifest};
use cqs_store::exchange::{ClientLimit, LogBatch, LogRow, NewMember, NewSubsystem};
use cqs_store::files::Attachments;
use cqs_store::snapshot::{ColumnKind, SnapshotError};
use cqs_store::*;
use sqlx::Connection;
use uuid::Uuid;

/// Tables that may have no rows in the fixture, with the reason. Keep this short: a table
/// listed here is not proven to survive a restore.
const ALLOWED_EMPTY: &[(&str, &str)] = &[];

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 30, 0).unwrap()
}

/// What the fixture made, to compare after the restore.
struct Made {
    codes: Vec<String>,
    files: Vec<(String, String)>,
}

async fn transition(
    store: &Arc<dyn Store>,
    code: &str,
    to: DossierState,
    action: &str,
    issued: Vec<NewIssuedDocument>,
) {
    let d = store.dossier_by_code(code).await.unwrap().unwrap();
    let mut pos = d.position();
    pos.state = to;
    if to == DossierState::Accepted {
        pos.step = Some(0);
    }
    store
        .apply_transition(&Transition {
            dossier_id: d.id,
            code: d.code.to_string(),
            expected_version: d.version,
            from_state: d.state,
            position: pos,
            action: action.into(),
            note: Some("Ghi chú của cán bộ".into()),
            actor: Actor { kind: ActorKind::Staff, id: Some(Uuid::now_v7()) },
            actor_unit_id: Some(d.receiving_unit_id),
            at: d.received_at + Duration::hours(3),
            holder: (to == DossierState::Accepted).then_some((d.receiving_unit_id, Role::Specialist)),
            issued,
            attachments: Vec::new(),
        })
        .await
        .unwrap();
}

/// Fills every table: the demo province, five dossiers in several states with real files, and
/// the identity, documents, exchange and cluster parts.
async fn fill(store: &Arc<dyn Store>, files: &Attachments, data_dir: &Path) -> Made {
    cqs::demo::load(store.as_ref(), data_dir).await.unwrap();
    let version = store.published_versions().await.unwrap().into_iter().next().expect("a demo procedure");
    let units = store.org_units().await.unwrap();
    let commune = units.iter().find(|u| u.kind == OrgUnitKind::Commune).expect("a demo commune");
    let citizen = store
        .citizen_credentials(&cqs_domain::identity::CitizenLogin::IdentityNumber("036095001234".into()))
        .await
        .unwrap()
        .unwrap()
        .account;
    let staff = store.user_by_username("quantri").await.unwrap().unwrap();

    let mut made = Made { codes: Vec::new(), files: Vec::new() };
    let mut attachment_ids = Vec::new();
    for i in 0..5 {
        let mut attachments = Vec::new();
        for j in 0..2 {
            let bytes = format!("%PDF-1.7 hồ sơ {i} thành phần {j}\n").repeat(200 + i * 50).into_bytes();
            let p = files.put_pending(bytes).await.unwrap();
            made.files.push((p.key.clone(), p.sha256.clone()));
            let id = Uuid::now_v7();
            attachment_ids.push(id);
            attachments.push(NewAttachment {
                id,
                component: format!("thanh-phan-{j}"),
                file_name: format!("Tờ khai {j}.pdf"),
                content_type: "application/pdf".into(),
                size: p.size as i64,
                sha256: p.sha256,
                storage_key: p.key,
            });
        }
        let received_at = t0() + Duration::minutes(i as i64);
        let new = NewDossier {
            id: Uuid::now_v7(),
            procedure_version_id: version.id,
            procedure_code: version.spec.code.to_string(),
            procedure_version: version.version,
            procedure_name: version.spec.name.clone(),
            receiving_unit_id: commune.id,
            receiving_unit_code: commune.code.clone(),
            local_day: received_at.date_naive(),
            channel: if i % 2 == 0 { Channel::Online } else { Channel::Counter },
            applicant: Applicant {
                kind: ApplicantKind::Person,
                identity_kind: cqs_domain::ids::IdentityKind::Citizen,
                identity_number: "036095001234".into(),
                name: "Nguyễn Văn Đức".into(),
                phone: Some("+84912345678".into()),
                email: None,
                address: Some("Thôn Đông, xã Lạc Sơn".into()),
            },
            form_data: serde_json::json!({"ho_ten": format!("Bé Ngọc Ánh {i}"), "so_con": i, "ghi_chu": null}),
            received_at,
            due_at: Some(received_at + Duration::days(3)),
            submitted_by_client: None,
            owner_account: Some(citizen.id),
            actor: Actor { kind: ActorKind::Citizen, id: Some(citizen.id) },
            actor_unit_id: None,
            attachments: attachments.clone(),
            reused: Vec::new(),
            idempotency: (i == 4).then(|| IdempotencyKey {
                scope: format!("citizen:{}", citizen.id),
                key: "nop-ho-so-4".into(),
                request_hash: "ab".repeat(32),
            }),
            holder: Some((commune.id, Role::DeskOfficer)),
            note: (i % 2 == 1).then(|| "Người nộp mang bản chính để đối chiếu".to_owned()),
        };
        let CreateOutcome::Created(r) = store.create_dossier(&new).await.unwrap() else { panic!("a new dossier") };
        for a in &attachments {
            files.promote(&a.storage_key).await.unwrap();
        }
        made.codes.push(r.code.clone());
        if i == 0 {
            // Its first attachment goes to the applicant's document store.
            store
                .store_verified_component(&VerifiedComponent {
                    id: Uuid::now_v7(),
                    dossier_id: r.id,
                    attachment_id: attachments[0].id,
                    document_type: "to-khai".into(),
                    title: "Tờ khai đã xác minh".into(),
                    issuer: "UBND xã Lạc Sơn".into(),
                    issuer_unit_id: commune.id,
                    valid_until: None,
                    at: received_at + Duration::hours(1),
                })
                .await
                .unwrap()
                .expect("stored");
        }
    }
    // Several states: submitted (0), accepted (1), resolved with a signed result (2),
    // withdrawn (3), returned (4).
    transition(store, &made.codes[1], DossierState::Accepted, "accept", vec![]).await;
    let result = files.put_pending(b"%PDF-1.7 ket qua da ky".repeat(100)).await.unwrap();
    made.files.push((result.key.clone(), result.sha256.clone()));
    let doc = NewIssuedDocument {
        id: Uuid::now_v7(),
        kind: "result".into(),
        document_type: "giay-khai-sinh".into(),
        title: "Giấy khai sinh".into(),
        issuer_unit_id: commune.id,
        file_name: "ket-qua.pdf".into(),
        size: result.size as i64,
        sha256: result.sha256.clone(),
        storage_key: result.key.clone(),
        signer_subject: "CN=Ủy ban nhân dân xã Lạc Sơn".into(),
        signer_fingerprint: "cd".repeat(32),
        pades_level: "B-T".into(),
        signed_at: t0() + Duration::hours(5),
        timestamped_at: Some(t0() + Duration::hours(5) + Duration::seconds(1)),
    };
    transition(store, &made.codes[2], DossierState::Accepted, "accept", vec![]).await;
    transition(store, &made.codes[2], DossierState::Resolved, "record_result", vec![doc]).await;
    files.promote(&result.key).await.unwrap();
    transition(store, &made.codes[3], DossierState::Withdrawn, "withdraw", vec![]).await;
    transition(store, &made.codes[4], DossierState::Accepted, "accept", vec![]).await;
    transition(store, &made.codes[4], DossierState::Resolved, "record_result", vec![]).await;
    transition(store, &made.codes[4], DossierState::Returned, "return_result", vec![]).await;

    // A later dossier reuses the stored document.
    let stored = store.stored_documents("036095001234").await.unwrap();
    let d0 = store.dossier_by_code(&made.codes[0]).await.unwrap().unwrap();
    let reuse = NewDossier {
        id: Uuid::now_v7(),
        procedure_version_id: version.id,
        procedure_code: version.spec.code.to_string(),
        procedure_version: version.version,
        procedure_name: version.spec.name.clone(),
        receiving_unit_id: commune.id,
        receiving_unit_code: commune.code.clone(),
        local_day: (t0() + Duration::days(1)).date_naive(),
        channel: Channel::Online,
        applicant: d0.applicant.clone(),
        form_data: serde_json::json!({"ho_ten": "Dùng lại giấy tờ"}),
        received_at: t0() + Duration::days(1),
        due_at: None,
        submitted_by_client: None,
        owner_account: Some(citizen.id),
        actor: Actor { kind: ActorKind::Citizen, id: Some(citizen.id) },
        actor_unit_id: None,
        attachments: Vec::new(),
        reused: vec![("thanh-phan-0".into(), stored[0].id)],
        idempotency: None,
        holder: Some((commune.id, Role::DeskOfficer)),
        note: None,
    };
    let CreateOutcome::Created(r) = store.create_dossier(&reuse).await.unwrap() else { panic!("a new dossier") };
    made.codes.push(r.code);

    // Deadlines: dossier 0 went overdue, which opens an apology task.
    store
        .record_deadline_notices(&[DeadlineNotice {
            dossier_id: d0.id,
            code: d0.code.to_string(),
            kind: NoticeKind::Overdue,
            due_at: d0.due_at.unwrap(),
            unit_id: Some(commune.id),
            at: d0.due_at.unwrap() + Duration::minutes(1),
        }])
        .await
        .unwrap();
    store.put_setting("backup.test", "giá trị", t0()).await.unwrap();

    // Identity: a session, a sign-in failure, a security event, a staff authenticator with
    // recovery codes, a one-time code, an organization.
    let me = AccountRef::citizen(citizen.id);
    store
        .create_session(
            &NewSession {
                id: Uuid::now_v7(),
                token_hash: "ef".repeat(32),
                account: me,
                created_at: t0(),
                expires_at: t0() + Duration::hours(12),
                ip: Some("192.0.2.7".into()),
                user_agent: Some("Mozilla/5.0".into()),
                stage: SessionStage::Active,
            },
            None,
        )
        .await
        .unwrap();
    store.record_auth_failure(&["address:192.0.2.9".into()], t0()).await.unwrap();
    store
        .record_security_event(&SecurityEvent {
            id: Uuid::now_v7(),
            at: t0(),
            kind: cqs_domain::identity::SecurityEventKind::SignInSucceeded,
            account: Some(me),
            ip: Some("192.0.2.7".into()),
            route: None,
            detail: Some("đăng nhập".into()),
        })
        .await
        .unwrap();
    // A citizen's online submission in progress (bản nháp), with one uploaded file.
    let draft = store
        .save_draft(citizen.id, &version.spec.code.to_string(), &serde_json::json!({"ho_ten": "Bé Ngọc Ánh"}), t0())
        .await
        .unwrap();
    let p = files.put_pending(b"%PDF-1.7 ban nhap".repeat(50)).await.unwrap();
    made.files.push((p.key.clone(), p.sha256.clone()));
    let draft_file = DraftFile {
        id: Uuid::now_v7(),
        component: "thanh-phan-0".into(),
        file_name: "Tờ khai.pdf".into(),
        content_type: "application/pdf".into(),
        size: p.size as i64,
        sha256: p.sha256,
        storage_key: p.key.clone(),
        created_at: t0(),
    };
    store.add_draft_file(draft, &draft_file).await.unwrap();
    files.promote(&p.key).await.unwrap();
    assert!(store.put_pending_mfa(staff.id, "sealed-secret", t0()).await.unwrap());
    assert!(store.confirm_mfa(staff.id, 100, &["h1".into(), "h2".into()], t0()).await.unwrap());
    assert!(
        store
            .issue_code(&NewCode {
                id: Uuid::now_v7(),
                purpose: cqs_domain::identity::CodePurpose::VerifyEmail,
                account: me,
                destination: "duc@example.vn".into(),
                code_hash: "12".repeat(32),
                created_at: t0(),
                expires_at: t0() + Duration::minutes(10),
            })
            .await
            .unwrap()
    );
    store
        .create_organization(
            &Organization {
                id: Uuid::now_v7(),
                enterprise_code: "0101234567".into(),
                name: "Công ty TNHH Sông Hồng".into(),
                created_at: t0(),
            },
            citizen.id,
        )
        .await
        .unwrap();

    // e-ID: a sign-in waiting for the provider's answer and a subject linked to the citizen.
    store
        .begin_eid_login(&cqs_store::eid::NewEidLogin {
            state_hash: "5".repeat(64),
            login: cqs_store::eid::EidLogin {
                provider: "vneid".into(),
                browser_hash: "b".repeat(64),
                nonce: "nonce-1".into(),
                pkce_verifier: "verifier-1".into(),
                return_to: Some("/ho-so-cua-toi".into()),
                created_at: t0(),
                expires_at: t0() + Duration::minutes(10),
            },
        })
        .await
        .unwrap();
    assert!(
        store
            .link_eid(&cqs_store::eid::EidLink {
                provider: "vneid".into(),
                subject: "sub-036095001234".into(),
                account: me,
                linked_at: t0(),
                last_used_at: t0() + Duration::hours(1),
            })
            .await
            .unwrap()
    );

    // A satisfaction rating of the first dossier by its applicant.
    let rated = store.dossier_by_code(&made.codes[0]).await.unwrap().unwrap();
    let rating = cqs_domain::rating::Rating {
        criteria: cqs_domain::rating::CRITERIA
            .iter()
            .map(|(k, _)| ((*k).to_owned(), cqs_domain::rating::Level::Satisfied))
            .collect(),
        overall: cqs_domain::rating::Level::VerySatisfied,
        comment: Some("Cán bộ hướng dẫn tận tình".into()),
    };
    assert!(store.rate_dossier(rated.id, citizen.id, &rating, t0() + Duration::days(3)).await.unwrap());

    // Idempotency: a claimed key with its stored answer (bytes).
    let held = match store
        .claim_key(
            &RequestKey { scope: "client:x".into(), key: "k-1".into(), request_hash: "h".into() },
            t0(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
    {
        Claim::Held(h) => h,
        other => panic!("{other:?}"),
    };
    store
        .record_answer(
            &held,
            &StoredAnswer {
                status: 201,
                content_type: Some("application/json".into()),
                location: None,
                body: b"{\"ok\":true}".to_vec(),
            },
        )
        .await
        .unwrap();

    // Exchange: members, subsystems, a service, a grant, a request, a limit, a quota counter,
    // a sealed log batch.
    for (code, name) in [("000.00.05.H99", "Sở Tư pháp"), ("000.00.31.H99", "UBND xã Lạc Sơn")] {
        store
            .upsert_member(&NewMember {
                id: MemberId::new("VN-LH", "GOV", code).unwrap(),
                name: name.into(),
                org_unit_id: None,
                status: Status::Active,
                at: t0(),
            })
            .await
            .unwrap();
    }
    let provider = ClientId::parse("VN-LH/GOV/000.00.05.H99/ho-tich").unwrap();
    let client = ClientId::parse("VN-LH/GOV/000.00.31.H99/mot-cua").unwrap();
    for (id, sys) in [(&provider, "HOTICH"), (&client, "MOTCUA-LS")] {
        store
            .create_subsystem(&NewSubsystem {
                id: id.clone(),
                name: format!("Hệ thống {sys}"),
                system_id: sys.into(),
                status: Status::Active,
                at: t0(),
            })
            .await
            .unwrap();
    }
    let spec: ServiceSpec = serde_json::from_value(serde_json::json!({
        "code": "khai-sinh", "title": "Tra cứu khai sinh", "version": "1.0", "owner": "Sở Tư pháp",
        "base_url": "http://127.0.0.1:9", "openapi": {"openapi": "3.0.3", "paths": {"/khai-sinh/{so}": {"get": {}}}}
    }))
    .unwrap();
    let (service, _) = store.upsert_service(&provider, &spec, t0()).await.unwrap();
    store
        .add_grants(&[Grant {
            id: Uuid::now_v7(),
            service: service.id.clone(),
            client: client.clone(),
            endpoint: Some(Endpoint::parse("GET", "/khai-sinh/*").unwrap()),
            granted_at: t0(),
            granted_by: Some(staff.id),
            access_request_id: None,
            revoked_at: None,
            revoked_by: None,
            revoke_reason: None,
        }])
        .await
        .unwrap();
    let cal = cqs_domain::calendar::embedded_calendar().unwrap();
    let rule = request::rule_on(&request::answer_rules(), t0().date_naive()).unwrap().clone();
    store
        .create_access_request(&AccessRequest {
            id: Uuid::now_v7(),
            client: client.clone(),
            service: service.id.clone(),
            endpoints: vec![Endpoint::parse("GET", "/khai-sinh/*").unwrap()],
            purpose: "Đối chiếu giấy khai sinh".into(),
            legal_basis: "Luật Hộ tịch 2014".into(),
            requested_by: staff.id,
            requested_at: t0(),
            answer_due_at: request::answer_due(&cal, &rule, t0()),
            answer_rule: rule.legal_basis.clone(),
            state: RequestState::Pending,
            decided_at: None,
            decided_by: None,
            decision_note: None,
            refusal_legal_basis: None,
            answered_late: None,
        })
        .await
        .unwrap();
    let limit = ClientLimit {
        client: client.clone(),
        service: Some(service.id.clone()),
        window: Window::Minute,
        max_requests: 60,
    };
    store.set_limit(&limit, t0()).await.unwrap();
    store.claim_quota(&limit.key(), Window::Minute.start(t0()), 3).await.unwrap();
    store
        .append_log_batch(&LogBatch {
            node: "node-1".into(),
            batch: 1,
            first_seq: 1,
            last_seq: 2,
            head: vec![9; 32],
            statement: "{\"batch\":1}".into(),
            signature: vec![7; 64],
            sealed_at: t0(),
            records: (1..=2)
                .map(|seq| LogRow {
                    node: "node-1".into(),
                    seq,
                    batch: 1,
                    at: t0(),
                    message_id: format!("m{seq}"),
                    client: client.to_string(),
                    service: service.id.to_string(),
                    status: 200,
                    record: format!("{{\"seq\":{seq}}}").into_bytes(),
                    digest: vec![seq as u8; 32],
                    bodies: Some(vec![seq as u8; 40]),
                })
                .collect(),
        })
        .await
        .unwrap();
    store
        .add_log_stamp(&cqs_store::exchange::LogStamp {
            node: "node-1".into(),
            first_batch: 1,
            last_batch: 1,
            leaves: vec![3; 32],
            root: vec![4; 32],
            token: vec![0x30, 0x03, 0x02, 0x01, 0x01],
            tsa: "http://tsa.test/tsr".into(),
            stamped_at: t0(),
        })
        .await
        .unwrap();

    // Exchange monitoring: one node's counts of a minute.
    let mut tally = cqs_domain::exchange::monitor::Tally::default();
    tally.record(1_500, 20, 300);
    store
        .put_exchange_stats(&[cqs_store::exchange_stats::StatRow {
            minute: t0(),
            node: "node-1".into(),
            service: service.id.to_string(),
            client: client.to_string(),
            outcome: "ok".into(),
            tally,
        }])
        .await
        .unwrap();

    // Cluster: a job lease, events relayed, claimed and counted.
    store.acquire_lease("outbox-relay", "node-1", t0(), std::time::Duration::from_secs(30)).await.unwrap().unwrap();
    let events = store.pending_events(3).await.unwrap();
    store.mark_published(&events.iter().map(|e| e.id).collect::<Vec<_>>(), t0()).await.unwrap();
    assert!(store.claim_event("notifications", events[0].event_id, t0()).await.unwrap());
    store
        .apply_state_changes(
            "state-counts",
            &[StateChange { event_id: events[1].event_id, from: None, to: DossierState::Submitted }],
            t0(),
        )
        .await
        .unwrap();
    made
}

/// Tables as the database catalogue lists them (not through the code under test).
async fn catalogue_tables(url: &str) -> BTreeSet<String> {
    let names: Vec<String> = if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table'").fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&mut c)
            .await
            .unwrap()
    };
    names.into_iter().filter(|n| !n.starts_with("sqlite_") && n != "_sqlx_migrations").collect()
}

fn assert_covers_catalogue(manifest: &BackupManifest, catalogue: &BTreeSet<String>) {
    let covered: BTreeSet<String> = manifest.snapshot.tables.iter().map(|t| t.name.clone()).collect();
    assert_eq!(&covered, catalogue, "the snapshot must hold every table of the schema");
    for (name, reason) in ALLOWED_EMPTY {
        assert!(catalogue.contains(*name) && !reason.is_empty(), "allowed-empty entry {name} is stale");
    }
    let empty: Vec<&str> = manifest
        .snapshot
        .tables
        .iter()
        .filter(|t| t.rows == 0 && !ALLOWED_EMPTY.iter().any(|(n, _)| *n == t.name))
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        empty.is_empty(),
        "tables without rows in the fixture (give them rows, or list them with a reason): {empty:?}"
    );
}

/// Every row of every table of a snapshot folder, as sorted lines per table, with instants cut
/// to microseconds (PostgreSQL's precision) and JSON re-serialized, so exports of two backends
/// can be compared.
fn normalized_rows(dir: &Path, manifest: &BackupManifest) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for t in &manifest.snapshot.tables {
        let text = std::fs::read_to_string(dir.join("tables").join(format!("{}.jsonl", t.name))).unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut values: Vec<serde_json::Value> = serde_json::from_str(l).unwrap();
                let mut by_name = BTreeMap::new();
                for (c, v) in t.columns.iter().zip(values.iter_mut()) {
                    if c.kind == ColumnKind::Timestamp
                        && let Some(s) = v.as_str()
                    {
                        let d = chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
                        let micros = d.timestamp_micros();
                        *v = Utc.timestamp_micros(micros).unwrap().to_rfc3339().into();
                    }
                    by_name.insert(c.name.clone(), v.clone());
                }
                serde_json::to_string(&by_name).unwrap()
            })
            .collect();
        lines.sort();
        out.insert(t.name.clone(), lines);
    }
    out
}

async fn assert_same_platform(a: &Arc<dyn Store>, fa: &Attachments, b: &Arc<dyn Store>, fb: &Attachments, made: &Made) {
    assert_eq!(a.count_dossiers().await.unwrap(), b.count_dossiers().await.unwrap());
    for code in &made.codes {
        let x = a.dossier_by_code(code).await.unwrap().unwrap();
        let y = b.dossier_by_code(code).await.unwrap().expect("restored dossier");
        assert_eq!(format!("{x:?}"), format!("{y:?}"), "dossier {code}");
        assert_eq!(a.history(x.id).await.unwrap(), b.history(y.id).await.unwrap(), "history of {code}");
        assert_eq!(
            format!("{:?}", a.attachments(x.id).await.unwrap()),
            format!("{:?}", b.attachments(y.id).await.unwrap())
        );
        assert_eq!(
            format!("{:?}", a.issued_documents(x.id).await.unwrap()),
            format!("{:?}", b.issued_documents(y.id).await.unwrap())
        );
    }
    for (key, sha) in &made.files {
        let x = fa.read_checked(key, sha).await.unwrap();
        let y = fb.read_checked(key, sha).await.expect("restored file with its hash");
        assert_eq!(cqs_store::files::sha256_hex(&y), *sha);
        assert_eq!(x, y);
    }
    assert_eq!(a.dossier_state_counts().await.unwrap(), b.dossier_state_counts().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_restores_into_sqlite_and_postgres() {
    let src_dir = tempfile::tempdir().unwrap();
    let src_url = format!("sqlite://{}", src_dir.path().join("cqs.db").display());
    let src = cqs_store::open(&StoreOptions::new(&src_url)).await.unwrap();
    let src_files = Attachments::open(src_dir.path().join("files")).unwrap();
    let made = fill(&src, &src_files, src_dir.path()).await;

    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("sao-luu");
    let manifest = backup::backup(src.as_ref(), &src_files, &out).await.unwrap();
    assert_covers_catalogue(&manifest, &catalogue_tables(&src_url).await);
    assert_eq!(manifest.files.len(), made.files.len(), "every stored file, once");
    for (key, sha) in &made.files {
        let f = manifest.files.iter().find(|f| f.key == *key).expect("file in backup");
        assert_eq!(&f.sha256, sha);
        assert_eq!(cqs_store::files::sha256_hex(&std::fs::read(out.join("files").join(key)).unwrap()), *sha);
    }
    let dossiers = manifest.snapshot.tables.iter().find(|t| t.name == "dossiers").unwrap();
    assert_eq!(dossiers.rows, made.codes.len() as u64);
    let source_rows = normalized_rows(&out, &manifest);

    // SQLite to SQLite.
    let dst_dir = tempfile::tempdir().unwrap();
    let dst_url = format!("sqlite://{}", dst_dir.path().join("cqs.db").display());
    let dst = cqs_store::open(&StoreOptions::new(&dst_url)).await.unwrap();
    let dst_files = Attachments::open(dst_dir.path().join("files")).unwrap();
    let summary = backup::restore(dst.as_ref(), &dst_files, &out).await.unwrap();
    assert_eq!(summary.files, made.files.len());
    assert_same_platform(&src, &src_files, &dst, &dst_files, &made).await;
    let again = work.path().join("sqlite-again");
    let m2 = backup::backup(dst.as_ref(), &dst_files, &again).await.unwrap();
    for t in &manifest.snapshot.tables {
        let u = m2.snapshot.tables.iter().find(|u| u.name == t.name).unwrap();
        assert_eq!((u.rows, &u.sha256), (t.rows, &t.sha256), "table {} comes back byte for byte", t.name);
    }
    // A second restore into the now full store is refused and changes nothing.
    match backup::restore(dst.as_ref(), &dst_files, &out).await {
        Err(backup::BackupError::Snapshot(SnapshotError::NotEmpty(tables))) => {
            assert!(tables.contains(&"dossiers".into()))
        }
        other => panic!("restoring into a full store must be refused: {other:?}"),
    }
    assert_eq!(dst.count_dossiers().await.unwrap(), made.codes.len() as i64);

    // SQLite to PostgreSQL.
    let Ok(admin) = std::env::var("CQS_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CQS_TEST_POSTGRES_URL must be set in CI");
        eprintln!("skipping PostgreSQL: CQS_TEST_POSTGRES_URL is not set");
        return;
    };
    let pg_url = cqs_store::testing::create_postgres_database(&admin, "cqs_t_").await.unwrap();
    let pg = cqs_store::open(&StoreOptions::new(&pg_url)).await.unwrap();
    let pg_dir = tempfile::tempdir().unwrap();
    let pg_files = Attachments::open(pg_dir.path().join("files")).unwrap();
    backup::restore(pg.as_ref(), &pg_files, &out).await.unwrap();
    assert_same_platform(&src, &src_files, &pg, &pg_files, &made).await;
    let from_pg = work.path().join("from-postgres");
    let m3 = backup::backup(pg.as_ref(), &pg_files, &from_pg).await.unwrap();
    assert_covers_catalogue(&m3, &catalogue_tables(&pg_url).await);
    assert_eq!(normalized_rows(&from_pg, &m3), source_rows, "every row of every table, on PostgreSQL");
    // New rows on PostgreSQL continue the restored ids (the outbox sequence moved on).
    let before = pg.outbox_backlog().await.unwrap();
    transition(&pg, &made.codes[0], DossierState::Accepted, "accept", vec![]).await;
    assert!(pg.outbox_backlog().await.unwrap().pending > before.pending);

    // And back: the PostgreSQL backup loads into SQLite.
    let back_dir = tempfile::tempdir().unwrap();
    let back_url = format!("sqlite://{}", back_dir.path().join("cqs.db").display());
    let back = cqs_store::open(&StoreOptions::new(&back_url)).await.unwrap();
    let back_files = Attachments::open(back_dir.path().join("files")).unwrap();
    backup::restore(back.as_ref(), &back_files, &from_pg).await.unwrap();
    assert_same_platform(
        &pg,
        &pg_files,
        &back,
        &back_files,
        &Made { codes: made.codes[1..].to_vec(), files: made.files.clone() },
    )
    .await;
    drop(pg);
    cqs_store::testing::drop_postgres_database(&admin, &pg_url).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_incomplete_backup_is_refused_and_writes_nothing() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = cqs_store::open(&StoreOptions::new(format!("sqlite://{}", src_dir.path().join("cqs.db").display())))
        .await
        .unwrap();
    let src_files = Attachments::open(src_dir.path().join("files")).unwrap();
    let made = fill(&src, &src_files, src_dir.path()).await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("b");
    backup::backup(src.as_ref(), &src_files, &out).await.unwrap();
    assert!(backup::backup(src.as_ref(), &src_files, &out).await.is_err(), "never into a folder with data");

    let target = || async {
        let d = tempfile::tempdir().unwrap();
        let s = cqs_store::open(&StoreOptions::new(format!("sqlite://{}", d.path().join("cqs.db").display())))
            .await
            .unwrap();
        let f = Attachments::open(d.path().join("files")).unwrap();
        (s, f, d)
    };
    // A history row changed after the backup: the table's hash no longer matches.
    let history = out.join("tables").join("dossier_history.jsonl");
    let original = std::fs::read_to_string(&history).unwrap();
    std::fs::write(&history, original.replacen("Ghi chú", "Ghi chu", 1)).unwrap();
    let (s, f, d) = target().await;
    let err = backup::restore(s.as_ref(), &f, &out).await.unwrap_err();
    assert!(err.to_string().contains("dossier_history"), "{err}");
    assert_eq!(s.count_dossiers().await.unwrap(), 0, "nothing loaded");
    assert!(s.non_empty_tables().await.unwrap().is_empty());
    assert!(f.pending_keys().await.unwrap().is_empty(), "pending files discarded");
    assert!(
        !d.path().join("files/objects").read_dir().unwrap().any(|e| e
            .unwrap()
            .path()
            .read_dir()
            .unwrap()
            .next()
            .is_some())
    );
    std::fs::write(&history, &original).unwrap();

    // A file changed: refused before the database is touched.
    let (key, _) = &made.files[0];
    std::fs::write(out.join("files").join(key), b"changed").unwrap();
    let (s, f, _d) = target().await;
    assert!(matches!(backup::restore(s.as_ref(), &f, &out).await, Err(backup::BackupError::File(_))));
    assert_eq!(s.count_dossiers().await.unwrap(), 0);

    // No manifest: an unfinished backup.
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let (s, f, _d) = target().await;
    let err = backup::restore(s.as_ref(), &f, &out).await.unwrap_err();
    assert!(err.to_string().contains("chưa hoàn tất"), "{err}");
}
