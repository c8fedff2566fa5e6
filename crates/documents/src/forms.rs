//! Form sets as rule data (rules/forms.json): which numbered forms a circular prescribes, their
//! titles and paper, chosen by the date a dossier was received. TT 01/2018 is confirmed [C];
//! the TT 03/2025 set comes from a secondary source [S] (docs/rules.md), so it is data an
//! operator can correct without a release.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use cqs_domain::forms::FormKind;

/// The template that lays out each kind of form.
pub fn template(kind: FormKind) -> &'static str {
    match kind {
        FormKind::Receipt => "receipt.typ",
        FormKind::Supplement => "supplement.typ",
        FormKind::Refusal => "refusal.typ",
        FormKind::Apology | FormKind::Extension => "apology.typ",
        FormKind::Stop => "stop.typ",
        FormKind::Control => "control.typ",
        FormKind::Register => "register.typ",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    A4,
    A5,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    /// The form's number in its circular ("01" for Mẫu số 01).
    pub number: String,
    pub kind: FormKind,
    pub title: String,
    pub paper: Paper,
    /// Notation after the number ("Số: 12/TNHS"), per issuing unit and year.
    pub notation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSet {
    pub code: String,
    pub name: String,
    pub legal_basis: String,
    /// C confirmed, S secondary source, I inferred (see docs/rules.md).
    pub certainty: String,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub forms: Vec<FormSpec>,
}

impl FormSet {
    /// A form by its number ("01") or its kind ("receipt").
    pub fn form(&self, name: &str) -> Option<&FormSpec> {
        self.forms.iter().find(|f| f.number == name || f.kind.as_str() == name)
    }

    pub fn form_of_kind(&self, kind: FormKind) -> Option<&FormSpec> {
        self.forms.iter().find(|f| f.kind == kind)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSets {
    pub sets: Vec<FormSet>,
}

pub const EMBEDDED_FORM_SETS: &str = include_str!("../../../rules/forms.json");

impl FormSets {
    pub fn parse(json: &str) -> Result<Self, String> {
        let sets: FormSets = serde_json::from_str(json).map_err(|e| format!("rules/forms.json: {e}"))?;
        for s in &sets.sets {
            if s.forms.is_empty() {
                return Err(format!("bộ biểu mẫu {} không có mẫu nào", s.code));
            }
            if s.effective_to.is_some_and(|to| to < s.effective_from) {
                return Err(format!("bộ biểu mẫu {}: ngày hết hiệu lực trước ngày có hiệu lực", s.code));
            }
        }
        Ok(sets)
    }

    pub fn embedded() -> Self {
        Self::parse(EMBEDDED_FORM_SETS).expect("the shipped form sets are valid")
    }

    /// The set in force on `day` (a dossier's receipt date); the latest-starting one wins.
    pub fn on(&self, day: NaiveDate) -> Option<&FormSet> {
        self.sets
            .iter()
            .filter(|s| s.effective_from <= day && s.effective_to.is_none_or(|to| day <= to))
            .max_by_key(|s| s.effective_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_follows_the_receipt_date() {
        let sets = FormSets::embedded();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(sets.on(d("2024-05-01")).unwrap().code, "tt01-2018");
        assert_eq!(sets.on(d("2025-06-30")).unwrap().code, "tt01-2018");
        assert_eq!(sets.on(d("2025-07-01")).unwrap().code, "tt03-2025");
        assert!(sets.on(d("2017-01-01")).is_none());
        let new = sets.on(d("2026-01-01")).unwrap();
        assert_eq!(new.form("05").unwrap().kind, FormKind::Stop);
        assert_eq!(new.form("extension").unwrap().number, "04");
        assert_eq!(sets.on(d("2024-05-01")).unwrap().form("06").unwrap().paper, Paper::A4);
    }
}
