//! Mapping of our dossier states to the national status codes (TrangThaiHoSo 1–10) used when
//! syncing with the national portal. It is data with an effective period and a legal basis, so a
//! new circular changes a file, not the code.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::dossier::DossierState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusEntry {
    pub state: DossierState,
    pub code: u8,
    /// Vietnamese name shown to citizens and officers.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusMapping {
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub legal_basis: String,
    pub entries: Vec<StatusEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("bảng trạng thái thiếu trạng thái {0}")]
    Missing(&'static str),
    #[error("bảng trạng thái khai báo trạng thái {0} hai lần")]
    Duplicate(&'static str),
    #[error("chưa khai báo bảng trạng thái nào")]
    Empty,
    #[error("không có bảng trạng thái nào có hiệu lực vào ngày {0}")]
    NoneInForce(NaiveDate),
}

impl StatusMapping {
    /// Every state must be mapped exactly once.
    pub fn check(&self) -> Result<(), MappingError> {
        for s in DossierState::ALL {
            match self.entries.iter().filter(|e| e.state == s).count() {
                0 => return Err(MappingError::Missing(s.as_str())),
                1 => {}
                _ => return Err(MappingError::Duplicate(s.as_str())),
            }
        }
        Ok(())
    }

    pub fn entry(&self, state: DossierState) -> &StatusEntry {
        self.entries.iter().find(|e| e.state == state).expect("checked mapping covers every state")
    }
}

/// A set of mappings over time; picks the one in force on a date.
#[derive(Debug, Clone)]
pub struct StatusTable(Vec<StatusMapping>);

impl StatusTable {
    pub fn new(mappings: Vec<StatusMapping>) -> Result<Self, MappingError> {
        if mappings.is_empty() {
            return Err(MappingError::Empty);
        }
        mappings.iter().try_for_each(StatusMapping::check)?;
        Ok(Self(mappings))
    }

    pub fn on(&self, day: NaiveDate) -> Result<&StatusMapping, MappingError> {
        self.0
            .iter()
            .filter(|m| m.effective_from <= day && m.effective_to.is_none_or(|to| day <= to))
            .max_by_key(|m| m.effective_from)
            .ok_or(MappingError::NoneInForce(day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StatusMapping {
        StatusMapping {
            effective_from: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(),
            effective_to: None,
            legal_basis: "test".into(),
            entries: DossierState::ALL
                .iter()
                .enumerate()
                .map(|(i, s)| StatusEntry { state: *s, code: i as u8 + 1, name: s.as_str().into() })
                .collect(),
        }
    }

    #[test]
    fn checks_and_selects() {
        let t = StatusTable::new(vec![full()]).unwrap();
        let m = t.on(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).unwrap();
        assert_eq!(m.entry(DossierState::Returned).code, 10);
        assert!(t.on(NaiveDate::from_ymd_opt(2017, 1, 1).unwrap()).is_err());
        let mut missing = full();
        missing.entries.pop();
        assert_eq!(missing.check(), Err(MappingError::Missing("returned")));
    }
}
