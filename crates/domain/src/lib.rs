//! Pure domain types and rules of Chính Quyền Số. No I/O, no async, no SQL: every rule here is a
//! function a unit test can call.

pub mod auth;
pub mod calendar;
pub mod catalog;
pub mod control;
pub mod deadline;
pub mod docstore;
pub mod dossier;
pub mod exchange;
pub mod form;
pub mod forms;
pub mod identity;
pub mod ids;
pub mod org;
pub mod rating;
pub mod statistics;
pub mod status;
pub mod text;
pub mod workflow;
