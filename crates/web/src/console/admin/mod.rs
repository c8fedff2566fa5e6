//! The administration pages ("Quản trị", `/can-bo/quan-tri`): the procedure catalog with the
//! CSV/XLSX import and publishing, staff accounts and their roles, org units, the working
//! calendar and the data-sharing platform's registry. Only an administrator of the province's root unit may open them, the same rule the
//! API applies to catalog writes (`Principal::may_write_catalog`); every change goes through the
//! store functions and API functions the CLI and the JSON API use.

mod calendar;
mod exchange;
mod procedures;
mod units;
mod users;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::Caller;
use crate::ui::{Chrome, PageError, PageResult, render};

pub const HOME: &str = "/can-bo/quan-tri";
/// Largest catalog file the upload takes (the whole province's catalog is far smaller).
pub const IMPORT_MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(HOME, get(home))
        .route(
            "/can-bo/quan-tri/thu-tuc",
            get(procedures::list)
                .post(procedures::upload)
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_MAX_BYTES + 64 * 1024)),
        )
        .route("/can-bo/quan-tri/thu-tuc/{code}/{version}/cong-bo", post(procedures::publish))
        .route("/can-bo/quan-tri/can-bo", get(users::list).post(users::create))
        .route("/can-bo/quan-tri/can-bo/{username}", get(users::page).post(users::change_roles))
        .route("/can-bo/quan-tri/can-bo/{username}/xac-thuc", post(users::reset_mfa))
        .route("/can-bo/quan-tri/don-vi", get(units::list).post(units::save))
        .route("/can-bo/quan-tri/lich", get(calendar::page))
        .merge(exchange::router())
}

/// Administrators of the root unit only: anonymous visitors are sent to the staff sign-in page,
/// citizens and officers without the role are refused.
pub async fn require_admin(state: &AppState, caller: &Caller, back: &str) -> Result<(), PageError> {
    super::require_staff(caller, back)?;
    caller.0.may_write_catalog(root_unit(state).await?).map_err(|_| {
        PageError::new(StatusCode::FORBIDDEN, "Trang này chỉ dành cho quản trị hệ thống")
            .detail("Cần vai trò Quản trị hệ thống tại đơn vị gốc của tỉnh. Nếu cần, hãy liên hệ quản trị.")
    })
}

pub fn chrome(title: &str, caller: &Caller) -> Chrome {
    Chrome::console(title, "admin").for_caller(caller)
}

#[derive(Template)]
#[template(path = "console/admin/home.html")]
struct HomePage {
    chrome: Chrome,
}

/// `GET /can-bo/quan-tri`: the four sections.
pub async fn home(State(state): State<AppState>, caller: Caller) -> PageResult<Response> {
    require_admin(&state, &caller, HOME).await?;
    Ok(render(StatusCode::OK, &HomePage { chrome: chrome("Quản trị", &caller) }))
}
