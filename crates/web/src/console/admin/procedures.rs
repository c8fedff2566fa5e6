//! Procedures: every procedure with its versions and their status, the catalog upload (CSV or
//! XLSX, run through `catalog_import::import_procedures`, the function behind
//! `cqs import procedures`) with its row-error report, and publishing a draft through
//! `api::catalog::publish_version`, the handler of
//! `POST /api/v1/procedures/{code}/versions/{version}/publish`.

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::catalog::{ProcedureVersion, VersionStatus};
use cqs_import::RowError;
use cqs_store::AddedVersion;

use super::{IMPORT_MAX_BYTES, chrome, require_admin};
use crate::AppState;
use crate::auth::Caller;
use crate::catalog_import::{ImportOutcome, import_procedures};
use crate::error::ApiPath;
use crate::ui::{Chrome, PageError, PageResult, render};

const PATH: &str = "/can-bo/quan-tri/thu-tuc";

pub struct VersionRow {
    pub version: i32,
    pub draft: bool,
    pub status: &'static str,
    pub effective: String,
    pub name: String,
}

pub struct ProcedureRow {
    pub code: String,
    pub name: String,
    pub versions: Vec<VersionRow>,
}

/// One line of the error report as the page shows it.
pub struct ReportRow {
    /// Empty for a problem of the whole file or of a procedure (no single row).
    pub row: String,
    pub column: String,
    pub message: String,
}

/// A refused upload: every problem found, nothing written.
pub struct Rejected {
    pub file: String,
    pub rows: Vec<ReportRow>,
}

/// An imported file: the draft versions it created.
pub struct Imported {
    pub file: String,
    pub created: Vec<AddedVersion>,
    pub unchanged: usize,
}

/// What the last upload did.
pub enum Report {
    None,
    Rejected(Rejected),
    Imported(Imported),
}

#[derive(Template)]
#[template(path = "console/admin/procedures.html")]
pub struct ProceduresPage {
    chrome: Chrome,
    rows: Vec<ProcedureRow>,
    rejected: Option<Rejected>,
    imported: Option<Imported>,
    /// An error of the upload form itself (no file, too large).
    upload_error: Option<String>,
    published: Option<String>,
    max_mb: usize,
}

pub fn status_vi(s: VersionStatus) -> &'static str {
    match s {
        VersionStatus::Draft => "Bản nháp",
        VersionStatus::Published => "Đã công bố",
    }
}

/// The versions grouped by procedure, newest version first within each, procedures by code.
pub fn group(versions: Vec<ProcedureVersion>) -> Vec<ProcedureRow> {
    let mut out: Vec<ProcedureRow> = Vec::new();
    for v in versions {
        let row = VersionRow {
            version: v.version,
            draft: v.status == VersionStatus::Draft,
            status: status_vi(v.status),
            effective: match v.spec.effective_to {
                Some(to) => format!("{} – {}", v.spec.effective_from.format("%d/%m/%Y"), to.format("%d/%m/%Y")),
                None => format!("từ {}", v.spec.effective_from.format("%d/%m/%Y")),
            },
            name: v.spec.name.clone(),
        };
        let code = v.spec.code.to_string();
        match out.iter_mut().find(|p| p.code == code) {
            Some(p) => {
                p.name = v.spec.name;
                p.versions.insert(0, row);
            }
            None => out.push(ProcedureRow { code, name: v.spec.name, versions: vec![row] }),
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

/// The importer's problems as report lines: row 0 is the whole file (or a procedure's check).
pub fn report_rows(errors: &[RowError]) -> Vec<ReportRow> {
    errors
        .iter()
        .map(|e| ReportRow {
            row: if e.row == 0 { String::new() } else { e.row.to_string() },
            column: e.column.clone(),
            message: e.message.clone(),
        })
        .collect()
}

async fn page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    report: Report,
    upload_error: Option<String>,
    published: Option<String>,
) -> PageResult<Response> {
    let rows = group(state.store.all_procedure_versions().await?);
    let (rejected, imported) = match report {
        Report::None => (None, None),
        Report::Rejected(r) => (Some(r), None),
        Report::Imported(i) => (None, Some(i)),
    };
    let page = ProceduresPage {
        chrome: chrome("Thủ tục hành chính", caller),
        rows,
        rejected,
        imported,
        upload_error,
        published,
        max_mb: IMPORT_MAX_BYTES / (1024 * 1024),
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    da_cong_bo: Option<String>,
}

/// `GET /can-bo/quan-tri/thu-tuc`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    page(&state, &caller, StatusCode::OK, Report::None, None, q.da_cong_bo).await
}

/// `POST /can-bo/quan-tri/thu-tuc` (multipart, the CSRF field first, then `tep`): imports the
/// file as draft versions, or shows every row problem and writes nothing.
pub async fn upload(State(state): State<AppState>, caller: Caller, req: Request) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let bad = || PageError::new(StatusCode::BAD_REQUEST, "Biểu mẫu gửi lên không đọc được");
    let mut multipart = Multipart::from_request(req, &state).await.map_err(|_| bad())?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut too_big = false;
    while let Some(mut field) = multipart.next_field().await.map_err(|_| bad())? {
        if field.name() != Some("tep") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| bad())? {
            if bytes.len() + chunk.len() > IMPORT_MAX_BYTES {
                too_big = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        if too_big {
            break;
        }
        if !name.is_empty() || !bytes.is_empty() {
            file = Some((name, bytes));
        }
    }
    let checked = match (too_big, file) {
        (true, _) => Err(format!("Tệp vượt quá {} MB", IMPORT_MAX_BYTES / (1024 * 1024))),
        (false, None) => Err("Chọn tệp danh mục thủ tục (CSV hoặc XLSX)".to_owned()),
        (false, Some((name, _))) if !is_catalog_file(&name) => Err("Tệp phải có đuôi .csv hoặc .xlsx".to_owned()),
        (false, Some(f)) => Ok(f),
    };
    let (name, bytes) = match checked {
        Ok(f) => f,
        Err(m) => {
            return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, Report::None, Some(m), None).await;
        }
    };
    let file_name = cqs_domain::dossier::safe_file_name(&name);
    match import_procedures(state.store.as_ref(), &name, &bytes, false, false).await? {
        ImportOutcome::Rejected(errors) => {
            let report = Report::Rejected(Rejected { file: file_name, rows: report_rows(&errors) });
            page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, report, None, None).await
        }
        ImportOutcome::Imported(versions) => {
            let unchanged = versions.iter().filter(|v| !v.created).count();
            let created = versions.into_iter().filter(|v| v.created).collect();
            page(
                &state,
                &caller,
                StatusCode::OK,
                Report::Imported(Imported { file: file_name, created, unchanged }),
                None,
                None,
            )
            .await
        }
        ImportOutcome::Checked { .. } => Err(PageError::internal()),
    }
}

/// A catalog file is recognised by its name: `.csv` or `.xlsx`.
pub fn is_catalog_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".xlsx")
}

/// `POST /can-bo/quan-tri/thu-tuc/{code}/{version}/cong-bo`: publishes a draft through the
/// API's own handler, then back to the list.
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, version)): Path<(String, i32)>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    crate::api::catalog::publish_version(State(state.clone()), caller, ApiPath((code.clone(), version))).await?;
    let back = format!("{PATH}?da_cong_bo={}", crate::portal::encode(&format!("{code} phiên bản {version}")));
    Ok(Redirect::to(&back).into_response())
}
