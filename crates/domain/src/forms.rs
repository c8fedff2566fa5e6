//! The one-stop forms a dossier has: which notices the desk issued to the applicant, found in
//! the dossier's history, and how the forms write places, dates and times. The form set itself
//! (numbers, titles, paper by circular and effective date) is rule data in `rules/forms.json`,
//! read by `cqs-documents`, which lays the forms out.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde::{Deserialize, Serialize};

use crate::dossier::{DossierState, HistoryEntry};

/// What a form is, whatever its number in a given circular.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// Giấy tiếp nhận hồ sơ và hẹn trả kết quả.
    Receipt,
    /// Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ.
    Supplement,
    /// Phiếu từ chối tiếp nhận giải quyết hồ sơ.
    Refusal,
    /// Phiếu xin lỗi và hẹn lại ngày trả kết quả (TT 01/2018).
    Apology,
    /// Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết (TT 03/2025).
    Extension,
    /// Thông báo dừng giải quyết hồ sơ (TT 03/2025).
    Stop,
    /// Phiếu kiểm soát quá trình giải quyết hồ sơ.
    Control,
    /// Sổ theo dõi hồ sơ.
    Register,
}

impl FormKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::Supplement => "supplement",
            Self::Refusal => "refusal",
            Self::Apology => "apology",
            Self::Extension => "extension",
            Self::Stop => "stop",
            Self::Control => "control",
            Self::Register => "register",
        }
    }
}

/// A form a dossier has, and the history row it records (the acceptance for the receipt, the
/// request for a supplement notice, ...; the latest row for the control sheet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedForm {
    pub kind: FormKind,
    /// Index into the history the form was derived from.
    pub entry: usize,
}

/// The forms a dossier has, from its history: the receipt (Mẫu 01) once the desk accepted it
/// (or took it at the counter), the latest supplement request (Mẫu 02), the refusal (Mẫu 03),
/// the latest apology (Mẫu 04: an apology with a new date under TT 01/2018, a request for more
/// time under TT 03/2025, whichever the dossier's form set has), the stop notice (TT 03/2025)
/// and, once accepted, the control sheet. `in_set` says whether the dossier's form set has a
/// kind of form.
pub fn issued_forms(history: &[HistoryEntry], in_set: impl Fn(FormKind) -> bool) -> Vec<IssuedForm> {
    let last = |action: &str| history.iter().rposition(|e| e.action == action);
    let accepted = history
        .iter()
        .position(|e| e.action == "accept" || (e.action == "submit" && e.to_state == DossierState::Accepted));
    let apology = if in_set(FormKind::Apology) { FormKind::Apology } else { FormKind::Extension };
    let found = [
        (FormKind::Receipt, accepted),
        (FormKind::Supplement, last("request_supplement")),
        (FormKind::Refusal, last("refuse")),
        (apology, last("apologize_and_reschedule")),
        (FormKind::Stop, last("stop")),
        (FormKind::Control, accepted.map(|_| history.len() - 1)),
    ];
    found
        .into_iter()
        .filter_map(|(kind, entry)| Some(IssuedForm { kind, entry: entry? }))
        .filter(|f| in_set(f.kind))
        .collect()
}

/// "Lạc Sơn, ngày 23 tháng 11 năm 2026": the place and date line of Decree 30/2020, whose
/// Phụ lục I writes days below 10 and the months January and February with a leading zero
/// ("ngày 05 tháng 02", but "tháng 3").
pub fn place_date(place: &str, day: NaiveDate) -> String {
    let month = if day.month() <= 2 { format!("{:02}", day.month()) } else { day.month().to_string() };
    format!("{place}, ngày {:02} tháng {month} năm {}", day.day(), day.year())
}

/// "08 giờ 15 phút, ngày 23/11/2026", Vietnam time.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh).format("%H giờ %M phút, ngày %d/%m/%Y").to_string()
}

/// "23/11/2026", Vietnam date.
pub fn date_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh).format("%d/%m/%Y").to_string()
}

/// The locality an agency's address names, for the place line: the commune, ward or special
/// zone ("xã Lạc Sơn" → "Lạc Sơn"), else the province or city. `None` when the address names
/// neither.
pub fn place_of(address: &str) -> Option<String> {
    const LOCAL: [&str; 4] = ["xã ", "phường ", "thị trấn ", "đặc khu "];
    const PROVINCE: [&str; 2] = ["tỉnh ", "thành phố "];
    let parts: Vec<&str> = address.split(',').map(str::trim).collect();
    let strip = |prefixes: &[&str]| {
        parts.iter().rev().find_map(|p| {
            let lower = p.to_lowercase();
            prefixes.iter().find(|x| lower.starts_with(*x)).map(|x| p[x.len()..].trim().to_owned())
        })
    };
    strip(&LOCAL).or_else(|| strip(&PROVINCE)).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dossier::{Actor, ActorKind};
    use proptest::prelude::*;

    fn entry(action: &str, to: DossierState) -> HistoryEntry {
        HistoryEntry {
            seq: 0,
            at: Utc::now(),
            actor: Actor { kind: ActorKind::Staff, id: None },
            org_unit_id: None,
            action: action.into(),
            from_state: None,
            to_state: to,
            note: None,
            step: None,
            due_at: None,
        }
    }

    fn kinds(h: &[HistoryEntry], in_set: impl Fn(FormKind) -> bool) -> Vec<(FormKind, usize)> {
        issued_forms(h, in_set).into_iter().map(|f| (f.kind, f.entry)).collect()
    }

    #[test]
    fn forms_follow_the_history() {
        use DossierState as S;
        use FormKind as K;
        let all = |_| true;
        let tt01 = |k| k != K::Extension && k != K::Stop;
        let submitted = vec![entry("submit", S::Submitted)];
        assert!(kinds(&submitted, all).is_empty(), "nothing before acceptance");
        let mut h = submitted.clone();
        h.push(entry("refuse", S::Refused));
        assert_eq!(kinds(&h, all), vec![(K::Refusal, 1)], "a refused dossier was never received");
        let mut h = submitted;
        h.push(entry("accept", S::Accepted));
        h.push(entry("request_supplement", S::NeedSupplement));
        h.push(entry("supply_supplement", S::InProgress));
        h.push(entry("request_supplement", S::NeedSupplement));
        h.push(entry("supply_supplement", S::InProgress));
        h.push(entry("apologize_and_reschedule", S::InProgress));
        assert_eq!(
            kinds(&h, tt01),
            vec![(K::Receipt, 1), (K::Supplement, 4), (K::Apology, 6), (K::Control, 6)],
            "the latest supplement request; the apology form of TT 01/2018"
        );
        h.push(entry("stop", S::Stopped));
        assert_eq!(
            kinds(&h, |k| k != K::Apology),
            vec![(K::Receipt, 1), (K::Supplement, 4), (K::Extension, 6), (K::Stop, 7), (K::Control, 7)],
            "TT 03/2025 asks for more time and has a stop notice"
        );
        assert!(!kinds(&h, tt01).iter().any(|(k, _)| *k == K::Stop), "TT 01/2018 has no stop notice");
        // A counter dossier is received on the spot.
        assert_eq!(kinds(&[entry("submit", S::Accepted)], all), vec![(K::Receipt, 0), (K::Control, 0)]);
    }

    #[test]
    fn places_dates_and_times_read_as_decree_30_writes_them() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(place_date("Lạc Sơn", d("2026-11-23")), "Lạc Sơn, ngày 23 tháng 11 năm 2026");
        assert_eq!(place_date("Lạc Sơn", d("2026-01-05")), "Lạc Sơn, ngày 05 tháng 01 năm 2026");
        assert_eq!(place_date("Lạc Sơn", d("2026-03-05")), "Lạc Sơn, ngày 05 tháng 3 năm 2026");
        let t = "2026-11-23T01:15:00Z".parse().unwrap();
        assert_eq!(time_text(t), "08 giờ 15 phút, ngày 23/11/2026");
        assert_eq!(date_text("2026-11-23T17:30:00Z".parse().unwrap()), "24/11/2026", "Vietnam date");
        assert_eq!(place_of("Số 6 đường Trần Hưng Đạo, phường Lạc Sơn, tỉnh Lạc Hồng").as_deref(), Some("Lạc Sơn"));
        assert_eq!(place_of("Thôn 3, Xã Đông Hưng, tỉnh Lạc Hồng").as_deref(), Some("Đông Hưng"));
        assert_eq!(place_of("Số 1 Hùng Vương, tỉnh Lạc Hồng").as_deref(), Some("Lạc Hồng"));
        assert_eq!(place_of("Số 1 Hùng Vương"), None);
    }

    proptest! {
        /// Whatever the history, a form points at a row of it, each kind at most once, and
        /// only kinds of the set.
        #[test]
        fn forms_point_into_the_history(actions in proptest::collection::vec(0usize..8, 0..20), tt01 in any::<bool>()) {
            const A: [&str; 8] = ["submit", "accept", "refuse", "request_supplement", "supply_supplement",
                "apologize_and_reschedule", "stop", "forward"];
            let h: Vec<HistoryEntry> = actions.iter().map(|i| entry(A[*i], DossierState::InProgress)).collect();
            let in_set = |k: FormKind| if tt01 { k != FormKind::Extension && k != FormKind::Stop } else { k != FormKind::Apology };
            let forms = issued_forms(&h, in_set);
            let mut seen = std::collections::HashSet::new();
            for f in &forms {
                prop_assert!(f.entry < h.len());
                prop_assert!(seen.insert(f.kind));
                prop_assert!(in_set(f.kind));
            }
        }
    }
}
