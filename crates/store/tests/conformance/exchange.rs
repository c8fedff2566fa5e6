//! Conformance of the exchange part of the store (run on both backends by `conformance.rs`).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use cqs_domain::exchange::quota::{Window, granted};
use cqs_domain::exchange::request::{self, AccessRequest, Decision, RequestState};
use cqs_domain::exchange::{ClientId, Endpoint, Grant, MemberId, ServiceId, ServiceSpec, Status};
use cqs_store::exchange::{AccessRequestQuery, ClientLimit, NewMember, NewSubsystem};
use cqs_store::{Store, StoreError};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    "2026-03-05T03:00:00Z".parse().unwrap()
}

fn spec(code: &str) -> ServiceSpec {
    serde_json::from_value(serde_json::json!({
        "code": code, "title": "Tra cứu khai sinh", "version": "1.0", "owner": "Sở Tư pháp",
        "base_url": "http://127.0.0.1:9", "openapi": {"openapi": "3.0.3", "paths": {"/khai-sinh/{so}": {"get": {}}}}
    }))
    .unwrap()
}

/// A provider member with one subsystem and one service, and a client subsystem.
async fn registry(store: &Arc<dyn Store>) -> (ClientId, ServiceId, ClientId) {
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
    let (service, created) = store.upsert_service(&provider, &spec("khai-sinh"), t0()).await.unwrap();
    assert!(created);
    (provider, service.id, client)
}

fn grant(service: &ServiceId, client: &ClientId, endpoint: Option<(&str, &str)>) -> Grant {
    Grant {
        id: Uuid::now_v7(),
        service: service.clone(),
        client: client.clone(),
        endpoint: endpoint.map(|(m, p)| Endpoint::parse(m, p).unwrap()),
        granted_at: t0(),
        granted_by: Some(Uuid::now_v7()),
        access_request_id: None,
        revoked_at: None,
        revoked_by: None,
        revoke_reason: None,
    }
}

pub async fn exchange_registry_round_trips(store: Arc<dyn Store>) {
    let v0 = store.registry_version().await.unwrap();
    let (provider, service, client) = registry(&store).await;
    assert!(store.registry_version().await.unwrap() > v0);
    // Renaming a member is an upsert; a second subsystem with a taken id or system id conflicts.
    let renamed = store
        .upsert_member(&NewMember {
            id: provider.member.clone(),
            name: "Sở Tư pháp tỉnh Lạc Hồng".into(),
            org_unit_id: None,
            status: Status::Active,
            at: t0() + Duration::hours(1),
        })
        .await
        .unwrap();
    assert_eq!(renamed.created_at, t0());
    assert_eq!(store.exchange_members().await.unwrap().len(), 2);
    let dup = NewSubsystem {
        id: client.clone(),
        name: "x".into(),
        system_id: "OTHER".into(),
        status: Status::Active,
        at: t0(),
    };
    assert!(matches!(store.create_subsystem(&dup).await, Err(StoreError::Conflict(_))));
    let taken = NewSubsystem {
        id: ClientId::parse("VN-LH/GOV/000.00.31.H99/cong-dvc").unwrap(),
        name: "x".into(),
        system_id: "HOTICH".into(),
        status: Status::Active,
        at: t0(),
    };
    assert!(matches!(store.create_subsystem(&taken).await, Err(StoreError::Conflict(_))));
    let orphan = NewSubsystem {
        id: ClientId::parse("VN-LH/GOV/000.00.99.H99/x").unwrap(),
        name: "x".into(),
        system_id: "ORPHAN".into(),
        status: Status::Active,
        at: t0(),
    };
    assert!(matches!(store.create_subsystem(&orphan).await, Err(StoreError::NotFound(_))));
    // Secrets: each new one bumps the credential version; the hash shows only in the snapshot.
    assert_eq!(store.set_subsystem_secret(&client, "aa", t0()).await.unwrap(), 1);
    assert_eq!(store.set_subsystem_secret(&client, "bb", t0()).await.unwrap(), 2);
    let disabled = store.update_subsystem(&client, None, Some(Status::Disabled), t0()).await.unwrap();
    assert!(disabled.has_secret && disabled.status == Status::Disabled && disabled.name == "Hệ thống MOTCUA-LS");
    // Services: a second upsert replaces and says it was not new.
    let mut changed = spec("khai-sinh");
    changed.version = "1.1".into();
    changed.openapi = None;
    let (s, created) = store.upsert_service(&provider, &changed, t0()).await.unwrap();
    assert!(!created && s.version == "1.1" && s.openapi.is_none());
    assert!(matches!(
        store.upsert_service(&ClientId::parse("VN-LH/GOV/000.00.05.H99/none").unwrap(), &changed, t0()).await,
        Err(StoreError::NotFound(_))
    ));
    let snap = store.registry_snapshot().await.unwrap();
    assert_eq!(snap.version, store.registry_version().await.unwrap());
    assert_eq!((snap.members.len(), snap.subsystems.len(), snap.services.len()), (2, 2, 1));
    let cred = snap.credentials.iter().find(|c| c.client == client).unwrap();
    assert_eq!((cred.secret_hash.as_deref(), cred.credential_version, cred.status), (Some("bb"), 2, Status::Disabled));
    assert_eq!(snap.services[0].id, service);
}

pub async fn exchange_grants_revoke_and_limits(store: Arc<dyn Store>) {
    let (_, service, client) = registry(&store).await;
    let whole = grant(&service, &client, None);
    let one = grant(&service, &client, Some(("GET", "/khai-sinh/*")));
    store.add_grants(&[whole.clone(), one.clone()]).await.unwrap();
    let unknown = grant(&ServiceId::parse("VN-LH/GOV/000.00.05.H99/ho-tich/none").unwrap(), &client, None);
    assert!(matches!(store.add_grants(&[unknown]).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.exchange_grants(Some(&service), false).await.unwrap(), vec![whole.clone(), one.clone()]);
    let by = Uuid::now_v7();
    let revoked = store.revoke_grant(whole.id, by, "Hết nhu cầu sử dụng", t0() + Duration::days(1)).await.unwrap();
    assert_eq!(revoked.revoked_by, Some(by));
    assert!(matches!(store.revoke_grant(whole.id, by, "x", t0()).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.revoke_grant(Uuid::now_v7(), by, "x", t0()).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.exchange_grants(None, false).await.unwrap(), vec![one.clone()]);
    assert_eq!(store.exchange_grants(None, true).await.unwrap().len(), 2);
    assert_eq!(store.registry_snapshot().await.unwrap().grants, vec![one]);
    let events = store.pending_events(100).await.unwrap();
    assert!(events.iter().any(|e| e.topic == "exchange.grant_revoked" && e.aggregate_id == whole.id));
    // Limits: set, replace, delete.
    let limit = ClientLimit { client: client.clone(), service: None, window: Window::Second, max_requests: 10 };
    store.set_limit(&limit, t0()).await.unwrap();
    store.set_limit(&ClientLimit { max_requests: 20, ..limit.clone() }, t0()).await.unwrap();
    let per_service = ClientLimit { service: Some(service.clone()), window: Window::Day, ..limit.clone() };
    store.set_limit(&per_service, t0()).await.unwrap();
    let limits = store.registry_snapshot().await.unwrap().limits;
    assert_eq!(limits.len(), 2);
    assert!(limits.iter().any(|l| l.service.is_none() && l.max_requests == 20));
    assert!(store.delete_limit(&limit).await.unwrap());
    assert!(!store.delete_limit(&limit).await.unwrap());
}

pub async fn exchange_access_requests_are_answered_once(store: Arc<dyn Store>) {
    let (provider, service, client) = registry(&store).await;
    let cal = cqs_domain::calendar::embedded_calendar().unwrap();
    let rule = request::rule_on(&request::answer_rules(), t0().date_naive()).unwrap().clone();
    let r = AccessRequest {
        id: Uuid::now_v7(),
        client: client.clone(),
        service: service.clone(),
        endpoints: vec![Endpoint::parse("GET", "/khai-sinh/*").unwrap()],
        purpose: "Đối chiếu giấy khai sinh".into(),
        legal_basis: "Luật Hộ tịch 2014".into(),
        requested_by: Uuid::now_v7(),
        requested_at: t0(),
        answer_due_at: request::answer_due(&cal, &rule, t0()),
        answer_rule: rule.legal_basis.clone(),
        state: RequestState::Pending,
        decided_at: None,
        decided_by: None,
        decision_note: None,
        refusal_legal_basis: None,
        answered_late: None,
    };
    store.create_access_request(&r).await.unwrap();
    assert_eq!(store.access_request(r.id).await.unwrap().unwrap(), r);
    let pending = AccessRequestQuery { state: Some(RequestState::Pending), limit: 10, ..Default::default() };
    assert_eq!(store.access_requests(&pending).await.unwrap().len(), 1);
    let for_provider = AccessRequestQuery { provider: Some(provider.clone()), limit: 10, ..Default::default() };
    assert_eq!(store.access_requests(&for_provider).await.unwrap().len(), 1);
    let for_other = AccessRequestQuery { provider: Some(client.clone()), limit: 10, ..Default::default() };
    assert!(store.access_requests(&for_other).await.unwrap().is_empty());
    let at = t0() + Duration::hours(3);
    let decided =
        request::decide(&r, Decision::Grant { endpoints: None, note: Some("Chỉ dùng khi tiếp nhận".into()) }, at)
            .unwrap();
    let grants: Vec<Grant> = decided
        .grants
        .iter()
        .map(|e| Grant { endpoint: e.clone(), access_request_id: Some(r.id), ..grant(&service, &client, None) })
        .collect();
    let by = Uuid::now_v7();
    let done = store.record_decision(r.id, &decided, by, at, &grants).await.unwrap();
    assert_eq!((done.state, done.decided_by, done.answered_late), (RequestState::Granted, Some(by), Some(false)));
    assert!(matches!(store.record_decision(r.id, &decided, by, at, &[]).await, Err(StoreError::Conflict(_))));
    let active = store.exchange_grants(Some(&service), false).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].access_request_id, Some(r.id));
    let topics: Vec<String> = store.pending_events(100).await.unwrap().into_iter().map(|e| e.topic).collect();
    assert!(topics.contains(&"exchange.access_requested".to_string()));
    assert!(topics.contains(&"exchange.access_decided".to_string()));
}

/// Four nodes answer the same request at once: exactly one answer is recorded.
pub async fn exchange_decisions_race_across_nodes(nodes: Vec<Arc<dyn Store>>) {
    let (_, service, client) = registry(&nodes[0]).await;
    let r = AccessRequest {
        id: Uuid::now_v7(),
        client: client.clone(),
        service: service.clone(),
        endpoints: vec![],
        purpose: "Đối chiếu giấy khai sinh".into(),
        legal_basis: "Luật Hộ tịch 2014".into(),
        requested_by: Uuid::now_v7(),
        requested_at: t0(),
        answer_due_at: t0() + Duration::days(2),
        answer_rule: "test".into(),
        state: RequestState::Pending,
        decided_at: None,
        decided_by: None,
        decision_note: None,
        refusal_legal_basis: None,
        answered_late: None,
    };
    nodes[0].create_access_request(&r).await.unwrap();
    let mut tasks = Vec::new();
    for node in nodes.clone() {
        let (r, service, client) = (r.clone(), service.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let decided = request::decide(&r, Decision::Grant { endpoints: None, note: None }, t0()).unwrap();
            let g = vec![Grant { access_request_id: Some(r.id), ..grant(&service, &client, None) }];
            node.record_decision(r.id, &decided, Uuid::now_v7(), t0(), &g).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(nodes[1].exchange_grants(Some(&service), false).await.unwrap().len(), 1);
}

/// Four nodes claim leases from one counter at once: together they never get more than the limit.
pub async fn exchange_quota_claims_share_one_counter(nodes: Vec<Arc<dyn Store>>) {
    let window = Window::Minute.start(t0());
    let max = 100;
    let mut tasks = Vec::new();
    for node in nodes.clone() {
        tasks.push(tokio::spawn(async move {
            let mut got = 0;
            for _ in 0..10 {
                let after = node.claim_quota("client|svc|minute", window, 5).await.unwrap();
                got += granted(after, 5, max);
            }
            got
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, max, "200 asked for, exactly the limit granted");
    let next = Window::Minute.next_start(t0());
    assert_eq!(nodes[0].claim_quota("client|svc|minute", next, 5).await.unwrap(), 5, "a new window starts at zero");
    // Nodes initialising a shared secret at once agree on one value.
    let mut tasks = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        tasks.push(tokio::spawn(
            async move { node.init_setting("exchange.test", &format!("v{i}"), t0()).await.unwrap() },
        ));
    }
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap());
    }
    values.dedup();
    assert_eq!(values.len(), 1, "{values:?}");
}

pub async fn exchange_log_batches_chain_and_expire(store: Arc<dyn Store>) {
    use cqs_store::exchange::{LogBatch, LogRow, LogStamp};
    let row = |seq: i64, batch: i64| LogRow {
        node: "n1".into(),
        seq,
        batch,
        at: t0(),
        message_id: format!("m{seq}"),
        client: CLIENT_ID.into(),
        service: "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh".into(),
        status: 200,
        record: format!("{{\"seq\":{seq}}}").into_bytes(),
        digest: vec![seq as u8; 32],
        bodies: (seq % 2 == 0).then(|| vec![seq as u8; 48]),
    };
    let batch = |b: i64, first: i64, last: i64, at: DateTime<Utc>| LogBatch {
        node: "n1".into(),
        batch: b,
        first_seq: first,
        last_seq: last,
        head: vec![b as u8; 32],
        statement: format!("{{\"batch\":{b}}}"),
        signature: vec![7; 64],
        sealed_at: at,
        records: (first..=last).map(|s| row(s, b)).collect(),
    };
    assert_eq!(store.log_head("n1").await.unwrap(), None);
    store.append_log_batch(&batch(1, 1, 3, t0())).await.unwrap();
    store.append_log_batch(&batch(2, 4, 4, t0() + Duration::days(40))).await.unwrap();
    assert_eq!(store.log_head("n1").await.unwrap(), Some((4, 2, vec![2; 32])));
    assert!(matches!(store.append_log_batch(&batch(2, 5, 5, t0())).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.append_log_batch(&batch(3, 4, 4, t0())).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.log_head("n1").await.unwrap().unwrap().0, 4, "a failed batch leaves nothing behind");
    let rows = store.log_rows("m2").await.unwrap();
    assert_eq!((rows.len(), rows[0].batch, rows[0].record.as_slice()), (1, 1, &b"{\"seq\":2}"[..]));
    assert_eq!(store.log_digests("n1", 2, 3).await.unwrap(), vec![vec![2; 32], vec![3; 32]]);
    assert_eq!(store.log_batch("n1", 1).await.unwrap().unwrap().statement, "{\"batch\":1}");
    // Kept bodies come back with their record, and can be forgotten without touching it.
    assert_eq!(rows[0].bodies.as_deref(), Some(&[2u8; 48][..]));
    assert_eq!(store.log_rows("m1").await.unwrap()[0].bodies, None);
    assert_eq!(store.forget_log_bodies_before(t0() - Duration::days(1)).await.unwrap(), 0);
    assert_eq!(store.forget_log_bodies_before(t0() + Duration::seconds(1)).await.unwrap(), 2, "m2 and m4");
    let forgotten = store.log_rows("m2").await.unwrap();
    assert_eq!((forgotten[0].bodies.as_ref(), forgotten[0].record.as_slice()), (None, &b"{\"seq\":2}"[..]));
    assert_eq!(store.forget_log_bodies_before(t0() + Duration::days(500)).await.unwrap(), 0, "nothing left to forget");
    // Timestamp rounds: the batches after a node's last round wait for the next; a round is
    // found from any of its batches; a round cannot start twice at one batch.
    let statement = |b: i64| (b, format!("{{\"batch\":{b}}}"));
    assert_eq!(store.log_unstamped("n1", 10).await.unwrap(), vec![statement(1), statement(2)]);
    assert_eq!(store.log_unstamped("n1", 1).await.unwrap(), vec![statement(1)]);
    assert!(store.log_unstamped("n2", 10).await.unwrap().is_empty(), "rounds are per node");
    let stamp = |first: i64, last: i64| LogStamp {
        node: "n1".into(),
        first_batch: first,
        last_batch: last,
        leaves: vec![first as u8; 32 * (last - first + 1) as usize],
        root: vec![9; 32],
        token: vec![0x30, 0x03, 0x02, 0x01, first as u8],
        tsa: "http://tsa.test/tsr".into(),
        stamped_at: t0(),
    };
    store.add_log_stamp(&stamp(1, 2)).await.unwrap();
    assert!(matches!(store.add_log_stamp(&stamp(1, 2)).await, Err(StoreError::Conflict(_))));
    assert!(store.log_unstamped("n1", 10).await.unwrap().is_empty());
    assert_eq!(store.log_stamp("n1", 1).await.unwrap(), Some(stamp(1, 2)));
    assert_eq!(store.log_stamp("n1", 2).await.unwrap(), Some(stamp(1, 2)));
    assert_eq!(store.log_stamp("n2", 1).await.unwrap(), None);
    store.append_log_batch(&batch(3, 5, 5, t0() + Duration::days(200))).await.unwrap();
    assert_eq!(store.log_unstamped("n1", 10).await.unwrap(), vec![statement(3)]);
    assert_eq!(store.log_stamp("n1", 3).await.unwrap(), None);
    store.add_log_stamp(&stamp(3, 3)).await.unwrap();
    // Retention deletes whole old batches but keeps each node's last one; a round goes only
    // when none of its batches is left.
    assert_eq!(store.delete_log_before(t0() + Duration::days(20)).await.unwrap(), 3);
    assert!(store.log_rows("m1").await.unwrap().is_empty());
    assert_eq!(store.log_stamp("n1", 2).await.unwrap(), Some(stamp(1, 2)), "batch 2 is still there");
    assert_eq!(store.delete_log_before(t0() + Duration::days(300)).await.unwrap(), 1);
    assert_eq!(store.log_head("n1").await.unwrap().unwrap().1, 3, "the last batch stays");
    assert_eq!(store.log_stamp("n1", 2).await.unwrap(), None);
    assert_eq!(store.log_stamp("n1", 3).await.unwrap(), Some(stamp(3, 3)));
}

const CLIENT_ID: &str = "VN-LH/GOV/000.00.31.H99/mot-cua";

pub async fn exchange_stats_are_kept_per_node_and_minute(store: Arc<dyn Store>) {
    use cqs_domain::exchange::monitor::Tally;
    use cqs_store::exchange_stats::{StatQuery, StatRow};
    let row = |minute: DateTime<Utc>, node: &str, client: &str, outcome: &str, calls: i64| {
        let mut tally = Tally::default();
        for i in 0..calls {
            tally.record(1_000 * (i + 1), 10, 100);
        }
        StatRow {
            minute,
            node: node.into(),
            service: "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh".into(),
            client: client.into(),
            outcome: outcome.into(),
            tally,
        }
    };
    let (m0, m1, m2) = (t0(), t0() + Duration::minutes(1), t0() + Duration::minutes(2));
    let a = "VN-LH/GOV/000.00.31.H99/mot-cua";
    store
        .put_exchange_stats(&[
            row(m0, "n1", a, "ok", 3),
            row(m0, "n2", a, "ok", 2),
            row(m1, "n1", "", "Client.AuthenticationFailed", 1),
        ])
        .await
        .unwrap();
    // The same node writing the same key again replaces its row (a flush repeated).
    store.put_exchange_stats(&[row(m0, "n1", a, "ok", 4)]).await.unwrap();
    let q = |from, to, client: Option<&str>| StatQuery { from, to, service: None, client: client.map(str::to_owned) };
    let all = store.exchange_stats(&q(m0, m2, None)).await.unwrap();
    assert_eq!(all.len(), 3);
    let n1 = all.iter().find(|r| r.node == "n1" && r.minute == m0).unwrap();
    assert_eq!(n1.tally, row(m0, "n1", a, "ok", 4).tally, "buckets and sums round-trip");
    assert_eq!(store.exchange_stats(&q(m0, m1, None)).await.unwrap().len(), 2, "`to` is exclusive");
    assert_eq!(store.exchange_stats(&q(m0, m2, Some(a))).await.unwrap().len(), 2);
    let other = StatQuery { service: Some("VN-LH/GOV/000.00.05.H99/ho-tich/khac".into()), ..q(m0, m2, None) };
    assert!(store.exchange_stats(&other).await.unwrap().is_empty());
    assert_eq!(store.delete_exchange_stats_before(m1).await.unwrap(), 2);
    assert_eq!(store.exchange_stats(&q(m0, m2, None)).await.unwrap().len(), 1);
}
