//! The dossier page: applicant, form data, files with previews, history, the control sheet, and
//! one form per action the officer may take now. Actions post back here and go through the same
//! `api::workflow::apply` as the API.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use cqs_domain::catalog::ReturnChannel;
use cqs_domain::dossier::{ActorKind, DossierState};
use cqs_domain::workflow::Action;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::api::dossiers::{StatusView, flags};
use crate::api::workflow::{ActionRequest, Context, acting_side, apply, available_actions};
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

pub struct Fact {
    pub label: String,
    pub value: String,
}

pub struct FileRow {
    pub id: Uuid,
    pub component: String,
    pub name: String,
    pub size: String,
    pub kind: &'static str,
}

pub struct HistoryRow {
    pub at: String,
    pub what: &'static str,
    pub status: String,
    pub who: String,
    pub note: Option<String>,
}

pub struct ControlRow {
    pub step: String,
    pub role: &'static str,
    pub received: String,
    pub handed_over: Option<String>,
    pub allowed: String,
    pub used: String,
    pub timeliness: Option<&'static str>,
    pub late: bool,
}

/// One action form: which fields it needs is fixed by the action.
pub struct ActionForm {
    pub name: &'static str,
    pub button: &'static str,
    pub hint: &'static str,
    pub needs_reason: bool,
    pub needs_amount: bool,
    pub needs_new_due: bool,
    pub channels: Vec<(&'static str, &'static str)>,
    pub warning: bool,
}

#[derive(Template)]
#[template(path = "console/dossier.html")]
pub struct DossierPage {
    chrome: Chrome,
    code: String,
    version: i32,
    procedure: String,
    status: String,
    overdue: bool,
    due_soon: bool,
    paused: bool,
    facts: Vec<Fact>,
    applicant: Vec<Fact>,
    form: Vec<Fact>,
    files: Vec<FileRow>,
    history: Vec<HistoryRow>,
    control: Vec<ControlRow>,
    /// The one-stop forms the dossier has, as PDF downloads.
    forms: Vec<crate::documents::forms::FormLink>,
    /// Signed electronic results: (title, download link, PAdES level, signed at).
    results: Vec<(String, String, String, String)>,
    actions: Vec<ActionForm>,
    errors: FormErrors,
    /// The action whose form the errors belong to.
    failed: Option<String>,
    done: Option<&'static str>,
}

fn button(a: &Action) -> (&'static str, &'static str, bool) {
    match a {
        Action::Accept => ("Tiếp nhận hồ sơ", "Hồ sơ đủ thành phần: tiếp nhận và bắt đầu tính thời hạn.", false),
        Action::Refuse { .. } => ("Từ chối tiếp nhận", "Nêu rõ lý do (Mẫu 03).", true),
        Action::Forward => ("Chuyển bước tiếp theo", "Chuyển hồ sơ cho bước kế tiếp của quy trình.", false),
        Action::Approve => ("Phê duyệt", "Đồng ý kết quả giải quyết.", false),
        Action::RecordResult => ("Ghi nhận đã có kết quả", "Kết quả đã sẵn sàng để trả.", false),
        Action::ReturnResult { .. } => ("Trả kết quả", "Trả kết quả cho người nộp theo cách đã đăng ký.", false),
        Action::RequestSupplement { .. } => {
            ("Yêu cầu bổ sung hồ sơ", "Nêu rõ giấy tờ cần bổ sung (Mẫu 02). Thời hạn tạm dừng.", true)
        }
        Action::SupplySupplement => ("Nhận hồ sơ bổ sung", "Người nộp đã bổ sung tại quầy. Thời hạn tiếp tục.", false),
        Action::RequestPayment { .. } => ("Đề nghị nộp phí, lệ phí", "Thời hạn tạm dừng đến khi nộp.", false),
        Action::ConfirmPayment => ("Xác nhận đã nộp phí", "Thời hạn tiếp tục.", false),
        Action::ApologizeAndReschedule { .. } => {
            ("Xin lỗi và hẹn lại", "Ngày hẹn mới và lý do (Mẫu 04); ngày hẹn đầu được giữ để thống kê.", true)
        }
        Action::Stop { .. } => ("Dừng xử lý", "Nêu căn cứ pháp lý của việc dừng.", true),
        Action::Withdraw { .. } => ("Rút hồ sơ theo đề nghị", "Người nộp đề nghị rút hồ sơ.", true),
    }
}

fn form_of(a: &Action, channels: &[ReturnChannel]) -> ActionForm {
    let (b, hint, warning) = button(a);
    ActionForm {
        name: a.name(),
        button: b,
        hint,
        needs_reason: a.reason().is_some(),
        needs_amount: matches!(a, Action::RequestPayment { .. }),
        needs_new_due: matches!(a, Action::ApologizeAndReschedule { .. }),
        channels: if matches!(a, Action::ReturnResult { .. }) {
            channels.iter().map(|c| (c.as_str(), c.label_vi())).collect()
        } else {
            Vec::new()
        },
        warning,
    }
}

/// Renders a form value from the e-form's schema: dates as dd/mm/yyyy, booleans in words.
fn show_value(schema: Option<&serde_json::Value>, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s)
            if schema.and_then(|p| p.get("format")).and_then(|f| f.as_str()) == Some("date") =>
        {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or(s.clone())
        }
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => (if *b { "Có" } else { "Không" }).to_owned(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct Done {
    xong: Option<String>,
}

/// `GET /can-bo/ho-so/{code}`.
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<Done>,
) -> PageResult<Response> {
    super::require_staff(&caller, &format!("/can-bo/ho-so/{code}"))?;
    let done = q.xong.as_deref().map(done_message);
    build(&state, &caller, &code, FormErrors::default(), None, done).await.map(|p| render(StatusCode::OK, &p))
}

fn done_message(action: &str) -> &'static str {
    match action {
        "accept" => "Đã tiếp nhận hồ sơ.",
        "refuse" => "Đã từ chối tiếp nhận hồ sơ.",
        "forward" => "Đã chuyển hồ sơ sang bước tiếp theo.",
        "approve" => "Đã phê duyệt.",
        "record_result" => "Đã ghi nhận có kết quả.",
        "return_result" => "Đã trả kết quả.",
        "request_supplement" => "Đã gửi yêu cầu bổ sung hồ sơ; thời hạn tạm dừng.",
        "supply_supplement" => "Đã nhận hồ sơ bổ sung; thời hạn tiếp tục.",
        "request_payment" => "Đã đề nghị nộp phí, lệ phí.",
        "confirm_payment" => "Đã xác nhận nộp phí, lệ phí.",
        "apologize_and_reschedule" => "Đã ghi nhận xin lỗi và hẹn lại ngày trả kết quả.",
        "stop" => "Đã dừng xử lý hồ sơ.",
        "withdraw" => "Đã ghi nhận rút hồ sơ.",
        _ => "Đã cập nhật hồ sơ.",
    }
}

async fn build(
    state: &AppState,
    caller: &Caller,
    code: &str,
    errors: FormErrors,
    failed: Option<String>,
    done: Option<&'static str>,
) -> Result<DossierPage, PageError> {
    let ctx = load(state, caller, code).await?;
    let d = &ctx.dossier;
    let now = state.clock.now();
    let status = StatusView::of(state, d.state, now)?;
    let deadline = flags(state, d.state, d.due_at, d.paused_at, now);
    let spec = &ctx.version.spec;
    let units: HashMap<Uuid, String> = state.store.org_units().await?.into_iter().map(|u| (u.id, u.name)).collect();
    let unit_name = |id: Option<Uuid>| id.and_then(|i| units.get(&i).cloned());
    let mut facts = vec![
        Fact { label: "Thủ tục".into(), value: format!("{} ({})", spec.name, spec.code) },
        Fact {
            label: "Hình thức nộp".into(),
            value: match d.channel {
                cqs_domain::dossier::Channel::Online => "Trực tuyến",
                cqs_domain::dossier::Channel::Counter => "Trực tiếp tại quầy",
                cqs_domain::dossier::Channel::Post => "Qua bưu chính",
            }
            .into(),
        },
        Fact { label: "Nơi tiếp nhận".into(), value: unit_name(Some(d.receiving_unit_id)).unwrap_or_default() },
        Fact { label: "Ngày nhận".into(), value: fmt::datetime(d.received_at) },
    ];
    if let Some(due) = d.due_at {
        facts.push(Fact { label: "Hẹn trả kết quả".into(), value: fmt::datetime(due) });
    }
    if let Some(first) = d.original_due_at.filter(|o| Some(*o) != d.due_at) {
        facts.push(Fact { label: "Ngày hẹn ban đầu".into(), value: fmt::datetime(first) });
    }
    if let Some(step) = d.current_step.and_then(|s| spec.process.get(s as usize)).filter(|_| !d.state.is_closed()) {
        facts.push(Fact {
            label: "Bước hiện tại".into(),
            value: format!("{} – {}", fmt::capitalize(step.step.label_vi()), step.role.label_vi()),
        });
    }
    let a = &d.applicant;
    let mut applicant = vec![
        Fact { label: "Họ và tên / tên tổ chức".into(), value: a.name.clone() },
        Fact { label: "Số định danh".into(), value: a.identity_number.clone() },
    ];
    for (label, v) in [("Điện thoại", &a.phone), ("Thư điện tử", &a.email), ("Địa chỉ", &a.address)] {
        if let Some(v) = v {
            applicant.push(Fact { label: label.into(), value: v.clone() });
        }
    }
    let props = spec.form_schema.get("properties").and_then(|p| p.as_object());
    let mut form: Vec<Fact> = Vec::new();
    if let (Some(props), Some(data)) = (props, d.form_data.as_object()) {
        for (key, p) in props {
            if let Some(v) = data.get(key) {
                let label = p.get("title").and_then(|t| t.as_str()).unwrap_or(key).to_owned();
                form.push(Fact { label, value: show_value(Some(p), v) });
            }
        }
    }
    let components: HashMap<&str, &str> = spec.components.iter().map(|c| (c.code.as_str(), c.name.as_str())).collect();
    let files = state
        .store
        .attachments(d.id)
        .await?
        .into_iter()
        .map(|s| {
            let f = s.attachment;
            FileRow {
                kind: match f.content_type.as_str() {
                    "application/pdf" => "pdf",
                    "image/jpeg" | "image/png" => "image",
                    _ => "other",
                },
                component: components.get(f.component.as_str()).map_or(f.component.clone(), |n| (*n).to_owned()),
                size: fmt::size(f.size),
                name: f.file_name,
                id: f.id,
            }
        })
        .collect();
    let rows = state.store.history(d.id).await?;
    let mut names: HashMap<Uuid, String> = HashMap::new();
    let mut history = Vec::new();
    for h in &rows {
        let who = match (h.actor.kind, h.actor.id) {
            (ActorKind::Staff, Some(id)) => match names.get(&id) {
                Some(n) => n.clone(),
                None => {
                    let n = state.store.user_by_id(id).await?.map_or_else(|| "Cán bộ".to_owned(), |u| u.full_name);
                    names.insert(id, n.clone());
                    n
                }
            },
            (ActorKind::Client, _) => "Hệ thống nộp hồ sơ".to_owned(),
            (ActorKind::Citizen, _) => "Người nộp hồ sơ".to_owned(),
            (ActorKind::System, _) => "Hệ thống".to_owned(),
            (ActorKind::Staff, None) => "Cán bộ".to_owned(),
        };
        let who = match unit_name(h.org_unit_id) {
            Some(u) => format!("{who} – {u}"),
            None => who,
        };
        history.push(HistoryRow {
            at: fmt::datetime(h.at),
            what: cqs_domain::workflow::describe_action(&h.action),
            status: StatusView::of(state, h.to_state, h.at)?.name,
            who,
            note: h.note.clone(),
        });
    }
    let control = cqs_domain::control::control_sheet(&spec.process, &rows, &state.rules.calendar, now)
        .into_iter()
        .map(|r| ControlRow {
            step: format!("{}. {}", r.step + 1, fmt::capitalize(r.kind.label_vi())),
            role: r.role.label_vi(),
            received: fmt::datetime(r.received_at),
            handed_over: r.handed_over_at.map(fmt::datetime),
            allowed: super::working_time(r.allowed_minutes),
            used: super::working_time(r.used_minutes),
            late: r.timeliness == Some(cqs_domain::calendar::Timeliness::Late),
            timeliness: r.timeliness.map(|t| t.label_vi()),
        })
        .collect();
    let results = state
        .store
        .issued_documents(d.id)
        .await?
        .into_iter()
        .map(|r| {
            let href = format!("/api/v1/dossiers/{}/results/{}", d.code, r.id);
            (r.title, href, r.pades_level, fmt::datetime(r.signed_at))
        })
        .collect();
    let forms = crate::documents::forms::links(crate::documents::forms::set_of(state, d)?, d.code.as_str(), &rows);
    let is_submitter = acting_side(caller, &ctx)?;
    let actions = available_actions(state, caller, &ctx, is_submitter)
        .iter()
        .map(|a| form_of(a, &spec.return_channels))
        .collect();
    Ok(DossierPage {
        chrome: Chrome::console(format!("Hồ sơ {}", d.code), "inbox").for_caller(caller),
        code: d.code.to_string(),
        version: d.version,
        procedure: spec.name.clone(),
        status: status.name,
        overdue: deadline.overdue,
        due_soon: deadline.due_soon,
        paused: d.paused_at.is_some() && matches!(d.state, DossierState::NeedSupplement | DossierState::NeedPayment),
        facts,
        applicant,
        form,
        files,
        history,
        control,
        forms,
        results,
        actions,
        errors,
        failed,
        done,
    })
}

/// The dossier with its context, if the caller may read it (the API's rule).
pub(super) async fn load(state: &AppState, caller: &Caller, code: &str) -> Result<Context, PageError> {
    let ctx = Context::load(state, code).await.map_err(|e| match e.status {
        StatusCode::BAD_REQUEST => PageError::not_found(),
        _ => e.into(),
    })?;
    caller
        .0
        .may_read_dossier(&ctx.involved_units(), ctx.dossier.submitted_by_client, ctx.dossier.owner())
        .map_err(ApiError::from)?;
    Ok(ctx)
}

/// The action form as posted.
#[derive(Debug, Deserialize)]
pub struct ActionPost {
    action: String,
    expected_version: i32,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    new_due_date: String,
    #[serde(default)]
    new_due_time: String,
}

/// Reads the posted form into an action, with an error per field that is missing or wrong.
fn parse_action(p: &ActionPost) -> Result<Action, FormErrors> {
    let mut errors = FormErrors::default();
    let id = |f: &str| format!("{}-{f}", p.action);
    let reason = p.reason.trim().to_owned();
    let needs_reason =
        matches!(p.action.as_str(), "refuse" | "request_supplement" | "withdraw" | "stop" | "apologize_and_reschedule");
    if needs_reason && reason.is_empty() {
        errors.add(id("reason"), "Nhập lý do");
    }
    let action = match p.action.as_str() {
        "accept" => Some(Action::Accept),
        "refuse" => Some(Action::Refuse { reason }),
        "forward" => Some(Action::Forward),
        "approve" => Some(Action::Approve),
        "record_result" => Some(Action::RecordResult),
        "return_result" => match ReturnChannel::parse(&p.channel) {
            Some(channel) => Some(Action::ReturnResult { channel }),
            None => {
                errors.add(id("channel"), "Chọn cách trả kết quả");
                None
            }
        },
        "request_supplement" => Some(Action::RequestSupplement { reason }),
        "supply_supplement" => Some(Action::SupplySupplement),
        "request_payment" => match p.amount.replace(['.', ' '], "").parse::<u64>() {
            Ok(amount) if amount > 0 => Some(Action::RequestPayment { amount }),
            _ => {
                errors.add(id("amount"), "Nhập số tiền bằng số, lớn hơn 0 (đồng)");
                None
            }
        },
        "confirm_payment" => Some(Action::ConfirmPayment),
        "stop" => Some(Action::Stop { reason }),
        "withdraw" => Some(Action::Withdraw { reason }),
        "apologize_and_reschedule" => {
            let date = NaiveDate::parse_from_str(p.new_due_date.trim(), "%Y-%m-%d").ok();
            let time = if p.new_due_time.trim().is_empty() {
                NaiveTime::from_hms_opt(17, 0, 0)
            } else {
                NaiveTime::parse_from_str(p.new_due_time.trim(), "%H:%M").ok()
            };
            let at = date.zip(time).and_then(|(d, t)| {
                chrono_tz::Asia::Ho_Chi_Minh
                    .from_local_datetime(&d.and_time(t))
                    .earliest()
                    .map(|x| x.with_timezone(&Utc))
            });
            match at {
                Some(new_due_at) => Some(Action::ApologizeAndReschedule { new_due_at, reason }),
                None => {
                    errors.add(id("new_due_date"), "Nhập ngày hẹn mới hợp lệ");
                    None
                }
            }
        }
        _ => {
            errors.add("thao-tac", "Thao tác không hợp lệ");
            None
        }
    };
    match action {
        Some(a) if errors.is_empty() => Ok(a),
        _ => Err(errors),
    }
}

/// `POST /can-bo/ho-so/{code}/thao-tac`: take one action, then show the dossier again.
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: axum::extract::Request,
) -> PageResult<Response> {
    super::require_staff(&caller, &format!("/can-bo/ho-so/{code}"))?;
    let ctx = load(&state, &caller, &code).await?;
    let p: ActionPost = crate::ui::read_form(req, &state).await?;
    let failed = |errors: FormErrors| (Some(p.action.clone()), errors);
    let outcome = match parse_action(&p) {
        Err(errors) => Err((StatusCode::UNPROCESSABLE_ENTITY, failed(errors))),
        Ok(action) => {
            let is_submitter = acting_side(&caller, &ctx)?;
            let note = Some(p.note.trim().to_owned()).filter(|n| !n.is_empty());
            let body = ActionRequest { expected_version: p.expected_version, action, note };
            match apply(&state, &caller, &ctx, is_submitter, &body).await {
                Ok(r) => Ok(r),
                Err(e) if e.status.is_client_error() => {
                    let mut errors = FormErrors::default();
                    errors.add(format!("{}-submit", p.action), e.title);
                    Err((e.status, failed(errors)))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match outcome {
        Ok(r) => Ok(Redirect::to(&format!("/can-bo/ho-so/{}?xong={}", r.code, p.action)).into_response()),
        Err((status, (action, errors))) => {
            let page = build(&state, &caller, &code, errors, action, None).await?;
            Ok(render(status, &page))
        }
    }
}

/// `GET /can-bo/ho-so/{code}/tep/{id}`: a file of the dossier, shown in the page (PDF and
/// images) rather than downloaded; the API's download does the authorization and hash check.
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, id)): Path<(String, Uuid)>,
) -> PageResult<Response> {
    super::require_staff(&caller, &format!("/can-bo/ho-so/{code}"))?;
    let mut res = crate::api::dossiers::download_attachment(State(state), caller, ApiPath((code, id)))
        .await
        .map_err(PageError::from)?;
    let inline = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| matches!(t, "application/pdf" | "image/jpeg" | "image/png"));
    if inline && let Some(d) = res.headers().get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()) {
        let inline_value = d.replacen("attachment", "inline", 1);
        if let Ok(v) = HeaderValue::from_str(&inline_value) {
            res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    Ok(res)
}
