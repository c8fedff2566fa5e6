//! `/tai-khoan`: who is signed in, and every browser signed in to the account, each of which
//! can be signed out from here (a lost phone, a shared computer).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::identity::{AccountKind, SessionCheck};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::ui::{Chrome, PageError, PageResult, fmt, render};

pub struct Fact {
    pub label: &'static str,
    pub value: String,
    /// A link beside the value: (address, text).
    pub action: Option<(String, &'static str)>,
}

pub struct SessionRow {
    pub id: Uuid,
    pub browser: String,
    pub address: String,
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/account.html")]
pub struct AccountPage {
    chrome: Chrome,
    facts: Vec<Fact>,
    sessions: Vec<SessionRow>,
    done: bool,
    /// Just verified a contact.
    verified: bool,
    /// Staff only: their two-step sign-in.
    mfa: Option<crate::identity::mfa::MfaStatus>,
}

/// A browser's name from its user agent, enough for a person to recognise their own devices.
fn browser_name(ua: Option<&str>) -> String {
    let Some(ua) = ua else { return "Không rõ trình duyệt".into() };
    let browser = [("Edg/", "Edge"), ("OPR/", "Opera"), ("CocCoc", "Cốc Cốc"), ("Firefox/", "Firefox")]
        .iter()
        .find(|(k, _)| ua.contains(k))
        .map(|(_, n)| *n)
        .or_else(|| {
            if ua.contains("Chrome/") || ua.contains("Chromium/") {
                Some("Chrome")
            } else if ua.contains("Safari/") {
                Some("Safari")
            } else {
                None
            }
        });
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, n)| *n);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} trên {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("Trình duyệt trên {s}"),
        (None, None) => "Trình duyệt khác".to_owned(),
    }
}

/// Signed in with a session, or sent to the sign-in page.
fn require_session(caller: &Caller) -> Result<&crate::auth::SessionInfo, PageError> {
    caller.session().ok_or_else(|| PageError::sign_in("/dang-nhap", "/tai-khoan"))
}

/// `GET /tai-khoan`.
pub async fn account(
    State(state): State<AppState>,
    caller: Caller,
    query: axum::extract::RawQuery,
) -> PageResult<Response> {
    let session = require_session(&caller)?;
    let staff = session.account.kind == AccountKind::Staff;
    let chrome =
        if staff { Chrome::console("Tài khoản", "account") } else { Chrome::portal("Tài khoản", "account") };
    let mut facts = Vec::new();
    let mut mfa = None;
    match session.account.kind {
        AccountKind::Staff => {
            if let Some(u) = state.store.user_by_id(session.account.id).await? {
                let units = state.store.org_units().await?;
                facts.push(Fact { label: "Họ và tên", value: u.full_name, action: None });
                facts.push(Fact { label: "Tên đăng nhập", value: u.username, action: None });
                let roles: Vec<String> = u
                    .grants
                    .iter()
                    .map(|g| {
                        let unit = units.iter().find(|x| x.id == g.org_unit_id).map_or("", |x| x.name.as_str());
                        format!("{} – {unit}", g.role.label_vi())
                    })
                    .collect();
                facts.push(Fact { label: "Vai trò", value: roles.join("; "), action: None });
                mfa = Some(crate::identity::mfa::status(&state, u.id, &u.grants).await?);
            }
        }
        AccountKind::Citizen => {
            if let Some(c) = state.store.citizen_by_id(session.account.id).await? {
                facts.push(Fact { label: "Họ và tên", value: c.full_name, action: None });
                facts.push(Fact { label: "Số định danh cá nhân", value: c.identity_number, action: None });
                let said = |v: Option<String>, verified: bool| match v {
                    Some(v) if verified => format!("{v} (đã xác minh)"),
                    Some(v) => format!("{v} (chưa xác minh)"),
                    None => "Chưa khai báo".to_owned(),
                };
                let phone_ok = c.phone_verified_at.is_some();
                let email_ok = c.email_verified_at.is_some();
                let verify = |has: bool, ok: bool, slug: &str| {
                    (has && !ok).then(|| (format!("/tai-khoan/xac-minh/{slug}"), "Xác minh"))
                };
                facts.push(Fact {
                    label: "Số điện thoại",
                    action: verify(c.phone.is_some(), phone_ok, "dien-thoai"),
                    value: said(c.phone.as_deref().map(fmt::phone), phone_ok),
                });
                facts.push(Fact {
                    label: "Thư điện tử",
                    action: verify(c.email.is_some(), email_ok, "thu-dien-tu"),
                    value: said(c.email, email_ok),
                });
            }
        }
    }
    let now = state.clock.now();
    let sessions = state
        .store
        .sessions_of(session.account, now)
        .await?
        .into_iter()
        .filter(|s| {
            matches!(state.auth.session.check(s.last_seen_at, s.expires_at, false, now), SessionCheck::Active { .. })
        })
        .map(|s| SessionRow {
            current: s.id == session.id,
            browser: browser_name(s.user_agent.as_deref()),
            address: s.ip.unwrap_or_else(|| "không rõ".into()),
            signed_in: fmt::datetime(s.created_at),
            last_seen: fmt::datetime(s.last_seen_at),
            id: s.id,
        })
        .collect();
    let done = query.0.as_deref().is_some_and(|q| q.contains("da-ket-thuc"));
    let verified = query.0.as_deref().is_some_and(|q| q.contains("da-xac-minh"));
    Ok(render(
        StatusCode::OK,
        &AccountPage { chrome: chrome.for_caller(&caller), facts, sessions, done, verified, mfa },
    ))
}

/// `POST /tai-khoan/phien/{id}/ket-thuc`: signs another browser out. Ending the current
/// session this way is a sign-out.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    client: crate::identity::ClientContext,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let session = require_session(&caller)?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::not_found())?;
    if !state.store.revoke_session(session.account, id, state.clock.now()).await? {
        return Err(PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy phiên đăng nhập này")
            .detail("Phiên có thể đã kết thúc. Hãy tải lại trang tài khoản."));
    }
    let kind = cqs_domain::identity::SecurityEventKind::SessionRevoked;
    crate::auth::audit::record(&state, kind, Some(session.account), &client, None, Some(format!("phiên {id}"))).await;
    if id == session.id {
        let clear = crate::auth::session::clear_cookie(&state.auth);
        let mut res = Redirect::to("/da-dang-xuat").into_response();
        res.headers_mut().insert(axum::http::header::SET_COOKIE, clear);
        return Ok(res);
    }
    Ok(Redirect::to("/tai-khoan?da-ket-thuc").into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn browsers_are_named_for_people() {
        let chrome_android = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(super::browser_name(Some(chrome_android)), "Chrome trên Android");
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(super::browser_name(Some(safari_iphone)), "Safari trên iPhone");
        assert_eq!(super::browser_name(Some("curl/8.5")), "Trình duyệt khác");
        assert_eq!(super::browser_name(None), "Không rõ trình duyệt");
    }
}
