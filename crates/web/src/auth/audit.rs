//! The security log (nhật ký an ninh): sign-ins, sign-outs, password changes, registrations and
//! refusals, stored through the store so administrators can query them
//! (`GET /api/v1/security-events`). Entries name the account, the client address and the route
//! template; never a password, a code, a token or a URI.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use cqs_domain::identity::{AccountRef, SecurityEventKind};
use cqs_store::SecurityEvent;
use uuid::Uuid;

use super::Caller;
use crate::AppState;
use crate::error::AccessDenied;
use crate::identity::ClientContext;

/// Writes one event; a failure to write is logged, never turned into a failed request.
pub async fn record(
    state: &AppState,
    kind: SecurityEventKind,
    account: Option<AccountRef>,
    client: &ClientContext,
    route: Option<&str>,
    detail: Option<String>,
) {
    let e = SecurityEvent {
        id: Uuid::now_v7(),
        at: state.clock.now(),
        kind,
        account,
        ip: client.ip.clone(),
        route: route.map(str::to_owned),
        detail,
    };
    if let Err(err) = state.store.record_security_event(&e).await {
        tracing::error!(error = %err, kind = kind.as_str(), "security event not recorded");
    }
}

/// Middleware: records every refusal by an access rule or the CSRF guard, with the caller's
/// account when there is one. Anonymous 401s are not recorded (they are the normal first step
/// of signing in), only logged.
pub async fn denials(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let headers = req.headers().clone();
    let client = ClientContext::of(req.headers(), req.extensions(), &state.auth);
    let res = next.run(req).await;
    if let Some(AccessDenied(reason)) = res.extensions().get::<AccessDenied>() {
        let account = Caller::resolve(&state, &headers).await.ok().and_then(|c| c.account());
        record(&state, SecurityEventKind::AccessDenied, account, &client, route.as_deref(), Some(reason.clone())).await;
    }
    res
}
