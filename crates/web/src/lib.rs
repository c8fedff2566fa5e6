//! The HTTP edge of Chính Quyền Số: the JSON API under `/api/v1` with its OpenAPI document,
//! problem+json errors, API-key and session authentication with CSRF protection, and the
//! server-rendered pages of the citizen portal and the staff console. Handlers parse input into domain types, ask
//! the domain to decide, and hand the result to the store in one call.

pub mod account;
pub mod api;
pub mod auth;
pub mod catalog_import;
pub mod console;
pub mod documents;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod notify;
pub mod overload;
pub mod portal;
pub mod rules;
pub mod telemetry;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, SubsecRound, Utc};
use cqs_store::Store;
use cqs_store::files::FileStore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use api::catalog::FormCache;
pub use rules::Rules;

/// Explicit limits on what a request may carry.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest JSON body (bytes).
    pub json_body: usize,
    /// Largest whole multipart submission (bytes).
    pub submission_body: usize,
    /// Largest single attachment (bytes).
    pub attachment: usize,
    /// Most files in one submission.
    pub files_per_submission: usize,
    /// Time a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Time a client has to send a request's headers (slow-loris clients are cut off).
    pub header_read: Duration,
    /// Most requests handled at once; the next is answered 503 with `Retry-After`
    /// ([`overload`]).
    pub in_flight: usize,
    /// Most connections open at once; at the limit the node stops accepting until one closes
    /// (keep it under the process's open-file limit, `ulimit -n`).
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            json_body: 1024 * 1024,
            submission_body: 60 * 1024 * 1024,
            attachment: 20 * 1024 * 1024,
            files_per_submission: 40,
            request_timeout: Duration::from_secs(60),
            header_read: Duration::from_secs(10),
            in_flight: 512,
            connections: 8192,
        }
    }
}

/// Where handlers and jobs read the time: the system clock, or in tests a clock they set, so
/// deadlines across a holiday can be checked through the API on any day the tests run.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<std::sync::Mutex<DateTime<Utc>>>>);

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands at `at` until [`Clock::set`] moves it.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Some(Arc::new(std::sync::Mutex::new(at))))
    }

    /// Moves a fixed clock; the system clock cannot be moved.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(c) = &self.0 {
            *c.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
        }
    }

    /// Now, to the microsecond both databases store.
    pub fn now(&self) -> DateTime<Utc> {
        let at = match &self.0 {
            Some(c) => *c.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            None => Utc::now(),
        };
        at.trunc_subsecs(6)
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub files: FileStore,
    pub rules: Arc<Rules>,
    pub limits: Limits,
    pub forms: FormCache,
    pub clock: Clock,
    /// The exchange gateway, when this node runs one (`cqs serve` always does).
    pub exchange: Option<Arc<cqs_exchange::Gateway>>,
    /// The portal's count of the most used procedures, kept a few minutes per node.
    pub usage: portal::UsageCache,
    /// Sign-in and session settings.
    pub auth: Arc<auth::AuthConfig>,
    /// Where the outbox relay publishes: in-process unless NATS is configured.
    pub bus: Arc<dyn events::Bus>,
    pub jobs: jobs::JobSettings,
    /// Where notices to people (one-time codes) go: the log unless `[notify]` names an SMTP server.
    pub notifier: Arc<dyn notify::Notifier>,
    /// The keys that sign OAuth access tokens, read from the store once.
    pub oauth: auth::oauth::TokenCache,
    /// Forms as PDF (renderer, form sets, the portal's public address for QR codes).
    pub documents: documents::Documents,
    /// Agencies' signing keys, the timestamp authority, trusted roots.
    pub signing: Arc<documents::results::Signing>,
    /// External e-ID providers (OpenID Connect) people may sign in with; none by default.
    pub eid: Arc<identity::eid::EidProviders>,
}

impl AppState {
    /// A node with the in-process bus and its standard consumers.
    pub fn new(store: Arc<dyn Store>, files: FileStore, rules: Rules, limits: Limits) -> Self {
        let notifier: Arc<dyn notify::Notifier> = Arc::new(notify::LogNotifier::default());
        let bus = Arc::new(events::InProcessBus::new(events::consumers::standard(&store, &notifier)));
        Self {
            store,
            files,
            rules: Arc::new(rules),
            limits,
            forms: FormCache::default(),
            clock: Clock::system(),
            exchange: None,
            usage: Default::default(),
            auth: Arc::new(auth::AuthConfig::default()),
            bus,
            jobs: jobs::JobSettings::default(),
            notifier,
            oauth: Default::default(),
            documents: documents::Documents::default(),
            signing: Default::default(),
            eid: Default::default(),
        }
    }

    /// Sends notices through `notifier`. An in-process bus is rebuilt so its consumers use it
    /// too (call this before [`AppState::with_bus`]).
    pub fn with_notifier(self, notifier: Arc<dyn notify::Notifier>) -> Self {
        let bus: Arc<dyn events::Bus> = if self.bus.kind() == "in-process" {
            Arc::new(events::InProcessBus::new(events::consumers::standard(&self.store, &notifier)))
        } else {
            self.bus
        };
        Self { notifier, bus, ..self }
    }

    pub fn with_auth(self, auth: auth::AuthConfig) -> Self {
        Self { auth: Arc::new(auth), ..self }
    }

    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub fn with_exchange(self, gateway: Arc<cqs_exchange::Gateway>) -> Self {
        Self { exchange: Some(gateway), ..self }
    }

    pub fn with_bus(self, bus: Arc<dyn events::Bus>) -> Self {
        Self { bus, ..self }
    }

    pub fn with_jobs(self, jobs: jobs::JobSettings) -> Self {
        Self { jobs, ..self }
    }

    pub fn with_documents(self, documents: documents::Documents) -> Self {
        Self { documents, ..self }
    }

    pub fn with_eid(self, eid: identity::eid::EidProviders) -> Self {
        Self { eid: Arc::new(eid), ..self }
    }

    pub fn with_signing(self, signing: documents::results::Signing) -> Self {
        Self { signing: Arc::new(signing), ..self }
    }
}

/// Machines get problem+json; people get an HTML page.
pub(crate) fn is_api(uri: &axum::http::Uri) -> bool {
    uri.path().starts_with("/api/")
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let timeout = state.limits.request_timeout;
    let in_flight = state.limits.in_flight;
    let pages = ui::security_headers(
        portal::router()
            .merge(console::router())
            .merge(account::router())
            .route("/static/{*path}", axum::routing::get(ui::assets::serve)),
    )
    .with_state(state.clone());
    let slots = overload::InFlight::new(in_flight);
    let mediated = api::exchange::gateway::router(state.exchange.clone(), slots.clone(), timeout);
    let csrf = axum::middleware::from_fn_with_state(state.clone(), auth::csrf::guard);
    let denials = axum::middleware::from_fn_with_state(state.clone(), auth::audit::denials);
    // Every route above the CSRF layer (API and pages) is guarded; only the fallbacks are not.
    api::router(state)
        .merge(pages)
        .layer(csrf)
        .layer(denials)
        .fallback(|uri: axum::http::Uri| async move {
            if is_api(&uri) {
                error::ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "Không có địa chỉ này").into_response()
            } else {
                ui::PageError::not_found().into_response()
            }
        })
        .method_not_allowed_fallback(|uri: axum::http::Uri| async move {
            if is_api(&uri) {
                error::ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "Phương thức không được hỗ trợ",
                )
                .into_response()
            } else {
                ui::PageError::new(StatusCode::METHOD_NOT_ALLOWED, "Thao tác không được hỗ trợ trên trang này")
                    .into_response()
            }
        })
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn_with_state(slots, overload::shed))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // Route template, not the URI: paths may carry dossier codes.
            let route =
                req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            tracing::info_span!("request", method = %req.method(), route, request_id = id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .merge(mediated)
}
