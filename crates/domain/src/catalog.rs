//! The procedure catalog (CSDL thủ tục hành chính): what a procedure requires, how long it may
//! take, what it costs and how it is processed. A procedure has numbered versions; each is a
//! draft until published and carries its own effective period, and a dossier pins the version in
//! force on the day it was received.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::auth::Role;
use crate::form::FormSchema;
use crate::ids::{AgencyCode, ProcedureCode};
use crate::org::OrgUnitKind;

/// Online service level of ND 42/2022.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnlineLevel {
    /// Toàn trình: submitted, processed and returned online.
    Full,
    /// Một phần: some step needs the applicant in person.
    Partial,
    /// Chỉ cung cấp thông tin: no online submission.
    InfoOnly,
}

impl OnlineLevel {
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Full => "Dịch vụ công trực tuyến toàn trình",
            Self::Partial => "Dịch vụ công trực tuyến một phần",
            Self::InfoOnly => "Cung cấp thông tin",
        }
    }
    pub fn allows_online_submission(self) -> bool {
        !matches!(self, Self::InfoOnly)
    }
}

/// The legal processing time of a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Deadline {
    /// Counted in working hours on the working calendar (8 per working day by default).
    WorkingHours { hours: u32 },
    /// Counted in calendar days; the end moves off a day off.
    CalendarDays { days: u32 },
    /// The law sets no deadline.
    None,
}

impl Deadline {
    /// The processing time as citizens read it: "1 ngày làm việc", "4 giờ làm việc", "5 ngày".
    pub fn label_vi(self) -> String {
        match self {
            Self::WorkingHours { hours } if hours.is_multiple_of(8) => format!("{} ngày làm việc", hours / 8),
            Self::WorkingHours { hours } if hours > 8 && hours.is_multiple_of(4) => {
                format!("{},5 ngày làm việc", hours / 8)
            }
            Self::WorkingHours { hours } => format!("{hours} giờ làm việc"),
            Self::CalendarDays { days } => format!("{days} ngày"),
            Self::None => "Không quy định thời hạn".to_owned(),
        }
    }

    /// Total in working hours, the unit process steps share; calendar days count 8 hours each.
    pub fn budget_hours(self) -> Option<u32> {
        match self {
            Self::WorkingHours { hours } => Some(hours),
            Self::CalendarDays { days } => Some(days * 8),
            Self::None => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub name: String,
    /// Amount in đồng.
    pub amount: u64,
    #[serde(default)]
    pub note: Option<String>,
}

/// File types an applicant may upload, detected from content, not from the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Pdf,
    Jpg,
    Png,
    Docx,
    Xlsx,
}

impl FileType {
    pub const ALL: [FileType; 5] = [Self::Pdf, Self::Jpg, Self::Png, Self::Docx, Self::Xlsx];

    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpg => "image/jpeg",
            Self::Png => "image/png",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpg => "jpg",
            Self::Png => "png",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
        }
    }
}

/// A required (or optional) paper of a dossier: thành phần hồ sơ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Stable key within the procedure (kebab-case), used as the upload field name.
    pub code: String,
    pub name: String,
    pub required: bool,
    pub file_types: Vec<FileType>,
    /// Number of originals (bản chính) and copies (bản sao) for paper submission.
    pub originals: u32,
    pub copies: u32,
    /// Kind of paper across procedures, so a stored result can stand in for an upload later.
    pub document_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    pub name: String,
    pub document_type: String,
}

/// Where a result can be handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnChannel {
    Counter,
    Online,
    Post,
}

impl ReturnChannel {
    pub const ALL: [ReturnChannel; 3] = [Self::Counter, Self::Online, Self::Post];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Online => "online",
            Self::Post => "post",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Counter => "Nhận trực tiếp tại Bộ phận một cửa",
            Self::Online => "Nhận bản điện tử trên Cổng dịch vụ công",
            Self::Post => "Nhận qua dịch vụ bưu chính công ích",
        }
    }
}

/// Which units a procedure is received at: one unit, or every unit of a kind (all communes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnitSelector {
    Kind(OrgUnitKind),
    Code(AgencyCode),
}

/// A unit named relative to the dossier: its receiving unit, its deciding unit, or a fixed one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnitRef {
    Receiving,
    Deciding,
    Code(AgencyCode),
}

impl UnitSelector {
    /// Where a citizen goes: every unit of a kind ("UBND các xã, phường") or one named unit,
    /// whose name the caller looks up.
    pub fn label_vi(&self, unit_name: impl Fn(&AgencyCode) -> Option<String>) -> String {
        match self {
            Self::Kind(k) => k.plural_vi().to_owned(),
            Self::Code(c) => unit_name(c).unwrap_or_else(|| c.to_string()),
        }
    }
}

impl fmt::Display for UnitSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kind(k) => write!(f, "kind:{}", k.as_str()),
            Self::Code(c) => write!(f, "{c}"),
        }
    }
}

impl std::str::FromStr for UnitSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_prefix("kind:") {
            Some(k) => OrgUnitKind::parse(k).map(Self::Kind).ok_or_else(|| format!("loại đơn vị không hợp lệ: {k}")),
            None => AgencyCode::parse(s).map(Self::Code).map_err(|e| e.to_string()),
        }
    }
}

impl fmt::Display for UnitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Receiving => f.write_str("receiving"),
            Self::Deciding => f.write_str("deciding"),
            Self::Code(c) => write!(f, "{c}"),
        }
    }
}

impl std::str::FromStr for UnitRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "receiving" => Ok(Self::Receiving),
            "deciding" => Ok(Self::Deciding),
            _ => AgencyCode::parse(s).map(Self::Code).map_err(|e| e.to_string()),
        }
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                String::schema()
            }
        }
        impl utoipa::ToSchema for $t {}
    };
}
serde_via_str!(UnitSelector);
serde_via_str!(UnitRef);

/// Kind of a processing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Intake,
    Appraisal,
    /// Liên thông: another agency's opinion; steps with the same parallel group run together.
    Consultation,
    Approval,
    Signing,
    Returning,
}

impl StepKind {
    /// What the step does, in the words of the one-stop forms.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Intake => "tiếp nhận",
            Self::Appraisal => "thẩm định",
            Self::Consultation => "lấy ý kiến liên thông",
            Self::Approval => "phê duyệt",
            Self::Signing => "ký",
            Self::Returning => "trả kết quả",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessStep {
    pub step: StepKind,
    pub unit: UnitRef,
    pub role: Role,
    /// This step's share of the legal time, in working hours.
    pub hours: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_group: Option<u32>,
}

/// Everything the catalog says about one version of a procedure, as edited and imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcedureSpec {
    pub code: ProcedureCode,
    pub name: String,
    /// Field (lĩnh vực) code.
    pub field: String,
    pub summary: String,
    /// Who may apply (đối tượng thực hiện).
    pub applicants: String,
    pub receiving_units: Vec<UnitSelector>,
    /// "receiving" when the receiving unit decides, else the deciding unit's agency code.
    pub deciding_unit: UnitRef,
    pub online_level: OnlineLevel,
    pub deadline: Deadline,
    pub fees: Vec<Fee>,
    pub components: Vec<ComponentSpec>,
    /// JSON Schema (draft 2020-12) of the applicant's e-form.
    #[schema(value_type = Object)]
    pub form_schema: serde_json::Value,
    pub result: ResultSpec,
    pub return_channels: Vec<ReturnChannel>,
    pub legal_basis: Vec<String>,
    pub process: Vec<ProcessStep>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
}

/// One problem found in a procedure spec, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SpecProblem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn problem(field: &str, message: impl Into<String>) -> SpecProblem {
    SpecProblem { field: field.to_owned(), message: message.into() }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Largest processing time we accept (a year of working hours): anything bigger is a typo.
pub const MAX_DEADLINE_HOURS: u32 = 2_000;

impl ProcedureSpec {
    /// Every rule a spec must meet on its own; references to org units and fields are checked by
    /// the caller against the catalog it is being added to. Returns all problems, not the first.
    pub fn check(&self) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        let text = |out: &mut Vec<SpecProblem>, field: &str, v: &str, max: usize| {
            if v.trim().is_empty() {
                out.push(problem(field, "không được để trống"));
            } else if v.chars().count() > max {
                out.push(problem(field, format!("dài quá {max} ký tự")));
            } else if !crate::text::is_nfc(v) || crate::text::has_control_chars(v) {
                out.push(problem(field, "chứa ký tự không hợp lệ (cần Unicode dựng sẵn NFC)"));
            }
        };
        text(&mut out, "name", &self.name, 500);
        text(&mut out, "summary", &self.summary, 4000);
        text(&mut out, "applicants", &self.applicants, 2000);
        if !is_kebab(&self.field) {
            out.push(problem("field", "mã lĩnh vực chỉ gồm chữ thường không dấu, số và dấu gạch ngang"));
        }
        if self.receiving_units.is_empty() {
            out.push(problem("receiving_units", "phải có ít nhất một đơn vị tiếp nhận"));
        }
        if self.effective_to.is_some_and(|to| to < self.effective_from) {
            out.push(problem("effective_to", "ngày hết hiệu lực trước ngày có hiệu lực"));
        }
        if let Some(h) = self.deadline.budget_hours()
            && (h == 0 || h > MAX_DEADLINE_HOURS)
        {
            out.push(problem(
                "deadline",
                format!("thời hạn giải quyết phải từ 1 đến {MAX_DEADLINE_HOURS} giờ làm việc"),
            ));
        }
        for (i, f) in self.fees.iter().enumerate() {
            text(&mut out, &format!("fees[{i}].name"), &f.name, 300);
        }
        let mut codes = HashSet::new();
        for (i, c) in self.components.iter().enumerate() {
            let at = format!("components[{i}]");
            if !is_kebab(&c.code) {
                out.push(problem(
                    &format!("{at}.code"),
                    "mã thành phần chỉ gồm chữ thường không dấu, số và dấu gạch ngang",
                ));
            } else if !codes.insert(c.code.as_str()) {
                out.push(problem(&format!("{at}.code"), format!("mã thành phần {} bị trùng", c.code)));
            }
            text(&mut out, &format!("{at}.name"), &c.name, 500);
            if c.file_types.is_empty() {
                out.push(problem(&format!("{at}.file_types"), "phải cho phép ít nhất một loại tệp"));
            }
            if !is_kebab(&c.document_type) {
                out.push(problem(
                    &format!("{at}.document_type"),
                    "loại giấy tờ chỉ gồm chữ thường không dấu, số và dấu gạch ngang",
                ));
            }
        }
        text(&mut out, "result.name", &self.result.name, 500);
        if !is_kebab(&self.result.document_type) {
            out.push(problem(
                "result.document_type",
                "loại giấy tờ chỉ gồm chữ thường không dấu, số và dấu gạch ngang",
            ));
        }
        if self.legal_basis.is_empty() {
            out.push(problem("legal_basis", "phải nêu căn cứ pháp lý"));
        }
        if self.return_channels.is_empty() {
            out.push(problem("return_channels", "phải có ít nhất một hình thức trả kết quả"));
        }
        if let Err(e) = FormSchema::compile(&self.form_schema) {
            out.push(problem("form_schema", e));
        }
        out.extend(self.check_process());
        out
    }

    fn check_process(&self) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        if self.process.is_empty() {
            out.push(problem("process", "quy trình phải có ít nhất một bước"));
            return out;
        }
        // Steps of one parallel group run at the same time, so the group counts once, and its
        // steps must agree on the time they get.
        let mut total = 0u32;
        let mut groups: Vec<(u32, u32)> = Vec::new();
        for (i, s) in self.process.iter().enumerate() {
            match s.parallel_group {
                None => total += s.hours,
                Some(g) => match groups.iter().find(|(id, _)| *id == g) {
                    Some((_, h)) if *h != s.hours => out.push(problem(
                        &format!("process[{i}].hours"),
                        "các bước liên thông song song phải có cùng thời gian",
                    )),
                    Some(_) => {}
                    None => {
                        groups.push((g, s.hours));
                        total += s.hours;
                    }
                },
            }
        }
        if let Some(budget) = self.deadline.budget_hours()
            && total != budget
        {
            out.push(problem(
                "process",
                format!("tổng thời gian các bước ({total} giờ) khác thời hạn giải quyết ({budget} giờ)"),
            ));
        }
        out
    }

    /// Folded text that catalog search matches against.
    pub fn search_text(&self) -> String {
        crate::text::fold(&format!("{} {} {}", self.name, self.code, self.summary))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Draft,
    Published,
}

/// A stored version of a procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProcedureVersion {
    pub id: Uuid,
    pub version: i32,
    pub status: VersionStatus,
    pub spec: ProcedureSpec,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl ProcedureVersion {
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.status == VersionStatus::Published
            && self.spec.effective_from <= day
            && self.spec.effective_to.is_none_or(|to| day <= to)
    }
}

/// The version a dossier received on `day` is pinned to: the highest published version in force.
pub fn select_in_force(versions: &[ProcedureVersion], day: NaiveDate) -> Option<&ProcedureVersion> {
    versions.iter().filter(|v| v.in_force_on(day)).max_by_key(|v| v.version)
}

/// A field (lĩnh vực).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub code: String,
    pub name: String,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn sample_spec() -> ProcedureSpec {
        serde_json::from_value(json!({
            "code": "1.001193",
            "name": "Đăng ký khai sinh",
            "field": "ho-tich",
            "summary": "Đăng ký việc sinh cho trẻ em.",
            "applicants": "Cha, mẹ hoặc người thân thích của trẻ",
            "receiving_units": ["kind:commune"],
            "deciding_unit": "receiving",
            "online_level": "full",
            "deadline": {"kind": "working_hours", "hours": 8},
            "fees": [{"name": "Lệ phí", "amount": 0, "note": "Miễn"}],
            "components": [
                {"code": "to-khai", "name": "Tờ khai", "required": true, "file_types": ["pdf", "jpg"], "originals": 1, "copies": 0, "document_type": "to-khai"},
                {"code": "giay-chung-sinh", "name": "Giấy chứng sinh", "required": true, "file_types": ["pdf"], "originals": 1, "copies": 0, "document_type": "giay-chung-sinh"},
                {"code": "uy-quyen", "name": "Văn bản ủy quyền", "required": false, "file_types": ["pdf"], "originals": 1, "copies": 0, "document_type": "van-ban-uy-quyen"}
            ],
            "form_schema": {
                "type": "object", "additionalProperties": false, "required": ["ho_ten_tre", "ngay_sinh"],
                "properties": {
                    "ho_ten_tre": {"type": "string", "title": "Họ và tên của trẻ", "minLength": 1, "maxLength": 100},
                    "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"},
                    "gioi_tinh": {"type": "string", "enum": ["Nam", "Nữ"], "title": "Giới tính"}
                }
            },
            "result": {"name": "Giấy khai sinh", "document_type": "giay-khai-sinh"},
            "return_channels": ["counter", "online"],
            "legal_basis": ["Luật Hộ tịch số 60/2014/QH13"],
            "process": [
                {"step": "intake", "unit": "receiving", "role": "desk_officer", "hours": 1},
                {"step": "appraisal", "unit": "deciding", "role": "specialist", "hours": 5},
                {"step": "approval", "unit": "deciding", "role": "leader", "hours": 1},
                {"step": "returning", "unit": "receiving", "role": "desk_officer", "hours": 1}
            ],
            "effective_from": "2025-07-01",
            "effective_to": null
        }))
        .unwrap()
    }

    #[test]
    fn deadlines_read_as_citizens_say_them() {
        assert_eq!(Deadline::WorkingHours { hours: 8 }.label_vi(), "1 ngày làm việc");
        assert_eq!(Deadline::WorkingHours { hours: 120 }.label_vi(), "15 ngày làm việc");
        assert_eq!(Deadline::WorkingHours { hours: 12 }.label_vi(), "1,5 ngày làm việc");
        assert_eq!(Deadline::WorkingHours { hours: 4 }.label_vi(), "4 giờ làm việc");
        assert_eq!(Deadline::CalendarDays { days: 5 }.label_vi(), "5 ngày");
        assert_eq!(Deadline::None.label_vi(), "Không quy định thời hạn");
        for c in ReturnChannel::ALL {
            assert_eq!(ReturnChannel::parse(c.as_str()), Some(c));
        }
        let commune = UnitSelector::Kind(OrgUnitKind::Commune);
        assert_eq!(commune.label_vi(|_| None), "Ủy ban nhân dân các xã, phường");
        let code = AgencyCode::parse("000.00.05.H99").unwrap();
        assert_eq!(UnitSelector::Code(code.clone()).label_vi(|_| Some("Sở Xây dựng".into())), "Sở Xây dựng");
        assert_eq!(UnitSelector::Code(code).label_vi(|_| None), "000.00.05.H99");
    }

    #[test]
    fn sample_is_valid() {
        assert_eq!(sample_spec().check(), vec![]);
    }

    #[test]
    fn finds_every_problem() {
        let mut s = sample_spec();
        s.name = " ".into();
        s.components[1].code = "to-khai".into();
        s.process[1].hours = 9;
        s.effective_to = NaiveDate::from_ymd_opt(2020, 1, 1);
        let fields: Vec<String> = s.check().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["name", "effective_to", "components[1].code", "process"]);
    }

    #[test]
    fn parallel_consultations_count_once() {
        let mut s = sample_spec();
        let consult = |g| ProcessStep {
            step: StepKind::Consultation,
            unit: UnitRef::Code(AgencyCode::parse("000.00.05.H99").unwrap()),
            role: Role::Specialist,
            hours: 2,
            parallel_group: Some(g),
        };
        s.process[1].hours = 3;
        s.process.insert(2, consult(1));
        s.process.insert(3, consult(1));
        assert_eq!(s.check(), vec![]);
        s.process[3].hours = 1;
        assert_eq!(s.check().len(), 1);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_selectors() {
        let mut v = serde_json::to_value(sample_spec()).unwrap();
        v["extra"] = json!(1);
        assert!(serde_json::from_value::<ProcedureSpec>(v).is_err());
        assert!("kind:village".parse::<UnitSelector>().is_err());
        assert_eq!("kind:commune".parse::<UnitSelector>(), Ok(UnitSelector::Kind(OrgUnitKind::Commune)));
        assert_eq!("deciding".parse::<UnitRef>(), Ok(UnitRef::Deciding));
    }

    #[test]
    fn picks_highest_published_version_in_force() {
        let mk = |version, status, from: &str, to: Option<&str>| {
            let mut spec = sample_spec();
            spec.effective_from = from.parse().unwrap();
            spec.effective_to = to.map(|t| t.parse().unwrap());
            ProcedureVersion { id: Uuid::now_v7(), version, status, spec, created_at: Utc::now(), published_at: None }
        };
        let vs = vec![
            mk(1, VersionStatus::Published, "2020-01-01", Some("2025-06-30")),
            mk(2, VersionStatus::Published, "2025-07-01", None),
            mk(3, VersionStatus::Draft, "2025-07-01", None),
        ];
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(select_in_force(&vs, day("2024-05-05")).unwrap().version, 1);
        assert_eq!(select_in_force(&vs, day("2026-01-01")).unwrap().version, 2);
        assert!(select_in_force(&vs, day("2019-01-01")).is_none());
    }
}
