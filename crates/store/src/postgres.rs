//! PostgreSQL backend: the scale path, for several nodes on one database. Read-committed
//! transactions; the daily dossier counter is an upsert, so concurrent nodes serialize on its row
//! and never hand out the same number. Because that row lock is held until commit, submissions
//! go through the shared group-commit queue here too (one transaction per batch).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::StoreOptions;

pub struct PgStore {
    pool: PgPool,
    batches: Batches,
}

impl PgStore {
    pub async fn connect(opts: &StoreOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(&opts.url)?.application_name("cqs");
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let batches = spawn_batcher(pool.clone());
        Ok(Self { pool, batches })
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
}

async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool.begin().await?)
}

crate::backend::impl_store!(PgStore, sqlx::Postgres, "postgres", begin);
crate::deadlines::impl_deadlines!(PgStore, sqlx::Postgres);
crate::documents::impl_documents!(PgStore, sqlx::Postgres);
crate::docstore::impl_docstore!(PgStore, sqlx::Postgres);
crate::exchange::impl_exchange!(PgStore, sqlx::Postgres);
crate::inbox_words::impl_inbox_words!(PgStore, sqlx::Postgres);
crate::portal::impl_portal!(PgStore, sqlx::Postgres);
crate::idempotency::impl_idempotency!(PgStore, sqlx::Postgres);
crate::identity::impl_identity!(PgStore, sqlx::Postgres);
crate::eid::impl_eid!(PgStore, sqlx::Postgres);
crate::jobs::impl_jobs!(PgStore);
crate::api_keys::impl_api_keys!(PgStore);
crate::claims::impl_claims!(PgStore);
crate::exchange_stats::impl_exchange_stats!(PgStore);
crate::codes::impl_codes!(PgStore);
crate::organizations::impl_organizations!(PgStore, sqlx::Postgres);
crate::mfa::impl_mfa!(PgStore, sqlx::Postgres);
crate::outbox::impl_outbox!(PgStore, sqlx::Postgres);
crate::snapshot::impl_snapshots!(PgStore, sqlx::Postgres);
crate::statistics::impl_statistics!(PgStore, sqlx::Postgres);
crate::gauges::impl_gauges!(PgStore, ("main", pool));
