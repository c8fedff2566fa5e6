//! The cluster run: several `cqs serve` nodes on one PostgreSQL database, files in one
//! S3-compatible bucket (moto's server mode), events on NATS JetStream when a server is given,
//! behind nginx started with `deploy/nginx/cqs.conf` (only its addresses changed, by
//! [`nginx_config`]). Clients spread submissions (each with a PDF) and accept actions over the
//! nodes through nginx; midway the node holding the outbox relay is killed with SIGKILL. After
//! the clients retry what got no answer, the run checks that:
//!
//! - every submission is one dossier, whole (history, file by SHA-256 and bytes, read back
//!   through whichever node nginx picks), and every dossier code is unique;
//! - two officers accepting one dossier at once on two nodes: exactly one wins, the other is
//!   told the dossier changed (no lost update);
//! - the dead node's job leases were taken over by live nodes, every event was published and
//!   handled exactly once by the dossier-count consumer (its counts equal the dossiers');
//! - once the dead node is back, no file is pending and none is orphaned in the bucket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::ObjectStore;
use rand::SeedableRng;
use tokio::sync::Mutex;

use crate::crash::{Ctx, Submission, Worker};
use crate::server::{Database, free_port, token_in};

/// The bucket every node keeps its files in.
const BUCKET: &str = "cqs-cluster";
/// Seconds of request timeout on the nodes: claims and pending files of a killed node's requests
/// are settled this long (plus 5 s) after it died.
const REQUEST_TIMEOUT_SECS: u64 = 5;

/// Rewrites the shipped nginx configuration for this machine: each `server` line of the upstream
/// gets a node's address (lines beyond the nodes are dropped), the plain and TLS `listen` lines
/// get loopback ports (their IPv6 twins are dropped), and the certificate paths are ours.
/// Everything else is kept as shipped; a line the template no longer has is an error.
pub fn nginx_config(
    template: &str,
    nodes: &[String],
    http: u16,
    https: u16,
    cert: &Path,
    key: &Path,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let (mut in_upstream, mut servers) = (false, 0);
    let mut seen = [false; 4];
    for line in template.lines() {
        let t = line.trim();
        let indent = &line[..line.len() - line.trim_start().len()];
        if t.starts_with("upstream ") {
            in_upstream = true;
        } else if in_upstream && t == "}" {
            in_upstream = false;
        }
        let replaced = if in_upstream && t.starts_with("server ") {
            servers += 1;
            let Some(addr) = nodes.get(servers - 1) else { continue };
            let rest = t.split_whitespace().skip(2).collect::<Vec<_>>().join(" ");
            Some(format!("server {addr} {rest}"))
        } else if t == "listen 80;" {
            seen[0] = true;
            Some(format!("listen 127.0.0.1:{http};"))
        } else if t.starts_with("listen 443 ") {
            seen[1] = true;
            Some(format!("listen 127.0.0.1:{https} {}", t.trim_start_matches("listen 443 ")))
        } else if t.starts_with("listen [::]:") {
            continue;
        } else if t.starts_with("ssl_certificate ") {
            seen[2] = true;
            Some(format!("ssl_certificate {};", cert.display()))
        } else if t.starts_with("ssl_certificate_key ") {
            seen[3] = true;
            Some(format!("ssl_certificate_key {};", key.display()))
        } else {
            None
        };
        out.push_str(indent);
        out.push_str(replaced.as_deref().unwrap_or(t));
        out.push('\n');
    }
    anyhow::ensure!(
        servers >= nodes.len(),
        "the nginx template lists {servers} upstream servers, {} needed",
        nodes.len()
    );
    let names = ["listen 80;", "listen 443 ...", "ssl_certificate", "ssl_certificate_key"];
    for (found, name) in seen.iter().zip(names) {
        anyhow::ensure!(*found, "the nginx template has no `{name}` line");
    }
    Ok(out)
}

/// moto's S3 server (PyPI `moto[server]`) on a free port, with the nodes' bucket.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start moto (python3 -m pip install 'moto[server]'): {e}"))?;
        let moto = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        // moto accepts an unsigned bucket creation.
        while reqwest::Client::new().put(format!("{}/{BUCKET}", moto.endpoint)).send().await.is_err() {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "moto did not start");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(moto)
    }

    fn bucket(&self) -> anyhow::Result<object_store::aws::AmazonS3> {
        Ok(object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region("us-east-1")
            .with_bucket_name(BUCKET)
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()?)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `cqs serve` process with its own data folder (a copy of the shared one).
pub struct Node {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Node {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn rss_mb(&self) -> f64 {
        crate::server::rss_mb_of(self.child.id())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx (`worker_processes auto`, no access log) in a folder of its own with `site`
    /// inside its `http` block.
    pub(crate) fn start(site: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("site.conf"), site)?;
        let d = dir.path().display();
        let root = std::fs::read_to_string("/proc/self/status")?.lines().any(|l| l.starts_with("Uid:\t0\t"));
        let main = format!(
            "{user}daemon off;\nworker_processes auto;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 4096; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
             scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n",
            user = if root { "user root;\n" } else { "" }
        );
        std::fs::write(dir.path().join("nginx.conf"), main)?;
        let nginx = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|b| Command::new(b).arg("-v").stderr(Stdio::null()).status().is_ok())
            .ok_or_else(|| anyhow::anyhow!("nginx is not installed (apt-get install nginx-light)"))?;
        let child = Command::new(nginx)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Self { child, dir })
    }

    /// What nginx wrote to its error log.
    pub(crate) fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The running cluster: database, bucket, nodes, and nginx in front.
pub struct Cluster {
    pub db: Database,
    moto: Moto,
    shared: tempfile::TempDir,
    bin: PathBuf,
    env: Vec<(String, String)>,
    pub nodes: Vec<Node>,
    nginx: Option<Nginx>,
    /// `https://127.0.0.1:<port>`: nginx.
    pub url: String,
    /// An HTTP client that trusts the cluster's development CA.
    pub http: reqwest::Client,
    pub portal: String,
    pub desk: String,
    nats_stream: Option<String>,
    nats_url: Option<String>,
}

/// Copies a folder tree (the demo's data folder to each node's).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

pub(crate) fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output()?;
    anyhow::ensure!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Cluster {
    /// Starts PostgreSQL's database, moto, `nodes` nodes and nginx with `template`.
    pub async fn start(
        bin: &Path,
        pg_admin: &str,
        nats_url: Option<&str>,
        nodes: usize,
        template: &str,
    ) -> anyhow::Result<Self> {
        let db = Database::create("postgres", pg_admin).await?;
        let moto = Moto::start().await?;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let mut env: Vec<(String, String)> = [
            ("CQS_LOG", "warn"),
            ("CQS_DATABASE_URL", db.url.as_str()),
            ("CQS_FILES__S3_BUCKET", BUCKET),
            ("CQS_FILES__S3_ENDPOINT", moto.endpoint.as_str()),
            ("CQS_FILES__S3_REGION", "us-east-1"),
            ("CQS_FILES__S3_ACCESS_KEY_ID", "test"),
            ("CQS_FILES__S3_SECRET_ACCESS_KEY", "test"),
            ("CQS_FILES__S3_ALLOW_HTTP", "true"),
            // A dead node's jobs move after 5 s; the sweeper runs often enough to be seen moving.
            ("CQS_LEASE_TTL_SECS", "5"),
            ("CQS_SWEEP_INTERVAL_SECS", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.push(("CQS_LIMITS__REQUEST_TIMEOUT_SECS".into(), REQUEST_TIMEOUT_SECS.to_string()));
        let nats_stream = nats_url.map(|_| format!("CQSB{tag}"));
        if let (Some(url), Some(stream)) = (nats_url, &nats_stream) {
            env.push(("CQS_NATS_URL".into(), url.to_owned()));
            env.push(("CQS_NATS_STREAM".into(), stream.clone()));
            env.push(("CQS_NATS_SUBJECT_PREFIX".into(), format!("cqsb{tag}")));
        }
        let shared = tempfile::tempdir()?;
        run(
            Command::new(bin).arg("--data-dir").arg(shared.path()).args(["demo", "--no-serve"]).envs(env.clone()),
            "cqs demo",
        )?;
        let creds = std::fs::read_to_string(shared.path().join("demo-credentials.txt"))?;
        let tls = shared.path().join("tls");
        run(
            Command::new(bin)
                .arg("--data-dir")
                .arg(shared.path())
                .arg("dev-ca")
                .arg("--out")
                .arg(&tls)
                .args(["--agency", "000.00.31.H99", "--node", "lb=127.0.0.1,dichvucong.example.gov.vn"])
                .env("CQS_LOG", "warn"),
            "cqs dev-ca",
        )?;
        let root = reqwest::Certificate::from_pem(&std::fs::read(tls.join("ca.crt.pem"))?)?;
        let http = reqwest::Client::builder()
            .add_root_certificate(root)
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()?;
        let mut cluster = Self {
            db,
            moto,
            shared,
            bin: bin.to_owned(),
            env,
            nodes: Vec::new(),
            nginx: None,
            url: String::new(),
            http,
            portal: token_in(&creds, "Cổng dịch vụ công")?,
            desk: token_in(&creds, "Khóa của motcua.lacson")?,
            nats_stream,
            nats_url: nats_url.map(str::to_owned),
        };
        for _ in 0..nodes {
            let node = cluster.spawn_node()?;
            cluster.nodes.push(node);
        }
        for n in &cluster.nodes {
            wait_ready(&cluster.http, &n.base).await?;
        }
        cluster.front(nodes, template).await?;
        Ok(cluster)
    }

    fn spawn_node(&self) -> anyhow::Result<Node> {
        let dir = tempfile::tempdir()?;
        copy_tree(self.shared.path(), dir.path())?;
        // Each node signs its own exchange log with its own key.
        let _ = std::fs::remove_dir_all(dir.path().join("exchange"));
        let port = free_port()?;
        let child = Command::new(&self.bin)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("serve")
            .envs(self.env.clone())
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Node { child, base: format!("http://127.0.0.1:{port}"), _dir: dir })
    }

    /// (Re)starts nginx in front of the first `n` nodes.
    pub async fn front(&mut self, n: usize, template: &str) -> anyhow::Result<()> {
        self.nginx = None;
        let (http, https) = (free_port()?, free_port()?);
        let tls = self.shared.path().join("tls");
        let (cert, key) = find_node_cert(&tls, "lb")?;
        let addrs: Vec<String> =
            self.nodes[..n].iter().map(|n| n.base.trim_start_matches("http://").to_owned()).collect();
        let site = nginx_config(template, &addrs, http, https, &cert, &key)?;
        let front = Nginx::start(&site)?;
        self.url = format!("https://127.0.0.1:{https}");
        let started = Instant::now();
        while !self.http.get(format!("{}/healthz", self.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            if started.elapsed() > Duration::from_secs(20) {
                anyhow::bail!("nginx did not answer: {}", front.errors());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.nginx = Some(front);
        Ok(())
    }

    async fn store(&self) -> anyhow::Result<Arc<dyn cqs_store::Store>> {
        Ok(cqs_store::open(&cqs_store::StoreOptions::new(self.db.url.clone())).await?)
    }

    /// Stops everything and drops the database and the NATS stream.
    pub async fn drop_all(self) -> anyhow::Result<()> {
        let Self { db, moto, nodes, nginx, nats_stream, nats_url, .. } = self;
        drop(nginx);
        drop(nodes);
        drop(moto);
        if let (Some(url), Some(stream)) = (nats_url, nats_stream)
            && let Ok(c) = async_nats::connect(url.as_str()).await
        {
            let _ = async_nats::jetstream::new(c).delete_stream(stream.as_str()).await;
        }
        db.drop().await
    }
}

/// The certificate chain and key `cqs dev-ca --node NAME` wrote under `tls`.
pub(crate) fn find_node_cert(tls: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    for dir in std::iter::once(tls.to_owned()).chain(std::fs::read_dir(tls)?.filter_map(|e| e.ok()).map(|e| e.path())) {
        let (cert, key) = (dir.join(format!("{name}.crt.pem")), dir.join(format!("{name}.key.pem")));
        if cert.exists() && key.exists() {
            return Ok((cert, key));
        }
    }
    anyhow::bail!("no certificate for {name} under {}", tls.display())
}

pub(crate) async fn wait_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while !http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "node {base} did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[derive(Debug, Default)]
pub struct Figures {
    pub nodes: usize,
    pub submissions: usize,
    pub cut_off: usize,
    pub actions: usize,
    pub races: usize,
    pub killed_jobs: Vec<String>,
    pub takeover: Duration,
    pub events: i64,
    pub files_checked: usize,
}

/// The cluster run described at the top of this file.
pub async fn run_checks(c: &mut Cluster, clients: usize, run_for: Duration, template: &str) -> anyhow::Result<Figures> {
    let ctx = Arc::new(Ctx::prepare(c.http.clone(), &c.url, &c.portal, &c.desk).await?);
    let store = c.store().await?;
    let before = store.count_dossiers().await?;
    let pool = sqlx::PgPool::connect(&c.db.url).await?;
    // The demo's own dossiers were loaded with their counts; the run's events are checked.
    let run_started: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&pool).await?;
    let mut figures = Figures { nodes: c.nodes.len(), ..Default::default() };

    // Lost updates: two officers accept the same dossier at once, on two different nodes.
    let mut subs = Vec::new();
    let mut rng_file = rand::rngs::StdRng::seed_from_u64(7);
    for i in 0..20u64 {
        let mut s = crate::crash::submission(format!("race-{i}"), 1_000_000 + i, &mut rng_file);
        s.code = ctx.submit(&c.url, &s).await?;
        let code = s.code.clone().ok_or_else(|| anyhow::anyhow!("no code for {}", s.key))?;
        let (a, b) = (&c.nodes[i as usize % c.nodes.len()].base, &c.nodes[(i as usize + 1) % c.nodes.len()].base);
        let (ka, kb) = (format!("race-a-{i}"), format!("race-b-{i}"));
        let (ra, rb) = tokio::join!(ctx.accept_answer(a, &code, &ka), ctx.accept_answer(b, &code, &kb));
        let (ra, rb) = (ra?, rb?);
        let won = |r: &Option<reqwest::StatusCode>| r.is_some_and(|s| s.is_success());
        anyhow::ensure!(
            won(&ra) != won(&rb),
            "{code}: two accepts at once on two nodes answered {ra:?} and {rb:?} (exactly one must win)"
        );
        s.accept = Some((if won(&ra) { ka } else { kb }, true));
        subs.push(s);
        figures.races += 1;
    }

    // Load through nginx; the node holding the outbox relay dies midway.
    let all: Arc<Mutex<Vec<Submission>>> = Arc::default();
    let alive = Arc::new(AtomicBool::new(true));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..clients {
        let worker = Worker { ctx: ctx.clone(), base: c.url.clone(), all: all.clone(), counter: counter.clone() };
        tasks.push(tokio::spawn(worker.run(format!("cluster-{w}"), alive.clone(), false)));
    }
    tokio::time::sleep(run_for / 2).await;
    let jobs = store.job_statuses().await?;
    let relay = jobs
        .iter()
        .find(|j| j.job == "outbox-relay")
        .ok_or_else(|| anyhow::anyhow!("no node holds the outbox relay"))?;
    let victim_holder = relay.holder.clone();
    let pid: u32 = victim_holder.split(':').nth(1).and_then(|p| p.parse().ok()).unwrap_or_default();
    let victim = c
        .nodes
        .iter()
        .position(|n| n.pid() == pid)
        .ok_or_else(|| anyhow::anyhow!("the relay holder {victim_holder} is none of the nodes"))?;
    let killed_at = Instant::now();
    let now = chrono::Utc::now();
    figures.killed_jobs =
        jobs.iter().filter(|j| j.holder == victim_holder && j.lease_until > now).map(|j| j.job.clone()).collect();
    c.nodes[victim].kill();
    eprintln!("cluster: killed node {} (pid {pid}) holding {:?}", victim + 1, figures.killed_jobs);
    tokio::time::sleep(run_for / 2).await;
    alive.store(false, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }

    // Its jobs move to live nodes once its leases run out.
    loop {
        let jobs = store.job_statuses().await?;
        let moved = figures.killed_jobs.iter().all(|name| {
            jobs.iter().any(|j| j.job == *name && j.holder != victim_holder && j.lease_until > chrono::Utc::now())
        });
        if moved {
            figures.takeover = killed_at.elapsed();
            break;
        }
        anyhow::ensure!(
            killed_at.elapsed() < Duration::from_secs(60),
            "the dead node's jobs were not taken over: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Clients retry what got no answer; then everything is whole, once, and readable anywhere.
    let mut load = all.lock().await.clone();
    figures.cut_off = load.iter().filter(|s| s.code.is_none() || s.accept.as_ref().is_some_and(|a| !a.1)).count();
    crate::crash::settle(&ctx, &c.url, &mut load).await?;
    subs.extend(load);
    figures.submissions = subs.len();
    figures.actions = subs.iter().filter(|s| s.accept.is_some()).count();
    figures.files_checked = crate::crash::check_whole(&ctx, &c.url, &subs).await?;
    let total = store.count_dossiers().await? - before;
    anyhow::ensure!(total == subs.len() as i64, "{total} dossiers for {} submission keys", subs.len());
    let (rows, codes): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT code) FROM dossiers").fetch_one(&pool).await?;
    anyhow::ensure!(rows == codes, "{rows} dossiers but {codes} distinct codes");

    // Every event is published, and every event that moves a dossier (deadline notices do not)
    // is handled once by the dossier-count consumer.
    let started = Instant::now();
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL").fetch_one(&pool).await?;
        let unhandled: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox o WHERE o.topic LIKE 'dossier.%' AND o.payload ? 'state' AND o.created_at >= $1 AND NOT EXISTS
               (SELECT 1 FROM consumed_events e WHERE e.consumer = 'dossier-state-counts' AND e.event_id = o.event_id)",
        )
        .bind(run_started)
        .fetch_one(&pool)
        .await?;
        let differ: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT state, COUNT(*) AS n FROM dossiers GROUP BY state) d
               FULL JOIN (SELECT state, count AS n FROM dossier_state_counts WHERE count <> 0) k ON k.state = d.state
              WHERE d.n IS DISTINCT FROM k.n",
        )
        .fetch_one(&pool)
        .await?;
        if pending == 0 && unhandled == 0 && differ == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(90),
            "events: {pending} unpublished, {unhandled} not handled by the dossier counts, {differ} states counted wrong"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    figures.events = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE topic LIKE 'dossier.%' AND payload ? 'state' AND created_at >= $1",
    )
    .bind(run_started)
    .fetch_one(&pool)
    .await?;

    // The dead node comes back (as systemd would restart it) once its requests' files are old
    // enough to settle; then nothing is pending and every object is an attachment's.
    let grace = Duration::from_secs(REQUEST_TIMEOUT_SECS + 5 + 1);
    tokio::time::sleep(grace.saturating_sub(killed_at.elapsed())).await;
    let node = c.spawn_node()?;
    wait_ready(&c.http, &node.base).await?;
    c.nodes[victim] = node;
    c.front(c.nodes.len(), template).await?;
    let bucket = c.moto.bucket()?;
    let pending: Vec<_> = bucket.list(Some(&"pending".into())).try_collect().await?;
    anyhow::ensure!(pending.is_empty(), "{} files left pending in the bucket", pending.len());
    let objects: Vec<_> = bucket.list(Some(&"objects".into())).try_collect().await?;
    for o in &objects {
        let key = o.location.filename().unwrap_or_default();
        anyhow::ensure!(store.storage_key_exists(key).await?, "orphan object {}", o.location);
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../deploy/nginx/cqs.conf");

    fn config(nodes: &[&str]) -> anyhow::Result<String> {
        let nodes: Vec<String> = nodes.iter().map(|n| (*n).to_owned()).collect();
        nginx_config(SHIPPED, &nodes, 18080, 18443, Path::new("/t/lb.crt.pem"), Path::new("/t/lb.key.pem"))
    }

    #[test]
    fn the_shipped_configuration_is_rewritten_only_in_its_addresses() {
        let out = config(&["127.0.0.1:9001", "127.0.0.1:9002"]).unwrap();
        let servers: Vec<&str> = out.lines().map(str::trim).filter(|l| l.starts_with("server 127.0.0.1:900")).collect();
        assert_eq!(
            servers,
            [
                "server 127.0.0.1:9001 max_fails=2 fail_timeout=10s;",
                "server 127.0.0.1:9002 max_fails=2 fail_timeout=10s;"
            ]
        );
        assert!(!out.contains("10.0.0.1"), "the third shipped node is dropped");
        assert!(out.contains("listen 127.0.0.1:18080;"));
        assert!(out.contains("listen 127.0.0.1:18443 ssl http2;"));
        assert!(!out.contains("[::]"));
        assert!(out.contains("ssl_certificate /t/lb.crt.pem;") && out.contains("ssl_certificate_key /t/lb.key.pem;"));
        // The rest is as shipped: retries, body size, metrics access.
        for kept in
            ["proxy_next_upstream error timeout http_502 http_503;", "client_max_body_size", "location = /metrics"]
        {
            assert!(out.contains(kept), "{kept} kept");
        }
    }

    #[test]
    fn a_template_missing_a_line_the_run_needs_is_refused() {
        assert!(config(&["a:1", "b:2", "c:3", "d:4"]).is_err(), "more nodes than upstream lines");
        let no_tls = SHIPPED.replace("ssl_certificate_key", "# key");
        let nodes = ["a:1".to_owned()];
        let err = nginx_config(&no_tls, &nodes, 1, 2, Path::new("c"), Path::new("k")).unwrap_err();
        assert!(err.to_string().contains("ssl_certificate_key"), "{err}");
    }
}
