//! Load shedding. At most [`crate::Limits::in_flight`] requests are handled at once; the next
//! one is answered 503 with `Retry-After` straight away. Without a bound, a node that falls
//! behind its arrivals keeps every waiting request, its connection and its memory until it runs
//! out of file descriptors (the soak in docs/reliability.md did exactly that); with one, the
//! requests it takes stay fast and the rest learn at once to come back. A shed request has done
//! nothing, so retrying it is always safe. Health probes and metrics are never shed: operators
//! must see an overloaded node as overloaded, not as dead.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Seconds a shed client is asked to wait.
pub const RETRY_AFTER_SECS: u32 = 1;

pub const TITLE: &str = "Hệ thống đang quá tải, xin vui lòng thử lại sau ít giây";

/// Slots for requests being handled, shared by every connection of the node.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(slots: usize) -> Self {
        Self(Arc::new(Semaphore::new(slots.max(1))))
    }

    /// A slot for one request while it is handled, or `None` (counted as shed) when all are taken.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        let slot = self.0.clone().try_acquire_owned().ok();
        if slot.is_none() {
            metrics::counter!("cqs_http_shed_total").increment(1);
        }
        slot
    }
}

/// Paths answered even when the node is full.
pub(crate) fn never_shed(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The layer: takes a slot for the request's whole handling or answers 503.
pub async fn shed(State(slots): State<InFlight>, req: Request, next: Next) -> Response {
    if never_shed(req.uri().path()) {
        return next.run(req).await;
    }
    match slots.take() {
        Some(_slot) => next.run(req).await,
        None => {
            let mut res = if crate::is_api(req.uri()) {
                crate::error::ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", TITLE).into_response()
            } else {
                crate::ui::PageError::new(StatusCode::SERVICE_UNAVAILABLE, TITLE).into_response()
            };
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            res
        }
    }
}
