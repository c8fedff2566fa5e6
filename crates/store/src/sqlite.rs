//! SQLite backend: the embedded default. WAL mode; one writer connection (SQLite allows one
//! writer at a time, so a single connection avoids lock retries) and a pool of readers.
//!
//! Submissions without an idempotency key go through a group-commit queue: concurrent ones are
//! written together in one transaction with multi-row inserts, since the single writer's
//! per-statement cost, not the disk, limits the rate. A failed batch is retried item by item,
//! so one bad submission never takes others down with it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::StoreOptions;

pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    batches: mpsc::Sender<Job>,
}

type Job = (crate::NewDossier, oneshot::Sender<crate::Result<crate::CreateOutcome>>);

/// Most submissions written in one transaction.
const MAX_BATCH: usize = 64;

impl SqliteStore {
    pub async fn connect(opts: &StoreOptions) -> Result<Self> {
        let base = SqliteConnectOptions::from_str(&opts.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if opts.sqlite_synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .connect_with(base.read_only(true))
            .await?;
        let (batches, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run_batches(writer.clone(), rx));
        Ok(Self { writer, readers, batches })
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.readers
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way
    /// when it turns from reading to writing.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        begin_immediate(&self.writer).await
    }

    async fn route_create(&self, new: &crate::NewDossier) -> Result<crate::CreateOutcome> {
        if new.idempotency.is_some() {
            return write_one(&self.writer, new).await;
        }
        let (reply, answer) = oneshot::channel();
        self.batches
            .send((new.clone(), reply))
            .await
            .map_err(|_| crate::StoreError::Corrupt("hàng đợi ghi đã dừng".into()))?;
        answer.await.map_err(|_| crate::StoreError::Corrupt("hàng đợi ghi đã dừng".into()))?
    }
}

async fn begin_immediate(writer: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(writer.begin_with("BEGIN IMMEDIATE").await?)
}

async fn write_one(writer: &SqlitePool, new: &crate::NewDossier) -> Result<crate::CreateOutcome> {
    let mut tx = begin_immediate(writer).await?;
    let out = create_one(&mut tx, new).await?;
    match out {
        crate::CreateOutcome::Created(_) => tx.commit().await?,
        crate::CreateOutcome::Replayed(_) => tx.rollback().await?,
    }
    Ok(out)
}

async fn write_many(writer: &SqlitePool, items: &[crate::NewDossier]) -> Result<Vec<crate::SubmissionReceipt>> {
    let mut tx = begin_immediate(writer).await?;
    let receipts = create_many(&mut tx, items).await?;
    tx.commit().await?;
    Ok(receipts)
}

/// The group-commit loop: takes whatever is queued (up to [`MAX_BATCH`]) and writes it at once.
async fn run_batches(writer: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (items, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
        if items.len() > 1 {
            match write_many(&writer, &items).await {
                Ok(receipts) => {
                    for (r, reply) in receipts.into_iter().zip(replies) {
                        let _ = reply.send(Ok(crate::CreateOutcome::Created(r)));
                    }
                    continue;
                }
                Err(e) => tracing::debug!(error = %e, size = items.len(), "batch failed, writing one by one"),
            }
        }
        for (item, reply) in items.iter().zip(replies) {
            let _ = reply.send(write_one(&writer, item).await);
        }
    }
}

crate::backend::impl_store!(SqliteStore, sqlx::Sqlite, "sqlite");
