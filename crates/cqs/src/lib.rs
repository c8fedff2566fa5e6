//! The `cqs` binary's library half: configuration, start-up, administrative commands, the
//! catalog importer and the demo loader. `main.rs` only parses arguments and calls in here.

pub mod commands;
pub mod config;
pub mod demo;
pub mod devca;
pub mod http;
pub mod import;
pub mod logging;
pub mod server;
