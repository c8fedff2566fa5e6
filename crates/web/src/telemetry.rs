//! What operators see of a node: Prometheus metrics and the access log.
//!
//! Requests are counted and timed by route template (`/api/v1/dossiers/{code}`, never the path
//! itself, which may carry a dossier code), method and status; the access log line is written
//! inside the request's span, so it carries the request id. The store's readings (dossiers by
//! state, overdue dossiers, outbox backlog, job lag, consumer lag) are taken when `/metrics` is
//! scraped, at most once per [`GAUGE_TTL`] per node, so several scrapers cost the store no more
//! than one. The text is rendered on our own route (`api/metrics.rs`), never on a listener of
//! the exporter's.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use cqs_domain::dossier::DossierState;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// How long the store's readings are reused between scrapes.
pub const GAUGE_TTL: Duration = Duration::from_secs(10);

/// Latency buckets (seconds): from a cached read to the request time limit.
const LATENCY_BUCKETS: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();
static LAST_READING: Mutex<Option<Instant>> = Mutex::new(None);

/// The process's metrics recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only what reaches this one");
        }
        handle
    })
}

/// Counts, times and logs each request (a layer inside the request's trace span).
pub async fn track(req: Request, next: Next) -> Response {
    prometheus();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let took = started.elapsed();
    let status = res.status().as_u16();
    counter!("cqs_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("cqs_http_request_duration_seconds", "method" => method, "route" => route).record(took.as_secs_f64());
    tracing::info!(target: "cqs::access", status, ms = took.as_secs_f64() * 1000.0, "request");
    res
}

/// Takes the store's and the bus's readings into the gauges, unless taken less than
/// [`GAUGE_TTL`] ago. Pool use is read every time (it costs nothing).
pub async fn refresh_gauges(state: &AppState) {
    for p in state.store.pool_stats() {
        gauge!("cqs_db_pool_connections", "pool" => p.pool).set(p.size as f64);
        gauge!("cqs_db_pool_idle", "pool" => p.pool).set(p.idle as f64);
        gauge!("cqs_db_pool_max", "pool" => p.pool).set(p.max as f64);
    }
    gauge!("cqs_node_info", "node" => state.jobs.node.as_str().to_owned(), "backend" => state.store.backend(),
        "bus" => state.bus.kind(), "version" => env!("CARGO_PKG_VERSION"))
    .set(1.0);
    {
        let mut last = LAST_READING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < GAUGE_TTL) {
            return;
        }
        *last = Some(Instant::now());
    }
    if let Err(e) = read_store(state).await {
        tracing::warn!(error = %e, "metrics: store readings not taken");
        // Try again at the next scrape rather than in GAUGE_TTL.
        *LAST_READING.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

async fn read_store(state: &AppState) -> Result<(), cqs_store::StoreError> {
    let now = state.clock.now();
    let counts = state.store.dossier_state_counts().await?;
    for s in DossierState::ALL {
        let n = counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
        gauge!("cqs_dossiers", "state" => s.as_str()).set(n as f64);
    }
    gauge!("cqs_dossiers_overdue").set(state.store.overdue_count(now).await? as f64);
    let backlog = state.store.outbox_backlog().await?;
    gauge!("cqs_outbox_pending").set(backlog.pending as f64);
    let age = backlog.oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
    gauge!("cqs_outbox_oldest_age_seconds").set(age);
    for j in state.store.job_statuses().await? {
        let lag = j.last_success_at.map_or(f64::NAN, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        gauge!("cqs_job_last_success_age_seconds", "job" => j.job.clone()).set(lag);
        gauge!("cqs_job_failing", "job" => j.job.clone()).set(if j.last_error.is_some() { 1.0 } else { 0.0 });
        let held = j.holder == state.jobs.node.as_str() && j.lease_until > now;
        gauge!("cqs_job_lease_held", "job" => j.job).set(if held { 1.0 } else { 0.0 });
    }
    for c in crate::events::consumers::standard(&state.store, &state.notifier) {
        match state.bus.consumer_lag(c.name()).await {
            Ok(Some(n)) => gauge!("cqs_event_consumer_pending", "consumer" => c.name()).set(n as f64),
            Ok(None) => {}
            Err(e) => tracing::warn!(consumer = c.name(), error = %e, "metrics: consumer lag not read"),
        }
    }
    Ok(())
}

/// The metrics as Prometheus text.
pub fn render() -> String {
    let handle = prometheus();
    handle.run_upkeep();
    handle.render()
}

/// Drains the recorder's histogram buffers now and then (the exporter's own listener would;
/// we render on our own route instead). Ends when `stop` turns true.
pub fn spawn_upkeep(mut stop: crate::jobs::Stop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let handle = prometheus();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
                _ = crate::jobs::lease::until_stopped(&mut stop) => return,
            }
        }
    })
}
