//! The exchange gateway (LGSP): what runs when a `cqs` node mediates calls between information
//! systems. It keeps a copy of the registry that follows the store, and (in the modules below)
//! authenticates clients, checks grants and quotas, calls providers, logs and signs every
//! exchange, and federates with other nodes over mutual TLS.

pub mod config;
pub mod registry;

use std::sync::Arc;

use cqs_store::Store;

pub use config::Config;
pub use registry::{Registry, RegistryView};

/// One node's gateway.
pub struct Gateway {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub registry: Registry,
}

impl Gateway {
    /// Loads the registry and starts following its changes.
    pub async fn start(store: Arc<dyn Store>, config: Config) -> Result<Arc<Self>, cqs_store::StoreError> {
        let registry = Registry::load(store.clone()).await?;
        registry.follow(std::time::Duration::from_millis(config.registry_refresh_ms.max(50)));
        Ok(Arc::new(Self { config, store, registry }))
    }

    /// Reloads the registry at once (after a change made on this node).
    pub async fn registry_changed(&self) {
        if let Err(e) = self.registry.reload().await {
            tracing::warn!(error = %e, "exchange registry not reloaded; the next poll retries");
        }
    }
}
