//! The gateway's settings (`[exchange]` in the TOML file).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// This node's X-Road instance, e.g. `VN-H99` for a province: services of other instances are
    /// reached through the peer configured for them.
    pub instance: String,
    /// How often each node checks whether the registry changed (milliseconds). A change made on a
    /// node applies there at once and on the others within this time.
    pub registry_refresh_ms: u64,
    /// Largest request or response body a mediated call may carry (KiB).
    pub max_body_kb: usize,
    /// Lifetime of the Bearer tokens handed out by `/api/v1/exchange/token` (seconds).
    pub token_ttl_secs: u64,
    /// Time to open a connection to a provider (milliseconds); the answer's time limit is the
    /// service's own `timeout_ms`.
    pub connect_timeout_ms: u64,
    /// Idle connections kept open to each provider.
    pub pool_idle_per_host: usize,
    /// This node's name in the message log; empty = generated once and kept in the data
    /// directory (`exchange/node-id`). Nodes sharing a database need distinct names.
    pub node_id: String,
    /// Records waiting for the log writer before calls have to wait.
    pub log_queue: usize,
    /// Most records sealed in one batch (one transaction, one signature).
    pub log_batch_max: usize,
    /// Days the message log is kept (whole batches are deleted after); 0 keeps it for ever.
    pub log_retention_days: u32,
    /// Keep the request and response bodies of every logged exchange, encrypted at rest
    /// (`bodies`). Off by default: the log holds only the bodies' hashes.
    pub keep_bodies: bool,
    /// The 32-byte AES-256 key that seals kept bodies; empty = `exchange/body.key` in the data
    /// directory, created on first start. A named file must exist.
    pub body_key_file: String,
    /// Earlier body keys, still needed to open bodies sealed before the key was rotated.
    pub body_old_key_files: Vec<String>,
    /// Days kept bodies are kept (the records stay for `log_retention_days`); 0 keeps them as
    /// long as their records.
    pub body_retention_days: u32,
    /// An RFC 3161 timestamp authority (http or https) that dates the message log's sealed
    /// batches in rounds (`stamp`); empty = no timestamps.
    pub timestamp_url: String,
    /// Seconds between timestamp rounds: the most a sealed batch waits for its date.
    pub timestamp_interval_secs: u64,
    /// Time the authority has to answer one round.
    pub timestamp_timeout_secs: u64,
    /// Days the per-minute monitoring counts are kept; 0 keeps them for ever.
    pub stats_retention_days: u32,
    /// Peer nodes and the mutual-TLS listener (`[exchange.federation]`); off by default.
    pub federation: crate::federation::FederationConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            instance: "VN-DEV".into(),
            registry_refresh_ms: 1000,
            max_body_kb: 10 * 1024,
            token_ttl_secs: 1800,
            connect_timeout_ms: 2000,
            pool_idle_per_host: 256,
            node_id: String::new(),
            log_queue: 8192,
            log_batch_max: 512,
            log_retention_days: 0,
            keep_bodies: false,
            body_key_file: String::new(),
            body_old_key_files: Vec::new(),
            body_retention_days: 30,
            timestamp_url: String::new(),
            timestamp_interval_secs: 60,
            timestamp_timeout_secs: 10,
            stats_retention_days: 400,
            federation: Default::default(),
        }
    }
}
