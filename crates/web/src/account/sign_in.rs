//! Sign-in, registration and sign-out pages. Each form posts back to its own address; a
//! problem re-renders the form with the summary and the message beside the field (422), a
//! success redirects (303) with the session cookie set.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::identity::{AccountKind, RegistrationInput};
use serde::Deserialize;

use super::local_path;
use crate::AppState;
use crate::auth::Caller;
use crate::identity::{self, ClientContext, RegisterOutcome, SignInInput, SignInOutcome};
use crate::ui::{Chrome, FormErrors, PageResult, fmt, read_form, render};

/// Where a citizen goes after signing in when no page asked for it.
pub const CITIZEN_HOME: &str = "/tai-khoan";
/// Where staff go after signing in.
pub const STAFF_HOME: &str = "/can-bo";

#[derive(Debug, Default, Deserialize)]
pub struct Back {
    pub tiep: Option<String>,
    /// Set after a password reset (`?da-dat-lai`): the sign-in page says so.
    #[serde(rename = "da-dat-lai")]
    pub reset_done: Option<String>,
}

#[derive(Template)]
#[template(path = "account/sign_in.html")]
pub struct SignInPage {
    chrome: Chrome,
    staff: bool,
    login: String,
    back: String,
    errors: FormErrors,
    /// Who is signed in already, if anyone (the form then switches account).
    current: Option<String>,
    reset_done: bool,
    /// External e-ID providers citizens may sign in with.
    providers: Vec<crate::identity::eid::ProviderSummary>,
}

fn sign_in_page(state: &AppState, kind: AccountKind, caller: &Caller, back: Option<String>) -> SignInPage {
    let staff = kind == AccountKind::Staff;
    let chrome = if staff {
        Chrome::console("Đăng nhập dành cho cán bộ", "sign-in")
    } else {
        Chrome::portal("Đăng nhập", "sign-in")
    }
    .for_caller(caller);
    SignInPage {
        current: chrome.viewer.clone(),
        chrome,
        staff,
        login: String::new(),
        back: back.unwrap_or_default(),
        errors: FormErrors::default(),
        reset_done: false,
        providers: if staff { Vec::new() } else { state.eid.list() },
    }
}

/// `GET /dang-nhap?tiep=`.
pub async fn citizen_form(State(state): State<AppState>, caller: Caller, Query(b): Query<Back>) -> Response {
    let mut page = sign_in_page(&state, AccountKind::Citizen, &caller, local_path(b.tiep.as_deref()));
    page.reset_done = b.reset_done.is_some();
    render(StatusCode::OK, &page)
}

/// `GET /can-bo/dang-nhap?tiep=`.
pub async fn staff_form(State(state): State<AppState>, caller: Caller, Query(b): Query<Back>) -> Response {
    render(StatusCode::OK, &sign_in_page(&state, AccountKind::Staff, &caller, local_path(b.tiep.as_deref())))
}

#[derive(Debug, Deserialize)]
pub struct SignInPost {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    tiep: String,
}

/// `POST /dang-nhap`.
pub async fn citizen_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    submit(state, caller, client, AccountKind::Citizen, req).await
}

/// `POST /can-bo/dang-nhap`.
pub async fn staff_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    submit(state, caller, client, AccountKind::Staff, req).await
}

async fn submit(
    state: AppState,
    caller: Caller,
    client: ClientContext,
    kind: AccountKind,
    req: axum::extract::Request,
) -> PageResult {
    let p: SignInPost = read_form(req, &state).await?;
    let back = local_path(Some(&p.tiep));
    let mut page = sign_in_page(&state, kind, &caller, back.clone());
    page.login = p.login.trim().to_owned();
    let login_label = if kind == AccountKind::Staff {
        "tên đăng nhập"
    } else {
        "số định danh, điện thoại hoặc thư điện tử"
    };
    if page.login.is_empty() {
        page.errors.add("login", format!("Nhập {login_label}"));
    }
    if p.password.is_empty() {
        page.errors.add("password", "Nhập mật khẩu");
    }
    if !page.errors.is_empty() {
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let input = SignInInput { kind, login: page.login.clone(), password: p.password };
    match identity::sign_in(&state, input, &client, &caller).await? {
        SignInOutcome::SignedIn(started) => {
            let home = if kind == AccountKind::Staff { STAFF_HOME } else { CITIZEN_HOME };
            let to = back.unwrap_or_else(|| home.to_owned());
            let mut res = Redirect::to(&to).into_response();
            res.headers_mut().insert(header::SET_COOKIE, started.cookie(&state.auth));
            Ok(res)
        }
        SignInOutcome::SecondStep(pending) => {
            let mut to = super::mfa::SECOND_STEP.to_owned();
            if let Some(back) = &back {
                to = format!("{to}?tiep={}", crate::portal::encode(back));
            }
            let mut res = Redirect::to(&to).into_response();
            res.headers_mut().insert(header::SET_COOKIE, pending.cookie(&state));
            Ok(res)
        }
        SignInOutcome::InvalidCredentials => {
            page.errors.add("login", format!("Sai {login_label} hoặc mật khẩu"));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        SignInOutcome::Disabled => {
            page.errors.add("login", "Tài khoản đã bị khóa. Vui lòng liên hệ quản trị hệ thống");
            Ok(render(StatusCode::FORBIDDEN, &page))
        }
        SignInOutcome::Locked { until } => {
            let minutes = ((until - state.clock.now()).num_seconds().max(1) + 59) / 60;
            page.errors.add(
                "login",
                format!("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút (lúc {})", fmt::time(until)),
            );
            let mut res = render(StatusCode::TOO_MANY_REQUESTS, &page);
            if let Ok(v) = axum::http::HeaderValue::from_str(&(minutes * 60).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "account/register.html")]
pub struct RegisterPage {
    chrome: Chrome,
    identity_number: String,
    full_name: String,
    phone: String,
    email: String,
    back: String,
    errors: FormErrors,
}

/// One text input of the registration form.
pub struct Input<'a> {
    pub id: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: &'a str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    /// Digits typed as a code (monospace, numeric keyboard).
    pub code: bool,
}

impl RegisterPage {
    fn inputs(&self) -> Vec<Input<'_>> {
        let input = |id, label, hint, value, kind, autocomplete, code| Input {
            id,
            label,
            hint,
            value,
            kind,
            autocomplete,
            code,
        };
        vec![
            input(
                "identity_number",
                "Số định danh cá nhân",
                "12 chữ số, in trên thẻ căn cước hoặc căn cước công dân",
                &self.identity_number,
                "text",
                "off",
                true,
            ),
            input(
                "full_name",
                "Họ và tên",
                "Viết có dấu, như trên thẻ căn cước",
                &self.full_name,
                "text",
                "name",
                false,
            ),
            input(
                "phone",
                "Số điện thoại di động",
                "Để nhận mã xác minh và thông báo về hồ sơ. Ví dụ 0912345678",
                &self.phone,
                "tel",
                "tel",
                false,
            ),
            input(
                "email",
                "Thư điện tử (không bắt buộc nếu đã có số điện thoại)",
                "Ví dụ ten@example.vn",
                &self.email,
                "email",
                "email",
                false,
            ),
        ]
    }
}

/// `GET /dang-ky?tiep=`.
pub async fn register_form(caller: Caller, Query(b): Query<Back>) -> Response {
    render(
        StatusCode::OK,
        &RegisterPage {
            chrome: Chrome::portal("Đăng ký tài khoản", "sign-in").for_caller(&caller),
            identity_number: String::new(),
            full_name: String::new(),
            phone: String::new(),
            email: String::new(),
            back: local_path(b.tiep.as_deref()).unwrap_or_default(),
            errors: FormErrors::default(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct RegisterPost {
    #[serde(default)]
    identity_number: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    tiep: String,
}

/// `POST /dang-ky`: opens the account and signs the new citizen in.
pub async fn register_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    let p: RegisterPost = read_form(req, &state).await?;
    let back = local_path(Some(&p.tiep));
    let mut page = RegisterPage {
        chrome: Chrome::portal("Đăng ký tài khoản", "sign-in").for_caller(&caller),
        identity_number: p.identity_number.trim().to_owned(),
        full_name: p.full_name.trim().to_owned(),
        phone: p.phone.trim().to_owned(),
        email: p.email.trim().to_owned(),
        back: back.clone().unwrap_or_default(),
        errors: FormErrors::default(),
    };
    let input = RegistrationInput {
        identity_number: page.identity_number.clone(),
        full_name: page.full_name.clone(),
        phone: Some(page.phone.clone()),
        email: Some(page.email.clone()),
        password: p.password.clone(),
    };
    if p.password != p.password_again {
        // Nothing is written: report the other fields' problems with the mismatch.
        let errors = cqs_domain::identity::CitizenRegistration::parse(input, &state.auth.password).err();
        page.errors = FormErrors::from_fields(&errors.unwrap_or_default(), |f| f.trim_start_matches('/').to_owned());
        if !page.errors.has("password") {
            page.errors.add("password_again", "Hai lần nhập mật khẩu không giống nhau");
        }
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let account = match identity::register_citizen(&state, input, &client).await? {
        RegisterOutcome::Registered(account) => account,
        RegisterOutcome::Invalid(errors) => {
            page.errors = FormErrors::from_fields(&errors, |f| f.trim_start_matches('/').to_owned());
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        RegisterOutcome::Taken(field) => {
            let message = match field {
                "phone" => "Số điện thoại này đã được đăng ký. Hãy đăng nhập, hoặc dùng số khác",
                "email" => "Thư điện tử này đã được đăng ký. Hãy đăng nhập, hoặc dùng địa chỉ khác",
                _ => "Số định danh này đã có tài khoản. Hãy đăng nhập",
            };
            page.errors.add(field, message);
            return Ok(render(StatusCode::CONFLICT, &page));
        }
    };
    let started = identity::start_session(
        &state,
        cqs_domain::identity::AccountRef::citizen(account.id),
        account.full_name,
        &client,
        &caller,
    )
    .await?;
    let mut res = Redirect::to(&back.unwrap_or_else(|| CITIZEN_HOME.to_owned())).into_response();
    res.headers_mut().insert(header::SET_COOKIE, started.cookie(&state.auth));
    Ok(res)
}

/// `POST /dang-xuat`: ends the session and clears the cookie.
pub async fn sign_out(State(state): State<AppState>, caller: Caller, client: ClientContext) -> PageResult {
    let staff = caller.session().is_some_and(|s| s.account.kind == AccountKind::Staff);
    let clear = identity::sign_out(&state, &caller, &client).await?;
    let mut res = Redirect::to(if staff { "/da-dang-xuat?can-bo=1" } else { "/da-dang-xuat" }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, clear);
    Ok(res)
}

#[derive(Debug, Default, Deserialize)]
pub struct SignedOutParams {
    #[serde(rename = "can-bo")]
    staff: Option<String>,
}

#[derive(Template)]
#[template(path = "account/signed_out.html")]
pub struct SignedOut {
    chrome: Chrome,
    staff: bool,
}

/// `GET /da-dang-xuat`.
pub async fn signed_out(caller: Caller, Query(p): Query<SignedOutParams>) -> Response {
    let staff = p.staff.is_some();
    let chrome =
        if staff { Chrome::console("Đã đăng xuất", "") } else { Chrome::portal("Đã đăng xuất", "") };
    render(StatusCode::OK, &SignedOut { chrome: chrome.for_caller(&caller), staff })
}
