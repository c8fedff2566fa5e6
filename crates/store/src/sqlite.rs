//! SQLite backend: the embedded default. WAL mode; one writer connection (SQLite allows one
//! writer at a time, so a single connection avoids lock retries), a pool of readers, and a
//! connection of its own that checkpoints the WAL in the background.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::StoreOptions;

pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    batches: Batches,
    checkpoints: tokio::task::AbortHandle,
}

/// How often the WAL is copied back into the database, off the writer's path.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// WAL pages after which the writer checkpoints by itself (SQLite's own rule, by default at
/// 1,000 pages): kept only as a backstop should the background checkpoints fall behind.
const WRITER_CHECKPOINT_PAGES: &str = "10000";

/// Checkpoints the WAL (passive: never waits for the writer or readers, copies what it can)
/// every [`CHECKPOINT_EVERY`]. SQLite's automatic checkpoint runs inside the commit that crosses
/// its threshold, so that commit, and every caller waiting on the writer, stalled for it; the
/// exchange gateway's profile showed it (docs/benchmarks.md).
fn spawn_checkpoints(conn: SqlitePool) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&conn).await {
                tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
            }
        }
    })
    .abort_handle()
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpoints.abort();
    }
}

impl SqliteStore {
    pub async fn connect(opts: &StoreOptions) -> Result<Self> {
        let base = SqliteConnectOptions::from_str(&opts.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if opts.sqlite_synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-8000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone().pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES))
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let checkpointer = SqlitePoolOptions::new().max_connections(1).connect_with(base.clone()).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .connect_with(base.read_only(true))
            .await?;
        let batches = spawn_batcher(writer.clone());
        Ok(Self { writer, readers, batches, checkpoints: spawn_checkpoints(checkpointer) })
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.readers
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }
}

/// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way when it
/// turns from reading to writing.
async fn begin_immediate(writer: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(writer.begin_with("BEGIN IMMEDIATE").await?)
}

crate::backend::impl_store!(SqliteStore, sqlx::Sqlite, "sqlite", begin_immediate);
crate::deadlines::impl_deadlines!(SqliteStore, sqlx::Sqlite);
crate::documents::impl_documents!(SqliteStore, sqlx::Sqlite);
crate::docstore::impl_docstore!(SqliteStore, sqlx::Sqlite);
crate::exchange::impl_exchange!(SqliteStore, sqlx::Sqlite);
crate::inbox_words::impl_inbox_words!(SqliteStore, sqlx::Sqlite);
crate::portal::impl_portal!(SqliteStore, sqlx::Sqlite);
crate::idempotency::impl_idempotency!(SqliteStore, sqlx::Sqlite);
crate::identity::impl_identity!(SqliteStore, sqlx::Sqlite);
crate::eid::impl_eid!(SqliteStore, sqlx::Sqlite);
crate::jobs::impl_jobs!(SqliteStore);
crate::api_keys::impl_api_keys!(SqliteStore);
crate::claims::impl_claims!(SqliteStore);
crate::exchange_stats::impl_exchange_stats!(SqliteStore);
crate::codes::impl_codes!(SqliteStore);
crate::organizations::impl_organizations!(SqliteStore, sqlx::Sqlite);
crate::mfa::impl_mfa!(SqliteStore, sqlx::Sqlite);
crate::outbox::impl_outbox!(SqliteStore, sqlx::Sqlite);
crate::snapshot::impl_snapshots!(SqliteStore, sqlx::Sqlite);
crate::statistics::impl_statistics!(SqliteStore, sqlx::Sqlite);
crate::gauges::impl_gauges!(SqliteStore, ("read", readers), ("write", writer));
