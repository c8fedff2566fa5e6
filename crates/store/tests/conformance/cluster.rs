//! Conformance of what running as a cluster needs from the store: job leases, the relay's side
//! of the outbox, consumer claims and the store's gauges.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cqs_domain::dossier::DossierState;
use cqs_store::*;
use uuid::Uuid;

use super::{day, fixture, new_dossier, receipt};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

const TTL: Duration = Duration::from_secs(30);

pub async fn leases_are_exclusive_and_expire(nodes: Vec<Arc<dyn Store>>) {
    let now = t0();
    // Four nodes race for one job at the same moment: exactly one gets it.
    let mut tasks = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let node = node.clone();
        tasks.push(tokio::spawn(async move { node.acquire_lease("sweep", &format!("node-{i}"), now, TTL).await }));
    }
    let mut won = Vec::new();
    for t in tasks {
        if let Some(l) = t.await.unwrap().unwrap() {
            won.push(l);
        }
    }
    assert_eq!(won.len(), 1, "one holder: {won:?}");
    let first = won.pop().unwrap();
    assert_eq!((first.generation, first.lease_until), (1, now + chrono::Duration::seconds(30)));
    let holder = first.holder.clone();
    let other = if holder == "node-0" { "node-1" } else { "node-0" };

    // The holder renews; the others are refused while the lease runs.
    let later = now + chrono::Duration::seconds(20);
    let renewed = nodes[0].acquire_lease("sweep", &holder, later, TTL).await.unwrap().unwrap();
    assert_eq!((renewed.generation, renewed.lease_until), (1, later + chrono::Duration::seconds(30)));
    assert!(
        nodes[1].acquire_lease("sweep", other, later + chrono::Duration::seconds(29), TTL).await.unwrap().is_none()
    );
    // Another job is independent.
    assert!(nodes[2].acquire_lease("relay", other, later, TTL).await.unwrap().is_some());

    // The holder dies: once its lease has run out another node takes the job over, and the old
    // holder can no longer renew.
    let expired = later + chrono::Duration::seconds(31);
    let taken = nodes[3].acquire_lease("sweep", other, expired, TTL).await.unwrap().unwrap();
    assert_eq!(taken.generation, 2, "a new holder is a new generation");
    assert!(nodes[0].acquire_lease("sweep", &holder, expired, TTL).await.unwrap().is_none());

    // A released lease is free at once.
    nodes[3].release_lease("sweep", other, expired).await.unwrap();
    let back = nodes[1].acquire_lease("sweep", &holder, expired, TTL).await.unwrap().unwrap();
    assert_eq!(back.generation, 3);
    // Releasing someone else's lease does nothing.
    nodes[2].release_lease("sweep", other, expired).await.unwrap();
    assert!(nodes[2].acquire_lease("sweep", other, expired, TTL).await.unwrap().is_none());

    nodes[0].record_job_run("sweep", expired, None).await.unwrap();
    nodes[0].record_job_run("sweep", expired + chrono::Duration::seconds(60), Some("database gone")).await.unwrap();
    let statuses = nodes[2].job_statuses().await.unwrap();
    assert_eq!(statuses.iter().map(|s| s.job.as_str()).collect::<Vec<_>>(), ["relay", "sweep"]);
    let sweep = &statuses[1];
    assert_eq!(sweep.holder, holder);
    assert_eq!(sweep.last_success_at, Some(expired));
    assert_eq!(sweep.last_run_at, Some(expired + chrono::Duration::seconds(60)));
    assert_eq!(sweep.last_error.as_deref(), Some("database gone"));
}

pub async fn outbox_is_relayed_and_purged(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    for _ in 0..3 {
        receipt(store.create_dossier(&new_dossier(&f, day())).await.unwrap());
    }
    let pending = store.pending_events(10).await.unwrap();
    assert_eq!(pending.len(), 3);
    let backlog = store.outbox_backlog().await.unwrap();
    assert_eq!(backlog.pending, 3);
    assert_eq!(backlog.oldest, Some(pending[0].created_at));

    let at = t0();
    store.mark_published(&[pending[0].id, pending[1].id], at).await.unwrap();
    let left = store.pending_events(10).await.unwrap();
    assert_eq!(left.iter().map(|e| e.event_id).collect::<Vec<_>>(), [pending[2].event_id]);
    assert_eq!(store.outbox_backlog().await.unwrap().pending, 1);
    // Marking again (a relay that died before it recorded its work) changes nothing.
    store.mark_published(&[pending[0].id], at + chrono::Duration::hours(1)).await.unwrap();

    // Only published events older than the cut are purged; pending ones never.
    assert_eq!(store.purge_published(at, 100).await.unwrap(), 0);
    assert_eq!(store.purge_published(at + chrono::Duration::seconds(1), 1).await.unwrap(), 1);
    assert_eq!(store.purge_published(at + chrono::Duration::days(30), 100).await.unwrap(), 1);
    assert_eq!(store.pending_events(10).await.unwrap().len(), 1);
}

fn change(from: Option<DossierState>, to: DossierState) -> StateChange {
    StateChange { event_id: Uuid::now_v7(), from, to }
}

pub async fn state_counts_apply_each_event_once(nodes: Vec<Arc<dyn Store>>) {
    use DossierState::*;
    let f = fixture(&nodes[0]).await;
    // Dossiers that existed before counting started are not counted twice by their events.
    receipt(nodes[0].create_dossier(&new_dossier(&f, day())).await.unwrap());
    let baseline = nodes[0].dossier_state_counts().await.unwrap();
    let mut changes = Vec::new();
    for _ in 0..20 {
        changes.push(change(None, Submitted));
    }
    for _ in 0..5 {
        changes.push(change(Some(Submitted), Accepted));
    }
    changes.push(change(Some(Accepted), InProgress));
    // The same event twice in one batch counts once.
    changes.push(changes[0]);

    // Every node is handed every event (as a bus redelivering after failures would), in
    // different batches: each event is applied exactly once.
    let mut tasks = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (node, mut mine) = (node.clone(), changes.clone());
        mine.rotate_left(i * 5);
        tasks.push(tokio::spawn(async move {
            let mut applied = 0;
            for chunk in mine.chunks(4) {
                applied += node.apply_state_changes("counts", chunk, t0()).await.unwrap();
            }
            applied
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.unwrap();
    }
    assert_eq!(applied, 26);
    let by_name = |v: Vec<(DossierState, i64)>| -> std::collections::BTreeMap<&'static str, i64> {
        v.into_iter().map(|(s, n)| (s.as_str(), n)).collect()
    };
    let mut expected = by_name(baseline);
    *expected.entry("submitted").or_default() += 15;
    *expected.entry("accepted").or_default() += 4;
    *expected.entry("in_progress").or_default() += 1;
    let counts = by_name(nodes[1].dossier_state_counts().await.unwrap());
    assert_eq!(counts, expected);
    // Another consumer has claims of its own.
    assert_eq!(nodes[2].apply_state_changes("other", &changes[..1], t0()).await.unwrap(), 1);

    // Old claims are purged; recent ones stay (a redelivery of a recent event still finds its claim).
    assert_eq!(nodes[0].purge_consumed(t0(), 100).await.unwrap(), 0);
    assert_eq!(nodes[0].purge_consumed(t0() + chrono::Duration::seconds(1), 1000).await.unwrap(), 27);
}

pub async fn gauges_report_pools_and_overdue_dossiers(store: Arc<dyn Store>) {
    let f = fixture(&store).await;
    let d = new_dossier(&f, day());
    let due = d.due_at.unwrap();
    receipt(store.create_dossier(&d).await.unwrap());
    assert_eq!(store.overdue_count(due - chrono::Duration::minutes(1)).await.unwrap(), 0);
    assert_eq!(store.overdue_count(due + chrono::Duration::minutes(1)).await.unwrap(), 1);
    let pools = store.pool_stats();
    assert!(!pools.is_empty());
    for p in pools {
        assert!(p.max >= 1 && p.size <= p.max && p.idle <= p.size, "{p:?}");
    }
}
