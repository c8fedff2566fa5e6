//! Public holidays (ngày nghỉ lễ, tết) and the yearly government decisions.
//!
//! Two layers, because the law and the yearly practice differ:
//!
//! 1. [`HolidayRules`]: the statutory holidays of the Labour Code, computed
//!    for any year (lunar dates converted with [`super::lunar`]), plus the
//!    compensatory day (nghỉ bù) when a holiday falls on the weekly rest day.
//!    This is the fallback for years nobody has entered a decision for.
//! 2. [`YearDecision`]: what the Prime Minister / Ministry actually announced
//!    for civil servants in a given year (exact Tết days, swapped days,
//!    make-up Saturdays). It is data (JSON under `rules/calendar/`), and when
//!    present it replaces the computed defaults of that year entirely.
//!
//! [`build_overrides`] merges both into the per-date map the working calendar uses.

use super::error::CalendarError;
use super::lunar::lunar_to_solar;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

/// Legal basis of the holidays from 2021 on.
pub const LABOUR_CODE_2019_ART_112: &str = "Khoản 1 Điều 112 Bộ luật Lao động số 45/2019/QH14";
/// Legal basis of the holidays for 2013–2020 (same days, without the extra 2/9 day).
pub const LABOUR_CODE_2012_ART_115: &str = "Khoản 1 Điều 115 Bộ luật Lao động số 10/2012/QH13";
/// Legal basis of the compensatory day when a holiday falls on the weekly rest day.
pub const LABOUR_CODE_2019_ART_111: &str = "Khoản 3 Điều 111 Bộ luật Lao động số 45/2019/QH14";
/// First year of the Labour Code 2019 (in force 01/01/2021).
const LABOUR_CODE_2019_FROM: i32 = 2021;

/// How a holiday's date is found in a given Gregorian year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateRule {
    /// A fixed Gregorian day, e.g. 30/04.
    Solar { month: u32, day: u32 },
    /// A fixed day of a (non-leap) lunar month, e.g. 10/3 for Giỗ Tổ.
    Lunar { month: u32, day: u32 },
    /// The Tết block around lunar New Year of the lunar year that starts in
    /// this Gregorian year: `days_before` days ending on the last day of the
    /// old lunar year, then `days_from_new_year` days starting with 1/1.
    LunarNewYear { days_before: u32, days_from_new_year: u32 },
}

/// One statutory holiday rule, valid for a range of years.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayRule {
    /// Vietnamese name, as shown to staff and citizens.
    pub name: String,
    pub legal_basis: String,
    pub rule: DateRule,
    /// First year the rule applies (inclusive); `None` = always.
    pub from_year: Option<i32>,
    /// Last year the rule applies (inclusive); `None` = still in force.
    pub to_year: Option<i32>,
}

impl HolidayRule {
    fn applies_to(&self, year: i32) -> bool {
        self.from_year.is_none_or(|f| year >= f) && self.to_year.is_none_or(|t| year <= t)
    }

    fn dates(&self, year: i32) -> Vec<NaiveDate> {
        match self.rule {
            DateRule::Solar { month, day } => NaiveDate::from_ymd_opt(year, month, day).into_iter().collect(),
            DateRule::Lunar { month, day } => lunar_to_solar(year, month, day, false).into_iter().collect(),
            DateRule::LunarNewYear { days_before, days_from_new_year } => match lunar_to_solar(year, 1, 1, false) {
                Some(tet) => (-i64::from(days_before)..i64::from(days_from_new_year))
                    .map(|offset| tet + Duration::days(offset))
                    .collect(),
                None => Vec::new(),
            },
        }
    }
}

/// Which day next to 02/09 is the second Quốc khánh day.
///
/// The Labour Code says "02/9 and one day before or after"; the government
/// picks it every year. The default (01/09, `Before`) is only a fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjacentDay {
    Before,
    After,
}

/// A holiday computed for a concrete date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
    pub legal_basis: String,
    /// True for a nghỉ bù day (holiday fell on the weekly rest day).
    pub compensatory: bool,
}

/// The statutory holiday rules, used for years without a [`YearDecision`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayRules {
    pub rules: Vec<HolidayRule>,
    /// Give a compensatory day on the next working weekday when a holiday
    /// falls on Saturday or Sunday (Labour Code 2019 Art. 111(3)). On by
    /// default, because civil servants rest on both days.
    pub compensate_weekend: bool,
}

impl Default for HolidayRules {
    fn default() -> Self {
        Self::labour_code_2019()
    }
}

impl HolidayRules {
    /// Labour Code 2019 Art. 112 with the lead's defaults: Tết = last day of
    /// the old lunar year + 1/1..4/1, and Quốc khánh's extra day = 01/09.
    ///
    /// These defaults are guesses for years nobody has entered a decision
    /// for; the yearly decision always overrides them.
    pub fn labour_code_2019() -> Self {
        Self::labour_code_2019_with(1, AdjacentDay::Before)
    }

    /// Like [`Self::labour_code_2019`] but with a different split of the five
    /// Tết days (`tet_days_before_new_year` of them before 1/1, clamped to
    /// 0..=5) and a different extra Quốc khánh day.
    ///
    /// Years before 2021 get the Labour Code 2012 list (same days, 2/9 alone).
    pub fn labour_code_2019_with(tet_days_before_new_year: u32, national_day_extra: AdjacentDay) -> Self {
        let before = tet_days_before_new_year.min(5);
        let fixed: [(&str, DateRule); 6] = [
            ("Tết Dương lịch", DateRule::Solar { month: 1, day: 1 }),
            (
                "Tết Âm lịch (Tết Nguyên đán)",
                DateRule::LunarNewYear { days_before: before, days_from_new_year: 5 - before },
            ),
            ("Giỗ Tổ Hùng Vương (10/3 âm lịch)", DateRule::Lunar { month: 3, day: 10 }),
            ("Ngày Chiến thắng (30/4)", DateRule::Solar { month: 4, day: 30 }),
            ("Ngày Quốc tế lao động (1/5)", DateRule::Solar { month: 5, day: 1 }),
            ("Quốc khánh (2/9)", DateRule::Solar { month: 9, day: 2 }),
        ];
        let mut rules = Vec::new();
        for (name, rule) in fixed {
            rules.push(HolidayRule {
                name: name.to_owned(),
                legal_basis: LABOUR_CODE_2012_ART_115.to_owned(),
                rule,
                from_year: None,
                to_year: Some(LABOUR_CODE_2019_FROM - 1),
            });
            rules.push(HolidayRule {
                name: name.to_owned(),
                legal_basis: LABOUR_CODE_2019_ART_112.to_owned(),
                rule,
                from_year: Some(LABOUR_CODE_2019_FROM),
                to_year: None,
            });
        }
        let extra_day = match national_day_extra {
            AdjacentDay::Before => 1,
            AdjacentDay::After => 3,
        };
        rules.push(HolidayRule {
            name: "Quốc khánh (ngày liền kề)".to_owned(),
            legal_basis: LABOUR_CODE_2019_ART_112.to_owned(),
            rule: DateRule::Solar { month: 9, day: extra_day },
            from_year: Some(LABOUR_CODE_2019_FROM),
            to_year: None,
        });
        HolidayRules { rules, compensate_weekend: true }
    }

    /// All holidays of Gregorian year `year`, sorted by date, including the
    /// compensatory days. Tết days belong to the Gregorian year of 1/1 lunar.
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let mut by_date: BTreeMap<NaiveDate, Holiday> = BTreeMap::new();
        for rule in self.rules.iter().filter(|r| r.applies_to(year)) {
            for date in rule.dates(year) {
                by_date.entry(date).or_insert_with(|| Holiday {
                    date,
                    name: rule.name.clone(),
                    legal_basis: rule.legal_basis.clone(),
                    compensatory: false,
                });
            }
        }
        if self.compensate_weekend {
            let on_weekend: Vec<Holiday> = by_date.values().filter(|h| is_sat_or_sun(h.date)).cloned().collect();
            for h in on_weekend {
                // Next weekday that is neither a holiday nor already a nghỉ bù.
                let mut day = h.date;
                loop {
                    day = day.succ_opt().expect("date in range");
                    if !is_sat_or_sun(day) && !by_date.contains_key(&day) {
                        break;
                    }
                }
                by_date.insert(
                    day,
                    Holiday {
                        date: day,
                        name: format!("Nghỉ bù {}", h.name),
                        legal_basis: LABOUR_CODE_2019_ART_111.to_owned(),
                        compensatory: true,
                    },
                );
            }
        }
        by_date.into_values().collect()
    }
}

fn is_sat_or_sun(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A date with the reason it is special.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedDate {
    pub date: NaiveDate,
    pub name: String,
}

/// The official schedule for civil servants (công chức, viên chức) for one year.
///
/// `days_off` lists every date the government made a day off that year
/// (holidays, swapped days, nghỉ bù); weekend days need not be listed.
/// `working_days` lists the make-up Saturdays/Sundays. When a decision exists
/// for a year, the computed defaults for that year are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearDecision {
    pub year: i32,
    /// Document numbers and dates (e.g. "Thông báo 9441/TB-BNV ngày 16/10/2025").
    pub legal_basis: String,
    /// Where the schedule was checked (optional, for reviewers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    pub days_off: Vec<NamedDate>,
    #[serde(default)]
    pub working_days: Vec<NamedDate>,
}

impl YearDecision {
    /// Parses and validates a decision file's JSON.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let decision: YearDecision = serde_json::from_str(json)?;
        decision.validate()?;
        Ok(decision)
    }

    /// Rejects duplicate dates, a date both off and working, and dates more
    /// than a year away from `year` (a likely typo). A make-up day may fall
    /// in the neighbouring year (e.g. Saturday 27/12 for Friday 02/01).
    pub fn validate(&self) -> Result<(), CalendarError> {
        let err = |reason: String| CalendarError::InvalidDecision { year: self.year, reason };
        let mut seen = BTreeSet::new();
        for nd in self.days_off.iter().chain(&self.working_days) {
            if (nd.date.year() - self.year).abs() > 1 {
                return Err(err(format!("{} is not near {}", nd.date, self.year)));
            }
            if !seen.insert(nd.date) {
                return Err(err(format!("{} is listed twice", nd.date)));
            }
        }
        Ok(())
    }
}

/// Whether an overridden date is a day off or a (make-up) working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DayKind {
    Off,
    Working,
}

/// What a specific date is, overriding the weekday/weekend default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOverride {
    pub kind: DayKind,
    pub name: String,
    pub legal_basis: String,
}

/// Builds the per-date overrides: for each year in `years` without a
/// decision, the computed holidays of `rules`; plus every decision given
/// (whatever its year). Fails on duplicate decisions or on a date that one
/// source makes a day off and another a working day.
pub fn build_overrides(
    years: RangeInclusive<i32>,
    rules: &HolidayRules,
    decisions: &[YearDecision],
) -> Result<BTreeMap<NaiveDate, DayOverride>, CalendarError> {
    let mut by_year: BTreeMap<i32, &YearDecision> = BTreeMap::new();
    for d in decisions {
        d.validate()?;
        if by_year.insert(d.year, d).is_some() {
            return Err(CalendarError::DuplicateDecision(d.year));
        }
    }
    let mut map = BTreeMap::new();
    for year in years {
        if by_year.contains_key(&year) {
            continue;
        }
        for h in rules.holidays(year) {
            insert(&mut map, h.date, DayOverride { kind: DayKind::Off, name: h.name, legal_basis: h.legal_basis })?;
        }
    }
    for d in by_year.values() {
        let entries = d
            .days_off
            .iter()
            .map(|nd| (nd, DayKind::Off))
            .chain(d.working_days.iter().map(|nd| (nd, DayKind::Working)));
        for (nd, kind) in entries {
            insert(&mut map, nd.date, DayOverride { kind, name: nd.name.clone(), legal_basis: d.legal_basis.clone() })?;
        }
    }
    Ok(map)
}

fn insert(
    map: &mut BTreeMap<NaiveDate, DayOverride>,
    date: NaiveDate,
    value: DayOverride,
) -> Result<(), CalendarError> {
    match map.get(&date) {
        Some(existing) if existing.kind != value.kind => Err(CalendarError::ConflictingOverride(date)),
        Some(_) => Ok(()),
        None => {
            map.insert(date, value);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn dates(hs: &[Holiday]) -> Vec<NaiveDate> {
        hs.iter().map(|h| h.date).collect()
    }

    #[test]
    fn default_2026() {
        let hs = HolidayRules::default().holidays(2026);
        assert_eq!(
            dates(&hs),
            vec![
                d(2026, 1, 1),
                // 29 tháng Chạp Ất Tỵ + 1/1..4/1 Bính Ngọ
                d(2026, 2, 16),
                d(2026, 2, 17),
                d(2026, 2, 18),
                d(2026, 2, 19),
                d(2026, 2, 20),
                d(2026, 4, 26), // Giỗ Tổ, Sunday
                d(2026, 4, 27), // nghỉ bù
                d(2026, 4, 30),
                d(2026, 5, 1),
                d(2026, 9, 1),
                d(2026, 9, 2),
            ]
        );
        assert!(hs.iter().all(|h| h.legal_basis.contains("Bộ luật Lao động")));
        let bu = hs.iter().find(|h| h.date == d(2026, 4, 27)).unwrap();
        assert!(bu.compensatory);
        assert_eq!(bu.name, "Nghỉ bù Giỗ Tổ Hùng Vương (10/3 âm lịch)");
        assert_eq!(bu.legal_basis, LABOUR_CODE_2019_ART_111);
    }

    #[test]
    fn default_2025_tet_compensation() {
        // Default Tết 2025: 28/01 (29 Chạp) .. 01/02 (Saturday, mùng 4)
        // → nghỉ bù Monday 03/02.
        let hs = HolidayRules::default().holidays(2025);
        let tet: Vec<_> = hs.iter().map(|h| h.date).filter(|&x| x >= d(2025, 1, 20) && x <= d(2025, 2, 10)).collect();
        assert_eq!(
            tet,
            vec![d(2025, 1, 28), d(2025, 1, 29), d(2025, 1, 30), d(2025, 1, 31), d(2025, 2, 1), d(2025, 2, 3)]
        );
    }

    #[test]
    fn configurable_defaults() {
        let hs = HolidayRules::labour_code_2019_with(2, AdjacentDay::After).holidays(2027);
        // Tết Đinh Mùi 2027 = 06/02: two days before, three from 1/1.
        let ds = dates(&hs);
        for day in [d(2027, 2, 4), d(2027, 2, 5), d(2027, 2, 6), d(2027, 2, 7), d(2027, 2, 8)] {
            assert!(ds.contains(&day), "{day}");
        }
        assert!(ds.contains(&d(2027, 9, 3)));
        assert!(!ds.contains(&d(2027, 9, 1)));
    }

    #[test]
    fn before_2021_no_extra_national_day() {
        let ds = dates(&HolidayRules::default().holidays(2019));
        assert!(ds.contains(&d(2019, 9, 2)));
        assert!(!ds.contains(&d(2019, 9, 1)));
        assert!(!ds.contains(&d(2019, 9, 3)));
    }

    #[test]
    fn decision_files_parse_and_override() {
        let d25 = YearDecision::from_json(include_str!("../../../../rules/calendar/2025.json")).unwrap();
        let d26 = YearDecision::from_json(include_str!("../../../../rules/calendar/2026.json")).unwrap();
        assert_eq!((d25.year, d26.year), (2025, 2026));
        let map = build_overrides(2024..=2027, &HolidayRules::default(), &[d25, d26]).unwrap();
        // The 2025 decision replaces the default (which would give 03/02 off).
        assert!(!map.contains_key(&d(2025, 2, 3)));
        assert_eq!(map[&d(2025, 1, 27)].kind, DayKind::Off);
        assert_eq!(map[&d(2025, 4, 26)].kind, DayKind::Working);
        assert_eq!(map[&d(2026, 1, 10)].kind, DayKind::Working);
        assert_eq!(map[&d(2026, 8, 22)].kind, DayKind::Working);
        assert_eq!(map[&d(2026, 8, 31)].kind, DayKind::Off);
        // 2024 and 2027 fall back to the rules.
        assert_eq!(map[&d(2024, 4, 18)].kind, DayKind::Off);
        assert_eq!(map[&d(2027, 2, 8)].kind, DayKind::Off);
    }

    #[test]
    fn decision_validation() {
        let dup = r#"{"year":2030,"legal_basis":"x","days_off":[{"date":"2030-01-01","name":"a"}],
                      "working_days":[{"date":"2030-01-01","name":"b"}]}"#;
        assert!(matches!(YearDecision::from_json(dup), Err(CalendarError::InvalidDecision { year: 2030, .. })));
        let far = r#"{"year":2030,"legal_basis":"x","days_off":[{"date":"2003-01-01","name":"a"}]}"#;
        assert!(YearDecision::from_json(far).is_err());
        let unknown = r#"{"year":2030,"legal_basis":"x","days_off":[],"extra":1}"#;
        assert!(matches!(YearDecision::from_json(unknown), Err(CalendarError::Json(_))));
        let ok = r#"{"year":2030,"legal_basis":"x","days_off":[]}"#;
        let d = YearDecision::from_json(ok).unwrap();
        assert!(matches!(
            build_overrides(2030..=2030, &HolidayRules::default(), &[d.clone(), d]),
            Err(CalendarError::DuplicateDecision(2030))
        ));
    }

    #[test]
    fn conflicting_sources_are_rejected() {
        // The 2030 decision makes 02/01/2031 a day off while the 2031
        // decision makes it a working day: refuse rather than pick one.
        let a =
            YearDecision::from_json(r#"{"year":2030,"legal_basis":"a","days_off":[{"date":"2031-01-02","name":"x"}]}"#)
                .unwrap();
        let b = YearDecision::from_json(
            r#"{"year":2031,"legal_basis":"b","days_off":[],"working_days":[{"date":"2031-01-02","name":"y"}]}"#,
        )
        .unwrap();
        assert!(matches!(
            build_overrides(2030..=2031, &HolidayRules::default(), &[a, b]),
            Err(CalendarError::ConflictingOverride(_))
        ));
    }
}
