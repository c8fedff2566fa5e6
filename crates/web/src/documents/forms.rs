//! The content of each form, filled from the dossier, its history and the unit that received
//! it. Which forms a dossier has is the domain's rule (`domain::forms::issued_forms`); this
//! module only writes what each one says, as data for the templates of `cqs-documents`.

use std::collections::HashMap;

use chrono::NaiveDate;
use cqs_documents::{FormSet, FormSpec};
use cqs_domain::dossier::{ActorKind, Channel, Dossier, HistoryEntry, local_date};
use cqs_domain::forms::{FormKind, IssuedForm, date_text, issued_forms, place_date, place_of, time_text};
use cqs_domain::org::{OrgUnit, OrgUnitKind};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::api::workflow::Context;
use crate::error::ApiError;
use crate::ui::fmt;

/// A form a dossier has, as the API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormLink {
    /// The form's number in its circular ("01").
    pub number: String,
    pub kind: FormKind,
    pub title: String,
    /// Where to download it (PDF).
    pub href: String,
}

/// The form set a dossier's forms follow: the one in force on its receipt date.
pub fn set_of<'a>(state: &'a AppState, d: &Dossier) -> Result<&'a FormSet, ApiError> {
    state.documents.form_sets.on(local_date(d.received_at)).ok_or_else(|| {
        tracing::error!(code = %d.code, "no form set covers the receipt date");
        ApiError::internal()
    })
}

/// The forms the dossier has now.
pub fn available(set: &FormSet, history: &[HistoryEntry]) -> Vec<IssuedForm> {
    issued_forms(history, |k| set.form_of_kind(k).is_some())
}

/// Links to the forms a dossier has.
pub fn links(set: &FormSet, code: &str, history: &[HistoryEntry]) -> Vec<FormLink> {
    available(set, history)
        .into_iter()
        .filter_map(|f| set.form_of_kind(f.kind))
        .map(|spec| FormLink {
            number: spec.number.clone(),
            kind: spec.kind,
            title: spec.title.clone(),
            href: format!("/api/v1/dossiers/{code}/forms/{}", spec.number),
        })
        .collect()
}

/// The header every form starts with (Decree 30/2020): the body above, the issuing body,
/// number and notation, place and date.
pub(crate) fn header(unit: &OrgUnit, parent: Option<&OrgUnit>, number: String, day: NaiveDate) -> serde_json::Value {
    // A service centre issues in its own name under its parent; elsewhere the one-stop desk
    // issues under its agency.
    let (above, issuer, desk) = if unit.kind == OrgUnitKind::ServiceCentre {
        (parent.map_or(String::new(), |p| p.name.clone()), unit.name.clone(), unit.name.clone())
    } else {
        (unit.name.clone(), "Bộ phận Một cửa".to_owned(), format!("Bộ phận Một cửa {}", unit.name))
    };
    let place = unit
        .address
        .as_deref()
        .and_then(place_of)
        .or_else(|| unit.short_name.clone())
        .unwrap_or_else(|| unit.name.clone());
    json!({
        "parent": above,
        "issuer": issuer,
        "issuer_name": desk,
        "number": number,
        "place_date": place_date(&place, day),
        "phone": unit.phone.clone().unwrap_or_default(),
    })
}

fn channel_text(c: Channel) -> &'static str {
    match c {
        Channel::Counter => "Trực tiếp tại Bộ phận Một cửa",
        Channel::Online => "Trực tuyến qua Cổng dịch vụ công",
        Channel::Post => "Qua dịch vụ bưu chính công ích",
    }
}

async fn officer(state: &AppState, e: &HistoryEntry) -> Result<String, ApiError> {
    Ok(match (e.actor.kind, e.actor.id) {
        (ActorKind::Staff, Some(id)) => state.store.user_by_id(id).await?.map(|u| u.full_name).unwrap_or_default(),
        _ => String::new(),
    })
}

/// Everything a dossier form says. Keys the form does not use stay empty: the templates read
/// them all.
pub async fn dossier_form(
    state: &AppState,
    ctx: &Context,
    history: &[HistoryEntry],
    issued: IssuedForm,
    form: &FormSpec,
) -> Result<(serde_json::Value, NaiveDate), ApiError> {
    let d = &ctx.dossier;
    let spec = &ctx.version.spec;
    let units: HashMap<Uuid, OrgUnit> = state.store.org_units().await?.into_iter().map(|u| (u.id, u)).collect();
    let unit = units.get(&d.receiving_unit_id).ok_or_else(ApiError::internal)?;
    let parent = unit.parent_id.and_then(|p| units.get(&p));
    let entry = &history[issued.entry];
    let now = state.clock.now();
    let at = if issued.kind == FormKind::Control { now } else { entry.at };
    let seq = d.code.as_str().rsplit('-').next().unwrap_or_default();
    let attached: Vec<String> =
        state.store.attachments(d.id).await?.into_iter().map(|a| a.attachment.component).collect();
    let components: Vec<_> = spec
        .components
        .iter()
        .filter(|c| c.required || attached.contains(&c.code))
        .map(|c| json!({"name": c.name, "originals": c.originals, "copies": c.copies}))
        .collect();
    let accepted = history.iter().find(|e| e.action == "accept" || e.action == "submit");
    let received = accepted.filter(|e| e.action == "accept").map_or(d.received_at, |e| e.at);
    let due = if issued.kind == FormKind::Receipt { entry.due_at.or(d.due_at) } else { d.due_at };
    let before = issued.entry.checked_sub(1).and_then(|i| history[i].due_at).or(d.original_due_at);
    let unit_label = |step: usize| {
        spec.process.get(step).map(|s| match &s.unit {
            cqs_domain::catalog::UnitRef::Code(c) => ctx.codes_map().get(c.as_str()).and_then(|id| units.get(id)),
            cqs_domain::catalog::UnitRef::Deciding => units.get(&ctx.units.deciding),
            cqs_domain::catalog::UnitRef::Receiving => Some(unit),
        })
    };
    let control_rows: Vec<_> =
        cqs_domain::control::control_sheet(&spec.process, history, &state.rules.calendar, now)
            .into_iter()
            .map(|r| {
                let at_unit = unit_label(r.step).flatten().map_or(String::new(), |u| format!(" — {}", u.name));
                let note = if r.handed_over_at.is_none() { "Đang xử lý" } else { "" };
                json!({
                    "step": format!("{}. {} ({}){at_unit}", r.step + 1, fmt::capitalize(r.kind.label_vi()), r.role.label_vi()),
                    "received": fmt::datetime(r.received_at),
                    "handed_over": r.handed_over_at.map(fmt::datetime).unwrap_or_default(),
                    "timeliness": r.timeliness.map(|t| t.label_vi()).unwrap_or_default(),
                    "note": note,
                })
            })
            .collect();
    let a = &d.applicant;
    let officer_name = officer(state, entry).await?;
    let data = json!({
        "header": header(unit, parent, format!("Số: {seq}/{}", form.notation), local_date(at)),
        "dossier": {
            "code": d.code.as_str(),
            "procedure_name": spec.name,
            "applicant_name": a.name,
            "applicant_identity": a.identity_number,
            "applicant_address": a.address.clone().unwrap_or_default(),
            "applicant_phone": a.phone.as_deref().map(fmt::phone).unwrap_or_default(),
            "applicant_email": a.email.clone().unwrap_or_default(),
            "components": components,
            "legal_time": spec.deadline.label_vi(),
            "received_text": time_text(received),
            "due_text": due.map(time_text).unwrap_or_else(|| "Không quy định".to_owned()),
            "channel_text": channel_text(d.channel),
            "return_place": format!("Bộ phận Một cửa {}", unit.name),
        },
        "officer_name": officer_name,
        "reason": entry.note.clone().unwrap_or_default(),
        "event_text": date_text(entry.at),
        "original_due_text": before.map(time_text).unwrap_or_default(),
        "new_due_text": entry.due_at.map(time_text).unwrap_or_default(),
        "control_rows": control_rows,
        "register_rows": [],
        "period_text": "",
    });
    Ok((data, local_date(at)))
}

/// The register (Sổ theo dõi hồ sơ) of `unit` for the local days `from..=to`.
pub async fn register_form(
    state: &AppState,
    unit: &OrgUnit,
    from: NaiveDate,
    to: NaiveDate,
    rows: &[cqs_store::RegisterEntry],
) -> Result<serde_json::Value, ApiError> {
    let units: HashMap<Uuid, OrgUnit> = state.store.org_units().await?.into_iter().map(|u| (u.id, u)).collect();
    let parent = unit.parent_id.and_then(|p| units.get(&p));
    let deciding: HashMap<Uuid, String> = state
        .store
        .published_versions()
        .await?
        .into_iter()
        .map(|v| {
            let name = match &v.spec.deciding_unit {
                cqs_domain::catalog::UnitRef::Code(c) => {
                    units.values().find(|u| u.code == *c).map_or_else(|| unit.name.clone(), |u| u.name.clone())
                }
                _ => unit.name.clone(),
            };
            (v.id, name)
        })
        .collect();
    let today = local_date(state.clock.now());
    let register_rows: Vec<_> = rows
        .iter()
        .map(|r| {
            let contact = [r.applicant.address.clone(), r.applicant.phone.as_deref().map(fmt::phone)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            json!({
                "code": r.code,
                "procedure": r.procedure_name,
                "applicant": r.applicant.name,
                "contact": contact,
                "unit": deciding.get(&r.procedure_version_id).cloned().unwrap_or_else(|| unit.name.clone()),
                "received": fmt::datetime(r.received_at),
                "due": r.due_at.map(fmt::datetime).unwrap_or_default(),
                "returned": r.returned_at.map(fmt::datetime).unwrap_or_default(),
                "note": "",
            })
        })
        .collect();
    let period = format!("Từ ngày {} đến ngày {}", from.format("%d/%m/%Y"), to.format("%d/%m/%Y"));
    Ok(json!({
        "header": header(unit, parent, String::new(), today),
        "dossier": {"code": ""},
        "officer_name": "",
        "reason": "",
        "register_rows": register_rows,
        "period_text": period,
    }))
}
