//! The officer's inbox: dossiers a unit must act on, most urgent first, with the filters desk
//! officers and specialists use all day, and keyset (cursor) pagination that stays fast deep
//! into a busy unit's list.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use cqs_domain::auth::{Principal, Role};
use cqs_domain::calendar::DeadlineFlags;
use cqs_domain::dossier::DossierState;
use cqs_store::{InboxItem, InboxQuery, InboxText};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::dossiers::StatusView;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// Agency code of the unit; by default the caller's first unit.
    pub unit: Option<String>,
    /// `mine` (held for one of my roles, the default) or `unit` (everything the unit holds).
    pub scope: Option<String>,
    pub state: Option<DossierState>,
    pub procedure: Option<String>,
    /// Only dossiers with at most one working day left.
    pub due_soon: Option<bool>,
    pub overdue: Option<bool>,
    /// Received on or after this date (YYYY-MM-DD, Vietnam time).
    pub received_from: Option<NaiveDate>,
    /// Received on or before this date.
    pub received_to: Option<NaiveDate>,
    /// Applicant name (diacritics ignored) or the start of a dossier code.
    pub q: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxEntry {
    #[serde(flatten)]
    pub item: InboxItem,
    pub status: StatusView,
    pub deadline: DeadlineFlags,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxPage {
    pub items: Vec<InboxEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn bad(msg: &str) -> ApiError {
    ApiError::bad_request("invalid_query", msg.to_owned())
}

pub fn parse_cursor(c: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let (t, id) = c.split_once('_').ok_or_else(|| bad("Con trỏ trang không hợp lệ"))?;
    let t = DateTime::parse_from_rfc3339(t).map_err(|_| bad("Con trỏ trang không hợp lệ"))?.with_timezone(&Utc);
    Ok((t, Uuid::parse_str(id).map_err(|_| bad("Con trỏ trang không hợp lệ"))?))
}

/// The instant a local (Vietnam) day starts.
pub fn local_start(d: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    chrono_tz::Asia::Ho_Chi_Minh
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .earliest()
        .expect("no gap at midnight in Vietnam")
        .with_timezone(&Utc)
}

/// The unit a staff caller works at (the named one, or their first) and their roles there;
/// anyone else, or staff without a role at that unit, is denied.
pub async fn staff_unit(state: &AppState, caller: &Caller, unit: Option<&str>) -> Result<(Uuid, Vec<Role>), ApiError> {
    caller.require_authenticated()?;
    let Principal::Staff { grants, .. } = &caller.0 else {
        return Err(cqs_domain::auth::Denied::NoRoleInUnit.into());
    };
    let unit_id = match unit {
        Some(code) => state.store.org_unit_by_code(code).await?.ok_or_else(|| ApiError::not_found("đơn vị"))?.id,
        None => grants.first().map(|g| g.org_unit_id).ok_or(cqs_domain::auth::Denied::NoRoleInUnit)?,
    };
    let mine: Vec<Role> = grants.iter().filter(|g| g.org_unit_id == unit_id).map(|g| g.role).collect();
    if mine.is_empty() {
        return Err(cqs_domain::auth::Denied::NoRoleInUnit.into());
    }
    Ok((unit_id, mine))
}

/// Dossiers awaiting action at one of the caller's units, sorted by due date.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "dossiers", params(InboxParams),
    responses((status = 200, body = InboxPage), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem, description = "Không có đơn vị mang mã `unit`")),
    security(("api_key" = []), ("session" = [])))]
pub async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> Result<Json<InboxPage>, ApiError> {
    list(&state, &caller, &p).await.map(Json)
}

/// One page of the inbox the parameters ask for (the API and the console's inbox page).
pub async fn list(state: &AppState, caller: &Caller, p: &InboxParams) -> Result<InboxPage, ApiError> {
    let (unit_id, mine) = staff_unit(state, caller, p.unit.as_deref()).await?;
    let roles = match p.scope.as_deref() {
        None | Some("mine") if !mine.contains(&Role::Admin) => Some(mine),
        None | Some("mine") | Some("unit") => None,
        Some(_) => return Err(bad("scope phải là mine hoặc unit")),
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(bad("Tham số limit phải từ 1 đến 200"));
    }
    let now = state.clock.now();
    // A whole dossier code is looked up; a partial one is matched by prefix as typed; anything
    // else is a name, matched in its folded form.
    let text = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).and_then(|q| {
        if let Ok(code) = cqs_domain::ids::DossierCode::parse(q) {
            Some(InboxText::Code(code.to_string()))
        } else if q.contains('.') {
            Some(InboxText::CodePrefix(q.to_owned()))
        } else {
            cqs_domain::text::NameQuery::parse(q).map(InboxText::Name)
        }
    });
    let q = InboxQuery {
        unit_id,
        roles,
        state: p.state,
        procedure_code: p.procedure.clone(),
        received_from: p.received_from.map(local_start),
        received_before: p.received_to.and_then(|d| d.succ_opt()).map(local_start),
        overdue_at: p.overdue.unwrap_or(false).then_some(now),
        due_between: p
            .due_soon
            .unwrap_or(false)
            .then(|| (now, state.rules.calendar.add_working_minutes(now, state.rules.calendar.due_soon_minutes(now)))),
        text,
        after: p.cursor.as_deref().map(parse_cursor).transpose()?,
        limit: limit + 1,
    };
    let rows = state.store.inbox(&q).await?;
    let (items, next_cursor) = page(state, rows, limit, now, |r| r.due_sort)?;
    Ok(InboxPage { items, next_cursor })
}

/// One page of a list fetched with one row more than `limit`: the entries with their national
/// status and deadline flags, and the cursor of the next page (`<sort key>_<id>`) if there is one.
pub fn page(
    state: &AppState,
    mut rows: Vec<InboxItem>,
    limit: i64,
    now: DateTime<Utc>,
    sort_key: impl Fn(&InboxItem) -> DateTime<Utc>,
) -> Result<(Vec<InboxEntry>, Option<String>), ApiError> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last().map(|r| format!("{}_{}", sort_key(r).to_rfc3339(), r.id))).flatten();
    let items = rows
        .into_iter()
        .map(|item| {
            Ok(InboxEntry {
                status: StatusView::of(state, item.state, now)?,
                deadline: crate::api::dossiers::flags(state, item.state, item.due_at, item.paused_at, now),
                item,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok((items, next_cursor))
}
