//! Soak: the mixed workload of [`Op::mixed`] (citizen lookups, officer inbox reads, submissions,
//! accept actions) first at its peak, then in an open loop at half that rate for a long time,
//! reported window by window so that drift shows: throughput, latency percentiles (all requests
//! and each kind of request, so that a request that slows as the database grows stands out),
//! errors and the server's resident memory at the end of each window. A line per window goes to
//! stderr as the run goes, for watching a long run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::load::{Client, Op, Report};

pub struct Window {
    /// Seconds from the start of the soak to the start of the window.
    pub start_s: u64,
    pub report: Report,
    /// The same, for each kind of request of [`Op::MIXED`] in that order.
    pub by_op: Vec<Report>,
    /// Server resident memory at the end of the window, MB.
    pub rss_mb: f64,
}

pub struct Soak {
    pub peak: Report,
    pub rate: f64,
    pub rss_before_mb: f64,
    pub windows: Vec<Window>,
}

/// One finished request of the open loop: the kind it was and its latency (none when it
/// failed). Kept per window.
type Sample = (Op, Option<u64>);

/// The report of one window over all its requests, and over those of each kind of
/// [`Op::MIXED`].
fn window_reports(samples: &[Sample], len: Duration) -> (Report, Vec<Report>) {
    let of = |op: Option<Op>| {
        let mine = samples.iter().filter(|s| op.is_none_or(|op| s.0 == op));
        let lat: Vec<u64> = mine.clone().filter_map(|s| s.1).collect();
        crate::load::report(lat, mine.filter(|s| s.1.is_none()).count(), len)
    };
    (of(None), Op::MIXED.iter().map(|&op| of(Some(op))).collect())
}

/// One line on a window, for stderr while the run goes and for the summary.
fn describe(r: &Report, by_op: &[Report]) -> String {
    let kinds: Vec<String> =
        Op::MIXED.iter().zip(by_op).map(|(op, r)| format!("{op:?} {:.1}/{:.1}", r.p50, r.p95)).collect();
    format!("{:.0} req/s, p95 {:.1} ms, {} errors; p50/p95 ms: {}", r.throughput, r.p95, r.errors, kinds.join(", "))
}

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
    let last = ((soak_for.as_secs_f64() / window.as_secs_f64()).ceil() as usize).max(1) - 1;
    let samples: Arc<Mutex<Vec<Vec<Sample>>>> = Arc::new(Mutex::new(vec![Vec::new(); last + 1]));
    let mut rss = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut current = 0;
    while started.elapsed() < soak_for {
        ticker.tick().await;
        let w = ((started.elapsed().as_secs_f64() / window.as_secs_f64()) as usize).min(last);
        while current < w {
            rss.push(rss_mb());
            // Requests still running are not in this line; the final table has them.
            let done = samples.lock().await[current].clone();
            let (r, by_op) = window_reports(&done, window);
            eprintln!(
                "soak: {} s of {} s: {}, server {:.0} MB",
                started.elapsed().as_secs(),
                soak_for.as_secs(),
                describe(&r, &by_op),
                rss[current]
            );
            current += 1;
        }
        let (c, form, samples) = (client.clone(), form.clone(), samples.clone());
        let op = Op::mixed(counter.fetch_add(1, Ordering::Relaxed));
        running.spawn(async move {
            let t = Instant::now();
            let sample = match c.perform(op, &form).await {
                Ok(done) => (done, Some(t.elapsed().as_micros() as u64)),
                Err(_) => (op, None),
            };
            samples.lock().await[w].push(sample);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    rss.push(rss_mb());
    let samples = std::mem::take(&mut *samples.lock().await);
    let windows = (0..rss.len())
        .map(|w| {
            let start = window * w as u32;
            let len = soak_for.saturating_sub(start).min(window);
            let (report, by_op) = window_reports(&samples[w], len);
            Window { start_s: start.as_secs(), report, by_op, rss_mb: rss[w] }
        })
        .collect();
    Ok(Soak { peak, rate, rss_before_mb, windows })
}
