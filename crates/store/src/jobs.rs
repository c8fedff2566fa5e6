//! Leases on background jobs, so that with several nodes on one database exactly one runs each
//! job at a time, and a node that dies gives its jobs up when its lease runs out.
//!
//! A lease is one row per job, taken by an upsert that succeeds only when the row is free, its
//! lease has run out, or the caller already holds it: on PostgreSQL the upsert locks the row, so
//! two nodes racing for a job serialize on it and one wins; on SQLite the single writer does the
//! same. The holder renews the lease well before it runs out; a node that cannot renew stops the
//! job. `generation` goes up at every change of holder, so a run can tell it was taken over.
//!
//! Times come from the caller (the nodes' clocks, kept by NTP): the lease time must be much
//! longer than the clock difference between nodes.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// A lease held on a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    pub job: String,
    pub holder: String,
    pub generation: i64,
    pub lease_until: DateTime<Utc>,
}

/// What the store knows about a job: who holds it and how its last runs went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    pub job: String,
    pub holder: String,
    pub generation: i64,
    pub acquired_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The job-lease part of the store, implemented by both backends (see [`crate::Store`]).
#[async_trait::async_trait]
pub trait Jobs: Send + Sync {
    /// Takes or renews the lease on `job` for `holder` until `now + ttl`: granted when no node
    /// holds it, when its lease ran out before `now`, or when `holder` holds it already.
    /// `None` when another node holds it.
    async fn acquire_lease(
        &self,
        job: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Result<Option<JobLease>>;
    /// Gives a lease up (at shutdown) so that another node takes the job at once.
    async fn release_lease(&self, job: &str, holder: &str, now: DateTime<Utc>) -> Result<()>;
    /// Records that a run of `job` ended at `at`, with its error if it failed.
    async fn record_job_run(&self, job: &str, at: DateTime<Utc>, error: Option<&str>) -> Result<()>;
    /// Every job the store has seen, by name.
    async fn job_statuses(&self) -> Result<Vec<JobStatus>>;
}

/// Implements [`Jobs`] for a backend. Expanded after `impl_store!` in the same module.
macro_rules! impl_jobs {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::jobs::Jobs for $store {
            async fn acquire_lease(
                &self,
                job: &str,
                holder: &str,
                now: DateTime<Utc>,
                ttl: std::time::Duration,
            ) -> Result<Option<$crate::jobs::JobLease>> {
                let until = now + chrono::Duration::from_std(ttl).map_err(|_| corrupt("lease time"))?;
                let mut tx = self.begin_write().await?;
                // In an upsert's SET every expression reads the row as it was, on both backends.
                let row = sqlx::query(
                    "INSERT INTO job_leases (job, holder, generation, acquired_at, lease_until) VALUES ($1, $2, 1, $3, $4)
                     ON CONFLICT (job) DO UPDATE SET
                       generation = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.generation
                                         ELSE job_leases.generation + 1 END,
                       acquired_at = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.acquired_at
                                          ELSE excluded.acquired_at END,
                       holder = excluded.holder,
                       lease_until = excluded.lease_until
                     WHERE job_leases.holder = excluded.holder OR job_leases.lease_until < excluded.acquired_at
                     RETURNING generation, lease_until",
                )
                .bind(job)
                .bind(holder)
                .bind(now)
                .bind(until)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(|r| {
                    Ok($crate::jobs::JobLease {
                        job: job.to_owned(),
                        holder: holder.to_owned(),
                        generation: r.try_get("generation")?,
                        lease_until: r.try_get("lease_until")?,
                    })
                })
                .transpose()
            }

            async fn release_lease(&self, job: &str, holder: &str, now: DateTime<Utc>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE job_leases SET lease_until = $3 WHERE job = $1 AND holder = $2 AND lease_until > $3")
                    .bind(job)
                    .bind(holder)
                    .bind(now - chrono::Duration::microseconds(1))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_job_run(&self, job: &str, at: DateTime<Utc>, error: Option<&str>) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let q = if error.is_none() {
                    "UPDATE job_leases SET last_run_at = $2, last_success_at = $2, last_error = $3 WHERE job = $1"
                } else {
                    "UPDATE job_leases SET last_run_at = $2, last_error = $3 WHERE job = $1"
                };
                sqlx::query(q).bind(job).bind(at).bind(error).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn job_statuses(&self) -> Result<Vec<$crate::jobs::JobStatus>> {
                let rows = sqlx::query(
                    "SELECT job, holder, generation, acquired_at, lease_until, last_run_at, last_success_at, last_error
                     FROM job_leases ORDER BY job",
                )
                .fetch_all(self.read_pool())
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::jobs::JobStatus {
                            job: r.try_get("job")?,
                            holder: r.try_get("holder")?,
                            generation: r.try_get("generation")?,
                            acquired_at: r.try_get("acquired_at")?,
                            lease_until: r.try_get("lease_until")?,
                            last_run_at: r.try_get("last_run_at")?,
                            last_success_at: r.try_get("last_success_at")?,
                            last_error: r.try_get("last_error")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_jobs;
