//! A throw-away database and a `cqs` server process on it, loaded with the demo province.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Database {
    pub backend: String,
    pub url: String,
    pub dir: tempfile::TempDir,
    admin: Option<String>,
}

impl Database {
    pub async fn create(backend: &str, pg_admin: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        match backend {
            "sqlite" => Ok(Self { backend: backend.into(), url: String::new(), dir, admin: None }),
            "postgres" => {
                let url = cqs_store::testing::create_postgres_database(pg_admin, "cqs_bench_").await?;
                Ok(Self { backend: backend.into(), url, dir, admin: Some(pg_admin.to_owned()) })
            }
            other => anyhow::bail!("unknown backend {other}"),
        }
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        if let Some(admin) = &self.admin {
            cqs_store::testing::drop_postgres_database(admin, &self.url).await?;
        }
        Ok(())
    }
}

pub struct Server {
    child: Child,
    /// How to start the server again: the binary, its arguments and environment.
    serve: Command,
    pub base_url: String,
    pub token: String,
    credentials: String,
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Database {
    /// The store URL the server uses (for checks that read the database directly).
    pub fn store_url(&self) -> String {
        if self.url.is_empty() {
            format!("sqlite://{}", self.dir.path().join("cqs.db").display())
        } else {
            self.url.clone()
        }
    }
}

impl Server {
    pub async fn start(bin: &Path, db: &Database) -> anyhow::Result<Self> {
        Self::start_with(bin, db, &[]).await
    }

    /// [`Server::start`] with extra environment variables for the server.
    pub async fn start_with(bin: &Path, db: &Database, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut base = Command::new(bin);
        base.arg("--data-dir").arg(db.dir.path()).arg("--listen").arg(format!("127.0.0.1:{port}"));
        if !db.url.is_empty() {
            base.arg("--database-url").arg(&db.url);
        }
        // CQS_BENCH_SERVER_LOG sets the server's log filter when investigating (default: warnings).
        base.env("CQS_LOG", std::env::var("CQS_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()));
        // The sweeper is measured on its own (see `sweep`): its first pass over a bulk load
        // would otherwise write hundreds of thousands of notices during the inbox measurement.
        base.env("CQS_SWEEP_INTERVAL_SECS", "0");
        base.envs(env.iter().copied());
        let status = Command::new(bin)
            .args(base.get_args())
            .env("CQS_LOG", "warn")
            .args(["demo", "--no-serve"])
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "cqs demo failed");
        let creds = std::fs::read_to_string(db.dir.path().join("demo-credentials.txt"))?;
        let token = token_in(&creds, "Cổng dịch vụ công")?;
        let mut serve = base;
        serve.arg("serve").stdout(Stdio::null());
        let child = serve.spawn()?;
        let server = Self { child, serve, base_url: format!("http://127.0.0.1:{port}"), token, credentials: creds };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if reqwest::get(format!("{}/readyz", self.base_url)).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "server did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the server with SIGKILL: no shutdown code runs, as in a power cut of the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same database and port, and waits until it is ready.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.child = self.serve.spawn()?;
        self.wait_ready().await
    }

    /// Runs `cqs deadlines sweep` against the server's database and returns its wall time and
    /// its report line.
    pub fn sweep(&self, bin: &Path, db: &Database) -> anyhow::Result<(Duration, String)> {
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir").arg(db.dir.path());
        if !db.url.is_empty() {
            cmd.arg("--database-url").arg(&db.url);
        }
        let started = Instant::now();
        let out = cmd.env("CQS_LOG", "warn").args(["deadlines", "sweep"]).output()?;
        anyhow::ensure!(out.status.success(), "cqs deadlines sweep failed: {}", String::from_utf8_lossy(&out.stderr));
        Ok((started.elapsed(), String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }

    /// Runs `cqs maintenance reindex-inbox` (the word index after a bulk load) and returns its
    /// wall time.
    pub fn reindex(&self, bin: &Path, db: &Database) -> anyhow::Result<Duration> {
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir").arg(db.dir.path());
        if !db.url.is_empty() {
            cmd.arg("--database-url").arg(&db.url);
        }
        let started = Instant::now();
        let out = cmd.env("CQS_LOG", "warn").args(["maintenance", "reindex-inbox"]).output()?;
        anyhow::ensure!(
            out.status.success(),
            "cqs maintenance reindex-inbox failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(started.elapsed())
    }

    /// The demo key whose name starts with `name`.
    pub fn token_named(&self, name: &str) -> anyhow::Result<String> {
        token_in(&self.credentials, name)
    }

    /// Resident set size of the server process, from /proc.
    pub fn rss_mb(&self) -> f64 {
        rss_mb_of(self.child.id())
    }
}

/// Resident set size of a process, from /proc; NaN when it cannot be read.
pub(crate) fn rss_mb_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn token_in(credentials: &str, name: &str) -> anyhow::Result<String> {
    credentials
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split('\t').nth(1))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no key named {name} in the demo credentials"))
}
