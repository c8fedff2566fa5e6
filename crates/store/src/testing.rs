//! Throw-away databases for tests and benchmarks, so every suite creates them the same way.
//!
//! PostgreSQL comes from `CQS_TEST_POSTGRES_URL` (a server URL whose user may create databases);
//! each call makes a database named `cqs_t_<run>_<uuid>`, which `scripts/test.sh` drops afterwards.
//! `<run>` comes from `CQS_TEST_RUN` (set per run by the script), so a run only drops its own
//! databases and two runs on one server (two developers, two worktrees) leave each other alone.
//! Without the variable, PostgreSQL tests fail under CI (`CI` set) and are skipped with a notice
//! on a developer machine.

use std::sync::Arc;

use sqlx::Connection;

use crate::{Store, StoreOptions};

/// A store on a new SQLite file in a temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (crate::open(&StoreOptions::new(url)).await.expect("open SQLite store"), dir)
}

/// The tag of this test run: `CQS_TEST_RUN` reduced to letters, digits and `_`, or `dev`.
fn run_tag() -> String {
    let tag: String = std::env::var("CQS_TEST_RUN")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    if tag.is_empty() { "dev".into() } else { tag }
}

/// Creates an empty PostgreSQL database next to the one `admin` names and returns its URL. The
/// name is `<prefix><run tag>_<uuid>`.
pub async fn create_postgres_database(admin: &str, prefix: &str) -> Result<String, sqlx::Error> {
    let name = format!("{prefix}{}_{}", run_tag(), uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Drops a database made by [`create_postgres_database`].
pub async fn drop_postgres_database(admin: &str, url: &str) -> Result<(), sqlx::Error> {
    let name = url.rsplit('/').next().unwrap_or_default();
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(sqlx::Error::Configuration("not a throw-away database name".into()));
    }
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await?;
    Ok(())
}

/// A store on a new PostgreSQL database, or `None` outside CI when none is configured.
pub async fn postgres_store() -> Option<Arc<dyn Store>> {
    let Ok(admin) = std::env::var("CQS_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CQS_TEST_POSTGRES_URL must be set in CI");
        eprintln!("skipping PostgreSQL: CQS_TEST_POSTGRES_URL is not set");
        return None;
    };
    let url = create_postgres_database(&admin, "cqs_t_").await.expect("create a test database");
    Some(crate::open(&StoreOptions::new(url)).await.expect("open PostgreSQL store"))
}

/// `n` stores on one new SQLite file, as `n` processes sharing it would be.
pub async fn sqlite_nodes(n: usize) -> (Vec<Arc<dyn Store>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(crate::open(&StoreOptions::new(url.clone())).await.expect("open SQLite store"));
    }
    (nodes, dir)
}

/// `n` stores (each with its own pool, as separate nodes have) on one new PostgreSQL database,
/// or `None` outside CI when none is configured.
pub async fn postgres_nodes(n: usize) -> Option<Vec<Arc<dyn Store>>> {
    let Ok(admin) = std::env::var("CQS_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CQS_TEST_POSTGRES_URL must be set in CI");
        eprintln!("skipping PostgreSQL: CQS_TEST_POSTGRES_URL is not set");
        return None;
    };
    let url = create_postgres_database(&admin, "cqs_t_").await.expect("create a test database");
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(crate::open(&StoreOptions::new(url.clone())).await.expect("open PostgreSQL store"));
    }
    Some(nodes)
}
