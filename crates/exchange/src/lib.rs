//! The exchange gateway (LGSP): what runs when a `cqs` node mediates calls between information
//! systems. It keeps a copy of the registry that follows the store, authenticates clients,
//! checks grants and quotas, calls providers, logs and signs every exchange, and federates with
//! other nodes over mutual TLS.

pub mod bodies;
pub mod config;
pub mod credentials;
pub mod error;
pub mod evidence;
pub mod federation;
pub mod limiter;
pub mod log;
pub mod mediate;
pub mod metaservices;
pub mod monitor;
pub mod registry;
pub mod stamp;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use cqs_store::Store;
use rand::Rng;

pub use config::Config;
pub use error::XRoadError;
pub use registry::{Registry, RegistryView};

/// One node's gateway.
pub struct Gateway {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub registry: Registry,
    pub tokens: credentials::Tokens,
    limiter: limiter::Limiter,
    /// The client providers are called with.
    http: upstream::Upstream,
    pub log: log::MessageLog,
    /// Counts of calls for operational monitoring (`monitor`).
    pub monitor: Arc<monitor::Monitor>,
    /// The peer nodes this node exchanges calls with over mutual TLS.
    pub federation: federation::Federation,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] cqs_store::StoreError),
    #[error("không tạo được trình kết nối HTTP: {0}")]
    Http(#[from] rustls::Error),
    #[error("không đọc được khóa ký của nút: {0}")]
    Key(#[from] std::io::Error),
    #[error("khóa ký mã truy cập không dùng được: {0}")]
    Token(#[from] jsonwebtoken::errors::Error),
    #[error(transparent)]
    Federation(#[from] federation::FederationError),
    #[error("máy chủ cấp dấu thời gian của nhật ký: {0}")]
    Timestamp(#[from] cqs_pki::PkiError),
}

/// A token handed out at login.
#[derive(Debug, serde::Serialize)]
pub struct IssuedToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

impl Gateway {
    /// Loads the registry, starts following its changes, prepares the provider client and
    /// starts the message log with the node key kept in `key_dir`.
    pub async fn start(
        store: Arc<dyn Store>,
        config: Config,
        key_dir: &std::path::Path,
    ) -> Result<Arc<Self>, StartError> {
        let federation = federation::Federation::load(&config.federation, &config.instance)?;
        let registry = Registry::load(store.clone()).await?;
        registry.follow(Duration::from_millis(config.registry_refresh_ms.max(50)));
        let fresh = hex::encode(rand::rng().random::<[u8; 32]>());
        let secret = store.init_setting(credentials::TOKEN_SECRET_SETTING, &fresh, chrono::Utc::now()).await?;
        let tokens =
            credentials::Tokens::new(secret.as_bytes(), &config.instance, Duration::from_secs(config.token_ttl_secs))?;
        let http = upstream::Upstream::new(
            provider_tls()?,
            &upstream::Settings {
                connect_timeout: Duration::from_millis(config.connect_timeout_ms),
                idle_per_host: config.pool_idle_per_host,
                idle_timeout: Duration::from_secs(90),
                https_only: false,
            },
        );
        let key = log::NodeKey::load_or_create(key_dir, &config.instance, &config.node_id)?;
        let bodies = if config.keep_bodies { Some(Arc::new(body_keys(&config, key_dir)?)) } else { None };
        let log = log::MessageLog::start(store.clone(), key, config.log_queue, config.log_batch_max, bodies).await?;
        if !config.timestamp_url.is_empty() {
            let tsa = cqs_pki::tsp::TsaClient::new(
                &config.timestamp_url,
                Duration::from_secs(config.timestamp_timeout_secs.max(1)),
            )?;
            let every = Duration::from_secs(config.timestamp_interval_secs.max(1));
            stamp::spawn(store.clone(), tsa, log.node.clone(), every);
        }
        let body_days = if config.keep_bodies { config.body_retention_days } else { 0 };
        spawn_retention(store.clone(), config.log_retention_days, body_days, config.stats_retention_days);
        let monitor = Arc::new(monitor::Monitor::new(&log.node));
        monitor.spawn_flush(store.clone());
        Ok(Arc::new(Self {
            limiter: limiter::Limiter::new(store.clone()),
            config,
            store,
            registry,
            tokens,
            http,
            log,
            monitor,
            federation,
        }))
    }

    /// Reloads the registry at once (after a change made on this node).
    pub async fn registry_changed(&self) {
        if let Err(e) = self.registry.reload().await {
            tracing::warn!(error = %e, "exchange registry not reloaded; the next poll retries");
        }
    }

    /// Exchanges a system id and secret for a short-lived Bearer token.
    pub fn login(&self, system_id: &str, secret: &str) -> Result<IssuedToken, XRoadError> {
        let view = self.registry.view();
        let (client, cv) = credentials::check_secret(&view, system_id, secret).ok_or_else(|| {
            tracing::info!(target: "security", "exchange login refused");
            XRoadError::unauthenticated("Mã hệ thống hoặc khóa bí mật không đúng")
        })?;
        Ok(IssuedToken {
            access_token: self.tokens.issue(&client, cv)?,
            token_type: "Bearer",
            expires_in: self.tokens.ttl.as_secs(),
        })
    }
}

/// TLS to providers: the web's public roots (Mozilla's list), with aws-lc-rs.
fn provider_tls() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The body keys named by the settings: the current one (by default created in `key_dir`) and
/// the old ones, which must exist.
fn body_keys(config: &Config, key_dir: &std::path::Path) -> std::io::Result<bodies::BodyKeys> {
    let current = match config.body_key_file.as_str() {
        "" => bodies::BodyKey::load(&key_dir.join("body.key"), true)?,
        path => bodies::BodyKey::load(std::path::Path::new(path), false)?,
    };
    let old = config
        .body_old_key_files
        .iter()
        .map(|p| bodies::BodyKey::load(std::path::Path::new(p), false))
        .collect::<std::io::Result<Vec<_>>>()?;
    tracing::info!(key = %current.id_hex(), old = old.len(), "exchange bodies are kept, encrypted");
    Ok(bodies::BodyKeys::new(current, old))
}

/// Deletes message-log batches and monitoring counts older than their retention, and forgets
/// kept bodies older than theirs (0 keeps each), once an hour.
fn spawn_retention(store: Arc<dyn Store>, log_days: u32, body_days: u32, stats_days: u32) {
    if log_days == 0 && body_days == 0 && stats_days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        let before = |days: u32| chrono::Utc::now() - chrono::Duration::days(i64::from(days));
        loop {
            tick.tick().await;
            if log_days > 0 {
                match store.delete_log_before(before(log_days)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(records = n, days = log_days, "message log records past retention deleted"),
                    Err(e) => tracing::warn!(error = %e, "message log retention failed; retrying in an hour"),
                }
            }
            if body_days > 0 {
                match store.forget_log_bodies_before(before(body_days)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(records = n, days = body_days, "kept bodies past retention forgotten"),
                    Err(e) => tracing::warn!(error = %e, "body retention failed; retrying in an hour"),
                }
            }
            if stats_days > 0
                && let Err(e) = store.delete_exchange_stats_before(before(stats_days)).await
            {
                tracing::warn!(error = %e, "monitoring counts retention failed; retrying in an hour");
            }
        }
    });
}
