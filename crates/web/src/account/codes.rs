//! Pages that use one-time codes: a citizen verifying their e-mail or phone
//! (`/tai-khoan/xac-minh/{thu-dien-tu|dien-thoai}`) and resetting a forgotten password
//! (`/quen-mat-khau`). They call [`crate::identity::codes`], as the API does.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::identity::AccountKind;
use cqs_store::{CitizenAccount, Contact};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::identity::ClientContext;
use crate::identity::codes::{self, ConfirmOutcome, ResetOutcome, SendOutcome};
use crate::ui::{Chrome, FormErrors, PageError, PageResult, fmt, read_form, render};

fn contact_of(slug: &str) -> Option<(Contact, &'static str)> {
    match slug {
        "thu-dien-tu" => Some((Contact::Email, "thư điện tử")),
        "dien-thoai" => Some((Contact::Phone, "số điện thoại")),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "account/verify.html")]
pub struct VerifyPage {
    chrome: Chrome,
    /// `thư điện tử` or `số điện thoại`.
    what: &'static str,
    /// The address, as the account holds it.
    address: String,
    /// Set once a code was sent in this visit: where it went.
    sent_to: Option<String>,
    notice: Option<String>,
    errors: FormErrors,
}

async fn signed_in_citizen(state: &AppState, caller: &Caller, slug: &str) -> PageResult<CitizenAccount> {
    let back = format!("/tai-khoan/xac-minh/{slug}");
    let session = caller.session().ok_or_else(|| PageError::sign_in("/dang-nhap", &back))?;
    if session.account.kind != AccountKind::Citizen {
        return Err(PageError::new(StatusCode::FORBIDDEN, "Trang này dành cho tài khoản công dân"));
    }
    state.store.citizen_by_id(session.account.id).await?.ok_or_else(PageError::not_found)
}

fn verify_page(
    caller: &Caller,
    what: &'static str,
    account: &CitizenAccount,
    contact: Contact,
) -> PageResult<VerifyPage> {
    let address = match contact {
        Contact::Email => account.email.clone(),
        Contact::Phone => account.phone.as_deref().map(fmt::phone),
    };
    let address =
        address.ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, format!("Tài khoản chưa khai báo {what}")))?;
    Ok(VerifyPage {
        chrome: Chrome::portal(format!("Xác minh {what}"), "account").for_caller(caller),
        what,
        address,
        sent_to: None,
        notice: None,
        errors: FormErrors::default(),
    })
}

/// `GET /tai-khoan/xac-minh/{kenh}`.
pub async fn verify_form(State(state): State<AppState>, caller: Caller, Path(slug): Path<String>) -> PageResult {
    let (contact, what) = contact_of(&slug).ok_or_else(PageError::not_found)?;
    let account = signed_in_citizen(&state, &caller, &slug).await?;
    Ok(render(StatusCode::OK, &verify_page(&caller, what, &account, contact)?))
}

#[derive(Debug, Deserialize)]
pub struct VerifyPost {
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
}

fn wait_message(state: &AppState, until: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (until - state.clock.now()).num_seconds().max(1);
    if secs < 120 {
        format!("Mã vừa được gửi. Bạn có thể yêu cầu mã mới sau {secs} giây")
    } else {
        format!("Đã gửi nhiều mã trong một giờ. Bạn có thể yêu cầu mã mới lúc {}", fmt::time(until))
    }
}

fn code_message(outcome: ConfirmOutcome) -> String {
    match outcome {
        ConfirmOutcome::Wrong { left } => format!("Mã không đúng. Còn {left} lần thử"),
        _ => "Mã đã hết hạn hoặc đã nhập sai quá số lần cho phép. Hãy gửi mã mới".to_owned(),
    }
}

/// `POST /tai-khoan/xac-minh/{kenh}`: `action` is `send` (send a code) or `confirm`.
pub async fn verify_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    Path(slug): Path<String>,
    req: axum::extract::Request,
) -> PageResult {
    let (contact, what) = contact_of(&slug).ok_or_else(PageError::not_found)?;
    let account = signed_in_citizen(&state, &caller, &slug).await?;
    let p: VerifyPost = read_form(req, &state).await?;
    let mut page = verify_page(&caller, what, &account, contact)?;
    if p.action == "confirm" {
        if p.code.trim().is_empty() {
            page.errors.add("code", "Nhập mã gồm 6 chữ số đã nhận");
        } else {
            match codes::confirm_verification(&state, &account, contact, &p.code, &client).await? {
                ConfirmOutcome::Done => return Ok(Redirect::to("/tai-khoan?da-xac-minh").into_response()),
                other => page.errors.add("code", code_message(other)),
            }
        }
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    match codes::send_verification(&state, &account, contact).await? {
        SendOutcome::Sent { to, .. } => page.sent_to = Some(to),
        SendOutcome::Wait { until } => page.notice = Some(wait_message(&state, until)),
        SendOutcome::AlreadyVerified => return Ok(Redirect::to("/tai-khoan").into_response()),
        SendOutcome::NoContact => return Err(PageError::not_found()),
    }
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "account/forgot.html")]
pub struct ForgotPage {
    chrome: Chrome,
    login: String,
    /// The second step: the code was asked for, now the code and the new password.
    reset: bool,
    errors: FormErrors,
}

fn forgot_page(caller: &Caller) -> ForgotPage {
    ForgotPage {
        chrome: Chrome::portal("Quên mật khẩu", "sign-in").for_caller(caller),
        login: String::new(),
        reset: false,
        errors: FormErrors::default(),
    }
}

/// `GET /quen-mat-khau`.
pub async fn forgot_form(caller: Caller) -> Response {
    render(StatusCode::OK, &forgot_page(&caller))
}

#[derive(Debug, Deserialize)]
pub struct ForgotPost {
    #[serde(default)]
    login: String,
}

/// `POST /quen-mat-khau`: sends a code if the account exists (the page says the same either way).
pub async fn forgot_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    let p: ForgotPost = read_form(req, &state).await?;
    let mut page = forgot_page(&caller);
    page.login = p.login.trim().to_owned();
    if page.login.is_empty() {
        page.errors.add("login", "Nhập số định danh, số điện thoại hoặc thư điện tử của tài khoản");
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    codes::request_password_reset(&state, &page.login, &client).await?;
    page.reset = true;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct ResetPost {
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

/// `POST /quen-mat-khau/dat-lai`: the code and the new password.
pub async fn reset_submit(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    req: axum::extract::Request,
) -> PageResult {
    let p: ResetPost = read_form(req, &state).await?;
    let mut page = forgot_page(&caller);
    page.login = p.login.trim().to_owned();
    page.reset = true;
    if p.code.trim().is_empty() {
        page.errors.add("code", "Nhập mã gồm 6 chữ số đã nhận");
    }
    if p.password != p.password_again {
        page.errors.add("password_again", "Hai lần nhập mật khẩu không giống nhau");
    }
    if !page.errors.is_empty() {
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    match codes::reset_password(&state, &page.login, &p.code, p.password, &client).await? {
        ResetOutcome::Done => return Ok(Redirect::to("/dang-nhap?da-dat-lai").into_response()),
        ResetOutcome::Invalid(errors) => {
            for e in errors {
                page.errors.add("password", e.message);
            }
        }
        ResetOutcome::Code(outcome) => page.errors.add("code", code_message(outcome)),
    }
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
