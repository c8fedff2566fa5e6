//! The database's own limit: single-row insert transactions of a dossier-sized row, with the
//! same durability settings the server uses (SQLite WAL, synchronous=NORMAL, one writer;
//! PostgreSQL with 16 connections).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor};

use crate::server::Database;

pub struct RawRate {
    pub rate: f64,
    pub connections: usize,
}

const ROW: &str = "{\"ho_ten\":\"Nguyễn Văn An\",\"ngay_sinh\":\"2020-01-01\",\"noi_sinh\":\"Bệnh viện đa khoa tỉnh\"}";

pub async fn insert_rate(db: &Database, dur: Duration) -> anyhow::Result<RawRate> {
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let connections = if db.backend == "sqlite" {
        let opts = SqliteConnectOptions::new()
            .filename(db.dir.path().join("raw.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
        c.execute(
            "CREATE TABLE raw (id BLOB PRIMARY KEY, code TEXT NOT NULL UNIQUE, data TEXT NOT NULL, at TEXT NOT NULL)",
        )
        .await?;
        while started.elapsed() < dur {
            let n = count.fetch_add(1, Ordering::Relaxed);
            sqlx::query("INSERT INTO raw (id, code, data, at) VALUES ($1, $2, $3, $4)")
                .bind(uuid::Uuid::now_v7())
                .bind(format!("raw-{n}"))
                .bind(ROW)
                .bind(chrono::Utc::now())
                .execute(&mut c)
                .await?;
        }
        1
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await?;
        c.execute("CREATE TABLE raw (id UUID PRIMARY KEY, code TEXT NOT NULL UNIQUE, data JSONB NOT NULL, at TIMESTAMPTZ NOT NULL)").await?;
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (url, count) = (db.url.clone(), count.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = sqlx::PgConnection::connect(&url).await?;
                while started.elapsed() < dur {
                    let n = count.fetch_add(1, Ordering::Relaxed);
                    sqlx::query("INSERT INTO raw (id, code, data, at) VALUES ($1, $2, $3::jsonb, $4)")
                        .bind(uuid::Uuid::now_v7())
                        .bind(format!("raw-{n}"))
                        .bind(ROW)
                        .bind(chrono::Utc::now())
                        .execute(&mut c)
                        .await?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        16
    };
    Ok(RawRate { rate: count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), connections })
}
