//! The applicant's satisfaction rating of a dossier once its result is out: the nine criteria of
//! the satisfaction questionnaire (time taken overall and by each agency, how many contacts and
//! agencies it took, the one-stop desk, the publication of the procedure, the officials'
//! attitude, the handling of feedback, the online service) plus an overall rating, each on the
//! three-level scale Rất hài lòng / Hài lòng / Không hài lòng. One rating per dossier and
//! applicant, given once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dossier::DossierState;
use crate::form::FieldError;

/// The nine criteria: key and the question as people read it.
pub const CRITERIA: [(&str, &str); 9] = [
    ("tong_thoi_gian", "Tổng thời gian giải quyết hồ sơ so với thời gian theo quy định"),
    ("thoi_gian_tung_co_quan", "Thời gian giải quyết của từng cơ quan, đơn vị tham gia"),
    ("so_lan_lien_he", "Số lần phải liên hệ với cơ quan để hoàn thiện hồ sơ"),
    ("so_co_quan_lien_he", "Số cơ quan, đơn vị phải liên hệ"),
    ("mot_cua", "Việc tiếp nhận, giải quyết và trả kết quả tại Bộ phận một cửa"),
    ("cong_khai", "Việc công khai thủ tục hành chính"),
    ("thai_do", "Thái độ của cán bộ, công chức khi hướng dẫn, tiếp nhận, giải quyết hồ sơ"),
    ("phan_anh", "Việc tiếp nhận, xử lý phản ánh, kiến nghị"),
    ("truc_tuyen", "Tiến độ và chất lượng cung cấp dịch vụ công trực tuyến"),
];

/// Longest comment.
pub const COMMENT_MAX: usize = 1000;

/// One answer on the three-level scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    VerySatisfied,
    Satisfied,
    Dissatisfied,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::VerySatisfied, Level::Satisfied, Level::Dissatisfied];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::VerySatisfied => "very_satisfied",
            Level::Satisfied => "satisfied",
            Level::Dissatisfied => "dissatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Level::VerySatisfied => "Rất hài lòng",
            Level::Satisfied => "Hài lòng",
            Level::Dissatisfied => "Không hài lòng",
        }
    }
}

/// A rating as the applicant sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// One answer for each of the nine criteria, by key (see [`CRITERIA`]).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub criteria: BTreeMap<String, Level>,
    pub overall: Option<Level>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A checked rating: every criterion answered, nothing unknown, the comment in bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    #[schema(value_type = Object)]
    pub criteria: BTreeMap<String, Level>,
    pub overall: Level,
    pub comment: Option<String>,
}

fn error(field: String, label: &str, message: &str) -> FieldError {
    FieldError { field, label: label.to_owned(), message: message.to_owned() }
}

impl RatingInput {
    pub fn check(self) -> Result<Rating, Vec<FieldError>> {
        let mut errors = Vec::new();
        for (key, label) in CRITERIA {
            if !self.criteria.contains_key(key) {
                errors.push(error(format!("/criteria/{key}"), label, "Hãy chọn một mức đánh giá"));
            }
        }
        for key in self.criteria.keys() {
            if !CRITERIA.iter().any(|(k, _)| k == key) {
                errors.push(error(format!("/criteria/{key}"), key, "Không có tiêu chí này"));
            }
        }
        if self.overall.is_none() {
            errors.push(error("/overall".into(), "Đánh giá chung", "Hãy chọn một mức đánh giá"));
        }
        let comment = self.comment.map(|c| crate::text::nfc(c.trim())).filter(|c| !c.is_empty());
        if comment.as_ref().is_some_and(|c| c.chars().count() > COMMENT_MAX) {
            errors.push(error("/comment".into(), "Ý kiến khác", "Ý kiến không được dài quá 1000 ký tự"));
        }
        match (errors.is_empty(), self.overall) {
            (true, Some(overall)) => Ok(Rating { criteria: self.criteria, overall, comment }),
            _ => Err(errors),
        }
    }
}

/// Whether a dossier in `state` may be rated: once its result is out.
pub fn may_rate(state: DossierState) -> bool {
    matches!(state, DossierState::Resolved | DossierState::Returned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(level: Level) -> BTreeMap<String, Level> {
        CRITERIA.iter().map(|(k, _)| ((*k).to_owned(), level)).collect()
    }

    #[test]
    fn every_criterion_and_the_overall_rating_are_needed() {
        let ok = RatingInput {
            criteria: all(Level::Satisfied),
            overall: Some(Level::VerySatisfied),
            comment: Some("  Tốt ".into()),
        };
        let r = ok.check().unwrap();
        assert_eq!((r.overall, r.comment.as_deref(), r.criteria.len()), (Level::VerySatisfied, Some("Tốt"), 9));
        let mut partial = all(Level::Dissatisfied);
        partial.remove("thai_do");
        partial.insert("khac".into(), Level::Satisfied);
        let errs =
            RatingInput { criteria: partial, overall: None, comment: Some("x".repeat(1001)) }.check().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/criteria/thai_do", "/criteria/khac", "/overall", "/comment"]);
        assert!(may_rate(DossierState::Returned) && may_rate(DossierState::Resolved));
        assert!(!may_rate(DossierState::InProgress) && !may_rate(DossierState::Refused));
        assert_eq!(Level::parse("satisfied"), Some(Level::Satisfied));
        assert_eq!(Level::parse("meh"), None);
    }
}
