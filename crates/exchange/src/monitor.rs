//! Operational monitoring on one node: every call through the gateway, refused ones included, is
//! counted per minute, service, client and outcome (a `Tally` of `domain::exchange::monitor`)
//! and as Prometheus metrics. Every few seconds the open minutes go to the store, so the
//! monitoring API adds up the calls of every node. A node killed outright loses at most its
//! last few seconds of counts; the calls themselves are in the message log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use cqs_domain::exchange::monitor::Tally;
use cqs_store::Store;
use cqs_store::exchange_stats::StatRow;

/// How often a node writes its counts.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Minute, service, client, outcome.
type Key = (DateTime<Utc>, String, String, String);

pub struct Monitor {
    node: String,
    open: Mutex<BTreeMap<Key, Tally>>,
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

impl Monitor {
    pub fn new(node: &str) -> Self {
        Self { node: node.to_owned(), open: Mutex::default() }
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
        let labels = [("service", service.to_owned()), ("client", client.to_owned())];
        metrics::counter!("cqs_exchange_requests_total", &[&labels[..], &[("outcome", outcome.to_owned())]].concat())
            .increment(1);
        metrics::histogram!("cqs_exchange_request_duration_seconds", &labels).record(latency.as_secs_f64());
        metrics::counter!("cqs_exchange_request_bytes_total", &labels).increment(bytes_in);
        metrics::counter!("cqs_exchange_response_bytes_total", &labels).increment(bytes_out);
        let minute = at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at);
        let key = (minute, service.to_owned(), client.to_owned(), outcome.to_owned());
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.entry(key).or_default().record(latency.as_micros() as i64, bytes_in as i64, bytes_out as i64);
    }

    /// Writes every open minute (absolute values: writing again is harmless), then forgets the
    /// minutes before `now`'s that did not change meanwhile.
    pub async fn flush(&self, store: &dyn Store, now: DateTime<Utc>) -> cqs_store::Result<()> {
        let snapshot: Vec<(Key, Tally)> = {
            let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.iter().map(|(k, t)| (k.clone(), t.clone())).collect()
        };
        if snapshot.is_empty() {
            return Ok(());
        }
        let rows: Vec<StatRow> = snapshot
            .iter()
            .map(|((minute, service, client, outcome), tally)| StatRow {
                minute: *minute,
                node: self.node.clone(),
                service: service.clone(),
                client: client.clone(),
                outcome: outcome.clone(),
                tally: tally.clone(),
            })
            .collect();
        store.put_exchange_stats(&rows).await?;
        let current = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for (key, written) in snapshot {
            if key.0 < current && open.get(&key).is_some_and(|t| t.requests == written.requests) {
                open.remove(&key);
            }
        }
        Ok(())
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
        assert!(m.open.lock().unwrap().is_empty(), "the closed minute is let go once written");
    }
}
