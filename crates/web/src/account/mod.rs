//! Account pages for both halves of the site: sign-in (citizens at `/dang-nhap`, staff at
//! `/can-bo/dang-nhap`), citizen registration, sign-out, and the account page with the list of
//! open sessions. They call the identity service (`crate::identity`) that the JSON API calls, so
//! lockout, rotation and the security log behave the same whichever way a person signs in.

mod codes;
mod eid;
mod mfa;
mod sessions;
mod sign_in;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dang-nhap", get(sign_in::citizen_form).post(sign_in::citizen_submit))
        .route("/dang-nhap/dinh-danh/{nha_cung_cap}", post(eid::start))
        .route("/dang-nhap/dinh-danh/{nha_cung_cap}/ket-qua", get(eid::callback))
        .route("/can-bo/dang-nhap", get(sign_in::staff_form).post(sign_in::staff_submit))
        .route(mfa::SECOND_STEP, get(mfa::second_step_form).post(mfa::second_step_submit))
        .route(mfa::SETTINGS, get(mfa::settings).post(mfa::settings_submit))
        .route("/dang-ky", get(sign_in::register_form).post(sign_in::register_submit))
        .route("/quen-mat-khau", get(codes::forgot_form).post(codes::forgot_submit))
        .route("/quen-mat-khau/dat-lai", post(codes::reset_submit))
        .route("/tai-khoan/xac-minh/{kenh}", get(codes::verify_form).post(codes::verify_submit))
        .route("/dang-xuat", post(sign_in::sign_out))
        .route("/da-dang-xuat", get(sign_in::signed_out))
        .route("/tai-khoan", get(sessions::account))
        .route("/tai-khoan/phien/{id}/ket-thuc", post(sessions::revoke))
}

/// A return address taken from a query or form: only a path on this site (`/…`, never `//…`
/// or a scheme), so a sign-in link cannot send people to another site afterwards.
pub fn local_path(p: Option<&str>) -> Option<String> {
    let p = p?.trim();
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && p.len() <= 512
        && p.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| p.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        use super::local_path;
        assert_eq!(local_path(Some("/nop-ho-so/1.001193?buoc=2")).as_deref(), Some("/nop-ho-so/1.001193?buoc=2"));
        for bad in ["//evil.example/", "/\\evil.example", "https://evil.example/", "ho-so", "/a b", ""] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
        assert_eq!(local_path(None), None);
    }
}
