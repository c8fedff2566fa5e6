//! Working time as rule data: the hours of a working day and the due-soon warning window, each
//! with the date it takes effect and its legal basis. A province sets its own civil-service
//! hours (a People's Committee decision), and may change them; a due date computed across the
//! change uses each day's own hours.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Deserializer};

use super::CalendarError;

/// One work period of a day, local time, written `"07:00-11:30"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Period {
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        let bad = || CalendarError::InvalidPeriods(format!("khoảng giờ làm việc không hợp lệ: {s}"));
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let time = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start >= end {
            return Err(bad());
        }
        Ok(Self { start, end })
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The working-time rule in force from `effective_from` until the next rule starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingTimeRule {
    pub effective_from: NaiveDate,
    /// Work periods of a working day, ascending and disjoint.
    pub periods: Vec<Period>,
    /// A running dossier is flagged due soon when at most this many working hours are left.
    pub due_soon_working_hours: u32,
    pub legal_basis: String,
}

impl WorkingTimeRule {
    pub fn minutes_per_day(&self) -> i64 {
        self.periods.iter().map(|p| (p.end - p.start).num_minutes()).sum()
    }
}

/// Every working-time rule a deployment knows, oldest first. Days before the first rule's date
/// follow the first rule (history older than the data is judged by the oldest hours known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingTime {
    rules: Vec<WorkingTimeRule>,
}

/// The file shape of `rules/working-time.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkingTimeFile {
    rules: Vec<WorkingTimeRule>,
}

/// The working-time rules shipped with the binary.
pub const EMBEDDED_WORKING_TIME: &str = include_str!("../../../../rules/working-time.json");

impl WorkingTime {
    /// Checks the rules: at least one, distinct dates, periods ascending without overlap, a
    /// legal basis for each.
    pub fn new(mut rules: Vec<WorkingTimeRule>) -> Result<Self, CalendarError> {
        if rules.is_empty() {
            return Err(CalendarError::InvalidPeriods("cần ít nhất một quy định giờ làm việc".into()));
        }
        rules.sort_by_key(|r| r.effective_from);
        for w in rules.windows(2) {
            if w[0].effective_from == w[1].effective_from {
                return Err(CalendarError::InvalidPeriods(format!(
                    "hai quy định giờ làm việc cùng có hiệu lực từ {}",
                    w[0].effective_from
                )));
            }
        }
        for r in &rules {
            if r.periods.is_empty() || r.periods.windows(2).any(|w| w[0].end > w[1].start) {
                return Err(CalendarError::InvalidPeriods(format!(
                    "giờ làm việc từ {} phải tăng dần và không chồng lấn",
                    r.effective_from
                )));
            }
            if r.legal_basis.trim().is_empty() {
                return Err(CalendarError::InvalidPeriods(format!(
                    "quy định giờ làm việc từ {} thiếu căn cứ pháp lý",
                    r.effective_from
                )));
            }
        }
        Ok(Self { rules })
    }

    /// One rule for all time: for tests and simple deployments.
    pub fn single(periods: Vec<Period>, due_soon_working_hours: u32) -> Result<Self, CalendarError> {
        Self::new(vec![WorkingTimeRule {
            effective_from: NaiveDate::MIN,
            periods,
            due_soon_working_hours,
            legal_basis: "cấu hình".into(),
        }])
    }

    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        let file: WorkingTimeFile =
            serde_json::from_str(text).map_err(|e| CalendarError::InvalidPeriods(format!("working-time.json: {e}")))?;
        Self::new(file.rules)
    }

    /// The rules shipped with the binary (`rules/working-time.json`).
    pub fn embedded() -> Self {
        Self::from_json(EMBEDDED_WORKING_TIME).expect("the shipped working-time rules are valid")
    }

    /// The rule in force on `day`.
    pub fn on(&self, day: NaiveDate) -> &WorkingTimeRule {
        let i = self.rules.partition_point(|r| r.effective_from <= day);
        &self.rules[i.saturating_sub(1)]
    }

    pub fn rules(&self) -> &[WorkingTimeRule] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn parses_periods_and_picks_the_rule_in_force() {
        assert_eq!(Period::parse("07:00-11:30").unwrap().start, NaiveTime::from_hms_opt(7, 0, 0).unwrap());
        assert!(Period::parse("11:30-07:00").is_err());
        assert!(Period::parse("7h-11h").is_err());
        let shipped = WorkingTime::embedded();
        assert_eq!(shipped.on(d(2026, 1, 5)).minutes_per_day(), 480);
        let text = r#"{"rules": [
            {"effective_from": "2020-01-01", "periods": ["07:00-11:30", "13:30-17:00"], "due_soon_working_hours": 8, "legal_basis": "QĐ A"},
            {"effective_from": "2027-01-01", "periods": ["08:00-12:00", "13:00-17:00"], "due_soon_working_hours": 4, "legal_basis": "QĐ B"}
        ]}"#;
        let wt = WorkingTime::from_json(text).unwrap();
        assert_eq!(wt.on(d(2019, 5, 1)).legal_basis, "QĐ A", "before the first rule: the first rule");
        assert_eq!(wt.on(d(2026, 12, 31)).legal_basis, "QĐ A");
        assert_eq!(wt.on(d(2027, 1, 1)).due_soon_working_hours, 4);
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(WorkingTime::new(vec![]).is_err());
        let overlap = r#"{"rules": [{"effective_from": "2020-01-01", "periods": ["07:00-12:00", "11:00-17:00"], "due_soon_working_hours": 8, "legal_basis": "x"}]}"#;
        assert!(WorkingTime::from_json(overlap).is_err());
        let no_basis = r#"{"rules": [{"effective_from": "2020-01-01", "periods": ["07:00-12:00"], "due_soon_working_hours": 8, "legal_basis": " "}]}"#;
        assert!(WorkingTime::from_json(no_basis).is_err());
        let twice = r#"{"rules": [
            {"effective_from": "2020-01-01", "periods": ["07:00-12:00"], "due_soon_working_hours": 8, "legal_basis": "x"},
            {"effective_from": "2020-01-01", "periods": ["08:00-12:00"], "due_soon_working_hours": 8, "legal_basis": "y"}]}"#;
        assert!(WorkingTime::from_json(twice).is_err());
        let unknown = r#"{"rules": [{"effective_from": "2020-01-01", "periods": ["07:00-12:00"], "due_soon_working_hours": 8, "legal_basis": "x", "lunch": 1}]}"#;
        assert!(WorkingTime::from_json(unknown).is_err());
    }
}
