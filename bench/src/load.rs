//! HTTP load: closed loop (N clients as fast as they can, for peak throughput) and open loop
//! (requests started at a fixed rate whether or not earlier ones finished, so latency under a
//! given load is not hidden by clients waiting).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The demo procedure submissions go to: a commune procedure submitted fully online whose
/// uploads are all optional, so submissions carry no attachments.
pub const BENCH_PROCEDURE: &str = "2.000635";
/// The commune submissions go to unless the client spreads them (phường Lạc Sơn).
pub const BENCH_UNIT: &str = "000.00.31.H99";

/// A desk officer: the unit whose dossiers it accepts, its key, and the dossiers submitted there
/// in the run that wait to be accepted.
#[derive(Clone)]
struct Desk {
    unit: String,
    token: String,
    waiting: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Submit,
    Lookup,
    /// A desk officer's inbox, first page (needs [`Client::with_officer`]).
    Inbox,
    /// A desk officer accepts a dossier submitted earlier in the run (a submission when none
    /// is waiting).
    Accept,
}

impl Op {
    /// Every kind of request of the mix, in the order reports list them.
    pub const MIXED: [Op; 4] = [Op::Lookup, Op::Inbox, Op::Submit, Op::Accept];

    /// The soak's mix, by request number: of every 20 requests, 10 citizen lookups, 5 inbox
    /// reads, 3 submissions and 2 accept actions (a counter's busy day: many more people ask
    /// where their dossier is than hand one in).
    pub fn mixed(n: usize) -> Self {
        match n % 20 {
            0..10 => Op::Lookup,
            10..15 => Op::Inbox,
            15..18 => Op::Submit,
            _ => Op::Accept,
        }
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// Codes of dossiers created so far, for lookups.
    codes: Arc<Mutex<Vec<String>>>,
    /// Units submissions go to in turn; empty = [`BENCH_UNIT`]. A long run spreads them, since
    /// a unit's dossier codes hold 99,999 a day.
    units: Arc<Vec<String>>,
    /// Desk officers for inbox reads and accept actions, used in turn.
    desks: Vec<Desk>,
    next: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub throughput: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub ok: usize,
    pub errors: usize,
}

fn submission(i: usize, unit: &str, form: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "procedure_code": BENCH_PROCEDURE,
        "receiving_unit": unit,
        "channel": "online",
        "applicant": {
            "kind": "person", "identity_kind": "citizen",
            "identity_number": format!("{:012}", 1_000_000 + i),
            "name": "Nguyễn Văn An", "phone": "0912345678"
        },
        "form_data": form,
    })
}

impl Client {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        Ok(Self::with_http(reqwest::Client::builder().pool_max_idle_per_host(1024).build()?, base, token))
    }

    /// A client on an HTTP client of the caller's (one that trusts a test CA, say).
    pub fn with_http(http: reqwest::Client, base: &str, token: &str) -> Self {
        Self {
            http,
            base: base.to_owned(),
            token: token.to_owned(),
            codes: Arc::default(),
            units: Arc::default(),
            desks: Vec::new(),
            next: Arc::default(),
        }
    }

    /// The same client, also acting as the desk officer of [`BENCH_UNIT`] with this key.
    pub fn with_officer(self, token: &str) -> Self {
        self.with_desk(BENCH_UNIT, token)
    }

    /// The same client, also acting as the desk officer of `unit` with this key.
    pub fn with_desk(mut self, unit: &str, token: &str) -> Self {
        self.desks.push(Desk { unit: unit.to_owned(), token: token.to_owned(), waiting: Arc::default() });
        self
    }

    /// The same client, submitting to these units in turn.
    pub fn spread_over(mut self, units: Vec<String>) -> Self {
        self.units = Arc::new(units);
        self
    }

    /// The next desk officer in turn.
    fn desk(&self) -> anyhow::Result<&Desk> {
        anyhow::ensure!(!self.desks.is_empty(), "no officer key for inbox and actions");
        Ok(&self.desks[self.next.fetch_add(1, Ordering::Relaxed) % self.desks.len()])
    }

    /// Submits a dossier to `unit`; it waits for that unit's desk officer, if the client has one.
    async fn submit_to(&self, unit: &str, form: &serde_json::Value) -> anyhow::Result<()> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let body = submission(i, unit, form);
        let r = self
            .http
            .post(format!("{}/api/v1/dossiers", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(r.status() == 201, "submit answered {}", r.status());
        let v: serde_json::Value = r.json().await?;
        let code = v["code"].as_str().unwrap_or_default().to_owned();
        self.codes.lock().await.push(code.clone());
        if let Some(d) = self.desks.iter().find(|d| d.unit == unit) {
            d.waiting.lock().await.push(code);
        }
        Ok(())
    }

    pub(crate) async fn once(&self, op: Op, form: &serde_json::Value) -> anyhow::Result<()> {
        self.perform(op, form).await.map(|_| ())
    }

    /// Sends one request of kind `op` and says which kind it was in the end: an accept with
    /// nothing waiting is a submission.
    pub(crate) async fn perform(&self, op: Op, form: &serde_json::Value) -> anyhow::Result<Op> {
        match op {
            Op::Submit => {
                let unit = match self.units.len() {
                    0 => BENCH_UNIT.to_owned(),
                    n => self.units[self.next.fetch_add(1, Ordering::Relaxed) % n].clone(),
                };
                self.submit_to(&unit, form).await?;
            }
            Op::Inbox => {
                let r = self
                    .http
                    .get(format!("{}/api/v1/inbox?limit=50", self.base))
                    .bearer_auth(&self.desk()?.token)
                    .send()
                    .await?;
                anyhow::ensure!(r.status() == 200, "inbox answered {}", r.status());
                r.bytes().await?;
            }
            Op::Accept => {
                let desk = self.desk()?;
                let Some(code) = desk.waiting.lock().await.pop() else {
                    return self.submit_to(&desk.unit, form).await.map(|()| Op::Submit);
                };
                let r = self
                    .http
                    .post(format!("{}/api/v1/dossiers/{code}/actions", self.base))
                    .bearer_auth(&desk.token)
                    .json(&serde_json::json!({"expected_version": 1, "action": {"type": "accept"}}))
                    .send()
                    .await?;
                anyhow::ensure!(r.status() == 200, "accept of {code} answered {}", r.status());
                r.bytes().await?;
            }
            Op::Lookup => {
                let code = {
                    let codes = self.codes.lock().await;
                    anyhow::ensure!(!codes.is_empty(), "no dossier to look up");
                    let i = self.next.fetch_add(1, Ordering::Relaxed);
                    codes[i % codes.len()].clone()
                };
                let r = self.http.get(format!("{}/api/v1/lookup/{code}", self.base)).send().await?;
                anyhow::ensure!(r.status() == 200, "lookup answered {}", r.status());
                r.bytes().await?;
            }
        }
        Ok(op)
    }

    /// A valid form for the benchmark procedure, built from its schema's required fields.
    pub async fn form(&self) -> anyhow::Result<serde_json::Value> {
        let p: serde_json::Value =
            self.http.get(format!("{}/api/v1/procedures/{BENCH_PROCEDURE}", self.base)).send().await?.json().await?;
        let schema = &p["spec"]["form_schema"];
        let mut form = serde_json::Map::new();
        for key in schema["required"].as_array().into_iter().flatten().filter_map(|k| k.as_str()) {
            let prop = &schema["properties"][key];
            let v = if let Some(first) = prop["enum"].as_array().and_then(|e| e.first()) {
                first.clone()
            } else if prop["format"] == "date" {
                "2026-01-15".into()
            } else if prop["type"] == "integer" {
                prop["minimum"].as_i64().unwrap_or(1).max(1).into()
            } else if prop["pattern"].as_str().is_some_and(|p| p.contains("[0-9]{12}")) {
                "001203004567".into()
            } else {
                "Nguyễn Thị Bình".into()
            };
            form.insert(key.to_owned(), v);
        }
        Ok(serde_json::Value::Object(form))
    }
}

pub(crate) fn report(mut lat_us: Vec<u64>, errors: usize, elapsed: Duration) -> Report {
    lat_us.sort_unstable();
    let pct = |p: f64| {
        if lat_us.is_empty() { f64::NAN } else { lat_us[((lat_us.len() - 1) as f64 * p) as usize] as f64 / 1000.0 }
    };
    Report {
        throughput: lat_us.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
        ok: lat_us.len(),
        errors,
    }
}

pub async fn closed_loop(client: &Client, op: Op, concurrency: usize, dur: Duration) -> anyhow::Result<Report> {
    let form = Arc::new(client.form().await?);
    if matches!(op, Op::Lookup) && client.codes.lock().await.is_empty() {
        client.once(Op::Submit, &form).await?;
    }
    let client = client.clone();
    run_clients(concurrency, dur, &format!("{op:?}"), move |_, _| {
        let (c, form) = (client.clone(), form.clone());
        Box::pin(async move { c.once(op, &form).await })
    })
    .await
}

/// One request of a closed-loop client, given the client's index and its iteration.
pub(crate) type Request = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;

/// `concurrency` clients each sending `request` back to back for `dur`; the first error of each
/// client is printed, all are counted.
pub(crate) async fn run_clients<F>(concurrency: usize, dur: Duration, label: &str, request: F) -> anyhow::Result<Report>
where
    F: Fn(usize, usize) -> Request + Send + Sync + 'static,
{
    let s = sample_clients(concurrency, dur, label, request).await?;
    Ok(report(s.latencies_us, s.errors, s.elapsed))
}

/// What one closed-loop run saw, before it is summed up: runs of the same path can be added
/// together (the gateway comparison interleaves its paths in rounds).
#[derive(Default)]
pub(crate) struct Samples {
    pub latencies_us: Vec<u64>,
    pub errors: usize,
    pub elapsed: Duration,
}

impl Samples {
    pub fn add(&mut self, other: Samples) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.elapsed += other.elapsed;
    }

    pub fn report(self) -> Report {
        report(self.latencies_us, self.errors, self.elapsed)
    }
}

/// `run_clients`, returning the latencies themselves.
pub(crate) async fn sample_clients<F>(
    concurrency: usize,
    dur: Duration,
    label: &str,
    request: F,
) -> anyhow::Result<Samples>
where
    F: Fn(usize, usize) -> Request + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (request, label) = (request.clone(), label.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut n) = (Vec::new(), 0usize, 0usize);
            while started.elapsed() < dur {
                let t = Instant::now();
                match request(c, n).await {
                    Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("{label}: {e}");
                        }
                    }
                }
                n += 1;
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    Ok(Samples { latencies_us: all, errors, elapsed: started.elapsed() })
}

pub async fn open_loop(client: &Client, op: Op, rate: f64, dur: Duration) -> anyhow::Result<Report> {
    let form = Arc::new(client.form().await?);
    let rate = rate.max(1.0);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let results = Arc::new(Mutex::new((Vec::new(), 0usize)));
    let mut tasks = Vec::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while started.elapsed() < dur {
        ticker.tick().await;
        let (c, form, results) = (client.clone(), form.clone(), results.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = c.once(op, &form).await;
            let mut g = results.lock().await;
            match r {
                Ok(()) => g.0.push(t.elapsed().as_micros() as u64),
                Err(_) => g.1 += 1,
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed();
    let (lat, errors) = std::mem::take(&mut *results.lock().await);
    Ok(report(lat, errors, elapsed))
}

/// Closed-loop inbox reads: each client cycles through `queries` with its officer's key.
pub async fn inbox_loop(
    base: &str,
    tokens: &[String],
    queries: &[&'static str],
    concurrency: usize,
    dur: Duration,
) -> anyhow::Result<Report> {
    let (http, base, tokens, queries) = (reqwest::Client::new(), base.to_owned(), tokens.to_vec(), queries.to_vec());
    run_clients(concurrency, dur, "inbox", move |c, n| {
        let url = format!("{base}/api/v1/inbox{}", queries[(c + n) % queries.len()]);
        let req = http.get(url.clone()).bearer_auth(&tokens[c % tokens.len()]);
        Box::pin(async move {
            let r = req.send().await?;
            anyhow::ensure!(r.status() == 200, "{url}: {}", r.status());
            r.bytes().await?;
            Ok(())
        })
    })
    .await
}

/// Portal pages (HTML) fetched by `concurrency` clients, each client cycling through `paths`:
/// the server time a citizen's browser waits for before it can draw a page.
pub async fn pages_loop(base: &str, paths: &[String], concurrency: usize, dur: Duration) -> anyhow::Result<Report> {
    let (http, base, paths) = (reqwest::Client::new(), base.to_owned(), paths.to_vec());
    run_clients(concurrency, dur, "page", move |c, n| {
        let url = format!("{base}{}", paths[(c + n) % paths.len()]);
        let req = http.get(url.clone());
        Box::pin(async move {
            let r = req.send().await?;
            anyhow::ensure!(r.status() == 200, "{url}: {}", r.status());
            r.bytes().await?;
            Ok(())
        })
    })
    .await
}

impl Client {
    /// A dossier code created by the submit scenarios, for the lookup page.
    pub async fn some_code(&self) -> Option<String> {
        self.codes.lock().await.first().cloned()
    }
}
