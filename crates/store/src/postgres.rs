//! PostgreSQL backend: the scale path, for several nodes on one database. Read-committed
//! transactions; the daily dossier counter is an upsert, so concurrent nodes serialize on its row
//! and never hand out the same number.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::StoreOptions;

pub struct PgStore {
    pool: PgPool,
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
        Ok(Self { pool })
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

crate::backend::impl_store!(PgStore, sqlx::Postgres, "postgres");

impl PgStore {
    /// PostgreSQL serves concurrent writers itself: each submission is its own transaction.
    async fn route_create(&self, new: &crate::NewDossier) -> crate::Result<crate::CreateOutcome> {
        let mut tx = self.begin_write().await?;
        let out = create_one(&mut tx, new).await?;
        match out {
            crate::CreateOutcome::Created(_) => tx.commit().await?,
            crate::CreateOutcome::Replayed(_) => tx.rollback().await?,
        }
        Ok(out)
    }
}
