//! `GET /can-bo`: what the officer's unit must act on, most urgent first, with the workflow
//! issue's filters as an ordinary GET form (so a filtered inbox can be bookmarked).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use cqs_domain::auth::Principal;
use cqs_domain::dossier::{DossierState, local_date};
use serde::Deserialize;

use crate::AppState;
use crate::api::inbox::{InboxParams, list};
use crate::auth::Caller;
use crate::ui::{Chrome, PageResult, fmt};

/// The filter form as browsers send it: empty fields arrive as empty strings.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    unit: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    procedure: Option<String>,
    due_soon: Option<String>,
    overdue: Option<String>,
    received_from: Option<String>,
    received_to: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub struct Row {
    pub code: String,
    pub applicant: String,
    pub procedure: String,
    pub status: String,
    pub received: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub due_soon: bool,
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/inbox.html")]
pub struct Inbox {
    chrome: Chrome,
    units: Vec<Opt>,
    states: Vec<Opt>,
    procedures: Vec<Opt>,
    scope_unit: bool,
    due_soon: bool,
    overdue: bool,
    received_from: String,
    received_to: String,
    q: String,
    rows: Vec<Row>,
    next: Option<String>,
    /// The current filters as a query string, for the next-page link.
    query: String,
    /// Why the filters could not be applied, if they could not.
    problem: Option<String>,
}

pub async fn inbox(State(state): State<AppState>, caller: Caller, Query(f): Query<Filters>) -> PageResult<Inbox> {
    super::require_staff(&caller, "/can-bo")?;
    let Principal::Staff { grants, .. } = &caller.0 else { unreachable!("checked above") };
    let all_units = state.store.org_units().await?;
    let mut my_units: Vec<&cqs_domain::org::OrgUnit> =
        all_units.iter().filter(|u| grants.iter().any(|g| g.org_unit_id == u.id)).collect();
    my_units.sort_by(|a, b| a.name.cmp(&b.name));
    let unit = some(&f.unit).or_else(|| {
        grants.first().and_then(|g| all_units.iter().find(|u| u.id == g.org_unit_id)).map(|u| u.code.to_string())
    });
    let date = |v: &Option<String>| some(v).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    let state_filter = some(&f.state).and_then(|s| DossierState::parse(&s));
    let params = InboxParams {
        unit: unit.clone(),
        scope: some(&f.scope),
        state: state_filter,
        procedure: some(&f.procedure),
        due_soon: f.due_soon.as_ref().map(|_| true),
        overdue: f.overdue.as_ref().map(|_| true),
        received_from: date(&f.received_from),
        received_to: date(&f.received_to),
        q: some(&f.q),
        cursor: some(&f.cursor),
        limit: Some(50),
    };
    let now = state.clock.now();
    let (rows, next, problem) = match list(&state, &caller, &params).await {
        Ok(page) => (
            page.items
                .into_iter()
                .map(|e| Row {
                    code: e.item.code,
                    applicant: e.item.applicant_name,
                    procedure: e.item.procedure_name,
                    status: e.status.name,
                    received: fmt::date(e.item.received_at),
                    due: e.item.due_at.map(fmt::datetime),
                    overdue: e.deadline.overdue,
                    due_soon: e.deadline.due_soon,
                })
                .collect(),
            page.next_cursor,
            None,
        ),
        Err(e) if e.status.is_client_error() && e.status != axum::http::StatusCode::FORBIDDEN => {
            (Vec::new(), None, Some(e.title))
        }
        Err(e) => return Err(e.into()),
    };
    let mapping = state.rules.statuses.on(local_date(now)).map_err(|_| crate::ui::PageError::internal())?;
    let procedures = crate::api::catalog::in_force_today(&state).await?;
    let mut query = Vec::new();
    for (k, v) in [
        ("unit", unit.clone()),
        ("scope", some(&f.scope)),
        ("state", some(&f.state)),
        ("procedure", some(&f.procedure)),
        ("due_soon", f.due_soon.as_ref().map(|_| "1".to_owned())),
        ("overdue", f.overdue.as_ref().map(|_| "1".to_owned())),
        ("received_from", some(&f.received_from)),
        ("received_to", some(&f.received_to)),
        ("q", some(&f.q)),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", crate::portal::encode(&v)));
        }
    }
    Ok(Inbox {
        chrome: Chrome::console("Hồ sơ cần xử lý", "inbox").for_caller(&caller),
        units: my_units
            .iter()
            .map(|u| Opt {
                value: u.code.to_string(),
                label: u.name.clone(),
                selected: unit.as_deref() == Some(u.code.as_str()),
            })
            .collect(),
        states: DossierState::ALL
            .iter()
            .map(|s| Opt {
                value: s.as_str().into(),
                label: mapping.entry(*s).name.clone(),
                selected: state_filter == Some(*s),
            })
            .collect(),
        procedures: procedures
            .iter()
            .map(|v| Opt {
                value: v.spec.code.to_string(),
                label: v.spec.name.clone(),
                selected: some(&f.procedure).as_deref() == Some(v.spec.code.as_str()),
            })
            .collect(),
        scope_unit: some(&f.scope).as_deref() == Some("unit"),
        due_soon: f.due_soon.is_some(),
        overdue: f.overdue.is_some(),
        received_from: some(&f.received_from).unwrap_or_default(),
        received_to: some(&f.received_to).unwrap_or_default(),
        q: some(&f.q).unwrap_or_default(),
        rows,
        next,
        query: query.join("&"),
        problem,
    })
}
