//! `cqs-bench`: the benchmark harness. It starts a `cqs` server on a fresh database of the chosen
//! backend with the demo data, drives it over HTTP with many concurrent clients, and reports
//! throughput and latency percentiles, plus the raw single-row insert rate of the same database
//! measured in the same run, so figures can be read as a fraction of what the database allows.
//! Results print as Markdown rows for `docs/benchmarks.md`.

mod crash;
mod load;
mod raw;
mod seed;
mod server;

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
