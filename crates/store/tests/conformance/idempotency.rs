//! Conformance of `Idempotency-Key` claims: one holder at a time, answers kept and replayed,
//! failed requests release their key, dead claims are taken over when their lease ends, and a
//! workflow transition writes its answer in its own transaction.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cqs_store::*;

use super::{day, fixture, new_dossier, receipt};

fn key(k: &str, hash: &str) -> RequestKey {
    RequestKey { scope: "staff:1".into(), key: k.into(), request_hash: hash.into() }
}

fn answer(body: &str) -> StoredAnswer {
    StoredAnswer {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some("/api/v1/x/1".into()),
        body: body.as_bytes().to_vec(),
    }
}

const LEASE: Duration = Duration::from_secs(90);

fn held(c: Claim) -> HeldKey {
    match c {
        Claim::Held(h) => h,
        other => panic!("expected the claim, got {other:?}"),
    }
}

pub async fn idempotency_claims_are_exclusive_and_replay(store: Arc<dyn Store>) {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    let k = key("k1", "h1");
    let h = held(store.claim_key(&k, now, LEASE).await.unwrap());
    // Held by a running request: others wait; another request under the key is refused.
    assert!(matches!(store.claim_key(&k, now, LEASE).await.unwrap(), Claim::InProgress { .. }));
    assert_eq!(store.claim_key(&key("k1", "h2"), now, LEASE).await.unwrap(), Claim::Mismatch);
    // Another scope's key of the same name is its own.
    let theirs = RequestKey { scope: "client:2".into(), ..key("k1", "h2") };
    held(store.claim_key(&theirs, now, LEASE).await.unwrap());
    store.record_answer(&h, &answer("{\"a\":1}")).await.unwrap();
    assert_eq!(store.claim_key(&k, now, LEASE).await.unwrap(), Claim::Answered(answer("{\"a\":1}")));
    // Recording again (a second writer) changes nothing; releasing an answered key keeps it.
    store.record_answer(&h, &answer("{\"a\":2}")).await.unwrap();
    store.release_key(&h).await.unwrap();
    assert_eq!(store.claim_key(&k, now, LEASE).await.unwrap(), Claim::Answered(answer("{\"a\":1}")));

    // A failed request releases its key, which may then carry another request.
    let failed = held(store.claim_key(&key("k2", "h1"), now, LEASE).await.unwrap());
    store.release_key(&failed).await.unwrap();
    held(store.claim_key(&key("k2", "h3"), now, LEASE).await.unwrap());

    // A claim whose lease ran out (its node died) is taken over by exactly one retry, and the
    // dead claim can neither answer nor release any more.
    let dead = held(store.claim_key(&key("k3", "h1"), now, LEASE).await.unwrap());
    let later = now + chrono::Duration::seconds(91);
    let mut racing = Vec::new();
    for _ in 0..4 {
        let s = store.clone();
        racing.push(tokio::spawn(async move { s.claim_key(&key("k3", "h1"), later, LEASE).await.unwrap() }));
    }
    let mut winners = Vec::new();
    for t in racing {
        match t.await.unwrap() {
            Claim::Held(h) => winners.push(h),
            Claim::InProgress { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    store.release_key(&dead).await.unwrap();
    store.record_answer(&dead, &answer("dead")).await.unwrap();
    assert!(matches!(store.claim_key(&key("k3", "h1"), later, LEASE).await.unwrap(), Claim::InProgress { .. }));
    store.record_answer(&winners[0], &answer("alive")).await.unwrap();
    assert_eq!(store.claim_key(&key("k3", "h1"), later, LEASE).await.unwrap(), Claim::Answered(answer("alive")));

    // Keys older than the cut-off are purged.
    assert_eq!(store.purge_idempotency_keys(now + chrono::Duration::seconds(1), 2).await.unwrap(), 2);
    assert_eq!(store.purge_idempotency_keys(now + chrono::Duration::seconds(1), 100).await.unwrap(), 2);
    held(store.claim_key(&k, later, LEASE).await.unwrap());
}

pub async fn transitions_write_their_answer_in_their_transaction(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let r = receipt(store.create_dossier(&new_dossier(&f, day())).await.unwrap());
    let d = store.dossier_by_code(&r.code).await.unwrap().unwrap();
    let now = d.received_at + chrono::Duration::hours(1);
    let k = key("act", "h");
    let h = held(store.claim_key(&k, now, LEASE).await.unwrap());
    let mut pos = d.position();
    pos.state = cqs_domain::dossier::DossierState::Accepted;
    pos.step = Some(0);
    let t = super::transition(&d, pos.clone(), "accept", None);
    // A stale transition rolls back whole: no answer is kept.
    let stale = Transition { expected_version: d.version + 5, ..t.clone() };
    assert!(store.apply_transition_answered(&stale, Some((&h, &answer("stale")))).await.is_err());
    assert!(matches!(store.claim_key(&k, now, LEASE).await.unwrap(), Claim::InProgress { .. }));
    assert_eq!(store.apply_transition_answered(&t, Some((&h, &answer("accepted")))).await.unwrap(), d.version + 1);
    assert_eq!(store.claim_key(&k, now, LEASE).await.unwrap(), Claim::Answered(answer("accepted")));
    assert_eq!(store.history(d.id).await.unwrap().len(), 2);
}
