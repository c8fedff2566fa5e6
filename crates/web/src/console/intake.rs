//! Counter intake ("Tiếp nhận hồ sơ"): a desk officer chooses the procedure, then enters the
//! walk-in applicant, the e-form (generated from the version's JSON Schema, as the portal's
//! online submission does), the file of each component and a note on one page. The dossier is
//! created by `api::dossiers::create`, the function behind `POST /api/v1/dossiers`, with the
//! channel `counter`: authorization, numbering, the due date and the counter's immediate
//! acceptance stay there. The receipt page that follows links the receipt (Mẫu 01) as PDF.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::NaiveDate;
use cqs_domain::auth::Principal;
use cqs_domain::catalog::{ProcedureSpec, ProcedureVersion, select_in_force};
use cqs_domain::dossier::{
    ApplicantInput, ApplicantKind, Channel, UploadedFile, check_note, check_submission, local_date, safe_file_name,
    sniff,
};
use cqs_domain::form::FieldError;
use cqs_domain::ids::IdentityKind;
use cqs_domain::org::OrgUnit;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::api::catalog::{CatalogFilter, receives_at, search};
use crate::api::dossiers::{ReceivedFile, SubmitRequest, Submitted, create};
use crate::auth::Caller;
use crate::documents::forms::{links, set_of};
use crate::ui::eform::{Question, form_data, input_id, question, question_order};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

/// The procedure chooser; each procedure's intake page is below it.
pub const START: &str = "/can-bo/tiep-nhan";
/// The id of the submit button, where errors that belong to no field are linked.
const SUBMIT: &str = "nut-tiep-nhan";
/// Longest answer to one question or applicant field (the schema may allow less).
const ANSWER_MAX_CHARS: usize = 2000;

fn intake_path(code: &str) -> String {
    format!("{START}/{code}")
}

fn receipt_path(code: &str) -> String {
    format!("/can-bo/ho-so/{code}/bien-nhan")
}

/// The units where this caller may take `spec` in at the counter today: the ones the API's own
/// `may_submit` lets them submit to (a desk role there) that receive the procedure. Without a
/// procedure, the units where they hold the desk role at all.
pub fn counter_units<'a>(
    principal: &Principal,
    units: &'a [OrgUnit],
    spec: Option<&ProcedureSpec>,
    today: NaiveDate,
) -> Vec<&'a OrgUnit> {
    if !matches!(principal, Principal::Staff { .. }) {
        return Vec::new();
    }
    let mut out: Vec<&OrgUnit> = units
        .iter()
        .filter(|u| u.is_valid_on(today) && principal.may_submit(u.id).is_ok())
        .filter(|u| spec.is_none_or(|s| receives_at(s, u)))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn no_desk() -> PageError {
    PageError::new(StatusCode::FORBIDDEN, "Bạn không có vai trò tiếp nhận hồ sơ").detail(
        "Chỉ cán bộ Bộ phận Một cửa của đơn vị tiếp nhận hồ sơ tại quầy. Nếu cần, hãy đề nghị quản trị phân quyền.",
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ChooseQuery {
    q: Option<String>,
}

pub struct ProcedureRow {
    pub code: String,
    pub name: String,
    pub deadline: String,
}

#[derive(Template)]
#[template(path = "console/intake_choose.html")]
pub struct ChoosePage {
    chrome: Chrome,
    q: String,
    rows: Vec<ProcedureRow>,
    units: Vec<String>,
}

/// `GET /can-bo/tiep-nhan?q=`: the procedures in force that the officer's desk units receive,
/// found by the catalog search the portal uses (case and diacritics ignored).
pub async fn choose(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ChooseQuery>,
) -> PageResult<Response> {
    super::require_staff(&caller, START)?;
    let today = local_date(state.clock.now());
    let all = state.store.org_units().await?;
    let units = counter_units(&caller.0, &all, None, today);
    if units.is_empty() {
        return Err(no_desk());
    }
    let q = query.q.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let filter = CatalogFilter { text: Some(q.clone()).filter(|s| !s.is_empty()), ..Default::default() };
    let rows = search(&state, &filter)
        .await?
        .into_iter()
        .filter(|v| units.iter().any(|u| receives_at(&v.spec, u)))
        .map(|v| ProcedureRow {
            code: v.spec.code.to_string(),
            deadline: v.spec.deadline.label_vi(),
            name: v.spec.name,
        })
        .collect();
    let page = ChoosePage {
        chrome: Chrome::console("Tiếp nhận hồ sơ", "intake").for_caller(&caller),
        q,
        rows,
        units: units.iter().map(|u| u.name.clone()).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// What the officer typed, kept as typed so a page with errors shows it again.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The one-time token of this form: the idempotency key of its dossier.
    pub token: String,
    pub unit: String,
    /// `person` or `organization`.
    pub applicant_kind: String,
    /// `citizen`, `passport` or `enterprise`.
    pub identity_kind: String,
    pub identity_number: String,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub note: String,
    /// The e-form's answers by schema key.
    pub form: BTreeMap<String, String>,
}

impl Entry {
    fn new(units: &[&OrgUnit]) -> Self {
        Self {
            token: Uuid::new_v4().to_string(),
            unit: if units.len() == 1 { units[0].code.to_string() } else { String::new() },
            applicant_kind: "person".into(),
            identity_kind: "citizen".into(),
            ..Default::default()
        }
    }

    /// The applicant as the API takes it. Phone numbers are written with spaces and dots
    /// (0912 345 678); the API wants the digits.
    pub fn applicant(&self) -> ApplicantInput {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ApplicantInput {
            kind: if self.applicant_kind == "organization" {
                ApplicantKind::Organization
            } else {
                ApplicantKind::Person
            },
            identity_kind: match self.identity_kind.as_str() {
                "enterprise" => IdentityKind::Enterprise,
                "passport" => IdentityKind::Passport,
                _ => IdentityKind::Citizen,
            },
            identity_number: self.identity_number.trim().replace(' ', "").to_uppercase(),
            name: self.name.trim().to_owned(),
            phone: opt(&self.phone.replace([' ', '.', '-'], "")),
            email: opt(&self.email),
            address: opt(&self.address),
        }
    }
}

/// The page input a problem of the intake check belongs to (its JSON pointer into the
/// submission), so the message is shown beside it and the summary links there.
pub fn field_id(pointer: &str, questions: &[String], components: &[String]) -> String {
    if let Some(rest) = pointer.strip_prefix("/form_data") {
        let key = rest.trim_start_matches('/').split('/').next().unwrap_or_default();
        return if questions.iter().any(|q| q == key) {
            input_id(key)
        } else {
            questions.first().map_or_else(|| "to-khai".to_owned(), |k| input_id(k))
        };
    }
    if let Some(rest) = pointer.strip_prefix("/files") {
        let c = rest.trim_start_matches('/');
        return if components.iter().any(|x| x == c) {
            file_input(c)
        } else {
            components.first().map_or_else(|| SUBMIT.to_owned(), |c| file_input(c))
        };
    }
    match pointer {
        "/receiving_unit" => "unit".into(),
        "/applicant/kind" => "applicant_kind".into(),
        "/note" => "note".into(),
        p => match p.strip_prefix("/applicant/") {
            Some(f @ ("identity_kind" | "identity_number" | "name" | "phone" | "email" | "address")) => f.to_owned(),
            _ => SUBMIT.into(),
        },
    }
}

/// Problems of the intake check: the message beside its input, and in the summary after the
/// name of the field it belongs to (a page may have several "Trường này là bắt buộc").
#[derive(Debug, Default)]
struct Problems {
    errors: FormErrors,
    labels: BTreeMap<String, String>,
}

impl Problems {
    fn add(&mut self, id: String, p: &FieldError) {
        if !self.errors.has(&id) {
            self.errors.add(id.clone(), p.message.clone());
            self.labels.insert(id, p.label.clone());
        }
    }
}

fn file_input(component: &str) -> String {
    format!("tep-{component}")
}

/// The procedure in force and where this officer takes it in.
struct Desk {
    version: ProcedureVersion,
    form: std::sync::Arc<cqs_domain::form::FormSchema>,
    units: Vec<OrgUnit>,
    order: Vec<String>,
}

async fn desk(state: &AppState, caller: &Caller, code: &str) -> Result<Desk, PageError> {
    super::require_staff(caller, &intake_path(code))?;
    let today = local_date(state.clock.now());
    let versions = state.store.procedure_versions(code).await?;
    let version = select_in_force(&versions, today).ok_or_else(PageError::not_found)?.clone();
    let all = state.store.org_units().await?;
    let units: Vec<OrgUnit> = counter_units(&caller.0, &all, Some(&version.spec), today).into_iter().cloned().collect();
    if units.is_empty() {
        return Err(PageError::new(StatusCode::FORBIDDEN, "Bạn không tiếp nhận thủ tục này")
            .detail("Không đơn vị nào bạn làm cán bộ một cửa tiếp nhận thủ tục này. Hãy chọn thủ tục khác."));
    }
    let form = state.forms.get(&version)?;
    let order = question_order(&version.spec.form_schema);
    Ok(Desk { version, form, units, order })
}

pub struct UnitOption {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

pub struct ComponentRow {
    pub input: String,
    pub name: String,
    pub required: bool,
    pub types: String,
    pub accept: String,
    pub papers: String,
    /// Files sent with a form that came back with errors: the browser does not send them again.
    pub sent: Vec<String>,
}

pub struct Field {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub kind: &'static str,
    pub hint: Option<&'static str>,
    pub required: bool,
    pub autocomplete: &'static str,
}

#[derive(Template)]
#[template(path = "console/intake.html")]
pub struct IntakePage {
    chrome: Chrome,
    code: String,
    procedure: String,
    deadline: String,
    errors: FormErrors,
    /// The field name of each error, for the summary.
    labels: BTreeMap<String, String>,
    entry: Entry,
    units: Vec<UnitOption>,
    identity_kinds: Vec<(&'static str, &'static str)>,
    fields: Vec<Field>,
    questions: Vec<Question>,
    components: Vec<ComponentRow>,
    max_mb: usize,
    /// Files were chosen but the form came back: they must be chosen again.
    reselect: bool,
}

impl IntakePage {
    /// An error as the summary lists it: which field, then what is wrong.
    fn summary_line(&self, e: &crate::ui::FormError) -> String {
        match self.labels.get(&e.field).filter(|l| !l.is_empty()) {
            Some(label) => format!("{label}: {}", e.message),
            None => e.message.clone(),
        }
    }
}

fn page(
    state: &AppState,
    caller: &Caller,
    d: &Desk,
    entry: Entry,
    problems: Problems,
    sent: &[ReceivedFile],
) -> IntakePage {
    let spec = &d.version.spec;
    let schema = d.form.schema();
    let field = |id, label, value: &str, kind, hint, required, autocomplete| Field {
        id,
        label,
        value: value.to_owned(),
        kind,
        hint,
        required,
        autocomplete,
    };
    IntakePage {
        chrome: Chrome::console(format!("Tiếp nhận hồ sơ – {}", spec.name), "intake").for_caller(caller),
        code: spec.code.to_string(),
        procedure: spec.name.clone(),
        deadline: spec.deadline.label_vi(),
        units: d
            .units
            .iter()
            .map(|u| UnitOption {
                code: u.code.to_string(),
                name: u.name.clone(),
                checked: u.code.as_str() == entry.unit,
            })
            .collect(),
        identity_kinds: vec![
            ("citizen", "Số định danh cá nhân (CCCD)"),
            ("passport", "Hộ chiếu"),
            ("enterprise", "Mã số doanh nghiệp"),
        ],
        fields: vec![
            field("name", "Họ và tên / tên tổ chức", &entry.name, "text", None, true, "off"),
            field(
                "identity_number",
                "Số giấy tờ định danh",
                &entry.identity_number,
                "text",
                Some("CCCD 12 chữ số; hộ chiếu 6–12 chữ và số; mã số doanh nghiệp 10 chữ số (chi nhánh thêm -NNN)"),
                true,
                "off",
            ),
            field("phone", "Số điện thoại", &entry.phone, "tel", None, false, "off"),
            field("email", "Thư điện tử", &entry.email, "email", None, false, "off"),
            field("address", "Địa chỉ liên hệ", &entry.address, "text", None, false, "off"),
        ],
        questions: d
            .order
            .iter()
            .map(|k| {
                let mut q = question(schema, k, entry.form.get(k).map_or("", String::as_str));
                q.name = q.id.clone();
                q
            })
            .collect(),
        components: spec
            .components
            .iter()
            .map(|c| {
                let exts: Vec<&str> = c.file_types.iter().map(|t| t.extension()).collect();
                ComponentRow {
                    input: file_input(&c.code),
                    name: c.name.clone(),
                    required: c.required,
                    types: exts.join(", "),
                    accept: exts.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(","),
                    papers: format!("Bản chính: {}, bản sao: {}", c.originals, c.copies),
                    sent: sent.iter().filter(|f| f.component == c.code).map(|f| f.file_name.clone()).collect(),
                }
            })
            .collect(),
        max_mb: state.limits.attachment / (1024 * 1024),
        reselect: !sent.is_empty(),
        errors: problems.errors,
        labels: problems.labels,
        entry,
    }
}

/// `GET /can-bo/tiep-nhan/{code}`: the intake form, with a new one-time token.
pub async fn form(State(state): State<AppState>, caller: Caller, Path(code): Path<String>) -> PageResult<Response> {
    let d = desk(&state, &caller, &code).await?;
    let units: Vec<&OrgUnit> = d.units.iter().collect();
    let entry = Entry::new(&units);
    Ok(render(StatusCode::OK, &page(&state, &caller, &d, entry, Problems::default(), &[])))
}

fn bad_form() -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, "Biểu mẫu gửi lên không hợp lệ")
        .detail("Hãy quay lại trang trước, tải lại trang và nhập lại.")
}

/// Reads the multipart form: the fields into an entry, the files with the limits of a
/// submission. Files that break a limit are left out with an error beside their input.
async fn read(
    state: &AppState,
    d: &Desk,
    req: Request,
    errors: &mut FormErrors,
) -> Result<(Entry, Vec<ReceivedFile>), PageError> {
    let mut mp = Multipart::from_request(req, state).await.map_err(|_| bad_form())?;
    let mut e = Entry::default();
    let mut files: Vec<ReceivedFile> = Vec::new();
    let mut total = 0usize;
    let limit = state.limits.attachment;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Các tệp gửi lên vượt quá dung lượng cho phép",
                ));
            }
            Err(_) => return Err(bad_form()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(component) = name.strip_prefix("tep-").map(str::to_owned) {
            let raw = field.file_name().unwrap_or_default().to_owned();
            let file_name = safe_file_name(&raw);
            let mut bytes = Vec::new();
            let mut too_big = false;
            while let Some(chunk) = field.chunk().await.map_err(|_| bad_form())? {
                if too_big || bytes.len() + chunk.len() > limit {
                    too_big = true;
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            if raw.is_empty() && bytes.is_empty() {
                continue;
            }
            if too_big {
                errors.add(file_input(&component), format!("Tệp {file_name} vượt quá {} MB", limit / (1024 * 1024)));
                continue;
            }
            total += bytes.len();
            files.push(ReceivedFile { component, file_name, bytes });
            continue;
        }
        let value = field.text().await.map_err(|_| bad_form())?;
        let value = cqs_domain::text::nfc(&value.chars().take(ANSWER_MAX_CHARS + 1).collect::<String>());
        if value.chars().count() > ANSWER_MAX_CHARS && name != "csrf_token" {
            errors.add(name.clone(), format!("Không được dài quá {ANSWER_MAX_CHARS} ký tự"));
        }
        let slot = match name.as_str() {
            "form_token" => &mut e.token,
            "unit" => &mut e.unit,
            "applicant_kind" => &mut e.applicant_kind,
            "identity_kind" => &mut e.identity_kind,
            "identity_number" => &mut e.identity_number,
            "name" => &mut e.name,
            "phone" => &mut e.phone,
            "email" => &mut e.email,
            "address" => &mut e.address,
            "note" => &mut e.note,
            n => match n.strip_prefix("f-").filter(|k| d.order.iter().any(|q| q == k)) {
                Some(k) => e.form.entry(k.to_owned()).or_default(),
                None => continue,
            },
        };
        *slot = value;
    }
    let first = d.version.spec.components.first().map_or_else(|| SUBMIT.to_owned(), |c| file_input(&c.code));
    if files.len() > state.limits.files_per_submission {
        errors.add(first, format!("Tối đa {} tệp trong một hồ sơ", state.limits.files_per_submission));
    } else if total > state.limits.submission_body {
        errors.add(
            first,
            format!("Tổng dung lượng các tệp vượt quá {} MB", state.limits.submission_body / (1024 * 1024)),
        );
    }
    Ok((e, files))
}

/// `POST /can-bo/tiep-nhan/{code}` (multipart, the CSRF field first): creates the counter
/// dossier through `api::dossiers::create` with the form's one-time token as idempotency key,
/// so a second press of the button gives the same dossier; then on to the receipt page.
pub async fn take(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: Request,
) -> PageResult<Response> {
    let d = desk(&state, &caller, &code).await?;
    let mut problems = Problems::default();
    let (mut entry, files) = read(&state, &d, req, &mut problems.errors).await?;
    if Uuid::parse_str(entry.token.trim()).is_err() {
        return Err(bad_form());
    }
    let questions = &d.order;
    let components: Vec<String> = d.version.spec.components.iter().map(|c| c.code.clone()).collect();
    let schema = d.form.schema();
    let data = form_data(schema, &entry.form);
    let applicant = entry.applicant();
    let redisplay = |entry: Entry, problems: Problems, files: &[ReceivedFile]| {
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page(&state, &caller, &d, entry, problems, files)))
    };
    if !problems.errors.is_empty() || !d.units.iter().any(|u| u.code.as_str() == entry.unit) {
        // The unit is not one of this officer's desks (or a file broke a limit): the same checks
        // the API would make, all at once, without creating anything.
        if !d.units.iter().any(|u| u.code.as_str() == entry.unit) {
            problems.errors.add("unit", "Chọn đơn vị tiếp nhận hồ sơ");
        }
        let uploaded: Vec<UploadedFile> = files
            .iter()
            .map(|f| UploadedFile {
                component: f.component.clone(),
                file_name: f.file_name.clone(),
                detected: sniff(&f.bytes),
                size: f.bytes.len() as u64,
            })
            .collect();
        let mut found: Vec<FieldError> = applicant.check().err().unwrap_or_default();
        found.extend(
            check_submission(&d.version.spec, &d.form, Channel::Counter, &data, &uploaded).err().unwrap_or_default(),
        );
        found.extend(check_note(Some(&entry.note)).err());
        for p in &found {
            problems.add(field_id(&p.field, questions, &components), p);
        }
        return redisplay(entry, problems, &files);
    }
    let body = SubmitRequest {
        procedure_code: code.clone(),
        receiving_unit: entry.unit.clone(),
        channel: Channel::Counter,
        applicant,
        form_data: data,
        reuse: Vec::new(),
        note: Some(entry.note.clone()).filter(|n| !n.trim().is_empty()),
    };
    let names: Vec<(String, String)> = files.iter().map(|f| (f.component.clone(), f.file_name.clone())).collect();
    let sent: Vec<ReceivedFile> = names
        .into_iter()
        .map(|(component, file_name)| ReceivedFile { component, file_name, bytes: Vec::new() })
        .collect();
    match create(&state, &caller, Some(format!("counter-{}", entry.token.trim())), body, files).await {
        Ok(Submitted::Created(r) | Submitted::Replayed(r)) => Ok(Redirect::to(&receipt_path(&r.code)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY && !e.errors.is_empty() => {
            for p in &e.errors {
                problems.add(field_id(&p.field, questions, &components), p);
            }
            redisplay(entry, problems, &sent)
        }
        Err(e) if e.code == "idempotency_key_reused" => {
            // This form already made a dossier with other content (sent again after going back
            // and changing it): a new token makes the next send a new dossier, on purpose.
            entry.token = Uuid::new_v4().to_string();
            problems.errors.add(
                SUBMIT,
                "Biểu mẫu này đã được dùng để tạo một hồ sơ khác. Kiểm tra lại rồi bấm Tiếp nhận hồ sơ nếu đây là hồ sơ mới.",
            );
            redisplay(entry, problems, &sent)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            problems.errors.add(SUBMIT, e.title);
            redisplay(entry, problems, &sent)
        }
        Err(e) => Err(e.into()),
    }
}

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "console/receipt.html")]
pub struct ReceiptPage {
    chrome: Chrome,
    code: String,
    procedure_code: String,
    counter: bool,
    facts: Vec<Fact>,
    files: Vec<(String, String)>,
    receipt: Option<String>,
    qr: String,
    lookup: String,
}

/// `GET /can-bo/ho-so/{code}/bien-nhan`: the dossier's code, receipt and due dates, what was
/// received, and the receipt (Mẫu 01) to print; for whoever may read the dossier.
pub async fn receipt(State(state): State<AppState>, caller: Caller, Path(code): Path<String>) -> PageResult<Response> {
    super::require_staff(&caller, &receipt_path(&code))?;
    let ctx = super::dossier::load(&state, &caller, &code).await?;
    let d = &ctx.dossier;
    let unit = state.store.org_units().await?.into_iter().find(|u| u.id == d.receiving_unit_id);
    let history = state.store.history(d.id).await?;
    let receipt = links(set_of(&state, d)?, d.code.as_str(), &history)
        .into_iter()
        .find(|f| f.kind == cqs_domain::forms::FormKind::Receipt)
        .map(|f| f.href);
    let mut facts = vec![
        Fact { label: "Mã hồ sơ", value: d.code.to_string() },
        Fact { label: "Thủ tục", value: ctx.version.spec.name.clone() },
        Fact { label: "Người nộp", value: format!("{} ({})", d.applicant.name, d.applicant.identity_number) },
        Fact { label: "Nơi tiếp nhận", value: unit.map(|u| u.name).unwrap_or_default() },
        Fact { label: "Ngày tiếp nhận", value: fmt::datetime(d.received_at) },
    ];
    if let Some(due) = d.due_at {
        facts.push(Fact { label: "Hẹn trả kết quả", value: fmt::datetime(due) });
    }
    let files = state
        .store
        .attachments(d.id)
        .await?
        .into_iter()
        .map(|a| {
            let name = ctx
                .version
                .spec
                .components
                .iter()
                .find(|c| c.code == a.attachment.component)
                .map_or(a.attachment.component.clone(), |c| c.name.clone());
            (name, format!("{} ({})", a.attachment.file_name, fmt::size(a.attachment.size)))
        })
        .collect();
    let lookup = state.documents.lookup_url(d.code.as_str());
    let svg = qrcode::QrCode::new(lookup.as_bytes())
        .map_err(|_| PageError::internal())?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(140, 140)
        .quiet_zone(true)
        .build();
    let page = ReceiptPage {
        chrome: Chrome::console(format!("Biên nhận hồ sơ {}", d.code), "intake").for_caller(&caller),
        code: d.code.to_string(),
        procedure_code: ctx.version.spec.code.to_string(),
        counter: d.channel == Channel::Counter,
        facts,
        files,
        receipt,
        qr: format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)),
        lookup,
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqs_domain::auth::{Role, RoleGrant};
    use cqs_domain::ids::AgencyCode;
    use cqs_domain::org::OrgUnitKind;

    fn unit(code: &str, kind: OrgUnitKind) -> OrgUnit {
        OrgUnit {
            id: Uuid::now_v7(),
            code: AgencyCode::parse(code).unwrap(),
            name: format!("UBND {code}"),
            short_name: None,
            kind,
            parent_id: None,
            valid_from: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            valid_to: None,
            successor_id: None,
            address: None,
            phone: None,
        }
    }

    #[test]
    fn an_officer_takes_in_where_they_hold_the_desk_role() {
        let units = [unit("000.00.31.H99", OrgUnitKind::Commune), unit("000.00.32.H99", OrgUnitKind::Commune)];
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let staff = |role: Role| Principal::Staff {
            user_id: Uuid::now_v7(),
            grants: vec![RoleGrant { role, org_unit_id: units[0].id }],
        };
        let desk = counter_units(&staff(Role::DeskOfficer), &units, None, today);
        assert_eq!(desk.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(), ["000.00.31.H99"]);
        assert!(counter_units(&staff(Role::Specialist), &units, None, today).is_empty());
        assert!(counter_units(&Principal::Anonymous, &units, None, today).is_empty());
    }

    #[test]
    fn intake_problems_are_shown_beside_their_input() {
        let q = vec!["ho_ten_tre".to_owned(), "ngay_sinh".to_owned()];
        let c = vec!["to-khai".to_owned()];
        assert_eq!(field_id("/form_data/ngay_sinh", &q, &c), "f-ngay_sinh");
        assert_eq!(field_id("/form_data", &q, &c), "f-ho_ten_tre");
        assert_eq!(field_id("/files/to-khai", &q, &c), "tep-to-khai");
        assert_eq!(field_id("/files/khac", &q, &c), "tep-to-khai");
        assert_eq!(field_id("/applicant/identity_number", &q, &c), "identity_number");
        assert_eq!(field_id("/applicant/kind", &q, &c), "applicant_kind");
        assert_eq!(field_id("/receiving_unit", &q, &c), "unit");
        assert_eq!(field_id("/note", &q, &c), "note");
        assert_eq!(field_id("/channel", &q, &c), SUBMIT);
    }

    #[test]
    fn the_applicant_is_read_as_the_api_takes_it() {
        let e = Entry {
            applicant_kind: "organization".into(),
            identity_kind: "enterprise".into(),
            identity_number: " 0101234567 ".into(),
            name: "Công ty TNHH Sông Hồng".into(),
            phone: "024.3825 1234".into(),
            ..Default::default()
        };
        let a = e.applicant();
        assert_eq!((a.kind, a.identity_kind), (ApplicantKind::Organization, IdentityKind::Enterprise));
        assert_eq!(
            (a.identity_number.as_str(), a.phone.as_deref(), a.email.as_deref()),
            ("0101234567", Some("02438251234"), None)
        );
        assert!(a.check().is_ok());
        let person =
            Entry { identity_kind: "passport".into(), identity_number: "b1234567".into(), ..Default::default() };
        assert_eq!(person.applicant().identity_number, "B1234567");
    }
}
