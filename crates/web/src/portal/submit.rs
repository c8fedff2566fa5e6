//! Online submission ("Nộp hồ sơ trực tuyến"): one question page at a time, generated from the
//! procedure version's e-form schema (the schema the API validates with), the documents of each
//! component (uploaded, or reused from the person's document store), a check-your-answers page,
//! then the dossier, created through the same function as `POST /api/v1/dossiers`. Every answer
//! is kept as a draft on the server as the person goes, so they can stop and come back.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use cqs_domain::auth::Principal;
use cqs_domain::catalog::{OnlineLevel, ProcedureVersion, select_in_force};
use cqs_domain::docstore::Reuse;
use cqs_domain::dossier::{
    ApplicantInput, ApplicantKind, Channel, UploadedFile, check_supplement, local_date, safe_file_name, sniff,
};
use cqs_domain::form::FieldError;
use cqs_domain::ids::IdentityKind;
use cqs_store::{Draft, DraftFile};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::api::dossiers::{ReceivedFile, SubmitRequest, Submitted, create};
use crate::auth::Caller;
use crate::ui::eform::{Question, form_data, input_id, iso_date, question, question_order};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, render};

/// Largest draft (its answers as JSON); beyond it the person is told to shorten their answers.
pub const DRAFT_MAX_BYTES: usize = 64 * 1024;
/// Longest answer to one question (the schema may allow less).
const ANSWER_MAX_CHARS: usize = 2000;
/// Questions on one page.
const PER_PAGE: usize = 4;

fn base(code: &str) -> String {
    format!("/nop-ho-so/{code}")
}

/// What the person has answered so far; kept as the draft's JSON.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
struct Answers {
    unit: String,
    phone: String,
    email: String,
    address: String,
    /// The form's answers as typed (numbers are converted when the form is checked).
    form: BTreeMap<String, String>,
    /// Component code → stored document chosen instead of an upload.
    reuse: BTreeMap<String, Uuid>,
}

/// The signed-in citizen: account, identity number, name and contact details.
struct Person {
    account: Uuid,
    identity: String,
    name: String,
    phone: String,
    email: String,
}

async fn person(state: &AppState, caller: &Caller, back: &str) -> Result<Person, PageError> {
    let account = match &caller.0 {
        Principal::Citizen { account_id, .. } if caller.session().is_some() => *account_id,
        Principal::Anonymous => return Err(PageError::sign_in("/dang-nhap", back)),
        _ => {
            return Err(PageError::new(StatusCode::FORBIDDEN, "Chỉ tài khoản công dân nộp hồ sơ trực tuyến")
                .detail("Cán bộ tiếp nhận hồ sơ tại quầy trong Hệ thống một cửa điện tử."));
        }
    };
    let a = state.store.citizen_by_id(account).await?.ok_or_else(PageError::not_found)?;
    Ok(Person {
        account,
        identity: a.identity_number,
        name: a.full_name,
        phone: a.phone.as_deref().map(fmt::phone).unwrap_or_default().replace(' ', ""),
        email: a.email.unwrap_or_default(),
    })
}

/// Everything a page of the journey needs.
struct Journey {
    person: Person,
    version: ProcedureVersion,
    form: std::sync::Arc<cqs_domain::form::FormSchema>,
    /// The form's questions, page by page.
    pages: Vec<Vec<String>>,
    units: Vec<(String, String)>,
    draft: Option<Draft>,
    answers: Answers,
}

async fn journey(state: &AppState, caller: &Caller, code: &str) -> Result<Journey, PageError> {
    let person = person(state, caller, &base(code)).await?;
    let today = local_date(state.clock.now());
    let versions = state.store.procedure_versions(code).await?;
    let version = select_in_force(&versions, today).ok_or_else(PageError::not_found)?.clone();
    if version.spec.online_level == OnlineLevel::InfoOnly {
        return Err(PageError::new(StatusCode::FORBIDDEN, "Thủ tục này chưa cho phép nộp hồ sơ trực tuyến")
            .detail("Vui lòng nộp hồ sơ tại Bộ phận một cửa nêu trên trang thủ tục."));
    }
    let form = state.forms.get(&version)?;
    let pages: Vec<Vec<String>> =
        question_order(&version.spec.form_schema).chunks(PER_PAGE).map(<[String]>::to_vec).collect();
    let mut units: Vec<(String, String)> = state
        .store
        .org_units()
        .await?
        .into_iter()
        .filter(|u| u.is_valid_on(today) && crate::api::catalog::receives_at(&version.spec, u))
        .map(|u| (u.code.to_string(), u.name))
        .collect();
    units.sort_by(|a, b| a.1.cmp(&b.1));
    let draft = state.store.draft(person.account, code).await?;
    let answers = match &draft {
        Some(d) => serde_json::from_value(d.answers.clone()).unwrap_or_default(),
        None => Answers {
            phone: person.phone.clone(),
            email: person.email.clone(),
            unit: if units.len() == 1 { units[0].0.clone() } else { String::new() },
            ..Default::default()
        },
    };
    Ok(Journey { person, version, form, pages, units, draft, answers })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Unit,
    Form(usize),
    Files,
    Check,
}

impl Journey {
    fn steps(&self) -> Vec<Step> {
        let mut s = vec![Step::Unit];
        s.extend((0..self.pages.len()).map(Step::Form));
        if !self.version.spec.components.is_empty() {
            s.push(Step::Files);
        }
        s.push(Step::Check);
        s
    }
    fn step(&self, slug: Option<&str>) -> Option<Step> {
        let slug = slug.filter(|s| !s.is_empty()).unwrap_or("noi-nop");
        self.steps().into_iter().find(|s| s.slug() == slug)
    }
    fn next(&self, step: Step) -> Step {
        let steps = self.steps();
        let i = steps.iter().position(|s| *s == step).unwrap_or(0);
        steps.get(i + 1).copied().unwrap_or(Step::Check)
    }
    fn code(&self) -> String {
        self.version.spec.code.to_string()
    }
    /// The draft's id, creating the draft if there is none yet.
    async fn draft_id(&mut self, state: &AppState) -> Result<Uuid, PageError> {
        if let Some(d) = &self.draft {
            return Ok(d.id);
        }
        let id = save(state, self).await?;
        self.draft = state.store.draft(self.person.account, &self.code()).await?;
        Ok(id)
    }
}

impl Step {
    fn slug(&self) -> String {
        match self {
            Step::Unit => "noi-nop".into(),
            Step::Form(i) => format!("to-khai-{}", i + 1),
            Step::Files => "giay-to".into(),
            Step::Check => "kiem-tra".into(),
        }
    }
}

/// Saves the answers as the draft; too large a draft is refused.
async fn save(state: &AppState, j: &Journey) -> Result<Uuid, PageError> {
    let value = serde_json::to_value(&j.answers).map_err(|_| PageError::internal())?;
    if value.to_string().len() > DRAFT_MAX_BYTES {
        return Err(PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "Bản nháp quá lớn")
            .detail("Câu trả lời quá dài. Hãy rút gọn nội dung rồi lưu lại."));
    }
    Ok(state.store.save_draft(j.person.account, &j.code(), &value, state.clock.now()).await?)
}

fn file_input(component: &str) -> String {
    format!("tep-{component}")
}

pub struct UnitOption {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

pub struct StoredChoice {
    pub id: Uuid,
    pub title: String,
    pub detail: String,
    pub chosen: bool,
}

pub struct ComponentRow {
    pub none_chosen: bool,
    pub code: String,
    pub input: String,
    pub name: String,
    pub required: bool,
    pub types: String,
    pub accept: String,
    pub files: Vec<(Uuid, String, String)>,
    pub offers: Vec<StoredChoice>,
}

pub struct Summary {
    pub label: String,
    pub value: String,
    pub change: String,
}

/// An error on the check page: where it is fixed.
pub struct Problem {
    pub href: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "portal/submit.html")]
pub struct SubmitPage {
    chrome: Chrome,
    code: String,
    procedure: String,
    /// "Bước 2 trên 5".
    progress: String,
    slug: String,
    heading: String,
    errors: FormErrors,
    resumed: Option<String>,
    // Unit step
    units: Vec<UnitOption>,
    name: String,
    identity: String,
    contacts: Vec<Contact>,
    // Form steps
    questions: Vec<Question>,
    // Files step
    components: Vec<ComponentRow>,
    any_offers: bool,
    max_mb: usize,
    // Check step
    sections: Vec<(String, Vec<Summary>)>,
    problems: Vec<Problem>,
    back: Option<String>,
}

pub struct Contact {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub kind: &'static str,
    pub autocomplete: &'static str,
}

#[derive(Debug, Deserialize)]
pub struct StepQuery {
    buoc: Option<String>,
}

fn heading(j: &Journey, step: Step) -> String {
    match step {
        Step::Unit => "Nơi nộp và thông tin liên hệ".into(),
        Step::Form(i) if j.pages.len() > 1 => format!("Tờ khai (phần {} trên {})", i + 1, j.pages.len()),
        Step::Form(_) => "Tờ khai".into(),
        Step::Files => "Giấy tờ kèm theo".into(),
        Step::Check => "Kiểm tra lại trước khi nộp".into(),
    }
}

async fn page(
    state: &AppState,
    caller: &Caller,
    j: &Journey,
    step: Step,
    errors: FormErrors,
    problems: Vec<Problem>,
) -> Result<SubmitPage, PageError> {
    let steps = j.steps();
    let pos = steps.iter().position(|s| *s == step).unwrap_or(0);
    let code = j.code();
    let spec = &j.version.spec;
    let schema = j.form.schema();
    let a = &j.answers;
    let mut p = SubmitPage {
        chrome: Chrome::portal(format!("{} – {}", heading(j, step), spec.name), "search").for_caller(caller),
        code: code.clone(),
        procedure: spec.name.clone(),
        progress: format!("Bước {} trên {}", pos + 1, steps.len()),
        slug: step.slug(),
        heading: heading(j, step),
        errors,
        resumed: j.draft.as_ref().filter(|_| pos == 0).map(|d| fmt::datetime(d.updated_at)),
        units: Vec::new(),
        name: j.person.name.clone(),
        identity: j.person.identity.clone(),
        contacts: vec![
            Contact {
                id: "phone", label: "Số điện thoại", value: a.phone.clone(), kind: "tel", autocomplete: "tel"
            },
            Contact {
                id: "email", label: "Thư điện tử", value: a.email.clone(), kind: "email", autocomplete: "email"
            },
            Contact {
                id: "address",
                label: "Địa chỉ liên hệ",
                value: a.address.clone(),
                kind: "text",
                autocomplete: "street-address",
            },
        ],
        questions: Vec::new(),
        components: Vec::new(),
        any_offers: false,
        max_mb: state.limits.attachment / (1024 * 1024),
        sections: Vec::new(),
        problems,
        back: (pos > 0).then(|| format!("{}?buoc={}", base(&code), steps[pos - 1].slug())),
    };
    match step {
        Step::Unit => {
            p.units = j
                .units
                .iter()
                .map(|(c, n)| UnitOption { code: c.clone(), name: n.clone(), checked: *c == a.unit })
                .collect();
        }
        Step::Form(i) => {
            p.questions =
                j.pages[i].iter().map(|k| question(schema, k, a.form.get(k).map_or("", String::as_str))).collect();
        }
        Step::Files => {
            p.components = components(state, j).await?;
            p.any_offers = p.components.iter().any(|c| !c.offers.is_empty());
        }
        Step::Check => {
            let unit = j.units.iter().find(|u| u.0 == a.unit).map_or("Chưa chọn".to_owned(), |u| u.1.clone());
            let change = |s: Step, id: &str| format!("{}?buoc={}#{id}", base(&code), s.slug());
            let mut first = vec![
                Summary { label: "Nơi nộp hồ sơ".into(), value: unit, change: change(Step::Unit, "noi-nop") },
                Summary {
                    label: "Người nộp".into(),
                    value: format!("{} ({})", j.person.name, j.person.identity),
                    change: String::new(),
                },
            ];
            for (label, v, id) in [
                ("Số điện thoại", &a.phone, "phone"),
                ("Thư điện tử", &a.email, "email"),
                ("Địa chỉ", &a.address, "address"),
            ] {
                first.push(Summary {
                    label: label.into(),
                    value: if v.is_empty() { "Không khai".into() } else { v.clone() },
                    change: change(Step::Unit, id),
                });
            }
            p.sections.push(("Người nộp và nơi nộp".into(), first));
            let mut form = Vec::new();
            for (i, keys) in j.pages.iter().enumerate() {
                for k in keys {
                    let q = question(schema, k, "");
                    let v = a.form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
                    let shown = match (v, q.kind) {
                        (Some(v), "date") => {
                            let iso = iso_date(v);
                            chrono::NaiveDate::parse_from_str(&iso, "%Y-%m-%d")
                                .map_or(v.to_owned(), |d| d.format("%d/%m/%Y").to_string())
                        }
                        (Some(v), _) => v.to_owned(),
                        (None, _) => "Không khai".into(),
                    };
                    form.push(Summary { label: q.label, value: shown, change: change(Step::Form(i), &q.id) });
                }
            }
            p.sections.push(("Tờ khai".into(), form));
            if !spec.components.is_empty() {
                let rows = components(state, j).await?;
                let files = rows
                    .into_iter()
                    .map(|c| {
                        let mut value: Vec<String> = c.files.iter().map(|f| f.1.clone()).collect();
                        value.extend(
                            c.offers.iter().filter(|o| o.chosen).map(|o| format!("{} (giấy tờ đã lưu)", o.title)),
                        );
                        Summary {
                            change: change(Step::Files, &c.input),
                            label: c.name,
                            value: if value.is_empty() { "Không nộp".into() } else { value.join("; ") },
                        }
                    })
                    .collect();
                p.sections.push(("Giấy tờ kèm theo".into(), files));
            }
        }
    }
    Ok(p)
}

/// The components with what the draft has for each, and the stored documents that could fill
/// them (the document store's offers).
async fn components(state: &AppState, j: &Journey) -> Result<Vec<ComponentRow>, PageError> {
    let today = local_date(state.clock.now());
    let stored = state.store.stored_documents(&j.person.identity).await?;
    let offers = cqs_domain::docstore::offers(&j.version.spec.components, &stored, today);
    let files = j.draft.as_ref().map(|d| d.files.clone()).unwrap_or_default();
    Ok(j.version
        .spec
        .components
        .iter()
        .map(|c| {
            let exts: Vec<&str> = c.file_types.iter().map(|t| t.extension()).collect();
            let chosen = j.answers.reuse.get(&c.code);
            ComponentRow {
                none_chosen: chosen.is_none(),
                code: c.code.clone(),
                input: file_input(&c.code),
                name: c.name.clone(),
                required: c.required,
                types: exts.join(", "),
                accept: exts.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(","),
                files: files
                    .iter()
                    .filter(|f| f.component == c.code)
                    .map(|f| (f.id, f.file_name.clone(), fmt::size(f.size)))
                    .collect(),
                offers: offers
                    .iter()
                    .filter(|o| o.component == c.code)
                    .flat_map(|o| o.documents.iter())
                    .map(|d| StoredChoice {
                        id: d.id,
                        title: d.title.clone(),
                        detail: format!("{}, hồ sơ {}", d.issuer, d.dossier_code),
                        chosen: chosen == Some(&d.id),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// `GET /nop-ho-so/{code}?buoc=`.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<StepQuery>,
) -> PageResult<Response> {
    let j = journey(&state, &caller, &code).await?;
    let step = j.step(q.buoc.as_deref()).ok_or_else(PageError::not_found)?;
    Ok(render(StatusCode::OK, &page(&state, &caller, &j, step, FormErrors::default(), Vec::new()).await?))
}

/// Problems with the answers of one step (all steps for `Step::Check`), as page errors keyed by
/// input id.
fn check_step(j: &Journey, step: Step) -> FormErrors {
    let mut errors = FormErrors::default();
    let a = &j.answers;
    if matches!(step, Step::Unit | Step::Check) {
        if !j.units.iter().any(|u| u.0 == a.unit) {
            errors.add("noi-nop", "Chọn nơi nộp hồ sơ");
        }
        if let Err(e) = applicant(j).check() {
            for fe in e {
                let id = fe.field.trim_start_matches("/applicant/").to_owned();
                errors.add(id, fe.message);
            }
        }
    }
    if let Step::Form(i) = step {
        let data = form_data(j.form.schema(), &a.form);
        if let Err(e) = j.form.validate(&data) {
            for fe in e {
                let key = fe.field.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
                if j.pages[i].contains(&key) {
                    errors.add(input_id(&key), fe.message);
                }
            }
        }
    }
    if step == Step::Files {
        let files = j.draft.as_ref().map(|d| d.files.as_slice()).unwrap_or_default();
        for c in j.version.spec.components.iter().filter(|c| c.required) {
            if !files.iter().any(|f| f.component == c.code) && !a.reuse.contains_key(&c.code) {
                errors.add(file_input(&c.code), format!("{}: chưa có tệp nào", c.name));
            }
        }
    }
    errors
}

fn applicant(j: &Journey) -> ApplicantInput {
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    ApplicantInput {
        kind: ApplicantKind::Person,
        identity_kind: IdentityKind::Citizen,
        identity_number: j.person.identity.clone(),
        name: j.person.name.clone(),
        phone: opt(&j.answers.phone),
        email: opt(&j.answers.email),
        address: opt(&j.answers.address),
    }
}

/// `POST /nop-ho-so/{code}`: the answers of one step (unit and contact, or a page of the form).
/// They are saved whatever their state; the person moves on only when they are right.
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: Request,
) -> PageResult<Response> {
    let mut j = journey(&state, &caller, &code).await?;
    let fields: Vec<(String, String)> = crate::ui::read_form(req, &state).await?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned());
    let step = j.step(get("buoc").as_deref()).ok_or_else(PageError::not_found)?;
    let mut errors = FormErrors::default();
    let clip = |s: String, errors: &mut FormErrors, id: &str| {
        if s.chars().count() > ANSWER_MAX_CHARS {
            errors.add(id, format!("Không được dài quá {ANSWER_MAX_CHARS} ký tự"));
        }
        cqs_domain::text::nfc(&s.chars().take(ANSWER_MAX_CHARS).collect::<String>())
    };
    match step {
        Step::Unit => {
            j.answers.unit = get("unit").unwrap_or_default();
            // People write numbers with spaces and dots: 0912 345 678, 0912.345.678.
            j.answers.phone = clip(get("phone").unwrap_or_default(), &mut errors, "phone").replace([' ', '.', '-'], "");
            j.answers.email = clip(get("email").unwrap_or_default(), &mut errors, "email");
            j.answers.address = clip(get("address").unwrap_or_default(), &mut errors, "address");
        }
        Step::Form(i) => {
            for k in j.pages[i].clone() {
                let v = clip(get(&k).unwrap_or_default(), &mut errors, &input_id(&k));
                j.answers.form.insert(k, v);
            }
        }
        Step::Files | Step::Check => return Err(PageError::not_found()),
    }
    save(&state, &j).await?;
    if get("luu").is_some() {
        return Ok(Redirect::to(&format!("{}?da-luu-nhap", super::mine::MINE)).into_response());
    }
    let mut problems = check_step(&j, step);
    problems.0.extend(errors.0);
    if !problems.is_empty() {
        let page = page(&state, &caller, &j, step, problems, Vec::new()).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    Ok(Redirect::to(&format!("{}?buoc={}", base(&code), j.next(step).slug())).into_response())
}

/// `POST /nop-ho-so/{code}/giay-to` (multipart, the CSRF field first): files for the
/// components and the stored documents chosen instead; then on to the check page if every
/// required component has something.
pub async fn documents(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: Request,
) -> Response {
    let htmx = req.headers().contains_key("hx-request");
    let res = match upload(state, caller, code, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if !htmx {
        return res;
    }
    // Sent by htmx (to show upload progress): a redirect becomes a full navigation, and any
    // other answer is shown in place (htmx leaves 4xx answers unshown).
    if res.status().is_redirection() {
        let mut r = StatusCode::OK.into_response();
        if let Some(to) = res.headers().get(axum::http::header::LOCATION) {
            r.headers_mut().insert("hx-redirect", to.clone());
        }
        return r;
    }
    let mut res = res;
    *res.status_mut() = StatusCode::OK;
    res
}

async fn upload(state: AppState, caller: Caller, code: String, req: Request) -> PageResult<Response> {
    let mut j = journey(&state, &caller, &code).await?;
    let draft_id = j.draft_id(&state).await?;
    let bad = || {
        PageError::new(StatusCode::BAD_REQUEST, "Biểu mẫu gửi lên không hợp lệ")
            .detail("Hãy quay lại trang trước, tải lại trang và gửi lại.")
    };
    let mut mp = Multipart::from_request(req, &state).await.map_err(|_| bad())?;
    let mut uploads: Vec<(String, String, Vec<u8>)> = Vec::new();
    let mut chosen: BTreeMap<String, Uuid> = BTreeMap::new();
    let mut save_only = false;
    let mut errors = FormErrors::default();
    let limit = state.limits.attachment;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Các tệp gửi lên vượt quá dung lượng cho phép",
                ));
            }
            Err(_) => return Err(bad()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(component) = name.strip_prefix("dung-") {
            let v = field.text().await.map_err(|_| bad())?;
            if let Ok(id) = Uuid::parse_str(v.trim()) {
                chosen.insert(component.to_owned(), id);
            }
            continue;
        }
        if name == "luu" {
            save_only = true;
            continue;
        }
        let Some(component) = name.strip_prefix("tep-").map(str::to_owned) else { continue };
        let raw_name = field.file_name().unwrap_or_default().to_owned();
        let file_name = safe_file_name(&raw_name);
        let mut bytes = Vec::new();
        let mut too_big = false;
        while let Some(chunk) = field.chunk().await.map_err(|_| bad())? {
            if bytes.len() + chunk.len() > limit {
                too_big = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        if too_big {
            errors.add(file_input(&component), format!("Tệp {file_name} vượt quá {} MB", limit / (1024 * 1024)));
            while field.chunk().await.map_err(|_| bad())?.is_some() {}
            continue;
        }
        if raw_name.is_empty() && bytes.is_empty() {
            continue;
        }
        uploads.push((component, file_name, bytes));
    }
    // The stored documents chosen: only the person's own offers count.
    let rows = components(&state, &j).await?;
    j.answers.reuse = chosen
        .into_iter()
        .filter(|(c, id)| rows.iter().any(|r| r.code == *c && r.offers.iter().any(|o| o.id == *id)))
        .collect();
    save(&state, &j).await?;
    let existing = j.draft.as_ref().map_or(0, |d| d.files.len());
    let existing_bytes: i64 = j.draft.as_ref().map_or(0, |d| d.files.iter().map(|f| f.size).sum());
    let new_bytes: usize = uploads.iter().map(|u| u.2.len()).sum();
    if existing + uploads.len() > state.limits.files_per_submission {
        errors.add(
            rows.first().map(|r| r.input.clone()).unwrap_or_default(),
            format!("Tối đa {} tệp trong một hồ sơ", state.limits.files_per_submission),
        );
    } else if existing_bytes as usize + new_bytes > state.limits.submission_body {
        errors.add(
            rows.first().map(|r| r.input.clone()).unwrap_or_default(),
            format!("Tổng dung lượng các tệp vượt quá {} MB", state.limits.submission_body / (1024 * 1024)),
        );
    } else if !uploads.is_empty() {
        let checked: Vec<UploadedFile> = uploads
            .iter()
            .map(|(c, n, b)| UploadedFile {
                component: c.clone(),
                file_name: n.clone(),
                detected: sniff(b),
                size: b.len() as u64,
            })
            .collect();
        match check_supplement(&j.version.spec, &checked) {
            Err(problems) => {
                for p in problems {
                    let id = p.field.strip_prefix("/files/").map(file_input).unwrap_or_default();
                    errors.add(id, format!("{}: {}", p.label, p.message));
                }
            }
            Ok(()) => {
                let now = state.clock.now();
                for (component, file_name, bytes) in uploads {
                    let content_type = sniff(&bytes).map_or("application/octet-stream", |t| t.mime()).to_owned();
                    let pending = state.files.put_pending(bytes).await.map_err(|e| {
                        tracing::error!(error = %e, "writing a draft file failed");
                        PageError::internal()
                    })?;
                    let file = DraftFile {
                        id: Uuid::now_v7(),
                        component,
                        file_name,
                        content_type,
                        size: pending.size as i64,
                        sha256: pending.sha256.clone(),
                        storage_key: pending.key.clone(),
                        created_at: now,
                    };
                    if let Err(e) = state.store.add_draft_file(draft_id, &file).await {
                        state.files.discard(&pending.key).await;
                        return Err(e.into());
                    }
                    if let Err(e) = state.files.promote(&pending.key).await {
                        tracing::warn!(error = %e, "promoting a draft file failed");
                    }
                }
            }
        }
    }
    j.draft = state.store.draft(j.person.account, &code).await?;
    if save_only && errors.is_empty() {
        return Ok(Redirect::to(&format!("{}?da-luu-nhap", super::mine::MINE)).into_response());
    }
    if errors.is_empty() {
        errors = check_step(&j, Step::Files);
    }
    if !errors.is_empty() {
        let page = page(&state, &caller, &j, Step::Files, errors, Vec::new()).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    Ok(Redirect::to(&format!("{}?buoc=kiem-tra", base(&code))).into_response())
}

/// `POST /nop-ho-so/{code}/giay-to/{id}/xoa`: removes an uploaded file from the draft.
pub async fn remove_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, id)): Path<(String, String)>,
) -> PageResult<Response> {
    let j = journey(&state, &caller, &code).await?;
    let (Some(draft), Ok(id)) = (&j.draft, Uuid::parse_str(&id)) else { return Err(PageError::not_found()) };
    let key = state.store.remove_draft_file(draft.id, id).await?.ok_or_else(PageError::not_found)?;
    state.files.delete(&key).await;
    Ok(Redirect::to(&format!("{}?buoc=giay-to", base(&code))).into_response())
}

/// `POST /nop-ho-so/{code}/xoa-nhap`: throws the draft away, files too.
pub async fn discard(State(state): State<AppState>, caller: Caller, Path(code): Path<String>) -> PageResult<Response> {
    let j = journey(&state, &caller, &code).await?;
    if let Some(d) = &j.draft {
        for key in state.store.delete_draft(d.id).await? {
            state.files.delete(&key).await;
        }
    }
    Ok(Redirect::to(&base(&code)).into_response())
}

/// Where a field error of the whole submission is fixed.
fn problem_link(j: &Journey, e: &FieldError) -> Problem {
    let code = j.code();
    let at = |s: Step, id: &str| format!("{}?buoc={}#{id}", base(&code), s.slug());
    let href = if let Some(key) = e.field.strip_prefix("/form_data/") {
        let key = key.split('/').next().unwrap_or_default();
        let page = j.pages.iter().position(|p| p.iter().any(|k| k == key)).unwrap_or(0);
        at(Step::Form(page), &input_id(key))
    } else if let Some(c) = e.field.strip_prefix("/files/").or_else(|| e.field.strip_prefix("/reuse/")) {
        at(Step::Files, &file_input(c))
    } else if let Some(f) = e.field.strip_prefix("/applicant/") {
        at(Step::Unit, f)
    } else {
        at(Step::Unit, "noi-nop")
    };
    Problem { href, message: format!("{}: {}", e.label, e.message) }
}

/// `POST /nop-ho-so/{code}/nop`: submits the draft through the API's own submission path, with
/// the draft's id as the idempotency key (pressing twice gives one dossier), then removes the
/// draft and shows the confirmation.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    req: Request,
) -> PageResult<Response> {
    let j = journey(&state, &caller, &code).await?;
    let fields: Vec<(String, String)> = crate::ui::read_form(req, &state).await?;
    let Some(draft) = j.draft.clone() else {
        return Ok(Redirect::to(&base(&code)).into_response());
    };
    let mut problems: Vec<Problem> = Vec::new();
    if !fields.iter().any(|(k, v)| k == "cam_doan" && v == "co") {
        problems.push(Problem {
            href: "#cam_doan".into(), message: "Đánh dấu vào ô cam đoan để nộp hồ sơ".into()
        });
    }
    for step in [Step::Unit, Step::Files] {
        if step == Step::Files && j.version.spec.components.is_empty() {
            continue;
        }
        for e in check_step(&j, step).0 {
            problems.push(Problem {
                href: format!("{}?buoc={}#{}", base(&code), step.slug(), e.field),
                message: e.message,
            });
        }
    }
    if !problems.is_empty() {
        let p = page(&state, &caller, &j, Step::Check, FormErrors::default(), problems).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    let mut received = Vec::with_capacity(draft.files.len());
    for f in &draft.files {
        let bytes = state.files.read_checked(&f.storage_key, &f.sha256).await.map_err(|e| {
            tracing::error!(error = %e, "a draft file is unreadable");
            PageError::internal()
        })?;
        received.push(ReceivedFile { component: f.component.clone(), file_name: f.file_name.clone(), bytes });
    }
    let body = SubmitRequest {
        procedure_code: code.clone(),
        receiving_unit: j.answers.unit.clone(),
        channel: Channel::Online,
        applicant: applicant(&j),
        form_data: form_data(j.form.schema(), &j.answers.form),
        reuse: j.answers.reuse.iter().map(|(c, id)| Reuse { component: c.clone(), document_id: *id }).collect(),
        note: None,
    };
    let receipt = match create(&state, &caller, Some(format!("draft-{}", draft.id)), body, received).await {
        Ok(Submitted::Created(r) | Submitted::Replayed(r)) => r,
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY && !e.errors.is_empty() => {
            let problems = e.errors.iter().map(|fe| problem_link(&j, fe)).collect();
            let p = page(&state, &caller, &j, Step::Check, FormErrors::default(), problems).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
        Err(e) => return Err(e.into()),
    };
    for key in state.store.delete_draft(draft.id).await? {
        state.files.delete(&key).await;
    }
    Ok(Redirect::to(&format!("{}/{}/da-nop", super::mine::MINE, receipt.code)).into_response())
}

#[derive(Template)]
#[template(path = "portal/submitted.html")]
pub struct SubmittedPage {
    chrome: Chrome,
    code: String,
    procedure: String,
    received: String,
    due: Option<String>,
    qr: String,
    lookup: String,
}

/// `GET /ho-so-cua-toi/{code}/da-nop`: the confirmation, with the code, the due date and a QR
/// code of the public lookup page.
pub async fn submitted(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let ctx = super::mine::own_page(&state, &caller, &code).await?;
    let d = &ctx.dossier;
    let lookup = state.documents.lookup_url(d.code.as_str());
    let svg = qrcode::QrCode::new(lookup.as_bytes())
        .map_err(|_| PageError::internal())?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build();
    let page = SubmittedPage {
        chrome: Chrome::portal("Đã nộp hồ sơ", "mine").for_caller(&caller),
        code: d.code.to_string(),
        procedure: ctx.version.spec.name.clone(),
        received: fmt::datetime(d.received_at),
        due: d.due_at.map(fmt::datetime),
        qr: format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)),
        lookup: format!("/tra-cuu?ma={}", d.code),
    };
    Ok(render(StatusCode::OK, &page))
}
