//! Access requests (đề nghị kết nối, chia sẻ dữ liệu). A client's owner asks a provider for a
//! service or some of its endpoints; the provider must answer within the time the law sets
//! (ND 194/2025/NĐ-CP art. 40, amending art. 35(3) of ND 47/2020: the connection is created within
//! 02 working days, or the refusal is given in writing with its reasons), counted on the working
//! calendar. A refusal must cite its legal basis (ND 194/2025 art. 16: shared data is shared by
//! default; a refusal must be written and cite the legal restriction). Request, decision and
//! reason are kept for good.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::endpoint::Endpoint;
use super::ids::{ClientId, ServiceId};
use crate::calendar::WorkingCalendar;

/// How long a provider has to answer, from a date on (rule data with its legal basis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnswerRule {
    pub working_days: u32,
    pub effective_from: NaiveDate,
    pub legal_basis: String,
}

/// The rules shipped with the platform, oldest first.
pub fn answer_rules() -> Vec<AnswerRule> {
    vec![AnswerRule {
        working_days: 2,
        effective_from: NaiveDate::from_ymd_opt(2025, 8, 19).expect("valid date"),
        legal_basis: "Khoản 3 Điều 35 Nghị định 47/2020/NĐ-CP, sửa đổi bởi Điều 40 Nghị định 194/2025/NĐ-CP".into(),
    }]
}

/// The rule in force on `day`: the latest that took effect on or before it, or the oldest one for
/// a day before any (the platform keeps no older rule).
pub fn rule_on(rules: &[AnswerRule], day: NaiveDate) -> Option<&AnswerRule> {
    rules.iter().filter(|r| r.effective_from <= day).max_by_key(|r| r.effective_from).or_else(|| rules.first())
}

/// When the answer to a request made at `at` is due: `working_days` whole working days on the
/// calendar (each as long as the working day the clock starts on), counted from the moment the
/// clock starts (the next working moment).
pub fn answer_due(calendar: &WorkingCalendar, rule: &AnswerRule, at: DateTime<Utc>) -> DateTime<Utc> {
    let start = calendar.clock_start(at);
    let per_day = calendar.minutes_per_day(crate::dossier::local_date(start));
    calendar.add_working_minutes(start, i64::from(rule.working_days) * per_day)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Granted,
    Refused,
    Withdrawn,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Granted => "granted",
            RequestState::Refused => "refused",
            RequestState::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [RequestState::Pending, RequestState::Granted, RequestState::Refused, RequestState::Withdrawn]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A request as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccessRequest {
    pub id: Uuid,
    pub client: ClientId,
    pub service: ServiceId,
    /// The endpoints asked for; empty means the whole service.
    pub endpoints: Vec<Endpoint>,
    /// What the data is for (mục đích sử dụng).
    pub purpose: String,
    /// The requester's legal basis for using the data.
    pub legal_basis: String,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    /// When the provider's answer is due.
    pub answer_due_at: DateTime<Utc>,
    /// The rule that set the due date.
    pub answer_rule: String,
    pub state: RequestState,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<Uuid>,
    /// The written answer: for a refusal its reasons, for a grant any conditions.
    pub decision_note: Option<String>,
    /// The legal restriction a refusal relies on.
    pub refusal_legal_basis: Option<String>,
    /// Whether the answer came after it was due.
    pub answered_late: Option<bool>,
}

impl AccessRequest {
    /// Still waiting for an answer that is already due.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Pending && now > self.answer_due_at
    }
}

/// What a requester submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub client: ClientId,
    pub service: ServiceId,
    pub endpoints: Vec<Endpoint>,
    pub purpose: String,
    pub legal_basis: String,
}

/// The provider's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// Grant what was asked, or only some of the endpoints asked for.
    Grant {
        #[serde(default)]
        endpoints: Option<Vec<Endpoint>>,
        #[serde(default)]
        note: Option<String>,
    },
    /// Refuse in writing, with the reasons and the legal restriction relied on.
    Refuse { reason: String, legal_basis: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("Đề nghị đã được trả lời, không thể quyết định lại")]
    AlreadyDecided,
    #[error("Từ chối phải nêu rõ lý do bằng văn bản (ít nhất 10 ký tự)")]
    RefusalWithoutReason,
    #[error("Từ chối phải nêu căn cứ pháp lý hạn chế chia sẻ dữ liệu")]
    RefusalWithoutLegalBasis,
    #[error("Chỉ được cấp quyền trong phạm vi các điểm cuối đã đề nghị")]
    BeyondRequest,
    #[error("Phải nêu mục đích sử dụng dữ liệu (ít nhất 10 ký tự)")]
    NoPurpose,
    #[error("Phải nêu căn cứ pháp lý của việc sử dụng dữ liệu")]
    NoLegalBasis,
    #[error("Không thể đề nghị quyền gọi siêu dịch vụ; siêu dịch vụ luôn mở cho thành viên")]
    Metaservice,
}

const MIN_TEXT: usize = 10;

fn clean(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.trim().nfc().collect()
}

/// Checks and normalizes a new request; the store gives it an id, the due date and the rule.
pub fn check_request(mut r: NewRequest) -> Result<NewRequest, RequestError> {
    if r.service.is_metaservice() {
        return Err(RequestError::Metaservice);
    }
    r.purpose = clean(&r.purpose);
    r.legal_basis = clean(&r.legal_basis);
    if r.purpose.chars().count() < MIN_TEXT {
        return Err(RequestError::NoPurpose);
    }
    if r.legal_basis.is_empty() {
        return Err(RequestError::NoLegalBasis);
    }
    r.endpoints.sort();
    r.endpoints.dedup();
    Ok(r)
}

/// The recorded outcome of a decision, and the grants it creates (none for a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub state: RequestState,
    pub note: Option<String>,
    pub refusal_legal_basis: Option<String>,
    pub late: bool,
    /// Endpoints to grant; `[None]` grants the whole service.
    pub grants: Vec<Option<Endpoint>>,
}

/// Decides a pending request at `now`.
pub fn decide(request: &AccessRequest, decision: Decision, now: DateTime<Utc>) -> Result<Decided, RequestError> {
    if request.state != RequestState::Pending {
        return Err(RequestError::AlreadyDecided);
    }
    let late = now > request.answer_due_at;
    match decision {
        Decision::Refuse { reason, legal_basis } => {
            let (reason, basis) = (clean(&reason), clean(&legal_basis));
            if reason.chars().count() < MIN_TEXT {
                return Err(RequestError::RefusalWithoutReason);
            }
            if basis.is_empty() {
                return Err(RequestError::RefusalWithoutLegalBasis);
            }
            Ok(Decided {
                state: RequestState::Refused,
                note: Some(reason),
                refusal_legal_basis: Some(basis),
                late,
                grants: Vec::new(),
            })
        }
        Decision::Grant { endpoints, note } => {
            let grants = match endpoints {
                None if request.endpoints.is_empty() => vec![None],
                None => request.endpoints.iter().cloned().map(Some).collect(),
                Some(list) => {
                    let covered = |e: &Endpoint| {
                        request.endpoints.is_empty() || request.endpoints.iter().any(|asked| e.within(asked))
                    };
                    if list.is_empty() || !list.iter().all(covered) {
                        return Err(RequestError::BeyondRequest);
                    }
                    let mut list = list;
                    list.sort();
                    list.dedup();
                    list.into_iter().map(Some).collect()
                }
            };
            Ok(Decided {
                state: RequestState::Granted,
                note: note.map(|n| clean(&n)).filter(|n| !n.is_empty()),
                refusal_legal_basis: None,
                late,
                grants,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::embedded_calendar;
    use chrono::TimeZone;
    use chrono_tz::Asia::Ho_Chi_Minh;

    fn vn(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Ho_Chi_Minh.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap().with_timezone(&Utc)
    }

    fn request(at: DateTime<Utc>, endpoints: &[(&str, &str)]) -> AccessRequest {
        let cal = embedded_calendar().unwrap();
        let rule = rule_on(&answer_rules(), at.date_naive()).unwrap().clone();
        AccessRequest {
            id: Uuid::now_v7(),
            client: ClientId::parse("VN-LH/GOV/000.00.31.H99/mot-cua").unwrap(),
            service: ServiceId::parse("VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh").unwrap(),
            endpoints: endpoints.iter().map(|(m, p)| Endpoint::parse(m, p).unwrap()).collect(),
            purpose: "Đối chiếu giấy khai sinh khi tiếp nhận hồ sơ".into(),
            legal_basis: "Luật Hộ tịch 2014".into(),
            requested_by: Uuid::now_v7(),
            requested_at: at,
            answer_due_at: answer_due(&cal, &rule, at),
            answer_rule: rule.legal_basis,
            state: RequestState::Pending,
            decided_at: None,
            decided_by: None,
            decision_note: None,
            refusal_legal_basis: None,
            answered_late: None,
        }
    }

    #[test]
    fn two_working_days_on_the_calendar() {
        let cal = embedded_calendar().unwrap();
        let rule = &answer_rules()[0];
        // Thursday 10:00 → Monday 10:00 (the weekend does not count).
        assert_eq!(answer_due(&cal, rule, vn(2026, 3, 5, 10, 0)), vn(2026, 3, 9, 10, 0));
        // Friday after hours → the clock starts Monday 07:00 and ends Tuesday 17:00.
        assert_eq!(answer_due(&cal, rule, vn(2026, 3, 6, 18, 0)), vn(2026, 3, 10, 17, 0));
        // Friday 13/02/2026, the eve of Tết Bính Ngọ: the holiday (14–22/02) does not count.
        let due = answer_due(&cal, rule, vn(2026, 2, 13, 9, 0));
        assert_eq!(due, vn(2026, 2, 24, 9, 0));
        assert_eq!(rule_on(&answer_rules(), NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()).unwrap().working_days, 2);
    }

    #[test]
    fn refusals_are_written_with_legal_basis() {
        let r = request(vn(2026, 3, 5, 10, 0), &[]);
        let refuse = |reason: &str, basis: &str| Decision::Refuse { reason: reason.into(), legal_basis: basis.into() };
        assert_eq!(
            decide(&r, refuse("không", "Điều 16"), vn(2026, 3, 6, 9, 0)),
            Err(RequestError::RefusalWithoutReason)
        );
        assert_eq!(
            decide(&r, refuse("Dữ liệu có thông tin cá nhân nhạy cảm", " "), vn(2026, 3, 6, 9, 0)),
            Err(RequestError::RefusalWithoutLegalBasis)
        );
        let d = decide(&r, refuse("Dữ liệu có thông tin cá nhân nhạy cảm", "Luật BVDLCN 2025"), vn(2026, 3, 10, 9, 0))
            .unwrap();
        assert_eq!(d.state, RequestState::Refused);
        assert!(d.late, "answered after Monday 10:00");
        assert!(d.grants.is_empty());
        let mut done = r.clone();
        done.state = RequestState::Refused;
        assert_eq!(
            decide(&done, Decision::Grant { endpoints: None, note: None }, vn(2026, 3, 6, 9, 0)),
            Err(RequestError::AlreadyDecided)
        );
    }

    #[test]
    fn grants_stay_within_the_request() {
        let r = request(vn(2026, 3, 5, 10, 0), &[("GET", "/ban-sao/*"), ("GET", "/thong-ke")]);
        let all = decide(&r, Decision::Grant { endpoints: None, note: None }, vn(2026, 3, 6, 9, 0)).unwrap();
        assert_eq!(all.grants.len(), 2);
        assert!(!all.late);
        let narrower = vec![Endpoint::parse("GET", "/ban-sao/123").unwrap()];
        assert!(decide(&r, Decision::Grant { endpoints: Some(narrower), note: None }, vn(2026, 3, 6, 9, 0)).is_ok());
        let wider = vec![Endpoint::parse("*", "/**").unwrap()];
        assert_eq!(
            decide(&r, Decision::Grant { endpoints: Some(wider), note: None }, vn(2026, 3, 6, 9, 0)),
            Err(RequestError::BeyondRequest)
        );
        let whole = request(vn(2026, 3, 5, 10, 0), &[]);
        assert_eq!(
            decide(&whole, Decision::Grant { endpoints: None, note: None }, vn(2026, 3, 6, 9, 0)).unwrap().grants,
            vec![None]
        );
    }

    #[test]
    fn requests_need_purpose_and_basis() {
        let r = request(vn(2026, 3, 5, 10, 0), &[]);
        let new = |purpose: &str, basis: &str| NewRequest {
            client: r.client.clone(),
            service: r.service.clone(),
            endpoints: vec![],
            purpose: purpose.into(),
            legal_basis: basis.into(),
        };
        assert_eq!(check_request(new("ngắn", "Luật")), Err(RequestError::NoPurpose));
        assert_eq!(check_request(new("Đối chiếu dữ liệu hộ tịch", "")), Err(RequestError::NoLegalBasis));
        assert!(check_request(new("Đối chiếu dữ liệu hộ tịch", "Luật Hộ tịch")).is_ok());
        let mut meta = new("Đối chiếu dữ liệu hộ tịch", "Luật Hộ tịch");
        meta.service = ServiceId::parse("VN-LH/GOV/000.00.05.H99/ho-tich/listMethods").unwrap();
        assert_eq!(check_request(meta), Err(RequestError::Metaservice));
    }
}
