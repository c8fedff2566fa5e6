//! Home, procedure search and browsing, the procedure page and the list of agencies.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use cqs_domain::catalog::{ProcedureVersion, UnitSelector};
use cqs_domain::dossier::local_date;
use cqs_domain::org::{OrgUnit, OrgUnitKind};
use serde::Deserialize;

use super::encode;
use crate::AppState;
use crate::api::catalog::{CatalogFilter, handled_by, in_force_today};
use crate::auth::Caller;
use crate::ui::{Chrome, PageError, PageResult, fmt};

/// One procedure in a list.
pub struct ProcedureItem {
    pub code: String,
    pub name: String,
    pub field: String,
    pub level: &'static str,
    pub online: bool,
    pub deadline: String,
    pub fee: String,
}

impl ProcedureItem {
    fn of(v: &ProcedureVersion, fields: &HashMap<String, String>) -> Self {
        let s = &v.spec;
        let fees: Vec<u64> = s.fees.iter().map(|f| f.amount).collect();
        let fee = match (fees.iter().min(), fees.iter().max()) {
            (None, _) | (_, None) => "Không thu phí".to_owned(),
            (Some(lo), Some(hi)) if lo == hi => fmt::fee(*lo),
            (Some(lo), Some(hi)) => format!("{} – {}", fmt::fee(*lo), fmt::money(*hi)),
        };
        Self {
            code: s.code.to_string(),
            name: s.name.clone(),
            field: fields.get(&s.field).cloned().unwrap_or_else(|| s.field.clone()),
            level: s.online_level.label_vi(),
            online: s.online_level.allows_online_submission(),
            deadline: s.deadline.label_vi(),
            fee,
        }
    }
}

async fn field_names(state: &AppState) -> Result<HashMap<String, String>, PageError> {
    Ok(state.store.fields().await?.into_iter().map(|f| (f.code, f.name)).collect())
}

pub struct FieldLink {
    pub code: String,
    pub name: String,
    pub count: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/home.html")]
pub struct Home {
    chrome: Chrome,
    /// Counted from dossiers received; empty on a new installation.
    most_used: Vec<ProcedureItem>,
    /// Shown instead when nothing has been used yet.
    full_online: Vec<ProcedureItem>,
    fields: Vec<FieldLink>,
    total: usize,
}

/// `GET /`.
pub async fn home(State(state): State<AppState>, caller: Caller) -> PageResult<Home> {
    let versions = in_force_today(&state).await?;
    let names = field_names(&state).await?;
    let usage = state.usage.get(&state).await?;
    let by_code: HashMap<&str, &ProcedureVersion> = versions.iter().map(|v| (v.spec.code.as_str(), v)).collect();
    let most_used: Vec<ProcedureItem> =
        usage.iter().filter_map(|(c, _)| by_code.get(c.as_str())).map(|v| ProcedureItem::of(v, &names)).collect();
    let full_online = if most_used.is_empty() {
        versions
            .iter()
            .filter(|v| v.spec.online_level == cqs_domain::catalog::OnlineLevel::Full)
            .take(8)
            .map(|v| ProcedureItem::of(v, &names))
            .collect()
    } else {
        Vec::new()
    };
    let mut count: HashMap<&str, usize> = HashMap::new();
    for v in &versions {
        *count.entry(v.spec.field.as_str()).or_default() += 1;
    }
    let mut fields: Vec<FieldLink> = names
        .iter()
        .filter_map(|(code, name)| {
            let n = count.get(code.as_str()).copied()?;
            Some(FieldLink { count: n, code: code.clone(), name: name.clone() })
        })
        .collect();
    fields.sort_by_cached_key(|f| cqs_domain::text::fold(&f.name));
    Ok(Home {
        chrome: Chrome::portal("Trang chủ", "home").for_caller(&caller),
        most_used,
        full_online,
        fields,
        total: versions.len(),
    })
}

/// Query of the search page. Every parameter is optional text, read leniently: a link with a
/// bad page number still shows results.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    #[serde(rename = "linh-vuc")]
    field: Option<String>,
    #[serde(rename = "co-quan")]
    unit: Option<String>,
    #[serde(rename = "truc-tuyen")]
    online: Option<String>,
    trang: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/search.html")]
pub struct Search {
    chrome: Chrome,
    q: String,
    fields: Vec<Choice>,
    units: Vec<Choice>,
    online: bool,
    items: Vec<ProcedureItem>,
    total: usize,
    page: usize,
    pages: usize,
    /// Query string without the page, for the pagination links.
    base_query: String,
    /// What the list is filtered by, in words (for the heading).
    filtered_by: Vec<String>,
}

const PER_PAGE: usize = 20;

/// `GET /thu-tuc?q=&linh-vuc=&co-quan=&truc-tuyen=&trang=`.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<SearchParams>,
) -> PageResult<Search> {
    let today = local_date(state.clock.now());
    let q = p.q.as_deref().map(cqs_domain::text::nfc).unwrap_or_default();
    let field = p.field.filter(|f| !f.is_empty());
    let unit_code = p.unit.filter(|u| !u.is_empty());
    let online = p.online.is_some_and(|o| !o.is_empty());
    let all_fields = state.store.fields().await?;
    let all_units: Vec<OrgUnit> = state.store.org_units().await?.into_iter().filter(|u| u.is_valid_on(today)).collect();
    let unit = unit_code.as_ref().and_then(|c| all_units.iter().find(|u| u.code.as_str() == c)).cloned();
    let filter = CatalogFilter {
        text: Some(q.clone()),
        field: field.clone(),
        online: online.then_some(true),
        unit: None,
        agency: unit.clone(),
    };
    // An unknown unit code matches nothing rather than everything.
    let matching = if unit_code.is_some() && unit.is_none() {
        Vec::new()
    } else {
        crate::api::catalog::search(&state, &filter).await?
    };
    let names: HashMap<String, String> = all_fields.iter().map(|f| (f.code.clone(), f.name.clone())).collect();
    let total = matching.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = p.trang.and_then(|t| t.parse::<usize>().ok()).unwrap_or(1).clamp(1, pages);
    let items =
        matching.iter().skip((page - 1) * PER_PAGE).take(PER_PAGE).map(|v| ProcedureItem::of(v, &names)).collect();
    let mut base = vec![format!("q={}", encode(&q))];
    let mut filtered_by = Vec::new();
    if let Some(f) = &field {
        base.push(format!("linh-vuc={}", encode(f)));
        filtered_by.push(format!("lĩnh vực {}", names.get(f).cloned().unwrap_or_else(|| f.clone())));
    }
    if let Some(u) = &unit_code {
        base.push(format!("co-quan={}", encode(u)));
        filtered_by.push(unit.as_ref().map_or_else(|| u.clone(), |u| u.name.clone()));
    }
    if online {
        base.push("truc-tuyen=1".into());
        filtered_by.push("nộp được trực tuyến".into());
    }
    let mut units: Vec<&OrgUnit> = all_units.iter().filter(|u| u.kind != OrgUnitKind::District).collect();
    units.sort_by_cached_key(|u| (kind_order(u.kind), cqs_domain::text::fold(&u.name)));
    let title = if q.is_empty() {
        "Danh sách thủ tục hành chính".to_owned()
    } else {
        format!("Kết quả tìm “{q}”")
    };
    Ok(Search {
        chrome: Chrome::portal(title, "search").for_caller(&caller),
        fields: all_fields
            .iter()
            .map(|f| Choice { value: f.code.clone(), label: f.name.clone(), selected: field.as_ref() == Some(&f.code) })
            .collect(),
        units: units
            .into_iter()
            .map(|u| Choice {
                value: u.code.to_string(),
                label: u.name.clone(),
                selected: unit_code.as_deref() == Some(u.code.as_str()),
            })
            .collect(),
        q,
        online,
        items,
        total,
        page,
        pages,
        base_query: base.join("&"),
        filtered_by,
    })
}

fn kind_order(k: OrgUnitKind) -> u8 {
    match k {
        OrgUnitKind::ServiceCentre => 0,
        OrgUnitKind::ProvinceCommittee => 1,
        OrgUnitKind::Department => 2,
        OrgUnitKind::Division => 3,
        OrgUnitKind::Commune => 4,
        OrgUnitKind::District => 5,
    }
}

pub struct ComponentRow {
    pub name: String,
    pub required: bool,
    pub originals: u32,
    pub copies: u32,
    pub file_types: String,
}

pub struct FeeRow {
    pub name: String,
    pub amount: String,
    pub note: Option<String>,
}

pub struct StepRow {
    pub kind: &'static str,
    pub role: &'static str,
    pub time: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/procedure.html")]
pub struct ProcedurePage {
    chrome: Chrome,
    code: String,
    name: String,
    field: String,
    field_code: String,
    summary: String,
    applicants: String,
    level: &'static str,
    online: bool,
    deadline: String,
    places: Vec<String>,
    components: Vec<ComponentRow>,
    fees: Vec<FeeRow>,
    result: String,
    returns: Vec<&'static str>,
    legal_basis: Vec<String>,
    steps: Vec<StepRow>,
    effective_from: String,
}

/// `GET /thu-tuc/{code}`: the version in force today.
pub async fn procedure(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> PageResult<ProcedurePage> {
    let code = cqs_domain::ids::ProcedureCode::parse(&code).map_err(|_| PageError::not_found())?;
    let today = local_date(state.clock.now());
    let versions = state.store.procedure_versions(code.as_str()).await?;
    let v = cqs_domain::catalog::select_in_force(&versions, today).ok_or_else(PageError::not_found)?;
    let s = &v.spec;
    let names = field_names(&state).await?;
    let units = state.store.org_units().await?;
    let unit_name = |c: &cqs_domain::ids::AgencyCode| units.iter().find(|u| &u.code == c).map(|u| u.name.clone());
    Ok(ProcedurePage {
        chrome: Chrome::portal(s.name.clone(), "search").for_caller(&caller),
        code: s.code.to_string(),
        name: s.name.clone(),
        field: names.get(&s.field).cloned().unwrap_or_else(|| s.field.clone()),
        field_code: s.field.clone(),
        summary: s.summary.clone(),
        applicants: s.applicants.clone(),
        level: s.online_level.label_vi(),
        online: s.online_level.allows_online_submission(),
        deadline: s.deadline.label_vi(),
        places: s.receiving_units.iter().map(|u: &UnitSelector| u.label_vi(unit_name)).collect(),
        components: s
            .components
            .iter()
            .map(|c| ComponentRow {
                name: c.name.clone(),
                required: c.required,
                originals: c.originals,
                copies: c.copies,
                file_types: c.file_types.iter().map(|t| t.extension().to_uppercase()).collect::<Vec<_>>().join(", "),
            })
            .collect(),
        fees: s
            .fees
            .iter()
            .map(|f| FeeRow { name: f.name.clone(), amount: fmt::fee(f.amount), note: f.note.clone() })
            .collect(),
        result: s.result.name.clone(),
        returns: s.return_channels.iter().map(|c| c.label_vi()).collect(),
        legal_basis: s.legal_basis.clone(),
        steps: s
            .process
            .iter()
            .map(|p| StepRow {
                kind: p.step.label_vi(),
                role: p.role.label_vi(),
                time: cqs_domain::catalog::Deadline::WorkingHours { hours: p.hours }.label_vi(),
            })
            .collect(),
        effective_from: s.effective_from.format("%d/%m/%Y").to_string(),
    })
}

pub struct AgencyGroup {
    pub heading: &'static str,
    pub units: Vec<Agency>,
}

pub struct Agency {
    pub code: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub procedures: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/agencies.html")]
pub struct Agencies {
    chrome: Chrome,
    groups: Vec<AgencyGroup>,
}

/// `GET /co-quan`: units that receive dossiers today, grouped by kind.
pub async fn agencies(State(state): State<AppState>, caller: Caller) -> PageResult<Agencies> {
    let today = local_date(state.clock.now());
    let versions = in_force_today(&state).await?;
    let mut units: Vec<OrgUnit> = state.store.org_units().await?.into_iter().filter(|u| u.is_valid_on(today)).collect();
    units.sort_by_cached_key(|u| (kind_order(u.kind), cqs_domain::text::fold(&u.name)));
    let mut groups: Vec<AgencyGroup> = Vec::new();
    for u in units {
        let n = versions.iter().filter(|v| handled_by(&v.spec, &u)).count();
        if n == 0 {
            continue;
        }
        let heading = u.kind.label_vi();
        if groups.last().is_none_or(|g| g.heading != heading) {
            groups.push(AgencyGroup { heading, units: Vec::new() });
        }
        groups.last_mut().expect("pushed above").units.push(Agency {
            code: u.code.to_string(),
            name: u.name,
            address: u.address,
            phone: u.phone,
            procedures: n,
        });
    }
    Ok(Agencies {
        chrome: Chrome::portal("Cơ quan giải quyết thủ tục", "agencies").for_caller(&caller), groups
    })
}
