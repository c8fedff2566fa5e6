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
}

impl Default for Config {
    fn default() -> Self {
        Self { instance: "VN-DEV".into(), registry_refresh_ms: 1000 }
    }
}
