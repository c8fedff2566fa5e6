//! Org units: the tree with each unit's QCVN 102 code, kind and validity, and a form that adds a
//! unit or edits one's name, parent, kind and start date. Changes go through
//! `Store::upsert_org_units`, the function `cqs demo` and the province loaders use.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use cqs_domain::ids::AgencyCode;
use cqs_domain::org::{OrgUnit, OrgUnitKind, OrgUnitSpec};
use uuid::Uuid;

use super::{chrome, require_admin};
use crate::AppState;
use crate::auth::Caller;
use crate::ui::{Chrome, FormErrors, PageResult, render};

const PATH: &str = "/can-bo/quan-tri/don-vi";

const KINDS: [OrgUnitKind; 6] = [
    OrgUnitKind::ProvinceCommittee,
    OrgUnitKind::ServiceCentre,
    OrgUnitKind::Department,
    OrgUnitKind::Division,
    OrgUnitKind::District,
    OrgUnitKind::Commune,
];

pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub depth: usize,
    pub validity: String,
    pub valid_today: bool,
}

/// The units depth first from the roots, children by code; units whose parent is missing are
/// listed as roots.
pub fn tree(units: &[OrgUnit]) -> Vec<(usize, &OrgUnit)> {
    let ids: std::collections::HashSet<Uuid> = units.iter().map(|u| u.id).collect();
    let mut children: HashMap<Option<Uuid>, Vec<&OrgUnit>> = HashMap::new();
    for u in units {
        let parent = u.parent_id.filter(|p| ids.contains(p) && *p != u.id);
        children.entry(parent).or_default().push(u);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
    }
    let mut out = Vec::new();
    let mut stack: Vec<(usize, &OrgUnit)> =
        children.get(&None).map(|l| l.iter().rev().map(|u| (0, *u)).collect()).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    while let Some((d, u)) = stack.pop() {
        if !seen.insert(u.id) {
            continue;
        }
        out.push((d, u));
        if let Some(kids) = children.get(&Some(u.id)) {
            stack.extend(kids.iter().rev().map(|k| (d + 1, *k)));
        }
    }
    out
}

/// What the form holds, as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct UnitForm {
    /// The code of the unit being edited; empty when adding one.
    #[serde(default)]
    pub sua: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub valid_from: String,
}

/// Checks the form against the current units and builds the spec to upsert. Editing keeps what
/// the form does not show (short name, end date, successor, address, phone).
pub fn check(f: &UnitForm, units: &[OrgUnit], errors: &mut FormErrors) -> Option<OrgUnitSpec> {
    let editing = units.iter().find(|u| !f.sua.is_empty() && u.code.as_str() == f.sua);
    let code_text = if editing.is_some() { f.sua.trim() } else { f.code.trim() };
    let code = match AgencyCode::parse(code_text) {
        Ok(c) => Some(c),
        Err(_) => {
            errors.add(
                "code",
                "Mã định danh không đúng dạng QCVN 102:2016/BTTTT: bốn nhóm số cách nhau bằng dấu chấm, nhóm cuối là chữ in hoa và hai chữ số, ví dụ 000.00.31.H99",
            );
            None
        }
    };
    if editing.is_none() && !f.sua.is_empty() {
        errors.add("code", format!("Không có đơn vị mã {} để sửa", f.sua));
    }
    if editing.is_none()
        && let Some(c) = &code
        && units.iter().any(|u| &u.code == c)
    {
        errors.add("code", format!("Đã có đơn vị mã {c}; chọn Sửa ở dòng của đơn vị đó"));
    }
    let name = cqs_domain::text::nfc(&f.name);
    if name.is_empty() {
        errors.add("name", "Nhập tên đơn vị");
    } else if name.chars().count() > 300 {
        errors.add("name", "Tên đơn vị không dài quá 300 ký tự");
    }
    let kind = OrgUnitKind::parse(&f.kind);
    if kind.is_none() {
        errors.add("kind", "Chọn loại đơn vị");
    }
    let parent = match f.parent.trim() {
        "" => None,
        p => match units.iter().find(|u| u.code.as_str() == p) {
            None => {
                errors.add("parent", "Chọn đơn vị cấp trên trong danh sách");
                None
            }
            Some(pu) => {
                if let Some(me) = editing
                    && (pu.id == me.id || descends_from(pu, me.id, units))
                {
                    errors.add("parent", "Đơn vị cấp trên không được là chính đơn vị này hoặc đơn vị trực thuộc nó");
                }
                Some(pu.code.clone())
            }
        },
    };
    let valid_from = match NaiveDate::parse_from_str(f.valid_from.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add("valid_from", "Nhập ngày bắt đầu hiệu lực, ví dụ 01/07/2025");
            None
        }
    };
    if let (Some(me), Some(d)) = (editing, valid_from)
        && me.valid_to.is_some_and(|to| to < d)
    {
        errors.add("valid_from", "Ngày bắt đầu hiệu lực sau ngày hết hiệu lực của đơn vị");
    }
    if !errors.is_empty() {
        return None;
    }
    let by_id = |id: Option<Uuid>| id.and_then(|id| units.iter().find(|u| u.id == id)).map(|u| u.code.clone());
    Some(OrgUnitSpec {
        code: code?,
        name,
        short_name: editing.and_then(|u| u.short_name.clone()),
        kind: kind?,
        parent,
        valid_from: valid_from?,
        valid_to: editing.and_then(|u| u.valid_to),
        successor: editing.and_then(|u| by_id(u.successor_id)),
        address: editing.and_then(|u| u.address.clone()),
        phone: editing.and_then(|u| u.phone.clone()),
    })
}

/// Whether `u` is below the unit `ancestor` in the tree.
fn descends_from(u: &OrgUnit, ancestor: Uuid, units: &[OrgUnit]) -> bool {
    let mut at = u.parent_id;
    let mut steps = 0;
    while let Some(id) = at {
        if id == ancestor {
            return true;
        }
        steps += 1;
        if steps > units.len() {
            return false;
        }
        at = units.iter().find(|x| x.id == id).and_then(|x| x.parent_id);
    }
    false
}

#[derive(Template)]
#[template(path = "console/admin/units.html")]
pub struct UnitsPage {
    chrome: Chrome,
    rows: Vec<UnitRow>,
    form: UnitForm,
    editing: bool,
    errors: FormErrors,
    kinds: Vec<(&'static str, &'static str)>,
    parents: Vec<(String, String)>,
    saved: Option<String>,
}

async fn render_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    form: UnitForm,
    errors: FormErrors,
    saved: Option<String>,
) -> PageResult<Response> {
    let units = state.store.org_units().await?;
    let today = cqs_domain::dossier::local_date(state.clock.now());
    let rows = tree(&units)
        .into_iter()
        .map(|(depth, u)| UnitRow {
            code: u.code.to_string(),
            name: u.name.clone(),
            kind: u.kind.label_vi(),
            depth,
            validity: match u.valid_to {
                Some(to) => format!("{} – {}", u.valid_from.format("%d/%m/%Y"), to.format("%d/%m/%Y")),
                None => format!("từ {}", u.valid_from.format("%d/%m/%Y")),
            },
            valid_today: u.is_valid_on(today),
        })
        .collect();
    let page = UnitsPage {
        chrome: chrome("Đơn vị", caller),
        rows,
        editing: !form.sua.is_empty(),
        form,
        errors,
        kinds: KINDS.iter().map(|k| (k.as_str(), k.label_vi())).collect(),
        parents: units.iter().map(|u| (u.code.to_string(), format!("{} ({})", u.name, u.code))).collect(),
        saved,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct UnitsQuery {
    sua: Option<String>,
    da_luu: Option<String>,
}

/// `GET /can-bo/quan-tri/don-vi[?sua=<code>]`: the tree, and the form (filled in to edit one).
pub async fn list(State(state): State<AppState>, caller: Caller, Query(q): Query<UnitsQuery>) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let mut form =
        UnitForm { valid_from: cqs_domain::dossier::local_date(state.clock.now()).to_string(), ..Default::default() };
    if let Some(code) = q.sua.as_deref().filter(|c| !c.is_empty()) {
        let units = state.store.org_units().await?;
        let u = units.iter().find(|u| u.code.as_str() == code).ok_or_else(crate::ui::PageError::not_found)?;
        form = UnitForm {
            sua: code.to_owned(),
            code: code.to_owned(),
            name: u.name.clone(),
            kind: u.kind.as_str().to_owned(),
            parent: u
                .parent_id
                .and_then(|p| units.iter().find(|x| x.id == p))
                .map(|p| p.code.to_string())
                .unwrap_or_default(),
            valid_from: u.valid_from.to_string(),
        };
    }
    render_page(&state, &caller, StatusCode::OK, form, FormErrors::default(), q.da_luu).await
}

/// `POST /can-bo/quan-tri/don-vi`: adds or updates one unit.
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    axum::Form(f): axum::Form<UnitForm>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let units = state.store.org_units().await?;
    let mut errors = FormErrors::default();
    let Some(spec) = check(&f, &units, &mut errors) else {
        return render_page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, f, errors, None).await;
    };
    state.store.upsert_org_units(std::slice::from_ref(&spec)).await?;
    Ok(Redirect::to(&format!("{PATH}?da_luu={}", crate::portal::encode(spec.code.as_str()))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, parent: Option<Uuid>) -> OrgUnit {
        OrgUnit {
            id: Uuid::now_v7(),
            code: AgencyCode::parse(code).unwrap(),
            name: format!("Đơn vị {code}"),
            short_name: None,
            kind: OrgUnitKind::Commune,
            parent_id: parent,
            valid_from: "2025-07-01".parse().unwrap(),
            valid_to: None,
            successor_id: None,
            address: Some("Số 1".into()),
            phone: None,
        }
    }

    fn form(sua: &str, code: &str, parent: &str) -> UnitForm {
        UnitForm {
            sua: sua.into(),
            code: code.into(),
            name: "UBND xã Mới".into(),
            kind: "commune".into(),
            parent: parent.into(),
            valid_from: "2025-07-01".into(),
        }
    }

    #[test]
    fn units_are_checked_before_they_are_written() {
        let root = unit("000.00.00.H99", None);
        let child = unit("000.00.31.H99", Some(root.id));
        let units = vec![root, child];
        let mut e = FormErrors::default();
        let spec = check(&form("", "000.00.40.H99", "000.00.00.H99"), &units, &mut e).unwrap();
        assert_eq!(spec.parent.unwrap().as_str(), "000.00.00.H99");
        for (f, field) in [
            (form("", "00.00.40.H99", ""), "code"),
            (form("", "000.00.31.H99", ""), "code"),
            (form("", "000.00.41.H99", "000.00.99.H99"), "parent"),
            (form("000.00.00.H99", "", "000.00.31.H99"), "parent"),
            (UnitForm { name: " ".into(), ..form("", "000.00.42.H99", "") }, "name"),
            (UnitForm { valid_from: "1/7/2025".into(), ..form("", "000.00.42.H99", "") }, "valid_from"),
        ] {
            let mut e = FormErrors::default();
            assert!(check(&f, &units, &mut e).is_none() && e.has(field), "{f:?}");
        }
        // Editing keeps what the form does not show, and the code cannot be changed.
        let mut e = FormErrors::default();
        let edited = check(&form("000.00.31.H99", "999.99.99.Z99", "000.00.00.H99"), &units, &mut e).unwrap();
        assert_eq!((edited.code.as_str(), edited.address.as_deref()), ("000.00.31.H99", Some("Số 1")));
    }

    #[test]
    fn the_tree_lists_children_under_their_parent() {
        let root = unit("000.00.00.H99", None);
        let b = unit("000.00.32.H99", Some(root.id));
        let a = unit("000.00.31.H99", Some(root.id));
        let units = vec![b.clone(), a.clone(), root.clone()];
        let t: Vec<_> = tree(&units).into_iter().map(|(d, u)| (d, u.code.to_string())).collect();
        assert_eq!(t, vec![(0, "000.00.00.H99".into()), (1, "000.00.31.H99".into()), (1, "000.00.32.H99".into())]);
    }
}
