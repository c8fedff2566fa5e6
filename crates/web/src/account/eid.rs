//! Sign-in through an external e-ID provider: the sign-in page's button posts to
//! `/dang-nhap/dinh-danh/{provider}`, which sends the browser to the provider; the provider sends
//! it back to `/dang-nhap/dinh-danh/{provider}/ket-qua`. Both call [`crate::identity::eid`].

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::local_path;
use super::sign_in::CITIZEN_HOME;
use crate::AppState;
use crate::auth::Caller;
use crate::identity::ClientContext;
use crate::identity::eid::{self, Callback, EidRefusal, Finished};
use crate::ui::{PageError, PageResult, read_form};

#[derive(Debug, Deserialize)]
pub struct StartPost {
    #[serde(default)]
    tiep: String,
}

fn refusal_page(r: &EidRefusal) -> PageError {
    let (status, title, detail) = match r {
        EidRefusal::UnknownProvider => (StatusCode::NOT_FOUND, "Không có nhà cung cấp định danh này", ""),
        EidRefusal::ProviderUnavailable => (
            StatusCode::BAD_GATEWAY,
            "Chưa kết nối được hệ thống định danh điện tử",
            "Vui lòng thử lại sau ít phút, hoặc đăng nhập bằng số định danh và mật khẩu.",
        ),
        EidRefusal::UnknownLogin => (
            StatusCode::BAD_REQUEST,
            "Phiên đăng nhập bằng định danh điện tử không hợp lệ hoặc đã hết hạn",
            "Mỗi lần đăng nhập chỉ dùng được một lần và trong vòng vài phút, trên chính trình duyệt đã bắt đầu. \
             Vui lòng đăng nhập lại.",
        ),
        EidRefusal::ProviderError(_) => (
            StatusCode::UNAUTHORIZED,
            "Chưa đăng nhập được bằng tài khoản định danh điện tử",
            "Hệ thống định danh điện tử không xác nhận việc đăng nhập (có thể bạn đã hủy). Vui lòng thử lại.",
        ),
        EidRefusal::TokenRejected => (
            StatusCode::UNAUTHORIZED,
            "Không xác thực được thông tin từ hệ thống định danh điện tử",
            "Vui lòng đăng nhập lại. Nếu lỗi lặp lại, hãy liên hệ bộ phận hỗ trợ của Cổng Dịch vụ công.",
        ),
        EidRefusal::NoIdentityNumber => (
            StatusCode::FORBIDDEN,
            "Tài khoản định danh điện tử không có số định danh cá nhân",
            "Cổng Dịch vụ công cần số định danh cá nhân (12 chữ số) để nhận biết bạn.",
        ),
        EidRefusal::UnverifiedIdentityNumber => (
            StatusCode::FORBIDDEN,
            "Số định danh cá nhân chưa được xác minh",
            "Hệ thống định danh điện tử chưa xác nhận số định danh của bạn, nên chưa thể dùng tài khoản này để \
             đăng nhập. Bạn có thể đăng nhập bằng số định danh và mật khẩu.",
        ),
        EidRefusal::NoName => (
            StatusCode::FORBIDDEN,
            "Tài khoản định danh điện tử không cho biết họ và tên",
            "Cần họ và tên để mở tài khoản trên Cổng Dịch vụ công.",
        ),
        EidRefusal::IdentityMismatch => (
            StatusCode::FORBIDDEN,
            "Số định danh không khớp với tài khoản đã liên kết",
            "Vui lòng liên hệ bộ phận hỗ trợ của Cổng Dịch vụ công.",
        ),
        EidRefusal::Disabled => (StatusCode::FORBIDDEN, "Tài khoản đã bị khóa", "Vui lòng liên hệ quản trị hệ thống."),
    };
    let page = PageError::new(status, title);
    if detail.is_empty() { page } else { page.detail(detail) }
}

/// `POST /dang-nhap/dinh-danh/{nha_cung_cap}`: sends the browser to the provider.
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    req: axum::extract::Request,
) -> PageResult {
    let headers = req.headers().clone();
    let p: StartPost = read_form(req, &state).await?;
    match eid::begin(&state, &provider, local_path(Some(&p.tiep)), &headers).await? {
        Ok(started) => {
            let mut res = Redirect::to(&started.url).into_response();
            res.headers_mut().insert(header::SET_COOKIE, started.cookie);
            res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(r) => Err(refusal_page(&r)),
    }
}

/// `GET /dang-nhap/dinh-danh/{nha_cung_cap}/ket-qua?code=&state=`: where the provider sends the
/// browser back.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    caller: Caller,
    client: ClientContext,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> PageResult {
    let mut res: Response = match eid::finish(&state, &provider, cb, &headers, &client, &caller).await? {
        Finished::SignedIn { started, return_to } => {
            let mut res = Redirect::to(&return_to.unwrap_or_else(|| CITIZEN_HOME.to_owned())).into_response();
            res.headers_mut().append(header::SET_COOKIE, started.cookie(&state.auth));
            res
        }
        Finished::Refused(r) => refusal_page(&r).into_response(),
    };
    res.headers_mut().append(header::SET_COOKIE, eid::clear_browser_cookie(&state.eid));
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(res)
}
