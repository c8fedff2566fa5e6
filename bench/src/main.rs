//! `cqs-bench`: the benchmark harness. It starts a `cqs` server on a fresh database of the chosen
//! backend with the demo data, drives it over HTTP with many concurrent clients, and reports
//! throughput and latency percentiles, plus the raw single-row insert rate of the same database
//! measured in the same run, so figures can be read as a fraction of what the database allows.
//! Results print as Markdown rows for `docs/benchmarks.md`.

mod cluster;
mod crash;
mod gateway;
mod load;
mod raw;
mod seed;
mod server;
mod soak;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Benchmark harness for cqs")]
struct Args {
    /// The cqs binary to benchmark (build it with --release for real figures).
    #[arg(long, default_value = "target/release/cqs")]
    cqs: PathBuf,
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Server URL of PostgreSQL whose user may create databases (for --backend postgres).
    #[arg(long, env = "CQS_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1/postgres")]
    pg_admin_url: String,
    /// Seconds per closed-loop measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients for the peak measurements.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Dossiers to bulk-load before measuring the officer inbox (0 skips the inbox scenario).
    #[arg(long, default_value_t = 0)]
    inbox_dossiers: i64,
    /// Do not run `cqs maintenance reindex-inbox` after the bulk load (for binaries from before
    /// the inbox word index, measured as a baseline).
    #[arg(long)]
    skip_reindex: bool,
    /// Short run for CI: a few seconds, no figures worth publishing.
    #[arg(long)]
    smoke: bool,
    /// Instead of measuring: the crash-safety run, with this many SIGKILL-and-restart rounds
    /// under load (see `crash.rs`).
    #[arg(long, default_value_t = 0)]
    crash_rounds: usize,
    /// Concurrent clients during the crash-safety run.
    #[arg(long, default_value_t = 6)]
    crash_clients: usize,
    /// Instead of measuring: the soak, the mixed workload at half its measured peak for this
    /// many seconds (1800 for the published figure), reported window by window (see `soak.rs`).
    #[arg(long, default_value_t = 0)]
    soak_secs: u64,
    /// Length of one reported window of the soak.
    #[arg(long, default_value_t = 60)]
    soak_window_secs: u64,
    /// Instead of measuring: the cluster run with this many nodes on PostgreSQL behind nginx,
    /// one of them killed midway (see `cluster.rs`).
    #[arg(long, default_value_t = 0)]
    cluster: usize,
    /// Seconds of load in the cluster run (the kill comes halfway).
    #[arg(long, default_value_t = 16)]
    cluster_seconds: u64,
    /// With --cluster: measure throughput behind nginx with 1, 2 ... N nodes instead of the
    /// kill-and-check run.
    #[arg(long)]
    cluster_scale: bool,
    /// The nginx configuration the cluster runs behind (its addresses are rewritten).
    #[arg(long, default_value = "deploy/nginx/cqs.conf")]
    nginx_template: PathBuf,
    /// NATS server for the cluster's events; without one the nodes use the in-process bus.
    #[arg(long, env = "CQS_TEST_NATS_URL")]
    nats_url: Option<String>,
    /// Instead of measuring the portal: the exchange gateway against a provider called directly,
    /// through nginx, through one node and through two federated nodes (see `gateway.rs`).
    #[arg(long)]
    gateway: bool,
    /// With --gateway: the slices each path's time is cut into, taken in turn.
    #[arg(long, default_value_t = 4)]
    gateway_rounds: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.crash_rounds > 0 {
        let db = server::Database::create(&args.backend, &args.pg_admin_url).await?;
        let started = std::time::Instant::now();
        let outcome = crash::run(&args.cqs, &db, args.crash_rounds, args.crash_clients).await;
        db.drop().await?;
        let f = outcome?;
        println!(
            "crash safety ({}): {} SIGKILL rounds in {:.0} s; {} submissions with a file ({} answered before a kill, {} cut off), {} accept actions ({} cut off); after retries with their keys every dossier, history and file is whole and present once ({} files checked by SHA-256 and bytes), no orphan file",
            args.backend,
            f.rounds,
            started.elapsed().as_secs_f64(),
            f.submissions,
            f.acknowledged_before_kill,
            f.cut_off,
            f.actions,
            f.actions_cut_off,
            f.files_checked
        );
        return Ok(());
    }
    if args.soak_secs > 0 {
        return soak(&args).await;
    }
    if args.cluster > 0 {
        return cluster(&args).await;
    }
    if args.gateway {
        return gateway(&args).await;
    }
    let secs = if args.smoke { 1 } else { args.seconds };
    let dur = Duration::from_secs(secs);
    let conc = if args.smoke { 8 } else { args.concurrency };

    let db = server::Database::create(&args.backend, &args.pg_admin_url).await?;
    let raw = raw::insert_rate(&db, dur).await?;
    let srv = server::Server::start(&args.cqs, &db).await?;
    let client = load::Client::new(&srv.base_url, &srv.token)?;

    let submit_peak = load::closed_loop(&client, load::Op::Submit, conc, dur).await?;
    let lookup_peak = load::closed_loop(&client, load::Op::Lookup, conc, dur).await?;
    let submit_half = load::open_loop(&client, load::Op::Submit, submit_peak.throughput / 2.0, dur).await?;
    let lookup_half = load::open_loop(&client, load::Op::Lookup, lookup_peak.throughput / 2.0, dur).await?;
    // Portal pages on the demo data, two citizens browsing at once, one page at a time.
    let code = client.some_code().await.unwrap_or_default();
    let page_paths = [
        "/".to_owned(),
        "/thu-tuc?q=dang+ky+ket+hon".to_owned(),
        "/thu-tuc/1.001193".to_owned(),
        "/co-quan".to_owned(),
        format!("/tra-cuu?ma={code}"),
    ];
    let mut pages = Vec::new();
    for p in &page_paths {
        pages.push((p.clone(), load::pages_loop(&srv.base_url, std::slice::from_ref(p), 2, dur).await?));
    }
    let mut sweeps = Vec::new();
    let mut reindexed = None;
    let inbox = if args.inbox_dossiers > 0 {
        let started = std::time::Instant::now();
        seed::seed(&db, args.inbox_dossiers).await?;
        eprintln!("seeded {} dossiers in {:.1} s", args.inbox_dossiers, started.elapsed().as_secs_f64());
        if !args.skip_reindex {
            reindexed = Some(srv.reindex(&args.cqs, &db)?);
        }
        let tokens = [srv.token_named("Khóa của motcua.lacson")?, srv.token_named("Khóa của chuyenvien.lacson")?];
        let queries = [
            "?limit=50",
            "?limit=50&overdue=true",
            "?limit=50&due_soon=true",
            "?limit=50&scope=unit&state=in_progress",
            "?limit=50&q=nguyen%20van%20123",
            "?limit=50&received_from=2026-01-01&received_to=2026-01-31",
        ];
        // Two clients: officers of one unit working at once; eight: the server saturated.
        let busy = load::inbox_loop(&srv.base_url, &tokens, &queries, 2, dur).await?;
        let saturated = load::inbox_loop(&srv.base_url, &tokens, &queries, 8, dur).await?;
        // The name searches alone: a rare name (served from the word index) and a common one
        // (every word common: the due-ordered scan).
        let rare = load::inbox_loop(&srv.base_url, &tokens, &["?limit=50&q=nguyen%20van%20123"], 2, dur).await?;
        let common = load::inbox_loop(&srv.base_url, &tokens, &["?limit=50&q=nguyen%20van"], 2, dur).await?;
        // The deadline sweeper over the same data: the first pass finds every late dossier, the
        // second finds them notified already (the steady state, run every minute).
        let first = srv.sweep(&args.cqs, &db)?;
        let second = srv.sweep(&args.cqs, &db)?;
        sweeps = vec![first, second];
        Some([
            ("mixed filters", 2, busy),
            ("mixed filters", 8, saturated),
            ("rare name", 2, rare),
            ("common name", 2, common),
        ])
    } else {
        None
    };
    let rss_mb = srv.rss_mb();
    drop(srv);
    db.drop().await?;

    let date = chrono::Utc::now().format("%Y-%m-%d");
    println!("| date | backend | scenario | clients | req/s | p50 ms | p95 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, r, c) in [
        ("submit, peak", &submit_peak, conc.to_string()),
        ("lookup, peak", &lookup_peak, conc.to_string()),
        ("submit, half peak rate", &submit_half, "open loop".into()),
        ("lookup, half peak rate", &lookup_half, "open loop".into()),
    ] {
        println!(
            "| {date} | {} | {name} | {c} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            args.backend, r.throughput, r.p50, r.p95, r.p99, r.errors
        );
    }
    for (path, r) in &pages {
        let shown = if path.starts_with("/tra-cuu") { "/tra-cuu?ma=<code>" } else { path.as_str() };
        println!(
            "| {date} | {} | portal page `{shown}` | 2 | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            args.backend, r.throughput, r.p50, r.p95, r.p99, r.errors
        );
    }
    for (what, clients, r) in inbox.iter().flatten() {
        println!(
            "| {date} | {} | inbox of {} ({} dossiers in the database), {what} | {clients} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            args.backend,
            seed::BUSY_UNIT,
            args.inbox_dossiers,
            r.throughput,
            r.p50,
            r.p95,
            r.p99,
            r.errors
        );
    }
    println!();
    println!(
        "raw single-row insert rate ({}, {} writer connection(s)): {:.0}/s; submissions reach {:.0} % of it",
        args.backend,
        raw.connections,
        raw.rate,
        100.0 * submit_peak.throughput / raw.rate
    );
    println!("server resident memory after the run: {rss_mb:.0} MB");
    if let Some(took) = reindexed {
        println!(
            "inbox word index rebuilt after the bulk load (`cqs maintenance reindex-inbox`): {:.1} s",
            took.as_secs_f64()
        );
    }
    for (i, (took, report)) in sweeps.iter().enumerate() {
        println!("deadline sweep {} (`cqs deadlines sweep`): {:.1} s; {report}", i + 1, took.as_secs_f64());
    }
    anyhow::ensure!(submit_peak.ok > 0 && lookup_peak.ok > 0, "no request succeeded");
    Ok(())
}

/// The soak run: a server with the demo data, the mixed workload's peak, then half of it for
/// `--soak-secs`; prints one row per window and a summary.
async fn soak(args: &Args) -> anyhow::Result<()> {
    let db = server::Database::create(&args.backend, &args.pg_admin_url).await?;
    let srv = server::Server::start(&args.cqs, &db).await?;
    // Submissions go to every commune in turn (a unit's codes hold 99,999 dossiers a day) and
    // are accepted at the two communes with a desk officer in the demo.
    let communes: Vec<String> =
        serde_json::from_str::<Vec<serde_json::Value>>(include_str!("../../demo/org_units.json"))?
            .iter()
            .filter(|u| u["kind"] == "commune")
            .filter_map(|u| u["code"].as_str().map(str::to_owned))
            .collect();
    let client = load::Client::new(&srv.base_url, &srv.token)?
        .spread_over(communes)
        .with_desk("000.00.31.H99", &srv.token_named("Khóa của motcua.lacson")?)
        .with_desk("000.00.32.H99", &srv.token_named("Khóa của motcua.vanlang")?);
    let outcome = soak::run(
        &client,
        args.concurrency,
        Duration::from_secs(args.seconds),
        Duration::from_secs(args.soak_secs),
        Duration::from_secs(args.soak_window_secs.max(1)),
        || srv.rss_mb(),
    )
    .await;
    drop(srv);
    db.drop().await?;
    let s = outcome?;
    let date = chrono::Utc::now().format("%Y-%m-%d");
    println!(
        "soak ({}, {date}): mixed peak {:.0} req/s with {} clients (p95 {:.2} ms); soak at {:.0} req/s for {} s",
        args.backend, s.peak.throughput, args.concurrency, s.peak.p95, s.rate, args.soak_secs
    );
    println!();
    let kinds: Vec<String> = load::Op::MIXED.iter().map(|op| format!(" {op:?} p95 ms |")).collect();
    println!("| from s | req/s | p50 ms | p95 ms | p99 ms | errors | server RSS MB |{}", kinds.concat());
    println!("|---|---|---|---|---|---|---|{}", "---|".repeat(kinds.len()));
    for w in &s.windows {
        let r = &w.report;
        let kinds: Vec<String> = w.by_op.iter().map(|r| format!(" {:.2} |", r.p95)).collect();
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} |{}",
            w.start_s,
            r.throughput,
            r.p50,
            r.p95,
            r.p99,
            r.errors,
            w.rss_mb,
            kinds.concat()
        );
    }
    let ok: usize = s.windows.iter().map(|w| w.report.ok).sum();
    let errors: usize = s.windows.iter().map(|w| w.report.errors).sum();
    let max_rss = s.windows.iter().map(|w| w.rss_mb).fold(s.rss_before_mb, f64::max);
    println!();
    println!(
        "{ok} requests answered, {errors} failed; server memory {:.0} MB before the soak, {:.0} MB at the end, {max_rss:.0} MB at most",
        s.rss_before_mb,
        s.windows.last().map_or(f64::NAN, |w| w.rss_mb)
    );
    anyhow::ensure!(ok > 0, "no request succeeded");
    Ok(())
}

/// The cluster run: the kill-and-check run, or with --cluster-scale the throughput behind nginx
/// with 1 ..= N nodes.
async fn cluster(args: &Args) -> anyhow::Result<()> {
    let template = std::fs::read_to_string(&args.nginx_template)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.nginx_template.display()))?;
    let mut c =
        cluster::Cluster::start(&args.cqs, &args.pg_admin_url, args.nats_url.as_deref(), args.cluster, &template)
            .await?;
    let bus = if args.nats_url.is_some() { "NATS JetStream" } else { "in-process bus" };
    let outcome = if args.cluster_scale {
        cluster_scale(args, &mut c, &template).await
    } else {
        let started = std::time::Instant::now();
        cluster::run_checks(&mut c, args.crash_clients, Duration::from_secs(args.cluster_seconds), &template).await.map(|f| {
            println!(
                "cluster ({} nodes on PostgreSQL, files on S3 (moto), events on {bus}, behind nginx): {} s; {} submissions with a file ({} cut off by the kill or a dead node and retried with their keys), {} accept actions, {} two-node accept races each won exactly once; SIGKILL of the node holding {:?}, taken over after {:.1} s; {} dossier events published and counted once; {} files checked by SHA-256 and bytes through nginx; no file pending or orphaned in the bucket after the node's restart",
                f.nodes,
                started.elapsed().as_secs(),
                f.submissions,
                f.cut_off,
                f.actions,
                f.races,
                f.killed_jobs,
                f.takeover.as_secs_f64(),
                f.events,
                f.files_checked
            );
        })
    };
    c.drop_all().await?;
    outcome
}

/// Peak submissions and inbox reads behind nginx with the first 1, 2 ... N nodes, and the
/// nodes' memory idle and loaded.
async fn cluster_scale(args: &Args, c: &mut cluster::Cluster, template: &str) -> anyhow::Result<()> {
    let dur = Duration::from_secs(if args.smoke { 1 } else { args.seconds });
    let conc = if args.smoke { 8 } else { args.concurrency };
    let idle: Vec<f64> = c.nodes.iter().map(|n| n.rss_mb()).collect();
    let date = chrono::Utc::now().format("%Y-%m-%d");
    println!("| date | nodes | scenario | clients | req/s | p50 ms | p95 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in 1..=c.nodes.len() {
        c.front(n, template).await?;
        let client = load::Client::with_http(c.http.clone(), &c.url, &c.portal).with_officer(&c.desk);
        let submit = load::closed_loop(&client, load::Op::Submit, conc, dur).await?;
        let inbox = load::closed_loop(&client, load::Op::Inbox, conc, dur).await?;
        for (what, r) in [("submit", &submit), ("officer inbox", &inbox)] {
            println!(
                "| {date} | {n} | {what}, peak, through nginx (TLS) | {conc} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                r.throughput, r.p50, r.p95, r.p99, r.errors
            );
        }
    }
    let loaded: Vec<f64> = c.nodes.iter().map(|n| n.rss_mb()).collect();
    println!();
    println!("node resident memory, idle after start: {idle:.0?} MB; after the runs: {loaded:.0?} MB");
    Ok(())
}

/// The exchange gateway beside a direct call and nginx, with one client and with many.
async fn gateway(args: &Args) -> anyhow::Result<()> {
    let dur = Duration::from_secs(if args.smoke { 1 } else { args.seconds });
    let conc = if args.smoke { 8 } else { args.concurrency };
    let rounds = if args.smoke { 1 } else { args.gateway_rounds };
    let rows = gateway::run_paths(&args.cqs, conc, dur, rounds).await?;
    let date = chrono::Utc::now().format("%Y-%m-%d");
    println!("| date | path to the provider | clients | req/s | p50 ms | p95 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let x = &r.report;
        println!(
            "| {date} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} |",
            r.path, r.clients, x.throughput, x.p50, x.p95, x.p99, x.errors
        );
    }
    let find = |name: &str, clients: usize| rows.iter().find(|r| r.path.starts_with(name) && r.clients == clients);
    if let (Some(direct), Some(node), Some(two), Some(nginx), Some(node_n)) =
        (find("direct", 1), find("one", 1), find("two", 1), find("nginx", conc), find("one", conc))
    {
        println!();
        println!(
            "one node adds {:.3} ms at p50 (two federated nodes {:.3} ms); with {conc} clients one node reaches {:.0} % of nginx's throughput",
            node.report.p50 - direct.report.p50,
            two.report.p50 - direct.report.p50,
            100.0 * node_n.report.throughput / nginx.report.throughput
        );
    }
    let failed: usize = rows.iter().map(|r| r.report.errors).sum();
    anyhow::ensure!(failed == 0, "{failed} calls failed");
    Ok(())
}
