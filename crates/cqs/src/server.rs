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
    // Files live in `<data_dir>/files` by default. This is the one place that chooses the
    // attachments backend: an S3-compatible store plugs in here as
    // `Attachments::new(Arc::new(<object_store builder>))`.
    let files = FileStore::open(cfg.data_dir.join("files"))?;
    Ok((store, files))
}

/// Promotes pending files a committed row references and deletes the rest.
pub async fn reconcile_files(store: &Arc<dyn Store>, files: &FileStore) -> anyhow::Result<()> {
    let s = store.clone();
    let (promoted, deleted) = files
        .reconcile(move |key| {
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
    Ok(cqs_web::AppState::new(store, files, rules, cfg.limits()).with_auth(cfg.auth()))
}

/// Re-times running dossiers if the working calendar changed since the last start. Runs beside
/// the server: requests are served meanwhile, and each dossier is updated in its own transaction.
fn recompute_in_background(state: cqs_web::AppState) {
    tokio::spawn(async move {
        match cqs_web::jobs::recompute_if_calendar_changed(&state).await {
            Ok(Some(r)) => tracing::info!(
                examined = r.examined,
                changed = r.changed,
                kept = r.kept,
                "working calendar changed: due dates recomputed"
            ),
            Ok(None) => {}
            Err(e) => tracing::error!(error = ?e, "due dates not recomputed; run `cqs deadlines recompute`"),
        }
    });
}

pub async fn serve(cfg: &Config, store: Arc<dyn Store>, files: FileStore) -> anyhow::Result<()> {
    reconcile_files(&store, &files).await?;
    let gateway = cqs_exchange::Gateway::start(store.clone(), cfg.exchange.clone(), &cfg.data_dir.join("exchange"))
        .await
        .map_err(|e| anyhow::anyhow!("không khởi động được cổng trao đổi dữ liệu: {e}"))?;
    let state = app_state(cfg, store.clone(), files)?.with_exchange(gateway);
    recompute_in_background(state.clone());
    if cfg.sweep_interval_secs > 0 {
        cqs_web::jobs::spawn_sweeper(state.clone(), std::time::Duration::from_secs(cfg.sweep_interval_secs));
    }
    let app = cqs_web::router(state);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| anyhow::anyhow!("không mở được cổng {}: {e}", cfg.listen))?;
    tracing::info!(address = %cfg.listen, backend = store.backend(), "cqs đang chạy");
    println!("Chính Quyền Số đang chạy tại http://{} (API: /api/docs)", listener.local_addr()?);
    // Peer addresses reach handlers (session list, per-address sign-in limits).
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
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
