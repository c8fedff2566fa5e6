//! Org units (cơ quan, đơn vị): a tree of agencies with QCVN 102 codes, validity periods and a
//! successor link, so a reorganization (the 2025 reform abolished districts) keeps old dossiers
//! pointing at the unit that received them. Depth is data: a unit only knows its parent.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::AgencyCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgUnitKind {
    /// Ủy ban nhân dân tỉnh / thành phố.
    ProvinceCommittee,
    /// Trung tâm Phục vụ hành chính công.
    ServiceCentre,
    /// Sở, ban, ngành.
    Department,
    /// Phòng, chi cục, văn phòng đăng ký under a department.
    Division,
    /// Former district (huyện), kept for history after the 2025 reform.
    District,
    /// Ủy ban nhân dân xã / phường / đặc khu.
    Commune,
}

impl OrgUnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProvinceCommittee => "province_committee",
            Self::ServiceCentre => "service_centre",
            Self::Department => "department",
            Self::Division => "division",
            Self::District => "district",
            Self::Commune => "commune",
        }
    }
    /// The kind as a heading over a list of units.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::ProvinceCommittee => "Ủy ban nhân dân tỉnh",
            Self::ServiceCentre => "Trung tâm Phục vụ hành chính công",
            Self::Department => "Sở, ban, ngành",
            Self::Division => "Phòng, chi cục, văn phòng đăng ký",
            Self::District => "Huyện (trước sắp xếp năm 2025)",
            Self::Commune => "Ủy ban nhân dân xã, phường",
        }
    }
    /// Every unit of the kind, as a procedure's place of submission.
    pub fn plural_vi(self) -> &'static str {
        match self {
            Self::ProvinceCommittee => "Ủy ban nhân dân tỉnh",
            Self::ServiceCentre => "Trung tâm Phục vụ hành chính công tỉnh",
            Self::Department => "Các sở, ban, ngành",
            Self::Division => "Các phòng, chi cục, văn phòng đăng ký",
            Self::District => "Ủy ban nhân dân các huyện (cũ)",
            Self::Commune => "Ủy ban nhân dân các xã, phường",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ProvinceCommittee, Self::ServiceCentre, Self::Department, Self::Division, Self::District, Self::Commune]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One org unit as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgUnit {
    pub id: Uuid,
    pub code: AgencyCode,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrgUnitKind,
    pub parent_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub successor_id: Option<Uuid>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

impl OrgUnit {
    /// Whether the unit exists on `day` (validity bounds are inclusive).
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_to.is_none_or(|to| day <= to)
    }
}

/// An org unit as written in a data file: references by agency code instead of id.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUnitSpec {
    pub code: AgencyCode,
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    pub kind: OrgUnitKind,
    pub parent: Option<AgencyCode>,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    #[serde(default)]
    pub successor: Option<AgencyCode>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("đơn vị {0}: ngày hết hiệu lực trước ngày bắt đầu")]
    InvalidPeriod(String),
    #[error("đơn vị {0}: đơn vị cha {1} không có trong danh mục (phải khai báo trước)")]
    UnknownParent(String, String),
    #[error("đơn vị {0}: đơn vị kế thừa {1} không có trong danh mục")]
    UnknownSuccessor(String, String),
    #[error("mã đơn vị {0} bị trùng")]
    Duplicate(String),
    #[error("đơn vị {0}: tên không được để trống")]
    EmptyName(String),
}

/// Checks a whole list of unit specs before anything is written: periods, unique codes, parents
/// declared before children, successors present.
pub fn validate_specs(specs: &[OrgUnitSpec]) -> Result<(), OrgError> {
    let mut seen = std::collections::HashSet::new();
    for s in specs {
        let code = s.code.to_string();
        if s.name.trim().is_empty() {
            return Err(OrgError::EmptyName(code));
        }
        if s.valid_to.is_some_and(|to| to < s.valid_from) {
            return Err(OrgError::InvalidPeriod(code));
        }
        if let Some(p) = &s.parent
            && !seen.contains(p)
        {
            return Err(OrgError::UnknownParent(code, p.to_string()));
        }
        if !seen.insert(s.code.clone()) {
            return Err(OrgError::Duplicate(code));
        }
    }
    for s in specs {
        if let Some(succ) = &s.successor
            && !seen.contains(succ)
        {
            return Err(OrgError::UnknownSuccessor(s.code.to_string(), succ.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(code: &str, parent: Option<&str>) -> OrgUnitSpec {
        OrgUnitSpec {
            code: AgencyCode::parse(code).unwrap(),
            name: "Đơn vị".into(),
            short_name: None,
            kind: OrgUnitKind::Department,
            parent: parent.map(|p| AgencyCode::parse(p).unwrap()),
            valid_from: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            valid_to: None,
            successor: None,
            address: None,
            phone: None,
        }
    }

    #[test]
    fn validates_tree_order_and_references() {
        let root = spec("000.00.00.H99", None);
        let child = spec("000.00.05.H99", Some("000.00.00.H99"));
        assert!(validate_specs(&[root.clone(), child.clone()]).is_ok());
        assert!(matches!(validate_specs(&[child.clone(), root.clone()]), Err(OrgError::UnknownParent(..))));
        assert!(matches!(validate_specs(&[root.clone(), root.clone()]), Err(OrgError::Duplicate(_))));
        let mut old = spec("000.00.90.H99", Some("000.00.00.H99"));
        old.valid_to = NaiveDate::from_ymd_opt(2025, 6, 30);
        old.valid_from = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
        old.successor = Some(AgencyCode::parse("000.00.77.H99").unwrap());
        assert!(matches!(validate_specs(&[root.clone(), old.clone()]), Err(OrgError::UnknownSuccessor(..))));
        old.successor = Some(child.code.clone());
        assert!(validate_specs(&[root, old, child]).is_ok());
    }

    #[test]
    fn validity_is_inclusive() {
        let unit = OrgUnit {
            id: Uuid::nil(),
            code: AgencyCode::parse("000.00.90.H99").unwrap(),
            name: "Huyện cũ".into(),
            short_name: None,
            kind: OrgUnitKind::District,
            parent_id: None,
            valid_from: NaiveDate::from_ymd_opt(2010, 1, 1).unwrap(),
            valid_to: NaiveDate::from_ymd_opt(2025, 6, 30),
            successor_id: None,
            address: None,
            phone: None,
        };
        assert!(unit.is_valid_on(NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()));
        assert!(!unit.is_valid_on(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()));
        assert_eq!(OrgUnitKind::parse("commune"), Some(OrgUnitKind::Commune));
    }
}
