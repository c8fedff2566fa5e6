//! Soak: the mixed workload of [`Op::mixed`] (citizen lookups, officer inbox reads, submissions,
//! accept actions) first at its peak, then in an open loop at half that rate for a long time,
//! reported window by window so that drift shows: throughput, latency percentiles, errors and
//! the server's resident memory at the end of each window.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::load::{Client, Op, Report};

pub struct Window {
    /// Seconds from the start of the soak to the start of the window.
    pub start_s: u64,
    pub report: Report,
    /// Server resident memory at the end of the window, MB.
    pub rss_mb: f64,
}

pub struct Soak {
    pub peak: Report,
    pub rate: f64,
    pub rss_before_mb: f64,
    pub windows: Vec<Window>,
}

/// One finished request of the open loop: its window and its latency (none when it failed).
type Sample = (usize, Option<u64>);

pub async fn run(
    client: &Client,
    concurrency: usize,
    peak_for: Duration,
    soak_for: Duration,
    window: Duration,
    rss_mb: impl Fn() -> f64,
) -> anyhow::Result<Soak> {
    let form = Arc::new(client.form().await?);
    // Lookups need dossiers to look up.
    for _ in 0..5 {
        client.once(Op::Submit, &form).await?;
    }
    let counter = Arc::new(AtomicUsize::new(0));
    let peak = {
        let (client, form, counter) = (client.clone(), form.clone(), counter.clone());
        crate::load::run_clients(concurrency, peak_for, "mixed", move |_, _| {
            let (c, form) = (client.clone(), form.clone());
            let op = Op::mixed(counter.fetch_add(1, Ordering::Relaxed));
            Box::pin(async move { c.once(op, &form).await })
        })
        .await?
    };
    let rate = (peak.throughput / 2.0).max(1.0);
    let rss_before_mb = rss_mb();
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let mut rss = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let last = ((soak_for.as_secs_f64() / window.as_secs_f64()).ceil() as usize).max(1) - 1;
    let started = Instant::now();
    let mut current = 0;
    while started.elapsed() < soak_for {
        ticker.tick().await;
        let w = ((started.elapsed().as_secs_f64() / window.as_secs_f64()) as usize).min(last);
        while current < w {
            rss.push(rss_mb());
            current += 1;
            eprintln!("soak: {} s of {} s", started.elapsed().as_secs(), soak_for.as_secs());
        }
        let (c, form, samples) = (client.clone(), form.clone(), samples.clone());
        let op = Op::mixed(counter.fetch_add(1, Ordering::Relaxed));
        running.spawn(async move {
            let t = Instant::now();
            let r = c.once(op, &form).await;
            samples.lock().await.push((w, r.ok().map(|()| t.elapsed().as_micros() as u64)));
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    rss.push(rss_mb());
    let samples = std::mem::take(&mut *samples.lock().await);
    let windows = (0..rss.len())
        .map(|w| {
            let mine = samples.iter().filter(|s| s.0 == w);
            let lat: Vec<u64> = mine.clone().filter_map(|s| s.1).collect();
            let errors = mine.filter(|s| s.1.is_none()).count();
            let start = window * w as u32;
            let len = soak_for.saturating_sub(start).min(window);
            Window { start_s: start.as_secs(), report: crate::load::report(lat, errors, len), rss_mb: rss[w] }
        })
        .collect();
    Ok(Soak { peak, rate, rss_before_mb, windows })
}
