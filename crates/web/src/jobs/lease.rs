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
            let run = work(state.clone());
            tokio::pin!(run);
            let outcome = loop {
                tokio::select! {
                    r = &mut run => break Some(r),
                    _ = sleep_until(renew_at) => {
                        if !renew(state, job, generation).await {
                            break None;
                        }
                        renew_at = Instant::now() + renew_every;
                    }
                    _ = until_stopped(stop) => break None,
                }
            };
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
