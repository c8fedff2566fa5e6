//! Public lookup by dossier code: status, dates and the steps so far in plain words. Nothing
//! personal is shown: no applicant, no form data, no officer's notes.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::AppState;
use crate::api::lookup::public_dossier;
use crate::auth::Caller;
use crate::ui::{Chrome, FormErrors, PageResult, fmt, render};

#[derive(Debug, Deserialize)]
pub struct LookupParams {
    ma: Option<String>,
}

pub struct Step {
    pub at: String,
    pub iso: String,
    pub what: &'static str,
}

pub struct Found {
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub status: String,
    pub received: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub due_soon: bool,
    pub steps: Vec<Step>,
}

#[derive(Template)]
#[template(path = "portal/lookup.html")]
pub struct Lookup {
    chrome: Chrome,
    code: String,
    errors: FormErrors,
    found: Option<Found>,
}

/// `GET /tra-cuu?ma=<mã hồ sơ>`.
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<LookupParams>,
) -> PageResult<Response> {
    let code = p.ma.as_deref().map(str::trim).unwrap_or_default().to_uppercase();
    let mut page = Lookup {
        chrome: Chrome::portal("Tra cứu hồ sơ", "lookup").for_caller(&caller),
        code: code.clone(),
        errors: FormErrors::default(),
        found: None,
    };
    if code.is_empty() {
        if p.ma.is_some() {
            page.errors.add("ma", "Nhập mã hồ sơ");
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
        return Ok(render(StatusCode::OK, &page));
    }
    let d = match public_dossier(&state, &code).await {
        Ok(d) => d,
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            page.errors.add("ma", format!("{}. Mã hồ sơ có dạng 000.00.31.H99-261123-0001", e.title));
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            page.errors.add("ma", "Không có hồ sơ nào mang mã này. Hãy kiểm tra lại mã trên giấy tiếp nhận");
            return Ok(render(StatusCode::NOT_FOUND, &page));
        }
        Err(e) => return Err(e.into()),
    };
    let history = match state.store.dossier_by_code(&d.code).await? {
        Some(full) => state.store.history(full.id).await?,
        None => Vec::new(),
    };
    page.chrome.title = format!("Hồ sơ {}", d.code);
    page.found = Some(Found {
        steps: history
            .iter()
            .map(|h| Step {
                at: fmt::datetime(h.at),
                iso: fmt::iso(h.at),
                what: cqs_domain::workflow::describe_action(&h.action),
            })
            .collect(),
        code: d.code,
        procedure_code: d.procedure_code,
        procedure_name: d.procedure_name,
        status: d.status.name,
        received: fmt::datetime(d.received_at),
        due: d.due_at.map(fmt::datetime),
        overdue: d.deadline.overdue,
        due_soon: d.deadline.due_soon,
    });
    Ok(render(StatusCode::OK, &page))
}
