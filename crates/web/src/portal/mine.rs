//! "Hồ sơ của tôi": a signed-in citizen's own dossiers. The list, and each dossier with its
//! status and history in plain words, what the agency asks of the applicant (documents to
//! supplement, a fee), and the signed result to download. Another person's dossier is answered
//! 404, as if it did not exist: a dossier code is not a secret, but who it belongs to is.

use std::collections::HashMap;

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::auth::Principal;
use cqs_domain::dossier::{DossierState, UploadedFile, check_supplement, safe_file_name, sniff};
use cqs_domain::workflow::Action;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::api::dossiers::{StatusView, flags};
use crate::api::workflow::{ActionRequest, Context, apply_with_files};
use crate::auth::Caller;
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

/// Where the list lives.
pub const MINE: &str = "/ho-so-cua-toi";

/// How many dossiers one page of the list shows.
const PAGE: i64 = 20;

/// The citizen account behind the request; anyone else is sent to sign in (anonymous) or told
/// the page is for citizens (staff, machine clients).
fn citizen(caller: &Caller, back: &str) -> Result<Uuid, PageError> {
    match &caller.0 {
        Principal::Citizen { account_id, .. } if caller.session().is_some() => Ok(*account_id),
        Principal::Anonymous => Err(PageError::sign_in("/dang-nhap", back)),
        _ => Err(PageError::new(StatusCode::FORBIDDEN, "Trang này dành cho tài khoản công dân")
            .detail("Cán bộ xem hồ sơ tại Hệ thống một cửa điện tử.")),
    }
}

/// What a state means for the applicant, in a sentence.
pub fn explain(state: DossierState) -> &'static str {
    match state {
        DossierState::Submitted => "Hồ sơ đã được gửi và đang chờ bộ phận một cửa kiểm tra, tiếp nhận.",
        DossierState::Accepted => "Hồ sơ đã được tiếp nhận và sẽ được chuyển đến bộ phận giải quyết.",
        DossierState::InProgress => "Cơ quan có thẩm quyền đang giải quyết hồ sơ.",
        DossierState::NeedSupplement => {
            "Cơ quan cần bạn bổ sung giấy tờ. Thời hạn giải quyết tạm dừng cho đến khi bạn bổ sung."
        }
        DossierState::NeedPayment => {
            "Cơ quan đề nghị bạn nộp phí, lệ phí. Thời hạn giải quyết tạm dừng cho đến khi việc nộp được xác nhận."
        }
        DossierState::Refused => "Hồ sơ không được tiếp nhận. Lý do được ghi trong quá trình giải quyết.",
        DossierState::Withdrawn => "Hồ sơ đã được rút, cơ quan không tiếp tục giải quyết.",
        DossierState::Stopped => "Cơ quan đã dừng giải quyết hồ sơ. Lý do được ghi trong quá trình giải quyết.",
        DossierState::Resolved => "Đã có kết quả giải quyết.",
        DossierState::Returned => "Kết quả đã được trả.",
    }
}

/// Actions whose note is addressed to the applicant (a reason, what to supply, the amount);
/// other notes are the officers' own and stay in the console.
fn note_for_applicant(action: &str) -> bool {
    matches!(
        action,
        "refuse"
            | "request_supplement"
            | "request_payment"
            | "stop"
            | "withdraw"
            | "apologize_and_reschedule"
            | "supply_supplement"
    )
}

pub struct ListRow {
    pub code: String,
    pub procedure: String,
    pub status: String,
    pub received: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub due_soon: bool,
    /// What the applicant must do, if anything.
    pub asked: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "portal/mine.html")]
pub struct MineList {
    chrome: Chrome,
    rows: Vec<ListRow>,
    next: Option<String>,
    /// Submissions not yet sent: (procedure code, name, last saved).
    drafts: Vec<(String, String, String)>,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    sau: Option<String>,
    #[serde(rename = "da-luu-nhap")]
    saved: Option<String>,
}

/// `GET /ho-so-cua-toi?sau=<con trỏ>`.
pub async fn list(State(state): State<AppState>, caller: Caller, Query(p): Query<ListParams>) -> PageResult<Response> {
    let account = citizen(&caller, MINE)?;
    let after = match p.sau.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => Some(crate::api::inbox::parse_cursor(c).map_err(|_| {
            PageError::new(StatusCode::BAD_REQUEST, "Địa chỉ trang không hợp lệ")
                .detail("Hãy mở lại danh sách hồ sơ từ đầu.")
        })?),
        None => None,
    };
    let rows = state.store.owned_dossiers(account, after, PAGE + 1).await?;
    let (items, next) = crate::api::inbox::page(&state, rows, PAGE, state.clock.now(), |r| r.received_at)?;
    let rows = items
        .into_iter()
        .map(|e| ListRow {
            asked: match e.item.state {
                DossierState::NeedSupplement => Some("Cần bổ sung giấy tờ"),
                DossierState::NeedPayment => Some("Cần nộp phí, lệ phí"),
                DossierState::Resolved | DossierState::Returned => Some("Có kết quả"),
                _ => None,
            },
            code: e.item.code,
            procedure: e.item.procedure_name,
            status: e.status.name,
            received: fmt::date(e.item.received_at),
            due: e.item.due_at.filter(|_| !e.item.state.is_closed()).map(fmt::datetime),
            overdue: e.deadline.overdue,
            due_soon: e.deadline.due_soon,
        })
        .collect();
    let mut drafts = Vec::new();
    if after.is_none() {
        let today = cqs_domain::dossier::local_date(state.clock.now());
        for (code, at) in state.store.drafts_of(account).await? {
            let versions = state.store.procedure_versions(&code).await?;
            if let Some(v) = cqs_domain::catalog::select_in_force(&versions, today) {
                drafts.push((code, v.spec.name.clone(), fmt::datetime(at)));
            }
        }
    }
    let page = MineList {
        chrome: Chrome::portal("Hồ sơ của tôi", "mine").for_caller(&caller),
        rows,
        next: next.map(|c| crate::portal::encode(&c)),
        drafts,
        saved: p.saved.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}

pub struct Step {
    pub at: String,
    pub iso: String,
    pub what: &'static str,
    pub note: Option<String>,
}

pub struct ComponentInput {
    /// The input's `id` and `name` (`tep-<component code>`).
    pub input: String,
    pub name: String,
    pub types: String,
    pub accept: String,
}

pub struct Supplement {
    /// What the agency asked for, in its words.
    pub asked: Option<String>,
    pub asked_at: String,
    pub components: Vec<ComponentInput>,
}

pub struct Payment {
    pub asked: Option<String>,
    pub asked_at: String,
}

pub struct ResultRow {
    pub href: String,
    pub title: String,
    pub file_name: String,
    pub signed_at: String,
}

pub struct FileRow {
    pub component: String,
    pub name: String,
    pub size: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "portal/mine_dossier.html")]
pub struct MineDossier {
    chrome: Chrome,
    code: String,
    version: i32,
    procedure_code: String,
    procedure: String,
    status: String,
    explain: &'static str,
    received: String,
    due: Option<String>,
    overdue: bool,
    due_soon: bool,
    paused: bool,
    steps: Vec<Step>,
    supplement: Option<Supplement>,
    payment: Option<Payment>,
    results: Vec<ResultRow>,
    files: Vec<FileRow>,
    errors: FormErrors,
    note: String,
    done: Option<&'static str>,
    /// The satisfaction rating, once the result is out.
    pub rating: Option<crate::portal::rating::RatingPanel>,
    levels: Vec<(&'static str, &'static str)>,
}

/// For another page about one of the caller's dossiers: a signed-in citizen (or the sign-in
/// page), and the dossier if it is theirs (otherwise 404).
pub async fn own_page(state: &AppState, caller: &Caller, code: &str) -> Result<Context, PageError> {
    citizen(caller, &format!("{MINE}/{}", crate::portal::encode(code)))?;
    own(state, caller, code).await
}

/// The dossier if it is the caller's own; otherwise 404, whether or not it exists.
async fn own(state: &AppState, caller: &Caller, code: &str) -> Result<Context, PageError> {
    let ctx = Context::load(state, code).await.map_err(|e| match e.status {
        StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => PageError::not_found(),
        _ => e.into(),
    })?;
    if !caller.0.owns(ctx.dossier.owner()) {
        return Err(PageError::not_found());
    }
    Ok(ctx)
}

fn input_id(component: &str) -> String {
    format!("tep-{component}")
}

pub(crate) async fn build(
    state: &AppState,
    caller: &Caller,
    ctx: &Context,
    errors: FormErrors,
    note: String,
    done: Option<&'static str>,
) -> Result<MineDossier, PageError> {
    let d = &ctx.dossier;
    let spec = &ctx.version.spec;
    let now = state.clock.now();
    let status = StatusView::of(state, d.state, now)?;
    let deadline = flags(state, d.state, d.due_at, d.paused_at, now);
    let history = state.store.history(d.id).await?;
    let last_note = |action: &str| history.iter().rev().find(|h| h.action == action).map(|h| (h.note.clone(), h.at));
    let supplement = (d.state == DossierState::NeedSupplement).then(|| {
        let (asked, at) = last_note("request_supplement").unwrap_or((None, d.updated_at));
        Supplement {
            asked,
            asked_at: fmt::datetime(at),
            components: spec
                .components
                .iter()
                .map(|c| {
                    let exts: Vec<&str> = c.file_types.iter().map(|t| t.extension()).collect();
                    ComponentInput {
                        input: input_id(&c.code),
                        name: c.name.clone(),
                        types: exts.join(", "),
                        accept: exts.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(","),
                    }
                })
                .collect(),
        }
    });
    let payment = (d.state == DossierState::NeedPayment).then(|| {
        let (asked, at) = last_note("request_payment").unwrap_or((None, d.updated_at));
        Payment { asked, asked_at: fmt::datetime(at) }
    });
    let results = state
        .store
        .issued_documents(d.id)
        .await?
        .into_iter()
        .map(|r| ResultRow {
            href: format!("{MINE}/{}/ket-qua/{}", d.code, r.id),
            title: r.title,
            file_name: r.file_name,
            signed_at: fmt::datetime(r.signed_at),
        })
        .collect();
    let names: HashMap<&str, &str> = spec.components.iter().map(|c| (c.code.as_str(), c.name.as_str())).collect();
    let files = state
        .store
        .attachments(d.id)
        .await?
        .into_iter()
        .map(|s| FileRow {
            component: names
                .get(s.attachment.component.as_str())
                .map_or(s.attachment.component.clone(), |n| (*n).into()),
            name: s.attachment.file_name,
            size: fmt::size(s.attachment.size),
            added: fmt::date(s.attachment.created_at),
        })
        .collect();
    Ok(MineDossier {
        chrome: Chrome::portal(format!("Hồ sơ {}", d.code), "mine").for_caller(caller),
        code: d.code.to_string(),
        version: d.version,
        procedure_code: spec.code.to_string(),
        procedure: spec.name.clone(),
        status: status.name,
        explain: explain(d.state),
        received: fmt::datetime(d.received_at),
        due: d.due_at.filter(|_| !d.state.is_closed() && d.state != DossierState::Resolved).map(fmt::datetime),
        overdue: deadline.overdue,
        due_soon: deadline.due_soon,
        paused: d.paused_at.is_some(),
        steps: history
            .iter()
            .map(|h| Step {
                at: fmt::datetime(h.at),
                iso: fmt::iso(h.at),
                what: cqs_domain::workflow::describe_action(&h.action),
                note: h.note.clone().filter(|_| note_for_applicant(&h.action)),
            })
            .collect(),
        supplement,
        payment,
        results,
        files,
        errors,
        note,
        done,
        rating: crate::portal::rating::panel(state, caller, ctx).await?,
        levels: crate::portal::rating::levels(),
    })
}

/// `GET /ho-so-cua-toi/{code}`.
pub async fn dossier(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    citizen(&caller, &format!("{MINE}/{}", crate::portal::encode(&code)))?;
    let ctx = own(&state, &caller, &code).await?;
    let done = match query.as_deref() {
        Some("da-bo-sung") => Some("Đã gửi giấy tờ bổ sung. Cơ quan tiếp tục giải quyết hồ sơ."),
        Some("da-danh-gia") => Some("Đã ghi nhận đánh giá của bạn. Cảm ơn bạn đã góp ý."),
        _ => None,
    };
    let page = build(&state, &caller, &ctx, FormErrors::default(), String::new(), done).await?;
    Ok(render(StatusCode::OK, &page))
}

struct Supplied {
    expected_version: Option<i32>,
    note: String,
    files: Vec<(String, String, Vec<u8>)>,
}

/// Reads the supplement form: the version seen, a note, and the files of each component
/// (inputs left empty are skipped).
async fn read_supplement(state: &AppState, req: Request) -> Result<Supplied, PageError> {
    let bad = || {
        PageError::new(StatusCode::BAD_REQUEST, "Biểu mẫu gửi lên không hợp lệ")
            .detail("Hãy quay lại trang trước, tải lại trang và gửi lại.")
    };
    let too_large = |what: String| PageError::new(StatusCode::PAYLOAD_TOO_LARGE, what);
    let mut mp = Multipart::from_request(req, state).await.map_err(|_| bad())?;
    let mut out = Supplied { expected_version: None, note: String::new(), files: Vec::new() };
    let limit = state.limits.attachment;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large("Các tệp gửi lên vượt quá dung lượng cho phép".into()));
            }
            Err(_) => return Err(bad()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf_token" => continue,
            "expected_version" => out.expected_version = field.text().await.ok().and_then(|t| t.trim().parse().ok()),
            "note" => out.note = cqs_domain::text::nfc(field.text().await.map_err(|_| bad())?.trim()),
            _ => {
                let Some(component) = name.strip_prefix("tep-").map(str::to_owned) else { return Err(bad()) };
                let raw_name = field.file_name().unwrap_or_default().to_owned();
                let file_name = safe_file_name(&raw_name);
                let mut field = field;
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|_| bad())? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(too_large(format!("Tệp {file_name} vượt quá {} MB", limit / (1024 * 1024))));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                // An input the person left empty still sends a part, without a name or bytes.
                if raw_name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if out.files.len() >= state.limits.files_per_submission {
                    return Err(too_large(format!(
                        "Tối đa {} tệp trong một lần gửi",
                        state.limits.files_per_submission
                    )));
                }
                out.files.push((component, file_name, bytes));
            }
        }
    }
    Ok(out)
}

/// `POST /ho-so-cua-toi/{code}/bo-sung`: the applicant supplies what was asked, through the
/// workflow's `supply_supplement` with the files added in the same transaction.
pub async fn supply(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: Request,
) -> PageResult<Response> {
    citizen(&caller, &format!("{MINE}/{}", crate::portal::encode(&code)))?;
    let ctx = own(&state, &caller, &code).await?;
    let form = read_supplement(&state, req).await?;
    let mut errors = FormErrors::default();
    let first_input = ctx.version.spec.components.first().map(|c| input_id(&c.code)).unwrap_or_default();
    if ctx.dossier.state != DossierState::NeedSupplement || form.expected_version != Some(ctx.dossier.version) {
        errors.add(first_input, "Hồ sơ vừa thay đổi hoặc không còn chờ bổ sung. Hãy xem lại tình trạng hồ sơ bên dưới");
        let page = build(&state, &caller, &ctx, errors, form.note, None).await?;
        return Ok(render(StatusCode::CONFLICT, &page));
    }
    let uploaded: Vec<UploadedFile> = form
        .files
        .iter()
        .map(|(component, file_name, bytes)| UploadedFile {
            component: component.clone(),
            file_name: file_name.clone(),
            detected: sniff(bytes),
            size: bytes.len() as u64,
        })
        .collect();
    if let Err(problems) = check_supplement(&ctx.version.spec, &uploaded) {
        for p in problems {
            let field = match p.field.strip_prefix("/files/") {
                Some(c) => input_id(c),
                None => first_input.clone(),
            };
            errors.add(field, format!("{}: {}", p.label, p.message));
        }
        let page = build(&state, &caller, &ctx, errors, form.note, None).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let pending = state.files.put_all_pending(form.files.iter().map(|f| f.2.clone()).collect()).await.map_err(|e| {
        tracing::error!(error = %e, "writing a supplied document failed");
        PageError::internal()
    })?;
    let files = form
        .files
        .iter()
        .zip(pending)
        .map(|((component, file_name, bytes), p)| {
            let a = cqs_store::NewAttachment {
                id: Uuid::now_v7(),
                component: component.clone(),
                file_name: file_name.clone(),
                content_type: sniff(bytes).map_or("application/octet-stream", |t| t.mime()).to_owned(),
                size: p.size as i64,
                sha256: p.sha256.clone(),
                storage_key: p.key.clone(),
            };
            (a, p)
        })
        .collect();
    let body = ActionRequest {
        expected_version: ctx.dossier.version,
        action: Action::SupplySupplement,
        note: (!form.note.is_empty()).then(|| form.note.clone()),
    };
    match apply_with_files(&state, &caller, &ctx, true, &body, None, files).await {
        Ok(_) => Ok(Redirect::to(&format!("{MINE}/{}?da-bo-sung", ctx.dossier.code)).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => {
            let ctx = own(&state, &caller, &code).await?;
            errors.add(
                first_input,
                "Hồ sơ vừa thay đổi hoặc không còn chờ bổ sung. Hãy xem lại tình trạng hồ sơ bên dưới",
            );
            let page = build(&state, &caller, &ctx, errors, form.note, None).await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /ho-so-cua-toi/{code}/ket-qua/{id}`: the signed result as issued, checked against the
/// hash recorded when it was signed.
pub async fn result(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, id)): Path<(String, String)>,
) -> PageResult<Response> {
    citizen(&caller, &format!("{MINE}/{}", crate::portal::encode(&code)))?;
    let ctx = own(&state, &caller, &code).await?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::not_found())?;
    let doc = state
        .store
        .issued_documents(ctx.dossier.id)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(PageError::not_found)?;
    let bytes = state.files.read_checked(&doc.storage_key, &doc.sha256).await.map_err(|e| {
        tracing::error!(error = %e, "signed result unreadable");
        PageError::internal()
    })?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename*=UTF-8''{}", crate::api::dossiers::percent_encode(&doc.file_name)),
        )
        .body(Body::from(bytes))
        .map_err(|_| PageError::internal())
}
