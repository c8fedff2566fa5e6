//! Legal rule data the handlers consult: the working calendar (deadlines) and the national
//! status mapping. Both are data files under `rules/`, embedded at build time and overridable
//! from the data directory, each with its effective period and legal basis.

use chrono::{DateTime, Utc};
use cqs_domain::calendar::{WorkingCalendar, WorkingTime};
use cqs_domain::catalog::{Deadline, ProcedureSpec, UnitRef, UnitSelector};
use cqs_domain::form::FieldError;
use cqs_domain::status::{StatusMapping, StatusTable};

use crate::AppState;
use crate::error::ApiError;

pub struct Rules {
    pub calendar: WorkingCalendar,
    pub statuses: StatusTable,
    /// The yearly notices the calendar was built from, each with where it came from (the admin
    /// pages show them); years without one use the computed Labour Code holidays.
    pub notices: Vec<YearNotice>,
}

/// One year's government notice as loaded, and its origin.
#[derive(Debug, Clone)]
pub struct YearNotice {
    pub decision: cqs_domain::calendar::YearDecision,
    /// The operator's file (`<dir>/calendar/<year>.json`) that replaced or added the year;
    /// `None` for a notice shipped with the binary.
    pub file: Option<String>,
}

/// The status mapping shipped with the binary.
pub const EMBEDDED_STATUS_MAPPING: &str = include_str!("../../../rules/status-mapping.json");

impl Rules {
    /// Rules from the files shipped with the binary.
    pub fn embedded() -> Result<Self, String> {
        Self::load(None)
    }

    /// Rules from the shipped files, with operator overrides from `<dir>/status-mapping.json`
    /// (replaces the shipped mapping), `<dir>/working-time.json` (replaces the shipped working
    /// hours and due-soon window) and `<dir>/calendar/<year>.json` (replaces or adds a year), so
    /// a new circular, a province's own hours or a new year's holiday notice needs no release.
    pub fn load(dir: Option<&std::path::Path>) -> Result<Self, String> {
        let read =
            |path: &std::path::Path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
        let mapping_text = match dir.map(|d| d.join("status-mapping.json")).filter(|p| p.exists()) {
            Some(p) => read(&p)?,
            None => EMBEDDED_STATUS_MAPPING.to_owned(),
        };
        let mappings: Vec<StatusMapping> =
            serde_json::from_str(&mapping_text).map_err(|e| format!("status-mapping.json: {e}"))?;
        let statuses = StatusTable::new(mappings).map_err(|e| e.to_string())?;
        let mut decisions: Vec<YearNotice> = cqs_domain::calendar::embedded_decisions()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|decision| YearNotice { decision, file: None })
            .collect();
        if let Some(cal_dir) = dir.map(|d| d.join("calendar")).filter(|p| p.is_dir()) {
            let mut paths: Vec<_> = std::fs::read_dir(&cal_dir)
                .map_err(|e| format!("{}: {e}", cal_dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            paths.sort();
            for p in paths {
                let d: cqs_domain::calendar::YearDecision =
                    serde_json::from_str(&read(&p)?).map_err(|e| format!("{}: {e}", p.display()))?;
                decisions.retain(|x| x.decision.year != d.year);
                decisions.push(YearNotice { decision: d, file: Some(p.display().to_string()) });
            }
        }
        let time = match dir.map(|d| d.join("working-time.json")).filter(|p| p.exists()) {
            Some(p) => WorkingTime::from_json(&read(&p)?).map_err(|e| format!("{}: {e}", p.display()))?,
            None => WorkingTime::embedded(),
        };
        let years: Vec<_> = decisions.iter().map(|n| n.decision.clone()).collect();
        let calendar = WorkingCalendar::new(time, &years).map_err(|e| e.to_string())?;
        Ok(Self { calendar, statuses, notices: decisions })
    }

    /// The legal due moment of a dossier received at `received`. For an online dossier this is
    /// provisional until the desk accepts it, when the clock is restarted from acceptance.
    pub fn due_at(&self, received: DateTime<Utc>, deadline: Deadline) -> Option<DateTime<Utc>> {
        self.calendar.due_at(received, deadline)
    }
}

/// Checks what a spec names outside itself: its field and every org unit it references. Returns
/// the spec's own problems too, as field errors.
pub async fn check_spec_references(state: &AppState, spec: &ProcedureSpec) -> Result<Vec<FieldError>, ApiError> {
    let units = state.store.org_units().await?;
    let fields = state.store.fields().await?;
    Ok(spec_problems(spec, &units, &fields))
}

/// Pure part of [`check_spec_references`], shared with the CSV/XLSX importer.
pub fn spec_problems(
    spec: &ProcedureSpec,
    units: &[cqs_domain::org::OrgUnit],
    fields: &[cqs_domain::catalog::Field],
) -> Vec<FieldError> {
    let fe = |field: &str, message: String| FieldError { field: field.to_owned(), label: field.to_owned(), message };
    let mut out: Vec<FieldError> = spec.check().into_iter().map(|p| fe(&p.field, p.message)).collect();
    if !fields.iter().any(|f| f.code == spec.field) {
        out.push(fe("field", format!("lĩnh vực {} không có trong danh mục", spec.field)));
    }
    let unit_known = |code: &cqs_domain::ids::AgencyCode| units.iter().any(|u| &u.code == code);
    for s in &spec.receiving_units {
        match s {
            UnitSelector::Code(c) if !unit_known(c) => {
                out.push(fe("receiving_units", format!("đơn vị {c} không có trong danh mục")))
            }
            UnitSelector::Kind(k) if !units.iter().any(|u| u.kind == *k) => {
                out.push(fe("receiving_units", format!("không có đơn vị nào thuộc loại {}", k.as_str())))
            }
            _ => {}
        }
    }
    let mut refs: Vec<(&str, &UnitRef)> = vec![("deciding_unit", &spec.deciding_unit)];
    refs.extend(spec.process.iter().map(|p| ("process", &p.unit)));
    for (field, r) in refs {
        if let UnitRef::Code(c) = r
            && !unit_known(c)
        {
            out.push(fe(field, format!("đơn vị {c} không có trong danh mục")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn operator_files_override_the_shipped_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut mapping: Vec<serde_json::Value> = serde_json::from_str(EMBEDDED_STATUS_MAPPING).unwrap();
        mapping[0]["entries"][0]["name"] = serde_json::json!("Đã nộp trực tuyến");
        std::fs::write(dir.path().join("status-mapping.json"), serde_json::to_vec(&mapping).unwrap()).unwrap();
        std::fs::create_dir(dir.path().join("calendar")).unwrap();
        std::fs::write(
            dir.path().join("calendar/2027.json"),
            r#"{"year": 2027, "legal_basis": "thử nghiệm", "days_off": [{"date": "2027-01-04", "name": "Nghỉ thử"}], "working_days": []}"#,
        )
        .unwrap();
        let rules = Rules::load(Some(dir.path())).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
        assert!(!rules.calendar.is_working_day(day));
        let on = rules.statuses.on(day).unwrap();
        assert_eq!(on.entry(cqs_domain::dossier::DossierState::Submitted).name, "Đã nộp trực tuyến");
        // The shipped years are still there beside the added one.
        assert!(!rules.calendar.is_working_day(chrono::NaiveDate::from_ymd_opt(2026, 2, 17).unwrap()));
        // Received on the added day off: the clock starts the next morning.
        let due = rules
            .due_at(chrono::Utc.with_ymd_and_hms(2027, 1, 4, 2, 0, 0).unwrap(), Deadline::WorkingHours { hours: 8 });
        assert_eq!(due, Some(chrono::Utc.with_ymd_and_hms(2027, 1, 5, 10, 0, 0).unwrap()));
        // A province's own hours replace the shipped ones: 08:00-12:00 and 13:00-17:00.
        std::fs::write(
            dir.path().join("working-time.json"),
            r#"{"rules": [{"effective_from": "2025-01-01", "periods": ["08:00-12:00", "13:00-17:00"], "due_soon_working_hours": 4, "legal_basis": "QĐ thử nghiệm của UBND tỉnh"}]}"#,
        )
        .unwrap();
        let rules = Rules::load(Some(dir.path())).unwrap();
        let due = rules
            .due_at(chrono::Utc.with_ymd_and_hms(2027, 1, 5, 0, 30, 0).unwrap(), Deadline::WorkingHours { hours: 1 });
        assert_eq!(due, Some(chrono::Utc.with_ymd_and_hms(2027, 1, 5, 2, 0, 0).unwrap()), "07:30 waits for 08:00");
        assert_eq!(rules.calendar.due_soon_minutes(chrono::Utc.with_ymd_and_hms(2027, 1, 5, 2, 0, 0).unwrap()), 240);
        std::fs::write(dir.path().join("working-time.json"), r#"{"rules": []}"#).unwrap();
        assert!(Rules::load(Some(dir.path())).is_err(), "no working hours at all is refused");
        std::fs::remove_file(dir.path().join("working-time.json")).unwrap();
        std::fs::write(dir.path().join("status-mapping.json"), "[]").unwrap();
        assert!(Rules::load(Some(dir.path())).is_err(), "an empty mapping would leave states unnamed");
    }
}
