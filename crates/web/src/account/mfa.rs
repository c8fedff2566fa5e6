//! Two-step sign-in pages: the second step of a staff sign-in (`/can-bo/dang-nhap/buoc-hai`:
//! a code from the authenticator app, or setting one up when the role requires it), and a staff
//! member's own settings (`/tai-khoan/xac-thuc-hai-buoc`: turn on, new recovery codes, turn
//! off where allowed). They call [`crate::identity::mfa`], as the API does.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use base64::Engine;
use cqs_domain::identity::{AccountKind, SessionStage};
use cqs_store::User;
use serde::Deserialize;

use super::local_path;
use super::sign_in::{Back, STAFF_HOME};
use crate::AppState;
use crate::auth::Caller;
use crate::identity::ClientContext;
use crate::identity::mfa::{self, ChangeOutcome, Enrolment, MfaStatus, SecondStepOutcome};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, read_form, render};

/// Where the second step of a staff sign-in happens.
pub const SECOND_STEP: &str = "/can-bo/dang-nhap/buoc-hai";
/// A staff member's two-step settings.
pub const SETTINGS: &str = "/tai-khoan/xac-thuc-hai-buoc";

/// What an authenticator app needs, ready for a page.
pub struct Setup {
    /// `data:` URL of the QR code (an SVG image), allowed by the pages' CSP.
    pub qr: String,
    /// The secret in groups of four, for typing in by hand.
    pub secret: String,
}

impl From<Enrolment> for Setup {
    fn from(e: Enrolment) -> Self {
        let qr = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(e.qr_svg));
        let secret = e
            .provisioning
            .secret_base32
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        Self { qr, secret }
    }
}

#[derive(Template)]
#[template(path = "account/second_step.html")]
pub struct SecondStepPage {
    chrome: Chrome,
    /// Set when the account must set up an authenticator first.
    setup: Option<Setup>,
    back: String,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
pub struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
    /// Where "Tiếp tục" leads.
    next: String,
    /// Shown right after enrolment (rather than after asking for new codes).
    enrolled: bool,
}

fn second_step_chrome() -> Chrome {
    Chrome::console("Xác thực hai bước", "sign-in")
}

/// `GET /can-bo/dang-nhap/buoc-hai?tiep=`.
pub async fn second_step_form(State(state): State<AppState>, headers: HeaderMap, Query(b): Query<Back>) -> PageResult {
    let back = local_path(b.tiep.as_deref()).unwrap_or_default();
    let Some(pending) = mfa::pending(&state, &headers).await? else {
        return Ok(Redirect::to("/can-bo/dang-nhap").into_response());
    };
    let setup = enrolment_setup(&state, &pending).await?;
    Ok(render(
        StatusCode::OK,
        &SecondStepPage { chrome: second_step_chrome(), setup, back, errors: FormErrors::default() },
    ))
}

async fn enrolment_setup(state: &AppState, pending: &mfa::Pending) -> PageResult<Option<Setup>> {
    if pending.session.stage != SessionStage::MfaEnrolment {
        return Ok(None);
    }
    Ok(mfa::begin_enrolment(state, &pending.user).await?.map(Setup::from))
}

#[derive(Debug, Deserialize)]
pub struct CodePost {
    #[serde(default)]
    code: String,
    #[serde(default)]
    tiep: String,
}

/// `POST /can-bo/dang-nhap/buoc-hai`.
pub async fn second_step_submit(
    State(state): State<AppState>,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    let pending = mfa::pending(&state, req.headers()).await?;
    let p: CodePost = read_form(req, &state).await?;
    let back = local_path(Some(&p.tiep));
    let Some(pending) = pending else {
        return Err(PageError::new(StatusCode::UNAUTHORIZED, "Phiên đăng nhập đã hết hạn")
            .detail("Bạn cần nhập mã trong vòng 10 phút sau khi nhập mật khẩu. Vui lòng đăng nhập lại."));
    };
    let mut page = SecondStepPage {
        chrome: second_step_chrome(),
        setup: None,
        back: back.clone().unwrap_or_default(),
        errors: FormErrors::default(),
    };
    let (status, message) = if p.code.trim().is_empty() {
        (StatusCode::UNPROCESSABLE_ENTITY, "Nhập mã gồm 6 chữ số từ ứng dụng xác thực".to_owned())
    } else {
        match mfa::complete(&state, &pending, &p.code, &client).await? {
            SecondStepOutcome::SignedIn { started, recovery_codes } => {
                let to = back.unwrap_or_else(|| STAFF_HOME.to_owned());
                let mut res = match recovery_codes {
                    Some(codes) => render(
                        StatusCode::OK,
                        &RecoveryCodesPage {
                            chrome: Chrome::console("Mã dự phòng", "account"),
                            codes,
                            next: to,
                            enrolled: true,
                        },
                    ),
                    None => Redirect::to(&to).into_response(),
                };
                res.headers_mut().insert(header::SET_COOKIE, started.cookie(&state.auth));
                return Ok(res);
            }
            SecondStepOutcome::InvalidCode => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Mã không đúng hoặc đã được dùng. Nhập mã đang hiện trên ứng dụng, hoặc một mã dự phòng".to_owned(),
            ),
            SecondStepOutcome::Locked { until } => (StatusCode::TOO_MANY_REQUESTS, locked_message(&state, until)),
        }
    };
    page.errors.add("code", message);
    page.setup = enrolment_setup(&state, &pending).await?;
    Ok(render(status, &page))
}

fn locked_message(state: &AppState, until: chrono::DateTime<chrono::Utc>) -> String {
    let minutes = ((until - state.clock.now()).num_seconds().max(1) + 59) / 60;
    format!("Nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút (lúc {})", fmt::time(until))
}

#[derive(Template)]
#[template(path = "account/mfa_settings.html")]
pub struct SettingsPage {
    chrome: Chrome,
    status: MfaStatus,
    /// While turning it on: the authenticator to scan.
    setup: Option<Setup>,
    errors: FormErrors,
    /// Which form the errors belong to.
    form: &'static str,
    done: Option<&'static str>,
}

/// Signed in as staff with a session, or sent to the staff sign-in page.
async fn staff_of(state: &AppState, caller: &Caller) -> PageResult<User> {
    let session = caller.session().ok_or_else(|| PageError::sign_in("/can-bo/dang-nhap", SETTINGS))?;
    if session.account.kind != AccountKind::Staff {
        return Err(PageError::new(StatusCode::FORBIDDEN, "Trang này dành cho cán bộ")
            .detail("Xác thực hai bước dùng cho tài khoản cán bộ, công chức."));
    }
    state.store.user_by_id(session.account.id).await?.ok_or_else(PageError::not_found)
}

async fn settings_page(state: &AppState, caller: &Caller, user: &User) -> PageResult<SettingsPage> {
    let status = mfa::status(state, user.id, &user.grants).await?;
    let setup = if status.enabled { None } else { mfa::begin_enrolment(state, user).await?.map(Setup::from) };
    Ok(SettingsPage {
        chrome: Chrome::console("Xác thực hai bước", "account").for_caller(caller),
        status,
        setup,
        errors: FormErrors::default(),
        form: "",
        done: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    xong: Option<String>,
}

/// `GET /tai-khoan/xac-thuc-hai-buoc`.
pub async fn settings(State(state): State<AppState>, caller: Caller, Query(d): Query<Done>) -> PageResult {
    let user = staff_of(&state, &caller).await?;
    let mut page = settings_page(&state, &caller, &user).await?;
    page.done = match d.xong.as_deref() {
        Some("tat") => Some("Đã tắt xác thực hai bước."),
        _ => None,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct SettingsPost {
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
}

/// `POST /tai-khoan/xac-thuc-hai-buoc`: `action` is `confirm`, `renew` or `disable`.
pub async fn settings_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    let user = staff_of(&state, &caller).await?;
    let p: SettingsPost = read_form(req, &state).await?;
    let outcome = match p.action.as_str() {
        "confirm" => mfa::confirm_enrolment(&state, &user, &p.code, &client).await?,
        "renew" => mfa::renew_recovery_codes(&state, &user, &p.code, &client).await?,
        "disable" => mfa::disable(&state, &user, &p.code, &client).await?,
        _ => return Err(PageError::new(StatusCode::BAD_REQUEST, "Thao tác không hợp lệ")),
    };
    let form = match p.action.as_str() {
        "confirm" => "confirm",
        "renew" => "renew",
        _ => "disable",
    };
    let message = match outcome {
        ChangeOutcome::Codes(codes) => {
            let page = RecoveryCodesPage {
                chrome: Chrome::console("Mã dự phòng", "account").for_caller(&caller),
                codes,
                next: SETTINGS.to_owned(),
                enrolled: form == "confirm",
            };
            return Ok(render(StatusCode::OK, &page));
        }
        ChangeOutcome::Done => return Ok(Redirect::to(&format!("{SETTINGS}?xong=tat")).into_response()),
        ChangeOutcome::Required => "Vai trò của bạn bắt buộc xác thực hai bước, không thể tắt".to_owned(),
        ChangeOutcome::NotEnabled => "Tài khoản chưa bật xác thực hai bước".to_owned(),
        ChangeOutcome::Rejected => "Mã không đúng hoặc đã được dùng".to_owned(),
        ChangeOutcome::Locked { until } => locked_message(&state, until),
    };
    let mut page = settings_page(&state, &caller, &user).await?;
    page.errors.add(format!("code-{form}"), message);
    page.form = form;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
