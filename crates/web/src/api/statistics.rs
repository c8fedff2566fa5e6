//! A unit's statistics for a period (`domain::statistics`): received and carried over, resolved
//! early, on time and late, still open, by procedure and by day or month. For the unit's staff,
//! as the register is; the console's dashboard shows the same report.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use cqs_domain::dossier::local_date;
use cqs_domain::org::OrgUnit;
use cqs_domain::statistics::{Period, Report, report};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::inbox::{local_start, staff_unit};
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatisticsParams {
    /// Agency code of the unit; by default the caller's first unit.
    pub unit: Option<String>,
    /// First day (yyyy-mm-dd, Vietnam time); by default the first of this month.
    pub from: Option<NaiveDate>,
    /// Last day, included, at most a year after `from`; by default today.
    pub to: Option<NaiveDate>,
}

/// Most dossiers one report reads; a busier unit asks for shorter periods.
pub const FACTS_MAX: i64 = 200_000;

/// A unit's report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatisticsView {
    pub unit_code: String,
    pub unit_name: String,
    #[serde(flatten)]
    pub report: Report,
    /// Share of the resolved dossiers resolved early or on time, in per cent (none resolved: null).
    pub on_time_percent: Option<f64>,
}

/// The report the parameters ask for, for a caller with a role at the unit.
pub async fn unit_report(
    state: &AppState,
    caller: &Caller,
    p: &StatisticsParams,
) -> Result<(OrgUnit, Report), ApiError> {
    let (unit_id, _) = staff_unit(state, caller, p.unit.as_deref()).await?;
    let today = local_date(state.clock.now());
    let period = match (p.from, p.to) {
        (None, None) => Period::month_to_date(today),
        (from, to) => {
            let to = to.unwrap_or(today);
            let from = from.unwrap_or_else(|| Period::month_to_date(to).from);
            Period::new(from, to)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_period", e.to_string()))?
        }
    };
    let unit = state
        .store
        .org_units()
        .await?
        .into_iter()
        .find(|u| u.id == unit_id)
        .ok_or_else(|| ApiError::not_found("đơn vị"))?;
    let end = local_start(period.to + chrono::Days::new(1));
    let facts = state.store.unit_facts(unit_id, local_start(period.from), end, FACTS_MAX + 1).await?;
    if facts.len() as i64 > FACTS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "period_too_busy",
            format!("Kỳ này có hơn {FACTS_MAX} hồ sơ; hãy xem từng khoảng ngắn hơn"),
        ));
    }
    // Counting is CPU work proportional to the dossiers read: off the async runtime.
    let report = tokio::task::spawn_blocking(move || report(&facts, period, today)).await.map_err(|e| {
        tracing::error!(error = %e, "statistics task failed");
        ApiError::internal()
    })?;
    Ok((unit, report))
}

/// Statistics of a unit's dossiers for a period: received (and carried over from before),
/// resolved early / on time / late at date precision, refused or withdrawn, still open (on time
/// or late, judged at the period's end or today), by procedure and by day (periods up to 31
/// days) or month.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "dossiers", params(StatisticsParams),
    responses((status = 200, body = StatisticsView), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("api_key" = []), ("session" = [])))]
pub async fn statistics(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<StatisticsParams>,
) -> Result<Json<StatisticsView>, ApiError> {
    let (unit, report) = unit_report(&state, &caller, &p).await?;
    Ok(Json(StatisticsView {
        unit_code: unit.code.to_string(),
        unit_name: unit.name,
        on_time_percent: report.totals.on_time_percent(),
        report,
    }))
}
