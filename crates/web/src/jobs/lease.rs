//! Background jobs under a lease, so that with several nodes exactly one runs each job at a
//! time. Every node runs the same loop: try to take the lease; once held, run the job every
//! `every` and renew the lease a third of its time before it runs out, while the job runs too;
//! when renewing fails (another node took over after a pause, or the store is unreachable),
//! stop the job at once. A node that dies simply stops renewing: its lease runs out and another
//! node takes the job. At shutdown the lease is released so another node need not wait.
//!
//! The jobs are written so that a run cut short is harmless (every effect is claimed in the
//! store in its own transaction), so a lease only keeps nodes from doing the same work twice.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

use crate::AppState;

/// This node's name in lease rows and logs: host, process and a random part, so a restarted
/// process is a new holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(Arc<str>);

impl NodeId {
    pub fn generate() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".into());
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("{host}:{}:{}", std::process::id(), &random[..8]).into())
    }

    /// A node with a name of the caller's choosing (tests, or an operator's node name).
    pub fn named(name: &str) -> Self {
        Self(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How this node takes part in leased jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub node: NodeId,
    /// How long a lease lasts unless renewed: how long a dead node's jobs wait for another.
    pub lease_ttl: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { node: NodeId::generate(), lease_ttl: Duration::from_secs(30) }
    }
}

/// Turns true when the node shuts down; background work also stops if its sender is gone.
pub type Stop = watch::Receiver<bool>;

pub(crate) fn stopping(stop: &Stop) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

pub(crate) async fn until_stopped(stop: &mut Stop) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One run of a job: `Err` carries what to record as its last error.
pub type Work = Arc<dyn Fn(AppState) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Runs `work` every `every` on whichever node holds the lease on `job`, until `stop` turns true.
pub fn spawn_leased(
    state: AppState,
    job: &'static str,
    every: Duration,
    stop: Stop,
    work: Work,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stop = stop;
        let ttl = state.jobs.lease_ttl;
        // A node without the lease looks again this often.
        let retry = (ttl / 3).min(every).max(Duration::from_millis(50));
        while !stopping(&stop) {
            match state.store.acquire_lease(job, state.jobs.node.as_str(), state.clock.now(), ttl).await {
                Ok(Some(lease)) => {
                    tracing::info!(job, generation = lease.generation, "job lease taken");
                    hold(&state, job, every, lease.generation, &mut stop, &work).await;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(job, error = %e, "job lease not checked"),
            }
            tokio::select! {
                _ = sleep(retry) => {}
                _ = until_stopped(&mut stop) => {}
            }
        }
    })
}

/// Whether the lease is still ours after renewing it.
async fn renew(state: &AppState, job: &str, generation: i64) -> bool {
    match state.store.acquire_lease(job, state.jobs.node.as_str(), state.clock.now(), state.jobs.lease_ttl).await {
        Ok(Some(l)) if l.generation == generation => true,
        Ok(_) => {
            tracing::warn!(job, "job lease taken over by another node; stopping the job here");
            false
        }
        Err(e) => {
            tracing::warn!(job, error = %e, "job lease not renewed; stopping the job here");
            false
        }
    }
}

/// Drives `run` to its end, calling `renew` at `renew_at` and every `every` after; `None` when a
/// renewal fails or the node stops. The run is still polled while a renewal is under way: a run
/// in the middle of a write holds the SQLite writer connection, which the renewal needs too, so
/// awaiting the renewal alone would wait on the run it keeps from finishing (found by the soak:
/// every write stalled for the pool's 30 s acquire timeout, until the renewal gave up).
async fn run_renewing<T, F>(
    run: impl std::future::Future<Output = T>,
    renew_at: &mut Instant,
    every: Duration,
    mut renew: impl FnMut() -> F,
    stop: &mut Stop,
) -> Option<T>
where
    F: std::future::Future<Output = bool>,
{
    tokio::pin!(run);
    loop {
        tokio::select! {
            r = &mut run => return Some(r),
            _ = sleep_until(*renew_at) => {
                let renewal = renew();
                tokio::pin!(renewal);
                let mut finished = None;
                let renewed = loop {
                    tokio::select! {
                        ok = &mut renewal => break ok,
                        r = &mut run, if finished.is_none() => finished = Some(r),
                    }
                };
                if !renewed {
                    return None;
                }
                *renew_at = Instant::now() + every;
                if finished.is_some() {
                    return finished;
                }
            }
            _ = until_stopped(stop) => return None,
        }
    }
}

/// Runs the job while the lease holds; returns when it is lost or the node stops.
async fn hold(state: &AppState, job: &'static str, every: Duration, generation: i64, stop: &mut Stop, work: &Work) {
    let renew_every = state.jobs.lease_ttl / 3;
    let mut renew_at = Instant::now() + renew_every;
    let mut next_run = Instant::now();
    // Successful runs are recorded at most this often (the relay runs several times a second).
    let record_every = every.max(Duration::from_secs(10));
    let mut recorded: Option<Instant> = None;
    loop {
        if Instant::now() >= next_run {
            let outcome =
                run_renewing(work(state.clone()), &mut renew_at, renew_every, || renew(state, job, generation), stop)
                    .await;
            let Some(outcome) = outcome else { break };
            let now = Instant::now();
            if outcome.is_err() || recorded.is_none_or(|t| now - t >= record_every) {
                if let Err(e) = &outcome {
                    tracing::warn!(job, error = %e, "job run failed; retrying at the next run");
                }
                match state
                    .store
                    .record_job_run(job, state.clock.now(), outcome.as_ref().err().map(String::as_str))
                    .await
                {
                    Ok(()) => recorded = Some(now),
                    Err(e) => tracing::warn!(job, error = %e, "job run not recorded"),
                }
            }
            next_run = Instant::now() + every;
        }
        tokio::select! {
            _ = sleep_until(next_run.min(renew_at)) => {}
            _ = until_stopped(stop) => break,
        }
        if Instant::now() >= renew_at {
            if !renew(state, job, generation).await {
                return;
            }
            renew_at = Instant::now() + renew_every;
        }
    }
    if stopping(stop)
        && let Err(e) = state.store.release_lease(job, state.jobs.node.as_str(), state.clock.now()).await
    {
        tracing::warn!(job, error = %e, "job lease not released; another node takes it when it runs out");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A run holding a resource the renewal also needs (as a run mid-write holds SQLite's one
    /// writer connection) must not stall the renewal, nor the renewal the run.
    #[tokio::test]
    async fn a_renewal_does_not_wait_on_the_run_it_interrupts() {
        let writer = Arc::new(tokio::sync::Mutex::new(()));
        let w = writer.clone();
        let run = async move {
            let _held = w.lock().await;
            sleep(Duration::from_millis(300)).await;
            7
        };
        let renewals = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let renew = || {
            let (w, n) = (writer.clone(), renewals.clone());
            async move {
                let _held = w.lock().await;
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                true
            }
        };
        let (_keep, mut stop) = watch::channel(false);
        let mut renew_at = Instant::now() + Duration::from_millis(100);
        let every = Duration::from_millis(100);
        let out =
            tokio::time::timeout(Duration::from_secs(5), run_renewing(run, &mut renew_at, every, renew, &mut stop))
                .await;
        assert_eq!(out.expect("the renewal waited on the run it interrupted"), Some(7));
        assert_eq!(renewals.load(std::sync::atomic::Ordering::SeqCst), 1, "renewed once the run let go");
    }

    #[tokio::test]
    async fn a_failed_renewal_or_a_stop_ends_the_run() {
        let (_keep, mut stop) = watch::channel(false);
        let mut renew_at = Instant::now() + Duration::from_millis(10);
        let forever = std::future::pending::<()>();
        let lost = run_renewing(forever, &mut renew_at, Duration::from_millis(10), || async { false }, &mut stop);
        assert_eq!(lost.await, None);
        let (tx, mut stop) = watch::channel(false);
        let mut renew_at = Instant::now() + Duration::from_secs(3600);
        let stopped = tokio::spawn(async move {
            run_renewing(
                std::future::pending::<()>(),
                &mut renew_at,
                Duration::from_secs(3600),
                || async { true },
                &mut stop,
            )
            .await
        });
        tx.send(true).unwrap();
        assert_eq!(stopped.await.unwrap(), None);
    }
}
