//! Staff accounts and their roles: the list with each account's roles per unit, a new account
//! (its first password hashed off the async runtime by `identity::set_staff_password`, as
//! `cqs user password` does), changing an account's role grants and resetting its second step
//! (`identity::mfa::reset`, as `cqs user mfa-reset`). Each change is written to the security
//! log: `staff_changed` for accounts and roles, `password_changed` and `mfa_reset` by the
//! shared functions.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cqs_domain::auth::{Principal, Role, RoleGrant};
use cqs_domain::identity::{AccountRef, SecurityEventKind};
use cqs_domain::org::OrgUnit;
use cqs_store::{NewUser, StoreError, User};
use uuid::Uuid;

use super::{chrome, require_admin};
use crate::AppState;
use crate::api::catalog::root_unit;
use crate::auth::{Caller, audit};
use crate::identity::ClientContext;
use crate::ui::{Chrome, FormErrors, PageError, PageResult, render};

const PATH: &str = "/can-bo/quan-tri/can-bo";

fn user_path(username: &str) -> String {
    format!("{PATH}/{}", crate::portal::encode(username))
}

pub struct GrantRow {
    /// `role@unit-id`, the checkbox value that keeps the grant.
    pub key: String,
    pub role: &'static str,
    pub unit: String,
}

pub struct UserRow {
    pub username: String,
    pub full_name: String,
    pub disabled: bool,
    pub grants: Vec<GrantRow>,
}

pub struct UnitOption {
    pub code: String,
    pub name: String,
}

fn grant_rows(grants: &[RoleGrant], units: &[OrgUnit]) -> Vec<GrantRow> {
    let names: HashMap<Uuid, String> = units.iter().map(|u| (u.id, format!("{} ({})", u.name, u.code))).collect();
    grants
        .iter()
        .map(|g| GrantRow {
            key: grant_key(g),
            role: g.role.label_vi(),
            unit: names.get(&g.org_unit_id).cloned().unwrap_or_else(|| "đơn vị không còn trong danh mục".into()),
        })
        .collect()
}

fn grant_key(g: &RoleGrant) -> String {
    format!("{}@{}", g.role.as_str(), g.org_unit_id)
}

/// The grants as the security log writes them: `role@agency-code`, comma separated.
pub fn grants_text(grants: &[RoleGrant], units: &[OrgUnit]) -> String {
    if grants.is_empty() {
        return "không có vai trò".into();
    }
    grants
        .iter()
        .map(|g| {
            let code = units
                .iter()
                .find(|u| u.id == g.org_unit_id)
                .map_or_else(|| g.org_unit_id.to_string(), |u| u.code.to_string());
            format!("{}@{code}", g.role.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn unit_options(units: &[OrgUnit]) -> Vec<UnitOption> {
    units.iter().map(|u| UnitOption { code: u.code.to_string(), name: format!("{} ({})", u.name, u.code) }).collect()
}

fn roles() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), r.label_vi())).collect()
}

/// A username: 3 to 64 characters, lower-case Latin letters, digits, `.`, `_` and `-`,
/// starting with a letter (it is typed at sign-in and written in logs).
pub fn check_username(s: &str) -> Result<(), &'static str> {
    let n = s.chars().count();
    if n == 0 {
        return Err("Nhập tên đăng nhập");
    }
    if !(3..=64).contains(&n) {
        return Err("Tên đăng nhập dài từ 3 đến 64 ký tự");
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase())
        || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err("Tên đăng nhập bắt đầu bằng chữ cái, chỉ gồm chữ thường không dấu, chữ số và . _ -");
    }
    Ok(())
}

/// The one grant an "add a role" row asks for, if both parts are chosen: `None` when both are
/// empty, an error on the field left out or not known.
pub fn added_grant(
    role: &str,
    unit: &str,
    units: &[OrgUnit],
    errors: &mut FormErrors,
    role_field: &str,
    unit_field: &str,
) -> Option<RoleGrant> {
    let (role, unit) = (role.trim(), unit.trim());
    if role.is_empty() && unit.is_empty() {
        return None;
    }
    let r = Role::parse(role);
    if r.is_none() {
        errors.add(role_field, "Chọn vai trò");
    }
    let u = units.iter().find(|u| u.code.as_str() == unit);
    if u.is_none() {
        errors.add(unit_field, "Chọn đơn vị của vai trò");
    }
    Some(RoleGrant { role: r?, org_unit_id: u?.id })
}

#[derive(Default, Clone)]
pub struct NewEntry {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub role: String,
    pub unit: String,
}

pub struct TextField {
    pub id: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub hint: Option<&'static str>,
    pub autocomplete: &'static str,
}

fn new_fields(e: &NewEntry) -> Vec<TextField> {
    let f = |id, label, kind, value: &str, hint, autocomplete| TextField {
        id,
        label,
        kind,
        value: value.to_owned(),
        hint,
        autocomplete,
    };
    vec![
        f(
            "username",
            "Tên đăng nhập",
            "text",
            &e.username,
            Some("Chữ thường không dấu, chữ số và . _ -, ví dụ: nguyen.van.an"),
            "off",
        ),
        f("full_name", "Họ và tên", "text", &e.full_name, None, "off"),
        f("email", "Thư điện tử (không bắt buộc)", "email", &e.email, None, "off"),
        f(
            "password",
            "Mật khẩu ban đầu",
            "password",
            "",
            Some("Cán bộ nên đổi mật khẩu sau lần đăng nhập đầu"),
            "new-password",
        ),
    ]
}

#[derive(Template)]
#[template(path = "console/admin/users.html")]
pub struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    fields: Vec<TextField>,
    units: Vec<UnitOption>,
    roles: Vec<(&'static str, &'static str)>,
    entry: NewEntry,
    errors: FormErrors,
}

async fn list_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    entry: NewEntry,
    errors: FormErrors,
) -> PageResult<Response> {
    let units = state.store.org_units().await?;
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            grants: grant_rows(&u.grants, &units),
            username: u.username,
            full_name: u.full_name,
            disabled: u.disabled,
        })
        .collect();
    let page = UsersPage {
        chrome: chrome("Cán bộ và vai trò", caller),
        users,
        fields: new_fields(&entry),
        units: unit_options(&units),
        roles: roles(),
        entry,
        errors,
    };
    Ok(render(status, &page))
}

/// `GET /can-bo/quan-tri/can-bo`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    list_page(&state, &caller, StatusCode::OK, NewEntry::default(), FormErrors::default()).await
}

#[derive(Debug, serde::Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit: String,
}

/// Who is acting, for the security log's detail.
async fn actor(state: &AppState, caller: &Caller) -> String {
    match &caller.0 {
        Principal::Staff { user_id, .. } => match state.store.user_by_id(*user_id).await {
            Ok(Some(u)) => u.username,
            _ => user_id.to_string(),
        },
        _ => "không rõ".into(),
    }
}

/// `POST /can-bo/quan-tri/can-bo`: a new staff account with its first password and, if chosen,
/// its first role.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    axum::Form(f): axum::Form<CreateForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let units = state.store.org_units().await?;
    let entry = NewEntry {
        username: f.username.trim().to_owned(),
        full_name: cqs_domain::text::nfc(f.full_name.trim()),
        email: f.email.trim().to_owned(),
        role: f.role.clone(),
        unit: f.unit.clone(),
    };
    let mut errors = FormErrors::default();
    if let Err(m) = check_username(&entry.username) {
        errors.add("username", m);
    }
    if entry.full_name.is_empty() {
        errors.add("full_name", "Nhập họ và tên");
    } else if entry.full_name.chars().count() > 200 {
        errors.add("full_name", "Họ và tên không dài quá 200 ký tự");
    }
    if !entry.email.is_empty() && cqs_domain::identity::Email::parse(&entry.email).is_none() {
        errors.add("email", "Thư điện tử không đúng dạng, ví dụ: ten@example.gov.vn");
    }
    if let Err(p) = state.auth.password.check(&f.password, &[&entry.username, &entry.email]) {
        errors.add("password", p.to_string());
    }
    let grant = added_grant(&f.role, &f.unit, &units, &mut errors, "role", "unit");
    if errors.is_empty() && state.store.user_by_username(&entry.username).await?.is_some() {
        errors.add("username", "Tên đăng nhập này đã có người dùng");
    }
    if !errors.is_empty() {
        return list_page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, entry, errors).await;
    }
    let grants: Vec<RoleGrant> = grant.into_iter().collect();
    let new = NewUser {
        username: entry.username.clone(),
        full_name: entry.full_name.clone(),
        email: Some(entry.email.clone()).filter(|e| !e.is_empty()),
        grants: grants.clone(),
    };
    let user = match state.store.create_user(&new).await {
        Ok(u) => u,
        Err(StoreError::Conflict(_)) => {
            errors.add("username", "Tên đăng nhập này đã có người dùng");
            return list_page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, entry, errors).await;
        }
        Err(e) => return Err(e.into()),
    };
    let detail = format!(
        "tạo tài khoản {} bởi {}; vai trò: {}",
        user.username,
        actor(&state, &caller).await,
        grants_text(&grants, &units)
    );
    audit::record(
        &state,
        SecurityEventKind::StaffChanged,
        Some(AccountRef::staff(user.id)),
        &client,
        Some(PATH),
        Some(detail),
    )
    .await;
    crate::identity::set_staff_password(state.store.as_ref(), &state.auth.password, &user.username, f.password)
        .await
        .map_err(|e| {
        tracing::error!(error = %e, "first password not set");
        PageError::internal()
    })?;
    Ok(Redirect::to(&format!("{}?moi=1", user_path(&user.username))).into_response())
}

#[derive(Template)]
#[template(path = "console/admin/user.html")]
pub struct UserPage {
    chrome: Chrome,
    user: UserRow,
    path: String,
    units: Vec<UnitOption>,
    roles: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    notice: Option<&'static str>,
    add_role: String,
    add_unit: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct UserQuery {
    moi: Option<String>,
    da: Option<String>,
}

async fn find(state: &AppState, username: &str) -> PageResult<User> {
    state.store.user_by_username(username).await?.ok_or_else(PageError::not_found)
}

#[allow(clippy::too_many_arguments)]
async fn user_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    user: User,
    errors: FormErrors,
    notice: Option<&'static str>,
    add_role: String,
    add_unit: String,
) -> PageResult<Response> {
    let units = state.store.org_units().await?;
    let page = UserPage {
        chrome: chrome(&format!("Cán bộ {}", user.username), caller),
        path: user_path(&user.username),
        user: UserRow {
            grants: grant_rows(&user.grants, &units),
            username: user.username,
            full_name: user.full_name,
            disabled: user.disabled,
        },
        units: unit_options(&units),
        roles: roles(),
        errors,
        notice,
        add_role,
        add_unit,
    };
    Ok(render(status, &page))
}

/// `GET /can-bo/quan-tri/can-bo/{username}`.
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    axum::extract::Query(q): axum::extract::Query<UserQuery>,
) -> PageResult<Response> {
    require_admin(&state, &caller, &user_path(&username)).await?;
    let user = find(&state, &username).await?;
    let notice = match (q.moi.is_some(), q.da.as_deref()) {
        (true, _) => Some("Đã tạo tài khoản. Hãy báo mật khẩu ban đầu cho cán bộ qua kênh an toàn."),
        (_, Some("vai-tro")) => Some("Đã lưu vai trò."),
        (_, Some("xac-thuc")) => Some("Đã đặt lại xác thực hai bước; các phiên đăng nhập của cán bộ đã kết thúc."),
        _ => None,
    };
    user_page(&state, &caller, StatusCode::OK, user, FormErrors::default(), notice, String::new(), String::new()).await
}

/// The grants the roles form asks for: the kept ones (checkboxes `giu`, by `role@unit-id`,
/// only among the account's current grants) and the one added, if any; without duplicates.
pub fn requested_grants(
    current: &[RoleGrant],
    pairs: &[(String, String)],
    units: &[OrgUnit],
    errors: &mut FormErrors,
) -> Vec<RoleGrant> {
    let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or_default();
    let mut out: Vec<RoleGrant> =
        current.iter().filter(|g| pairs.iter().any(|(n, v)| n == "giu" && *v == grant_key(g))).copied().collect();
    if let Some(g) =
        added_grant(value("them_vai_tro"), value("them_don_vi"), units, errors, "them_vai_tro", "them_don_vi")
        && !out.contains(&g)
    {
        out.push(g);
    }
    out
}

/// `POST /can-bo/quan-tri/can-bo/{username}`: replaces the account's grants.
pub async fn change_roles(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientContext,
    Path(username): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    require_admin(&state, &caller, &user_path(&username)).await?;
    let user = find(&state, &username).await?;
    let units = state.store.org_units().await?;
    let mut errors = FormErrors::default();
    let grants = requested_grants(&user.grants, &pairs, &units, &mut errors);
    let root = root_unit(&state).await?;
    let me = matches!(&caller.0, Principal::Staff { user_id, .. } if *user_id == user.id);
    if errors.is_empty() && me && !grants.iter().any(|g| g.role == Role::Admin && g.org_unit_id == root) {
        errors.add("vai-tro", "Không thể tự bỏ vai trò Quản trị hệ thống tại đơn vị gốc của chính mình");
    }
    if !errors.is_empty() {
        let value = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let (r, u) = (value("them_vai_tro"), value("them_don_vi"));
        return user_page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, user, errors, None, r, u).await;
    }
    if grants != user.grants {
        state.store.set_user_grants(user.id, &grants).await?;
        let detail = format!(
            "đổi vai trò của {} bởi {}: {} → {}",
            user.username,
            actor(&state, &caller).await,
            grants_text(&user.grants, &units),
            grants_text(&grants, &units)
        );
        let route = "/can-bo/quan-tri/can-bo/{username}";
        audit::record(
            &state,
            SecurityEventKind::StaffChanged,
            Some(AccountRef::staff(user.id)),
            &client,
            Some(route),
            Some(detail),
        )
        .await;
    }
    Ok(Redirect::to(&format!("{}?da=vai-tro", user_path(&user.username))).into_response())
}

/// `POST /can-bo/quan-tri/can-bo/{username}/xac-thuc`: removes the account's authenticator and
/// ends its sessions (recorded as `mfa_reset`).
pub async fn reset_mfa(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> PageResult<Response> {
    require_admin(&state, &caller, &user_path(&username)).await?;
    let user = find(&state, &username).await?;
    crate::identity::mfa::reset(state.store.as_ref(), user.id, state.clock.now()).await?;
    Ok(Redirect::to(&format!("{}?da=xac-thuc", user_path(&user.username))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_plain_lower_case() {
        assert!(check_username("nguyen.van-an_2").is_ok());
        for bad in ["", "ab", "Admin", "1abc", "nguyễn", "a b c", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_roles_form_keeps_checked_grants_and_adds_one() {
        let unit = OrgUnit {
            id: Uuid::now_v7(),
            code: cqs_domain::ids::AgencyCode::parse("000.00.31.H99").unwrap(),
            name: "UBND xã".into(),
            short_name: None,
            kind: cqs_domain::org::OrgUnitKind::Commune,
            parent_id: None,
            valid_from: "2025-07-01".parse().unwrap(),
            valid_to: None,
            successor_id: None,
            address: None,
            phone: None,
        };
        let desk = RoleGrant { role: Role::DeskOfficer, org_unit_id: unit.id };
        let lead = RoleGrant { role: Role::Leader, org_unit_id: unit.id };
        let units = [unit];
        let p = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        let mut e = FormErrors::default();
        // Unchecked: removed; a checkbox for a grant the account does not hold is ignored.
        let forged = format!("admin@{}", units[0].id);
        assert!(requested_grants(&[desk], &p(&[("giu", &forged)]), &units, &mut e).is_empty());
        let kept = grant_key(&desk);
        let got = requested_grants(
            &[desk],
            &p(&[("giu", &kept), ("them_vai_tro", "leader"), ("them_don_vi", "000.00.31.H99")]),
            &units,
            &mut e,
        );
        assert_eq!(got, vec![desk, lead]);
        assert!(e.is_empty());
        let again = requested_grants(
            &[desk],
            &p(&[("giu", &kept), ("them_vai_tro", "desk_officer"), ("them_don_vi", "000.00.31.H99")]),
            &units,
            &mut e,
        );
        assert_eq!(again, vec![desk], "no duplicate");
        requested_grants(&[], &p(&[("them_vai_tro", "leader"), ("them_don_vi", "")]), &units, &mut e);
        assert!(e.has("them_don_vi") && !e.has("them_vai_tro"));
    }
}
