//! Operational monitoring of the data-sharing platform: per service and client, calls, errors by
//! type, latency (mean and percentiles) and bytes, over a period, added up from the per-minute
//! counts every node writes (`cqs_exchange::monitor`). Also what the reporting module reads.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use cqs_domain::exchange::access::may_act_for;
use cqs_domain::exchange::monitor::Tally;
use cqs_domain::exchange::{ClientId, MemberId, ServiceId};
use cqs_store::exchange_stats::StatQuery;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::member_unit;
use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

/// Longest period one answer covers.
const MAX_DAYS: i64 = 31;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonitoringParams {
    /// Start (RFC 3339; default: 24 hours before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (RFC 3339; default: now).
    pub to: Option<DateTime<Utc>>,
    /// Only this service (`INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE`).
    pub service: Option<String>,
    /// Only this client subsystem (`INSTANCE/CLASS/MEMBER/SUBSYSTEM`).
    pub client: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Latency {
    pub mean_ms: Option<f64>,
    /// Percentiles are upper bounds of the latency bucket the rank falls in (they err high).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PairStats {
    /// The service; empty for calls that named no valid service.
    pub service: String,
    /// The client subsystem; empty for callers that were not identified.
    pub client: String,
    pub requests: i64,
    /// Calls that did not end `ok`: refused by the platform or answered 4xx/5xx by the provider.
    pub errors: i64,
    /// Calls by outcome: `ok`, `provider_error`, or the X-Road error type.
    pub outcomes: BTreeMap<String, i64>,
    pub latency: Latency,
    pub request_bytes: i64,
    pub response_bytes: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Monitoring {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// One row per service and client with calls in the period, busiest first.
    pub rows: Vec<PairStats>,
}

fn latency(t: &Tally) -> Latency {
    Latency {
        mean_ms: t.mean_ms(),
        p50_ms: t.percentile_ms(0.5),
        p95_ms: t.percentile_ms(0.95),
        p99_ms: t.percentile_ms(0.99),
    }
}

/// The member an id string belongs to, if it parses as a service or a client id.
fn member_of(id: &str, service: bool) -> Option<MemberId> {
    if service {
        ServiceId::parse(id).ok().map(|s| s.provider.member)
    } else {
        ClientId::parse(id).ok().map(|c| c.member)
    }
}

/// Calls through the gateway over a period, per service and client, from every node. The
/// operator sees all; an admin of a member sees the calls to its services and by its systems.
#[utoipa::path(get, path = "/api/v1/exchange/monitoring", tag = "exchange", params(MonitoringParams),
    responses((status = 200, body = Monitoring), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem)),
    security(("api_key" = [])))]
pub async fn monitoring(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<MonitoringParams>,
) -> Result<Json<Monitoring>, ApiError> {
    caller.require_authenticated()?;
    let to = p.to.unwrap_or_else(|| state.clock.now());
    let from = p.from.unwrap_or(to - TimeDelta::hours(24));
    if from >= to || to - from > TimeDelta::days(MAX_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("Khoảng thời gian phải có from trước to và dài không quá {MAX_DAYS} ngày"),
        ));
    }
    if let Some(s) = &p.service {
        ServiceId::parse(s).map_err(super::address_id)?;
    }
    if let Some(c) = &p.client {
        ClientId::parse(c).map_err(super::address_id)?;
    }
    let root = root_unit(&state).await?;
    let q = StatQuery { from, to, service: p.service.clone(), client: p.client.clone() };
    let mut pairs: HashMap<(String, String), (Tally, BTreeMap<String, i64>)> = HashMap::new();
    for r in state.store.exchange_stats(&q).await? {
        let (tally, outcomes) = pairs.entry((r.service, r.client)).or_default();
        tally.merge(&r.tally);
        *outcomes.entry(r.outcome).or_default() += r.tally.requests;
    }
    // Whether the caller may see a member's side; one lookup per member.
    let mut allowed: HashMap<MemberId, bool> = HashMap::new();
    let operator = may_act_for(&caller.0, None, root).is_ok();
    let mut rows = Vec::new();
    for ((service, client), (tally, outcomes)) in pairs {
        let mut visible = operator;
        for m in [member_of(&service, true), member_of(&client, false)].into_iter().flatten() {
            if visible {
                break;
            }
            visible = match allowed.get(&m) {
                Some(v) => *v,
                None => {
                    let unit: Option<Uuid> = member_unit(&state, &m).await?;
                    let v = may_act_for(&caller.0, unit, root).is_ok();
                    allowed.insert(m, v);
                    v
                }
            };
        }
        if !visible {
            continue;
        }
        let ok = outcomes.get("ok").copied().unwrap_or(0);
        rows.push(PairStats {
            errors: tally.requests - ok,
            requests: tally.requests,
            latency: latency(&tally),
            request_bytes: tally.bytes_in,
            response_bytes: tally.bytes_out,
            outcomes,
            service,
            client,
        });
    }
    rows.sort_by(|a, b| {
        b.requests.cmp(&a.requests).then_with(|| (&a.service, &a.client).cmp(&(&b.service, &b.client)))
    });
    Ok(Json(Monitoring { from, to, rows }))
}
