//! `/xac-thuc`: anyone uploads a signed PDF and learns whether the signature is valid, who
//! signed it and when, whether the document changed since, and which dossier it belongs to.
//! A plain multipart form: it works without JavaScript.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::auth::Caller;
use crate::documents::verify::{VerifyReport, check};
use crate::ui::{Chrome, FormErrors, PageResult, fmt, render};

/// A signature as the page shows it.
pub struct Row {
    pub valid: bool,
    pub signer: String,
    pub code: Option<String>,
    pub issuer: String,
    pub level: String,
    pub timestamped: Option<String>,
    pub intact: bool,
    pub covers: bool,
    pub trusted: bool,
}

pub struct Found {
    pub valid: bool,
    pub verdict: String,
    pub sha256: String,
    pub rows: Vec<Row>,
    /// (dossier code, document title, signed at) when this platform issued the exact file.
    pub issued: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "portal/verify.html")]
pub struct VerifyPage {
    chrome: Chrome,
    errors: FormErrors,
    max_mb: usize,
    found: Option<Found>,
}

fn page(state: &AppState, caller: &Caller) -> VerifyPage {
    VerifyPage {
        chrome: Chrome::portal("Xác thực văn bản điện tử", "verify").for_caller(caller),
        errors: FormErrors::default(),
        max_mb: state.limits.attachment / (1024 * 1024),
        found: None,
    }
}

/// `GET /xac-thuc`.
pub async fn form(State(state): State<AppState>, caller: Caller) -> PageResult<Response> {
    Ok(render(StatusCode::OK, &page(&state, &caller)))
}

fn found(r: VerifyReport) -> Found {
    Found {
        valid: r.valid,
        verdict: r.verdict,
        sha256: r.sha256,
        rows: r
            .signatures
            .into_iter()
            .map(|s| Row {
                valid: s.valid,
                signer: s.signer.unwrap_or_else(|| "Không rõ".to_owned()),
                code: s.signer_code,
                issuer: s.certificate_issuer.unwrap_or_default(),
                level: s.level,
                timestamped: s.timestamped_at.map(fmt::datetime),
                intact: s.intact,
                covers: s.covers_document,
                trusted: s.trusted,
            })
            .collect(),
        issued: r.issued.map(|i| (i.dossier_code, i.title, fmt::datetime(i.signed_at))),
    }
}

/// `POST /xac-thuc` (multipart, part `file`).
pub async fn submit(State(state): State<AppState>, caller: Caller, req: Request) -> PageResult<Response> {
    let mut p = page(&state, &caller);
    let answer = match crate::api::verify::read_pdf(&state, req, state.limits.attachment).await {
        Ok(pdf) if pdf.is_empty() => Err("Chưa chọn tệp PDF cần xác thực".to_owned()),
        Ok(pdf) => check(&state, pdf).await.map_err(|e| e.title),
        Err(e) => Err(e.title),
    };
    let status = match answer {
        Ok(r) => {
            p.found = Some(found(r));
            StatusCode::OK
        }
        Err(message) => {
            p.errors.add("file", message);
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    Ok(render(status, &p))
}
