//! The staff console (hệ thống một cửa điện tử): the inbox, the dossier page with the actions
//! the officer may take, counter intake of a walk-in applicant's dossier with its receipt, the
//! unit's statistics. Every page is for staff only; handlers call the API's own functions
//! (`api::inbox::list`, `api::workflow::{apply, available_actions}`, the dossier loaders,
//! `api::dossiers::create`, `api::statistics::unit_report`), so who may see and do what is
//! decided in one place. The administration pages (`admin`, `/can-bo/quan-tri`) are for the
//! root unit's administrators.

pub mod admin;
mod dashboard;
mod dossier;
mod inbox;
pub mod intake;

use axum::Router;
use axum::routing::{get, post};
use cqs_domain::auth::Principal;

use crate::AppState;
use crate::auth::Caller;
use crate::ui::PageError;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(admin::router())
        .route("/can-bo", get(inbox::inbox))
        .route("/can-bo/thong-ke", get(dashboard::dashboard))
        .route("/can-bo/ho-so/{code}", get(dossier::page))
        .route("/can-bo/ho-so/{code}/thao-tac", post(dossier::act))
        .route("/can-bo/ho-so/{code}/tep/{id}", get(dossier::file))
        .route("/can-bo/ho-so/{code}/bien-nhan", get(intake::receipt))
        .route(intake::START, get(intake::choose))
        // The handler limits each file and the total as a submission does; this lifts axum's
        // 2 MB default.
        .route(
            "/can-bo/tiep-nhan/{code}",
            get(intake::form).post(intake::take).layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024)),
        )
}

/// Staff only: anyone else is sent to the staff sign-in page (anonymous), which brings them
/// back to `back`, or told that the console is not theirs.
pub fn require_staff(caller: &Caller, back: &str) -> Result<(), PageError> {
    match &caller.0 {
        Principal::Staff { .. } => Ok(()),
        Principal::Anonymous => Err(PageError::sign_in("/can-bo/dang-nhap", back)),
        _ => Err(PageError::new(axum::http::StatusCode::FORBIDDEN, "Trang này chỉ dành cho cán bộ")
            .detail("Người dân theo dõi hồ sơ tại mục Hồ sơ của tôi trên Cổng Dịch vụ công.")),
    }
}

/// Working minutes as officers read them: `7 giờ 30 phút`, `2 ngày 1 giờ` (8-hour days).
pub fn working_time(minutes: i64) -> String {
    let m = minutes.max(0);
    let (days, hours, mins) = (m / 480, (m % 480) / 60, m % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} ngày"));
    }
    if hours > 0 {
        parts.push(format!("{hours} giờ"));
    }
    if mins > 0 || parts.is_empty() {
        parts.push(format!("{mins} phút"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn working_time_reads_in_days_hours_minutes() {
        assert_eq!(super::working_time(0), "0 phút");
        assert_eq!(super::working_time(450), "7 giờ 30 phút");
        assert_eq!(super::working_time(1020), "2 ngày 1 giờ");
        assert_eq!(super::working_time(-5), "0 phút");
    }
}
