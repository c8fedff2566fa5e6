//! The `exchange` module's rules (LGSP, nền tảng tích hợp, chia sẻ dữ liệu): X-Road identifiers,
//! the registry of members, subsystems and services, access rights by explicit grant, the legal
//! procedure for access requests, quotas, the message log's evidence chain and monitoring
//! buckets. Pure functions only; the gateway that applies them lives in `crates/exchange`.

pub mod access;
pub mod chain;
pub mod endpoint;
pub mod grant;
pub mod ids;
pub mod monitor;
pub mod quota;
pub mod registry;
pub mod request;

pub use endpoint::{Endpoint, Method, PathPattern};
pub use grant::Grant;
pub use ids::{ClientId, MemberId, Part, ServiceId, XRoadIdError};
pub use registry::{Member, Service, ServiceSpec, Status, Subsystem};
pub use request::{AccessRequest, Decision, RequestState};
