//! Crash safety: clients submit dossiers with attachments and accept them while the server is
//! killed with SIGKILL at random moments, many times. After the last restart every request is
//! retried with its `Idempotency-Key` (a client that got no answer does exactly that), and the
//! run checks that:
//!
//! - every acknowledged submission is there whole: dossier, history, its file with the same
//!   SHA-256 and bytes; every acknowledged action is in the history exactly once;
//! - a request that was cut off either took effect whole or not at all: its retry replays the
//!   first answer or does the work once, and there is exactly one dossier per submission key and
//!   one `accept` per dossier (nothing half-written, nothing twice);
//! - no file is orphaned: nothing is left under `pending/`, and every stored object belongs to an
//!   attachment row.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::server::{Database, Server};

/// One submission the clients made, and what they know of it.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub(crate) key: String,
    /// Makes the body (the applicant's number); a retry sends the same.
    pub(crate) serial: u64,
    pub(crate) file: Arc<Vec<u8>>,
    pub(crate) code: Option<String>,
    /// The accept action was sent (with this key) and whether it was answered.
    pub(crate) accept: Option<(String, bool)>,
}

#[derive(Debug, Default)]
pub struct Figures {
    pub rounds: usize,
    pub submissions: usize,
    pub acknowledged_before_kill: usize,
    pub cut_off: usize,
    pub actions: usize,
    pub actions_cut_off: usize,
    pub files_checked: usize,
}

pub(crate) struct Ctx {
    http: reqwest::Client,
    portal: String,
    desk: String,
    procedure: String,
    component: String,
    form: serde_json::Value,
}

fn pdf(rng: &mut impl Rng) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let n = rng.random_range(2_000..200_000);
    bytes.extend((0..n).map(|_| rng.random_range(b'a'..=b'z')));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

/// A new submission under `key`, with a random PDF of 2-200 KB.
pub(crate) fn submission(key: String, serial: u64, rng: &mut impl Rng) -> Submission {
    Submission { key, serial, file: Arc::new(pdf(rng)), code: None, accept: None }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Ctx {
    /// The clients' context against the server at `base`: the benchmark procedure's PDF
    /// component and a valid form for it.
    pub(crate) async fn prepare(http: reqwest::Client, base: &str, portal: &str, desk: &str) -> anyhow::Result<Self> {
        let p: serde_json::Value =
            http.get(format!("{base}/api/v1/procedures/{}", crate::load::BENCH_PROCEDURE)).send().await?.json().await?;
        let component = p["spec"]["components"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["file_types"].as_array().is_some_and(|t| t.iter().any(|t| t == "pdf")))
            .and_then(|c| c["code"].as_str())
            .ok_or_else(|| anyhow::anyhow!("the bench procedure takes no PDF"))?
            .to_owned();
        let form = crate::load::Client::with_http(http.clone(), base, portal).form().await?;
        Ok(Self {
            http,
            portal: portal.to_owned(),
            desk: desk.to_owned(),
            procedure: crate::load::BENCH_PROCEDURE.into(),
            component,
            form,
        })
    }

    fn body(&self, i: u64) -> serde_json::Value {
        serde_json::json!({
            "procedure_code": self.procedure, "receiving_unit": "000.00.31.H99", "channel": "online",
            "applicant": {"kind": "person", "identity_kind": "citizen",
                "identity_number": format!("{:012}", 2_000_000 + i), "name": "Trần Thị Crash"},
            "form_data": self.form,
        })
    }

    /// Sends the submission; `Ok(Some(code))` when answered 2xx, `Ok(None)` when the server
    /// answered "still in progress", `Err` when no answer came (the server died).
    pub(crate) async fn submit(&self, base: &str, s: &Submission) -> anyhow::Result<Option<String>> {
        let form = reqwest::multipart::Form::new()
            .part(
                "dossier",
                reqwest::multipart::Part::text(self.body(s.serial).to_string()).mime_str("application/json")?,
            )
            .part(
                self.component.clone(),
                reqwest::multipart::Part::bytes(s.file.as_ref().clone()).file_name("to-khai.pdf"),
            );
        let r = self
            .http
            .post(format!("{base}/api/v1/dossiers"))
            .bearer_auth(&self.portal)
            .header("idempotency-key", &s.key)
            .multipart(form)
            .send()
            .await?;
        let status = r.status();
        let v: serde_json::Value = r.json().await?;
        anyhow::ensure!(status.is_success(), "submission answered {status}: {v}");
        Ok(v["code"].as_str().map(str::to_owned))
    }

    /// GETs `url` as the desk officer; a non-2xx answer is an error.
    async fn read(&self, url: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.http.get(url).bearer_auth(&self.desk).send().await?.error_for_status()?)
    }

    /// Sends the accept action; `Ok(true)` when answered 200, `Ok(false)` when the key is still
    /// held by a request that died (retry later), `Err` on no answer or a wrong answer.
    pub(crate) async fn accept(&self, base: &str, code: &str, key: &str) -> anyhow::Result<bool> {
        match self.accept_answer(base, code, key).await? {
            None => Ok(false),
            Some(status) if status.is_success() => Ok(true),
            Some(status) => anyhow::bail!("accept of {code} with {key} answered {status}"),
        }
    }

    /// Sends the accept action and returns its status: `None` when the key is still held by a
    /// request that died, a 2xx or a 409 for a stale version; `Err` on no answer or any other
    /// answer.
    pub(crate) async fn accept_answer(
        &self,
        base: &str,
        code: &str,
        key: &str,
    ) -> anyhow::Result<Option<reqwest::StatusCode>> {
        let r = self
            .http
            .post(format!("{base}/api/v1/dossiers/{code}/actions"))
            .bearer_auth(&self.desk)
            .header("idempotency-key", key)
            .json(&serde_json::json!({"expected_version": 1, "action": {"type": "accept"}}))
            .send()
            .await?;
        let status = r.status();
        let v: serde_json::Value = r.json().await?;
        if status == reqwest::StatusCode::CONFLICT && v["code"] == "idempotency_key_in_use" {
            return Ok(None);
        }
        anyhow::ensure!(
            status.is_success() || status == reqwest::StatusCode::CONFLICT,
            "accept of {code} answered {status}: {v}"
        );
        Ok(Some(status))
    }
}

/// Runs `rounds` kill-and-restart rounds with `workers` clients, then checks everything.
pub async fn run(bin: &std::path::Path, db: &Database, rounds: usize, workers: usize) -> anyhow::Result<Figures> {
    // A short request timeout, so claims of requests killed mid-way free up quickly.
    let mut srv = Server::start_with(bin, db, &[("CQS_LIMITS__REQUEST_TIMEOUT_SECS", "5")]).await?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
    let desk = srv.token_named("Khóa của motcua.lacson")?;
    let ctx = Arc::new(Ctx::prepare(http, &srv.base_url, &srv.token, &desk).await?);
    let store = cqs_store::open(&cqs_store::StoreOptions::new(db.store_url())).await?;
    let before = store.count_dossiers().await?;
    let all: Arc<Mutex<Vec<Submission>>> = Arc::default();
    let mut figures = Figures { rounds, ..Default::default() };
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for round in 0..rounds {
        let alive = Arc::new(AtomicBool::new(true));
        let mut tasks = Vec::new();
        for w in 0..workers {
            let client =
                Worker { ctx: ctx.clone(), base: srv.base_url.clone(), all: all.clone(), counter: counter.clone() };
            tasks.push(tokio::spawn(client.run(format!("crash-{round}-{w}"), alive.clone(), true)));
        }
        let wait = Duration::from_millis(rand::rng().random_range(300..2_000));
        tokio::time::sleep(wait).await;
        srv.kill();
        alive.store(false, Ordering::Relaxed);
        for t in tasks {
            t.await?;
        }
        srv.restart().await?;
        eprintln!("crash round {}/{rounds}: killed after {} ms", round + 1, wait.as_millis());
    }
    // The clients retry whatever got no answer, with the same keys; a key still held by a
    // request that died frees itself when its lease ends (request timeout + 5 s).
    let mut subs = all.lock().await.clone();
    figures.submissions = subs.len();
    figures.acknowledged_before_kill = subs.iter().filter(|s| s.code.is_some()).count();
    figures.cut_off = figures.submissions - figures.acknowledged_before_kill;
    figures.actions = subs.iter().filter(|s| s.accept.is_some()).count();
    figures.actions_cut_off = subs.iter().filter(|s| s.accept.as_ref().is_some_and(|a| !a.1)).count();
    settle(&ctx, &srv.base_url, &mut subs).await?;
    figures.files_checked = check_whole(&ctx, &srv.base_url, &subs).await?;
    let total = store.count_dossiers().await? - before;
    anyhow::ensure!(total == subs.len() as i64, "{total} dossiers for {} submission keys", subs.len());
    check_no_orphans(db, store.as_ref()).await?;
    drop(srv);
    Ok(figures)
}

/// One client: submits a dossier with a file, and accepts 60 % of those answered, over and
/// over while `alive`, recording everything in `all`.
pub(crate) struct Worker {
    pub ctx: Arc<Ctx>,
    pub base: String,
    pub all: Arc<Mutex<Vec<Submission>>>,
    pub counter: Arc<std::sync::atomic::AtomicU64>,
}

impl Worker {
    /// Keys start with `tag`. With `stop_on_failure` the client stops at its first request
    /// that got no answer (its server died); without, it goes on (another node answers next).
    pub(crate) async fn run(self, tag: String, alive: Arc<AtomicBool>, stop_on_failure: bool) {
        let mut rng = rand::rngs::StdRng::from_os_rng();
        while alive.load(Ordering::Relaxed) {
            let i = self.counter.fetch_add(1, Ordering::Relaxed);
            let mut s = submission(format!("{tag}-{i}"), i, &mut rng);
            let answered = self.ctx.submit(&self.base, &s).await;
            if let Ok(code) = &answered {
                s.code = code.clone();
                if rng.random_bool(0.6)
                    && let Some(code) = code.clone()
                {
                    let key = format!("accept-{}", s.key);
                    let ok = self.ctx.accept(&self.base, &code, &key).await.unwrap_or(false);
                    s.accept = Some((key, ok));
                }
            }
            let failed = answered.is_err() || s.accept.as_ref().is_some_and(|a| !a.1);
            self.all.lock().await.push(s);
            if failed && stop_on_failure {
                break;
            }
        }
    }
}

/// Retries every submission and action that got no answer, with its key, as its client
/// would; a key still held by a request that died frees itself when its claim's lease ends
/// (request timeout + 5 s).
pub(crate) async fn settle(ctx: &Ctx, base: &str, subs: &mut [Submission]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, s) in subs.iter_mut().enumerate() {
        loop {
            match ctx.submit(base, s).await {
                Ok(Some(code)) => {
                    anyhow::ensure!(
                        s.code.as_ref().is_none_or(|c| *c == code),
                        "a retry of {} gave another dossier",
                        s.key
                    );
                    s.code = Some(code);
                    break;
                }
                Ok(None) | Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
                other => anyhow::bail!("retrying submission {i} ({}) failed: {other:?}", s.key),
            }
        }
        if let (Some(code), Some((key, false))) = (&s.code, &s.accept) {
            loop {
                match ctx.accept(base, code, key).await {
                    Ok(true) => break,
                    Ok(false) | Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(500)).await
                    }
                    other => anyhow::bail!("accept {key} still not answered: {other:?}"),
                }
            }
        }
    }
    Ok(())
}

/// Every submission is there whole and once: its dossier, its one file with the same SHA-256
/// and bytes, its history; returns how many files were checked.
pub(crate) async fn check_whole(ctx: &Ctx, base: &str, subs: &[Submission]) -> anyhow::Result<usize> {
    let mut checked = 0;
    for s in subs {
        let code = s.code.as_deref().expect("retried until answered");
        let path = format!("{base}/api/v1/dossiers/{code}");
        let d: serde_json::Value = ctx.read(&path).await?.json().await?;
        let files = d["attachments"].as_array().cloned().unwrap_or_default();
        anyhow::ensure!(files.len() == 1, "{code} has {} attachments", files.len());
        anyhow::ensure!(files[0]["sha256"] == sha256(&s.file), "{code}: the stored hash differs");
        let id = files[0]["id"].as_str().unwrap_or_default();
        let bytes = ctx.read(&format!("{path}/attachments/{id}")).await?.bytes().await?;
        anyhow::ensure!(bytes.as_ref() == s.file.as_slice(), "{code}: the file's bytes differ");
        checked += 1;
        let h: serde_json::Value = ctx.read(&format!("{path}/history")).await?.json().await?;
        let actions: Vec<&str> = h.as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
        let expected: &[&str] = if s.accept.is_some() { &["submit", "accept"] } else { &["submit"] };
        anyhow::ensure!(actions == expected, "{code}: history {actions:?}, expected {expected:?}");
    }
    Ok(checked)
}

/// Nothing under `pending/` (the start-up reconciliation settled it), and every stored object is
/// an attachment's.
async fn check_no_orphans(db: &Database, store: &dyn cqs_store::Store) -> anyhow::Result<()> {
    let root = db.dir.path().join("files");
    let pending = root.join("pending");
    if pending.exists() {
        let left: Vec<String> = std::fs::read_dir(&pending)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        anyhow::ensure!(left.is_empty(), "files left under pending/: {left:?}");
    }
    let mut stack = vec![root.join("objects")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let key = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            anyhow::ensure!(store.storage_key_exists(key).await?, "orphan file {}", p.display());
        }
    }
    Ok(())
}
