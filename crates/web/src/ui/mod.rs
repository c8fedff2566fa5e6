//! What every server-rendered page shares: the layout's context ([`Chrome`]), form errors shown
//! beside fields and in a summary, HTML problem pages, security headers, formatting and the
//! embedded static assets. Pages are askama templates under `web/templates`; each works without
//! JavaScript, and htmx only makes some of them quicker.

pub mod assets;
pub mod chart;
pub mod eform;
pub mod fmt;

use askama::Template;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use cqs_domain::form::FieldError;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::Caller;
use crate::error::ApiError;

/// Which half of the site a page belongs to; the header and navigation differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Portal,
    Console,
}

/// The layout's context: title, area, navigation, who is signed in, the CSRF token for forms.
pub struct Chrome {
    pub title: String,
    pub area: Area,
    /// Key of the navigation entry to mark as current.
    pub current: &'static str,
    pub assets: &'static assets::AssetUrls,
    /// Display name of the signed-in person, if they signed in with a session.
    pub viewer: Option<String>,
    /// Whether the viewer is a citizen (the portal shows "Hồ sơ của tôi" and the account links).
    pub citizen: bool,
    /// The session's CSRF token, which every form posts back and htmx sends as a header
    /// (empty without a session: the guard then asks for none).
    pub csrf: String,
    /// Whether the viewer holds the administrator role somewhere (the navigation shows
    /// "Quản trị"; the pages themselves check the role at the root unit).
    pub admin: bool,
}

impl Chrome {
    pub fn portal(title: impl Into<String>, current: &'static str) -> Self {
        Self {
            title: title.into(),
            area: Area::Portal,
            current,
            assets: assets::urls(),
            viewer: None,
            citizen: false,
            csrf: String::new(),
            admin: false,
        }
    }

    pub fn console(title: impl Into<String>, current: &'static str) -> Self {
        Self { area: Area::Console, ..Self::portal(title, current) }
    }

    /// The layout for this caller: who is signed in and the token their forms carry.
    pub fn for_caller(mut self, caller: &Caller) -> Self {
        if let Some(s) = caller.session() {
            self.viewer = Some(s.display_name.clone());
            self.csrf = s.csrf_token.clone();
            self.citizen = s.account.kind == cqs_domain::identity::AccountKind::Citizen;
        }
        if let cqs_domain::auth::Principal::Staff { grants, .. } = &caller.0 {
            self.admin = grants.iter().any(|g| g.role == cqs_domain::auth::Role::Admin);
        }
        self
    }

    /// The `hx-headers` value that makes htmx requests carry the CSRF token.
    pub fn htmx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }

    pub fn is_console(&self) -> bool {
        self.area == Area::Console
    }
}

/// Problems with a submitted form: shown in the error summary at the top (each linking to its
/// field) and again beside each field.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(pub Vec<FormError>);

#[derive(Debug, Clone)]
pub struct FormError {
    /// The `id` of the input the message belongs to.
    pub field: String,
    pub message: String,
}

impl FormErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FormError { field: field.into(), message: message.into() });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The first message for a field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// Domain field errors (JSON pointers) as page errors; `id` maps a pointer to an input id.
    pub fn from_fields(errors: &[FieldError], id: impl Fn(&str) -> String) -> Self {
        Self(errors.iter().map(|e| FormError { field: id(&e.field), message: e.message.clone() }).collect())
    }
}

/// A problem page: 404, 403, 400, 500 … as HTML with a plain Vietnamese explanation.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub detail: Option<String>,
    /// Instead of a problem page, send the browser here (303): a page that needs sign-in
    /// sends an anonymous visitor to the sign-in page, which brings them back.
    pub redirect: Option<String>,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    chrome: Chrome,
    status: u16,
    title: &'a str,
    detail: Option<&'a str>,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        Self { status, title: title.into(), detail: None, redirect: None }
    }
    /// Sends the visitor to `sign_in_page` and, once signed in, back to `back_to`.
    pub fn sign_in(sign_in_page: &str, back_to: &str) -> Self {
        let mut e = Self::new(StatusCode::SEE_OTHER, "Cần đăng nhập");
        e.redirect = Some(format!("{sign_in_page}?tiep={}", crate::portal::encode(back_to)));
        e
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Không tìm thấy trang").detail(
            "Địa chỉ có thể đã bị gõ sai hoặc trang đã được chuyển đi. Hãy kiểm tra lại địa chỉ, hoặc tìm thủ tục từ trang chủ.",
        )
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Hệ thống đang gặp sự cố")
            .detail("Thông tin bạn đã gửi không bị mất. Vui lòng thử lại sau ít phút.")
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND => Self::new(StatusCode::NOT_FOUND, e.title)
                .detail("Hãy kiểm tra lại địa chỉ hoặc mã đã nhập, hoặc tìm từ trang chủ."),
            StatusCode::UNAUTHORIZED => {
                Self::new(StatusCode::UNAUTHORIZED, "Bạn cần đăng nhập để xem trang này").detail(e.title)
            }
            StatusCode::FORBIDDEN => {
                Self::new(StatusCode::FORBIDDEN, "Bạn không có quyền xem trang này").detail(e.title)
            }
            s if s.is_server_error() => {
                let mut p = Self::internal();
                p.status = s;
                p
            }
            s => Self { status: s, title: e.title, detail: e.detail, redirect: None },
        }
    }
}

impl From<cqs_store::StoreError> for PageError {
    fn from(e: cqs_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Some(to) = &self.redirect {
            return axum::response::Redirect::to(to).into_response();
        }
        let mut chrome = Chrome::portal(self.title.clone(), "");
        chrome.title = self.title.clone();
        let page =
            ProblemPage { chrome, status: self.status.as_u16(), title: &self.title, detail: self.detail.as_deref() };
        render(self.status, &page)
    }
}

/// Renders a template with a status; a template that fails to render is logged and becomes a
/// plain 500 (it cannot render the problem page either).
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Hệ thống đang gặp sự cố").into_response()
        }
    }
}

/// Reads a posted form after the caller has been authorized (so nobody learns the form's shape
/// without the right to use it); a malformed body is a 400 page.
pub async fn read_form<T: serde::de::DeserializeOwned, S: Send + Sync>(
    req: axum::extract::Request,
    state: &S,
) -> Result<T, PageError> {
    use axum::extract::FromRequest;
    axum::Form::<T>::from_request(req, state).await.map(|f| f.0).map_err(|_| {
        PageError::new(StatusCode::BAD_REQUEST, "Biểu mẫu gửi lên không hợp lệ")
            .detail("Hãy quay lại trang trước, tải lại trang và gửi lại.")
    })
}

pub type PageResult<T = Response> = Result<T, PageError>;

/// Headers every page carries: a strict content security policy (scripts and styles only from
/// our own origin; htmx is told not to inject its inline style), no framing by others, no
/// referrer leaking dossier codes to other sites, and no caching of pages by shared caches.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
        object-src 'none'; frame-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'";
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .layer(set(header::CACHE_CONTROL, "private, no-cache"))
}
