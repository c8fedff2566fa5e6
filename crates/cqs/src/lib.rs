//! The `cqs` binary's library half: configuration, start-up, administrative commands, the
//! catalog importer and the demo loader. `main.rs` only parses arguments and calls in here.

pub mod backup;
pub mod commands;
pub mod config;
pub mod demo;
pub mod devca;
pub mod http;
/// The catalog importer lives in its own light crate (so the parser fuzz targets build without the
/// server); `cqs::import` keeps its old path.
pub use cqs_import as import;
pub mod logging;
pub mod server;
