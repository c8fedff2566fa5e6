//! Operational monitoring on one node: every call through the gateway, refused ones included, is
//! counted per minute, service, client and outcome (a `Tally` of `domain::exchange::monitor`)
//! and as Prometheus metrics. Every few seconds the open minutes go to the store, so the
//! monitoring API adds up the calls of every node. A node killed outright loses at most its
//! last few seconds of counts; the calls themselves are in the message log.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use cqs_domain::exchange::monitor::Tally;
use cqs_store::Store;
use cqs_store::exchange_stats::StatRow;
use metrics::{Counter, Histogram};

/// How often a node writes its counts.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// One service and client: its metric handles and its open minutes. Made on the pair's first
/// call and kept, so counting a call copies no label and looks up no metric.
struct Series {
    service: String,
    client: String,
    duration: Histogram,
    bytes_in: Counter,
    bytes_out: Counter,
    outcomes: Mutex<Vec<Outcome>>,
}

/// One outcome of a pair: its request counter and its tallies by minute.
struct Outcome {
    name: String,
    requests: Counter,
    minutes: BTreeMap<DateTime<Utc>, Tally>,
}

impl Series {
    fn new(service: &str, client: &str) -> Self {
        let labels = [("service", service.to_owned()), ("client", client.to_owned())];
        Self {
            service: service.to_owned(),
            client: client.to_owned(),
            duration: metrics::histogram!("cqs_exchange_request_duration_seconds", &labels),
            bytes_in: metrics::counter!("cqs_exchange_request_bytes_total", &labels),
            bytes_out: metrics::counter!("cqs_exchange_response_bytes_total", &labels),
            outcomes: Mutex::default(),
        }
    }
}

pub struct Monitor {
    node: String,
    /// By service, then client.
    series: RwLock<HashMap<String, HashMap<String, Arc<Series>>>>,
}

/// What became of a call, as counted: `ok`, `provider_error` (the provider answered 4xx or 5xx,
/// passed through), or the X-Road error type the platform answered with.
pub fn outcome(status: u16, platform_error: Option<&str>) -> &str {
    match platform_error {
        Some(kind) => kind,
        None if status < 400 => "ok",
        None => "provider_error",
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Monitor {
    pub fn new(node: &str) -> Self {
        Self { node: node.to_owned(), series: RwLock::default() }
    }

    /// The series of a pair, made on its first call.
    fn series(&self, service: &str, client: &str) -> Arc<Series> {
        let found = {
            let all = self.series.read().unwrap_or_else(|e| e.into_inner());
            all.get(service).and_then(|m| m.get(client)).cloned()
        };
        found.unwrap_or_else(|| {
            let mut all = self.series.write().unwrap_or_else(|e| e.into_inner());
            all.entry(service.to_owned())
                .or_default()
                .entry(client.to_owned())
                .or_insert_with(|| Arc::new(Series::new(service, client)))
                .clone()
        })
    }

    /// Counts one call. `service` and `client` are empty when the call got no further than
    /// naming them (a bad path, an unknown caller).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        at: DateTime<Utc>,
        service: &str,
        client: &str,
        outcome: &str,
        latency: Duration,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let series = self.series(service, client);
        series.duration.record(latency.as_secs_f64());
        series.bytes_in.increment(bytes_in);
        series.bytes_out.increment(bytes_out);
        let minute = at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at);
        let mut outcomes = lock(&series.outcomes);
        let i = match outcomes.iter().position(|o| o.name == outcome) {
            Some(i) => i,
            None => {
                let labels =
                    [("service", service.to_owned()), ("client", client.to_owned()), ("outcome", outcome.to_owned())];
                let requests = metrics::counter!("cqs_exchange_requests_total", &labels);
                outcomes.push(Outcome { name: outcome.to_owned(), requests, minutes: BTreeMap::new() });
                outcomes.len() - 1
            }
        };
        let o = &mut outcomes[i];
        o.requests.increment(1);
        o.minutes.entry(minute).or_default().record(latency.as_micros() as i64, bytes_in as i64, bytes_out as i64);
    }

    fn all_series(&self) -> Vec<Arc<Series>> {
        let all = self.series.read().unwrap_or_else(|e| e.into_inner());
        all.values().flat_map(|m| m.values().cloned()).collect()
    }

    /// Writes every open minute (absolute values: writing again is harmless), then forgets the
    /// minutes before `now`'s that did not change meanwhile.
    pub async fn flush(&self, store: &dyn Store, now: DateTime<Utc>) -> cqs_store::Result<()> {
        let series = self.all_series();
        let mut rows = Vec::new();
        for s in &series {
            for o in lock(&s.outcomes).iter() {
                for (minute, tally) in &o.minutes {
                    rows.push(StatRow {
                        minute: *minute,
                        node: self.node.clone(),
                        service: s.service.clone(),
                        client: s.client.clone(),
                        outcome: o.name.clone(),
                        tally: tally.clone(),
                    });
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        store.put_exchange_stats(&rows).await?;
        let current = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        let written: HashMap<(&str, &str, &str, DateTime<Utc>), i64> = rows
            .iter()
            .map(|r| ((r.service.as_str(), r.client.as_str(), r.outcome.as_str(), r.minute), r.tally.requests))
            .collect();
        for s in &series {
            for o in lock(&s.outcomes).iter_mut() {
                o.minutes.retain(|minute, t| {
                    let unchanged = written.get(&(s.service.as_str(), s.client.as_str(), o.name.as_str(), *minute))
                        == Some(&t.requests);
                    !(*minute < current && unchanged)
                });
            }
        }
        Ok(())
    }

    /// Minutes not yet let go, for tests.
    #[cfg(test)]
    fn open_minutes(&self) -> usize {
        self.all_series().iter().map(|s| lock(&s.outcomes).iter().map(|o| o.minutes.len()).sum::<usize>()).sum()
    }

    /// Flushes every [`FLUSH_EVERY`] for as long as the process runs.
    pub fn spawn_flush(self: &Arc<Self>, store: Arc<dyn Store>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = me.flush(store.as_ref(), Utc::now()).await {
                    tracing::warn!(error = %e, "exchange monitoring counts not written; the next flush retries");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_name_who_failed() {
        assert_eq!(outcome(200, None), "ok");
        assert_eq!(outcome(304, None), "ok");
        assert_eq!(outcome(404, None), "provider_error");
        assert_eq!(outcome(403, Some("Server.ServerProxy.AccessDenied")), "Server.ServerProxy.AccessDenied");
    }

    #[tokio::test]
    async fn counts_reach_the_store_and_closed_minutes_are_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let store = cqs_store::open(&cqs_store::StoreOptions::new(url)).await.unwrap();
        let m = Monitor::new("node-a");
        let t0: DateTime<Utc> = "2026-12-02T03:04:10Z".parse().unwrap();
        m.record(t0, "S", "C", "ok", Duration::from_millis(3), 10, 100);
        m.record(t0, "S", "C", "ok", Duration::from_millis(40), 0, 5);
        m.record(t0, "S", "", "Client.AuthenticationFailed", Duration::from_micros(90), 0, 0);
        m.flush(store.as_ref(), t0).await.unwrap();
        // Written again in the next minute with one more call: replaced, not added.
        m.record(t0, "S", "C", "ok", Duration::from_millis(3), 1, 1);
        let t1 = t0 + TimeDelta::minutes(1);
        m.flush(store.as_ref(), t1).await.unwrap();
        let q = cqs_store::exchange_stats::StatQuery {
            from: t0 - TimeDelta::hours(1),
            to: t1,
            service: None,
            client: None,
        };
        let rows = store.exchange_stats(&q).await.unwrap();
        assert_eq!(rows.len(), 2);
        let ok = rows.iter().find(|r| r.outcome == "ok").unwrap();
        assert_eq!((ok.tally.requests, ok.tally.bytes_in, ok.tally.bytes_out), (3, 11, 106));
        assert_eq!(ok.minute, "2026-12-02T03:04:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(m.open_minutes(), 0, "the closed minute is let go once written");
    }
}
