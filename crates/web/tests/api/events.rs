//! Events and background jobs as a cluster sees them: the outbox relay on the in-process bus and
//! on NATS JetStream (de-duplicated by message id, consumed at least once by idempotent
//! consumers), and leased jobs taken over when their node dies.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cqs_web::events::{Bus, Event, InProcessBus, NatsBus, NatsSettings, relay_pending};
use cqs_web::jobs::{JobSettings, NodeId};
use futures_util::StreamExt;

use super::*;

/// Dossiers by state as the counting consumer has them, by state name.
async fn counts(store: &Arc<dyn Store>) -> BTreeMap<&'static str, i64> {
    store.dossier_state_counts().await.unwrap().into_iter().map(|(s, n)| (s.as_str(), n)).collect()
}

/// Three submissions and one acceptance through the API: four events.
async fn some_events(app: &App) {
    let code = submitted(app).await;
    submitted(app).await;
    submitted(app).await;
    assert_eq!(act(app, &code, &app.desk_x, 1, json!({"type": "accept"})).await.status, StatusCode::OK);
}

#[tokio::test]
async fn relay_feeds_in_process_consumers_once() {
    relay_in_process(app().await).await;
}

#[tokio::test]
async fn relay_feeds_in_process_consumers_once_on_postgres() {
    if let Some(app) = postgres_app().await {
        relay_in_process(app).await;
    }
}

async fn relay_in_process(app: App) {
    let bus = Arc::new(InProcessBus::new(cqs_web::events::consumers::standard(&app.store, &app.state.notifier)));
    let mut heard = bus.listen();
    some_events(&app).await;
    assert_eq!(app.store.outbox_backlog().await.unwrap().pending, 4);
    let read: Vec<Event> = app.store.pending_events(10).await.unwrap().into_iter().map(Event::from).collect();
    assert_eq!(relay_pending(app.store.as_ref(), bus.as_ref(), &app.clock).await.unwrap(), 4);
    assert_eq!(app.store.outbox_backlog().await.unwrap().pending, 0);
    let expected = BTreeMap::from([("submitted", 2), ("accepted", 1)]);
    assert_eq!(counts(&app.store).await, expected);
    let mut topics = Vec::new();
    while let Ok(e) = heard.try_recv() {
        topics.push(e.topic);
    }
    assert_eq!(topics, ["dossier.submitted", "dossier.submitted", "dossier.submitted", "dossier.accept"]);
    // Events carry no personal data.
    assert!(!serde_json::to_string(&read).unwrap().contains("Nguyễn"));

    // Nothing is pending: a second relay publishes nothing.
    assert_eq!(relay_pending(app.store.as_ref(), bus.as_ref(), &app.clock).await.unwrap(), 0);
    // A relay that died after publishing and before marking: the next one publishes the same
    // events again, and the consumer counts them once.
    bus.publish(&read).await.unwrap();
    assert_eq!(counts(&app.store).await, expected);
}

/// Which node ran the job, and whether two ever ran it at once.
#[derive(Default)]
struct Runs {
    by: Mutex<Vec<String>>,
    running: AtomicUsize,
    overlapped: AtomicUsize,
}

fn recording(runs: Arc<Runs>) -> cqs_web::jobs::Work {
    Arc::new(move |state: cqs_web::AppState| {
        let runs = runs.clone();
        Box::pin(async move {
            // Counts down when the run ends or is dropped (its node died).
            struct Running(Arc<Runs>);
            impl Drop for Running {
                fn drop(&mut self) {
                    self.0.running.fetch_sub(1, Ordering::SeqCst);
                }
            }
            if runs.running.fetch_add(1, Ordering::SeqCst) > 0 {
                runs.overlapped.fetch_add(1, Ordering::SeqCst);
            }
            let _running = Running(runs.clone());
            runs.by.lock().unwrap().push(state.jobs.node.as_str().to_owned());
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(())
        })
    })
}

/// Polls `f` every 50 ms for up to `secs` seconds.
async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 20 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_job_is_taken_over() {
    let app = app().await;
    let ttl = Duration::from_secs(1);
    let node = |name: &str| {
        app.state
            .clone()
            .with_clock(cqs_web::Clock::system())
            .with_jobs(JobSettings { node: NodeId::named(name), lease_ttl: ttl })
    };
    let runs = Arc::new(Runs::default());
    let (stop_a, stopped_a) = tokio::sync::watch::channel(false);
    let (stop_b, stopped_b) = tokio::sync::watch::channel(false);
    let every = Duration::from_millis(100);
    let a = cqs_web::jobs::spawn_leased(node("a"), "test-job", every, stopped_a, recording(runs.clone()));
    assert!(eventually(5, || !runs.by.lock().unwrap().is_empty()).await, "node a runs the job");
    let b = cqs_web::jobs::spawn_leased(node("b"), "test-job", every, stopped_b, recording(runs.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(runs.by.lock().unwrap().iter().all(|n| n == "a"), "only the holder runs it while its lease holds");

    // Node a dies: no release, its lease just runs out, and node b takes the job over.
    a.abort();
    let died = runs.by.lock().unwrap().len();
    assert!(
        eventually(5, || runs.by.lock().unwrap()[died..].iter().any(|n| n == "b")).await,
        "node b takes over after the lease time"
    );
    let status = app.store.job_statuses().await.unwrap().into_iter().find(|s| s.job == "test-job").unwrap();
    assert_eq!((status.holder.as_str(), status.generation), ("b", 2));
    assert!(status.last_success_at.is_some());

    // Node b stops: it releases the lease, so a new node takes it at once.
    stop_b.send(true).unwrap();
    b.await.unwrap();
    let status = app.store.job_statuses().await.unwrap().into_iter().find(|s| s.job == "test-job").unwrap();
    assert!(status.lease_until <= chrono::Utc::now(), "released at shutdown");
    assert_eq!(runs.overlapped.load(Ordering::SeqCst), 0, "never two runs at once");
    drop(stop_a);
}

/// A NATS server with JetStream: `CQS_TEST_NATS_URL`, by default the local one. Required in CI.
async fn nats_url() -> Option<String> {
    let url = std::env::var("CQS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match async_nats::connect(url.as_str()).await {
        Ok(_) => Some(url),
        Err(e) => {
            assert!(std::env::var("CI").is_err(), "NATS must run in CI ({url}: {e})");
            eprintln!("skipping NATS: {url}: {e}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_relay_deduplicates_and_feeds_durable_consumers() {
    let Some(url) = nats_url().await else { return };
    let app = app().await;
    let tag = Uuid::new_v4().simple().to_string();
    let settings = NatsSettings {
        url: url.clone(),
        stream: format!("CQS_T_{tag}"),
        subject_prefix: format!("cqs_t_{tag}"),
        max_age: Duration::from_secs(3600),
        client_name: "cqs test".into(),
    };
    let bus = Arc::new(NatsBus::connect(&settings).await.unwrap());
    assert!(bus.ping().await.is_ok());
    let js = async_nats::jetstream::new(async_nats::connect(url.as_str()).await.unwrap());
    // An outside subscriber: its own durable consumer on the stream, made before any event.
    let mut stream = js.get_stream(&settings.stream).await.unwrap();
    let outside = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("outside".into()),
            ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();

    some_events(&app).await;
    let read: Vec<Event> = app.store.pending_events(10).await.unwrap().into_iter().map(Event::from).collect();
    assert_eq!(relay_pending(app.store.as_ref(), bus.as_ref(), &app.clock).await.unwrap(), 4);
    // The relay died before marking: the next publishes again, and the server drops the copies.
    bus.publish(&read).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 4, "one message per event");

    // Two nodes run the counting consumer on the same durable JetStream consumer.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks =
        bus.run_consumers(cqs_web::events::consumers::standard(&app.store, &app.state.notifier), stopped.clone());
    tasks.extend(bus.run_consumers(cqs_web::events::consumers::standard(&app.store, &app.state.notifier), stopped));
    let expected = BTreeMap::from([("submitted", 2), ("accepted", 1)]);
    let mut seen = BTreeMap::new();
    for _ in 0..100 {
        seen = counts(&app.store).await;
        if seen == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, expected);
    let lag = bus.consumer_lag(cqs_web::events::DossierStateCounts::NAME).await.unwrap();
    assert!(lag.is_some_and(|l| l <= 4));

    // The outside subscriber gets each event once, with its id as the message id.
    let mut got = Vec::new();
    let mut batch = outside.fetch().max_messages(10).messages().await.unwrap();
    while let Some(m) = batch.next().await {
        let m = m.unwrap();
        let id = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string()).unwrap();
        let e: Event = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(id, e.event_id.to_string());
        assert_eq!(m.subject.as_str(), format!("{}.{}", settings.subject_prefix, e.topic));
        m.ack().await.unwrap();
        got.push(e.event_id);
    }
    let mut want: Vec<Uuid> = read.iter().map(|e| e.event_id).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    stop.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    js.delete_stream(&settings.stream).await.unwrap();
}
