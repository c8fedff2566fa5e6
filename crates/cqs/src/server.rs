//! Starting the platform: open the store, settle files left pending by a crash, serve HTTP until
//! a shutdown signal.

use std::sync::Arc;

use cqs_store::files::FileStore;
use cqs_store::{Store, StoreOptions};

use crate::config::Config;

/// Opens the store and file storage the configuration names, running migrations.
pub async fn open(cfg: &Config) -> anyhow::Result<(Arc<dyn Store>, FileStore)> {
    std::fs::create_dir_all(&cfg.data_dir)?;
    let mut opts = StoreOptions::new(cfg.store_url());
    opts.sqlite_synchronous_full = cfg.sqlite_synchronous == "full";
    opts.max_connections = cfg.max_connections;
    let store = cqs_store::open(&opts).await.map_err(|e| anyhow::anyhow!("không mở được cơ sở dữ liệu: {e}"))?;
    // Files live in `<data_dir>/files` by default, or in the S3-compatible bucket `[files]`
    // names (`Config::attachments`, the one place that chooses).
    let files: FileStore = cfg.attachments()?;
    Ok((store, files))
}

/// Promotes pending files a committed row references and deletes the rest. Files on shared
/// storage (S3) are settled only once older than `shared_grace`: other nodes may be in the middle
/// of requests that wrote them.
pub async fn reconcile_files(
    store: &Arc<dyn Store>,
    files: &FileStore,
    shared_grace: std::time::Duration,
) -> anyhow::Result<()> {
    let s = store.clone();
    let min_age = if files.kind() == "local" { std::time::Duration::ZERO } else { shared_grace };
    let (promoted, deleted) = files
        .reconcile_older_than(min_age, move |key| {
            let s = s.clone();
            async move { s.storage_key_exists(&key).await.unwrap_or(true) }
        })
        .await?;
    if promoted + deleted > 0 {
        tracing::info!(promoted, deleted, "settled attachments left pending");
    }
    Ok(())
}

/// The application state: store, files, and the rules from the shipped files and the data
/// directory's overrides.
pub fn app_state(cfg: &Config, store: Arc<dyn Store>, files: FileStore) -> anyhow::Result<cqs_web::AppState> {
    let rules = cqs_web::Rules::load(Some(&cfg.data_dir.join("rules")))
        .map_err(|e| anyhow::anyhow!("quy tắc không hợp lệ: {e}"))?;
    let mut auth = cfg.auth();
    auth.mfa_key = std::sync::Arc::new(
        cqs_web::auth::mfa::MfaKey::load_or_create(&cfg.mfa_key_path()).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    Ok(cqs_web::AppState::new(store, files, rules, cfg.limits())
        .with_auth(auth)
        .with_notifier(cfg.notifier()?)
        .with_documents(cfg.documents()?)
        .with_signing(cfg.signing()?)
        .with_eid(cfg.eid()?))
}

/// The event bus the configuration names: NATS JetStream when `nats_url` is set, otherwise the
/// in-process bus `state` already has.
pub async fn with_bus(cfg: &Config, state: cqs_web::AppState) -> anyhow::Result<cqs_web::AppState> {
    if cfg.nats_url.is_empty() {
        return Ok(state);
    }
    let settings = cqs_web::events::NatsSettings {
        url: cfg.nats_url.clone(),
        stream: cfg.nats_stream.clone(),
        subject_prefix: cfg.nats_subject_prefix.clone(),
        max_age: std::time::Duration::from_secs(cfg.event_retention_days * 24 * 3600),
        client_name: format!("cqs {}", state.jobs.node.as_str()),
    };
    let bus = cqs_web::events::NatsBus::connect(&settings)
        .await
        .map_err(|e| anyhow::anyhow!("không kết nối được NATS ({}): {e}", cfg.nats_url))?;
    Ok(state.with_bus(Arc::new(bus)))
}

/// How long shutdown waits for background jobs to release their leases.
const JOBS_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn serve(cfg: &Config, store: Arc<dyn Store>, files: FileStore) -> anyhow::Result<()> {
    // A request lives at most the request timeout; its idempotency claim 5 s longer.
    let grace = std::time::Duration::from_secs(cfg.limits.request_timeout_secs + 5);
    reconcile_files(&store, &files, grace).await?;
    let gateway = cqs_exchange::Gateway::start(store.clone(), cfg.exchange.clone(), &cfg.data_dir.join("exchange"))
        .await
        .map_err(|e| anyhow::anyhow!("không khởi động được cổng trao đổi dữ liệu: {e}"))?;
    let jobs = cqs_web::jobs::JobSettings {
        node: cqs_web::jobs::NodeId::generate(),
        lease_ttl: std::time::Duration::from_secs(cfg.lease_ttl_secs),
    };
    let peers = match cfg.exchange.federation.listen.as_str() {
        "" => None,
        addr => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("không mở được cổng liên thông {addr}: {e}"))?,
        ),
    };
    let state = app_state(cfg, store.clone(), files)?.with_exchange(gateway.clone()).with_jobs(jobs);
    let state = with_bus(cfg, state).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(listener) = peers {
        tracing::info!(address = %cfg.exchange.federation.listen, "federation listener (mutual TLS) open");
        let mut until = stopped.clone();
        tokio::spawn(cqs_exchange::federation::serve(gateway, listener, async move {
            let _ = until.wait_for(|s| *s).await;
        }));
    }
    let tasks = cqs_web::jobs::spawn_all(&state, &cfg.schedule(), stopped);
    let (bus, node) = (state.bus.kind(), state.jobs.node.clone());
    let app = cqs_web::router(state);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| anyhow::anyhow!("không mở được cổng {}: {e}", cfg.listen))?;
    tracing::info!(address = %cfg.listen, backend = store.backend(), bus, node = node.as_str(), "cqs đang chạy");
    println!("Chính Quyền Số đang chạy tại http://{} (API: /api/docs)", listener.local_addr()?);
    // Peer addresses reach handlers (session list, per-address sign-in limits).
    crate::http::serve(listener, app, cfg.limits(), shutdown_signal()).await?;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(JOBS_STOP_WAIT, futures_join(tasks)).await;
    Ok(())
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
