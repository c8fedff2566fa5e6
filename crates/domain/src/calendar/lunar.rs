//! Vietnamese lunisolar calendar (âm lịch), computed for the UTC+7 meridian.
//!
//! Why our own computation: Vietnam's calendar is defined by astronomical events
//! (new moons and the sun's longitude) observed from 105°E, so it cannot be
//! taken from a Chinese (UTC+8) table. The classic example is Tết 1985, which
//! fell on 21/01/1985 in Vietnam but on 20/02/1985 in China.
//!
//! # Method
//!
//! * **New moons** come from Jean Meeus, *Astronomical Algorithms* (2nd ed.,
//!   ch. 49 "Phases of the Moon"): a mean lunation series in the lunation
//!   number `k`, corrected by the periodic terms in the Sun's and Moon's mean
//!   anomalies, the Moon's argument of latitude and the ascending node, plus the
//!   fourteen small planetary terms. The result is in Terrestrial Time; we
//!   subtract ΔT (polynomial fits published by Espenak & Meeus for NASA's
//!   eclipse canon) to get Universal Time, then add 7 h and take the civil day.
//! * **The Sun's apparent longitude** comes from Meeus ch. 25 (the "low
//!   accuracy" solution: geometric mean longitude plus equation of centre,
//!   corrected for nutation and aberration; about 0.01° error).
//! * **Calendar rules** (the ones used in Vietnam and China since the 1645
//!   reform):
//!   1. a lunar month starts on the (UTC+7) civil day that contains a new moon;
//!   2. the 11th month is the one containing the winter solstice (sun
//!      longitude 270°);
//!   3. if 13 new moons start between two consecutive 11th months, the first
//!      of them (after the 11th month) that contains no major solar term
//!      (sun longitude crossing a multiple of 30°) is the leap month and
//!      repeats the number of the month before it.
//!
//!   The solar term "on a day" is judged by the sun's longitude at that day's
//!   local midnight, as is conventional for the Vietnamese calendar.
//!
//! Note: before 1968 Vietnamese almanacs commonly followed the Chinese
//! (UTC+8) calendar; this module always uses UTC+7 as the platform requires.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Time zone of the calendar in hours (105°E meridian).
const TIME_ZONE_HOURS: f64 = 7.0;
/// Julian day number of 0001-01-01 (proleptic Gregorian) minus chrono's
/// `num_days_from_ce` of that day (1).
const JDN_CE_OFFSET: i64 = 1_721_425;
/// Mean synodic month in days (Meeus 49.1).
const SYNODIC_MONTH: f64 = 29.530_588_861;
/// JDE of the mean new moon with k = 0 (6 January 2000).
const NEW_MOON_EPOCH: f64 = 2_451_550.097_66;
/// Years outside this range are rejected: the astronomy is fine far beyond,
/// but nobody needs it and it keeps date arithmetic far from overflow.
const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1000..=3000;

/// A date in the Vietnamese lunisolar calendar.
///
/// `year` is the Gregorian year in which that lunar year's Tết falls, so 11th
/// and 12th lunar months usually lie in the following Gregorian January.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LunarDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    /// True for a leap (nhuận) month, which repeats the previous month number.
    pub leap: bool,
}

/// Converts a lunar date to the Gregorian date.
///
/// Returns `None` when the date does not exist: month outside 1..=12, a leap
/// flag on a month that is not leap that year, day 30 in a 29-day month, or a
/// year outside 1000..=3000.
pub fn lunar_to_solar(year: i32, month: u32, day: u32, leap: bool) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
        return None;
    }
    // Months 11 and 12 of lunar year Y belong to the span that starts at the
    // 11th month in Gregorian year Y; months 1..=10 to the span before it.
    let span_year = if month >= 11 { year } else { year.checked_sub(1)? };
    if !SUPPORTED_YEARS.contains(&span_year) || !SUPPORTED_YEARS.contains(&year) {
        return None;
    }
    let span = SolsticeSpan::compute(span_year);
    let idx = span.labels.iter().position(|l| l.year == year && l.month == month && l.leap == leap)?;
    let length = span.starts[idx + 1] - span.starts[idx];
    if i64::from(day) > length {
        return None;
    }
    jdn_to_date(span.starts[idx] + i64::from(day) - 1)
}

/// Converts a Gregorian date to the lunar date.
///
/// # Panics
/// Panics for years outside 1000..=3000 (far beyond any administrative use).
pub fn solar_to_lunar(date: NaiveDate) -> LunarDate {
    assert!(SUPPORTED_YEARS.contains(&date.year()), "solar_to_lunar: year {} outside supported range", date.year());
    let dn = date_to_jdn(date);
    let mut span = SolsticeSpan::compute(date.year());
    if dn < span.starts[0] {
        span = SolsticeSpan::compute(date.year() - 1);
    }
    // starts[last] is the next 11th month, which is after `dn`, so idx < labels.len().
    let idx = span.starts.iter().rposition(|&s| s <= dn).unwrap_or(0);
    let label = span.labels[idx];
    LunarDate {
        year: label.year,
        month: label.month,
        day: u32::try_from(dn - span.starts[idx] + 1).unwrap_or(1),
        leap: label.leap,
    }
}

/// Number of days (29 or 30) in the given lunar month, or `None` if it does not exist.
pub fn lunar_month_length(year: i32, month: u32, leap: bool) -> Option<u32> {
    lunar_to_solar(year, month, 1, leap)?;
    Some(if lunar_to_solar(year, month, 30, leap).is_some() { 30 } else { 29 })
}

/// The leap month number of lunar year `year`, if that year has one.
pub fn leap_month(year: i32) -> Option<u32> {
    let spans = [year - 1, year];
    for span_year in spans {
        if !SUPPORTED_YEARS.contains(&span_year) {
            return None;
        }
        let span = SolsticeSpan::compute(span_year);
        if let Some(l) = span.labels.iter().find(|l| l.leap && l.year == year) {
            return Some(l.month);
        }
    }
    None
}

#[derive(Debug, Clone, Copy)]
struct MonthLabel {
    year: i32,
    month: u32,
    leap: bool,
}

/// The lunar months from the 11th month that starts in Gregorian year `g`
/// up to (not including) the next 11th month.
struct SolsticeSpan {
    /// Julian day numbers of each month's first day, plus the start of the
    /// next 11th month as the final element.
    starts: Vec<i64>,
    labels: Vec<MonthLabel>,
}

impl SolsticeSpan {
    fn compute(g: i32) -> Self {
        let k0 = month11_lunation(g);
        let k1 = month11_lunation(g + 1);
        let count = usize::try_from(k1 - k0).unwrap_or(12);
        let starts: Vec<i64> = (0..=count as i64).map(|i| new_moon_day(k0 + i)).collect();
        let leap_index = if count == 13 {
            // First month after the 11th with no major term; fall back to the
            // last month if rounding ever hid it (never observed 1000–3000).
            Some((1..13).find(|&i| sun_sector(starts[i]) == sun_sector(starts[i + 1])).unwrap_or(12))
        } else {
            None
        };
        let mut labels = Vec::with_capacity(count);
        let mut month = 10u32;
        let mut seen_first = false;
        for i in 0..count {
            let leap = leap_index == Some(i);
            if !leap {
                month = month % 12 + 1;
            }
            if month == 1 {
                seen_first = true;
            }
            labels.push(MonthLabel { year: if seen_first { g + 1 } else { g }, month, leap });
        }
        SolsticeSpan { starts, labels }
    }
}

/// Lunation number `k` of the 11th lunar month that begins in Gregorian year `g`
/// (the month that contains the December solstice of `g`).
fn month11_lunation(g: i32) -> i64 {
    let dec31 = date_to_jdn(NaiveDate::from_ymd_opt(g, 12, 31).expect("valid year"));
    let mut k = ((dec31 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    // Settle on the last new moon whose civil day is on or before 31 December.
    while new_moon_day(k + 1) <= dec31 {
        k += 1;
    }
    while new_moon_day(k) > dec31 {
        k -= 1;
    }
    // If the sun has already passed 270° when this month starts, the solstice
    // lies in the previous month.
    if sun_sector(new_moon_day(k)) >= 9 { k - 1 } else { k }
}

/// Civil day (UTC+7 Julian day number) containing new moon number `k`.
fn new_moon_day(k: i64) -> i64 {
    let jd_ut = new_moon_jde(k as f64) - delta_t_days_for_jd(new_moon_jde(k as f64));
    (jd_ut + 0.5 + TIME_ZONE_HOURS / 24.0).floor() as i64
}

/// Which 30° sector (0..=11) the sun's apparent longitude is in at local
/// midnight at the start of civil day `jdn`. 9 means 270°..300° (after the
/// winter solstice).
fn sun_sector(jdn: i64) -> i64 {
    let jd_ut = jdn as f64 - 0.5 - TIME_ZONE_HOURS / 24.0;
    let jde = jd_ut + delta_t_days_for_jd(jd_ut);
    (sun_apparent_longitude(jde) / 30.0).floor() as i64
}

fn sin_deg(x: f64) -> f64 {
    (x * PI / 180.0).sin()
}

/// Time (JDE, Terrestrial Time) of the true new moon with lunation number `k`
/// (k = 0 is the new moon of 6 January 2000). Meeus ch. 49.
fn new_moon_jde(k: f64) -> f64 {
    let t = k / 1236.85; // Julian centuries from J2000.0
    let t2 = t * t;
    let t3 = t2 * t;
    let t4 = t3 * t;

    let mean = NEW_MOON_EPOCH + SYNODIC_MONTH * k + 0.000_154_37 * t2 - 0.000_000_150 * t3 + 0.000_000_000_73 * t4;
    // Eccentricity of Earth's orbit factor.
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    // Sun's mean anomaly, Moon's mean anomaly, Moon's argument of latitude,
    // longitude of the Moon's ascending node (degrees).
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp = 201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f = 160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let om = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;

    // Periodic terms for the new moon phase: (coefficient, power of E, argument).
    let terms: [(f64, i32, f64); 25] = [
        (-0.407_20, 0, mp),
        (0.172_41, 1, m),
        (0.016_08, 0, 2.0 * mp),
        (0.010_39, 0, 2.0 * f),
        (0.007_39, 1, mp - m),
        (-0.005_14, 1, mp + m),
        (0.002_08, 2, 2.0 * m),
        (-0.001_11, 0, mp - 2.0 * f),
        (-0.000_57, 0, mp + 2.0 * f),
        (0.000_56, 1, 2.0 * mp + m),
        (-0.000_42, 0, 3.0 * mp),
        (0.000_42, 1, m + 2.0 * f),
        (0.000_38, 1, m - 2.0 * f),
        (-0.000_24, 1, 2.0 * mp - m),
        (-0.000_17, 0, om),
        (-0.000_07, 0, mp + 2.0 * m),
        (0.000_04, 0, 2.0 * mp - 2.0 * f),
        (0.000_04, 0, 3.0 * m),
        (0.000_03, 0, mp + m - 2.0 * f),
        (0.000_03, 0, 2.0 * mp + 2.0 * f),
        (-0.000_03, 0, mp + m + 2.0 * f),
        (0.000_03, 0, mp - m + 2.0 * f),
        (-0.000_02, 0, mp - m - 2.0 * f),
        (-0.000_02, 0, 3.0 * mp + m),
        (0.000_02, 0, 4.0 * mp),
    ];
    let periodic: f64 = terms.iter().map(|&(c, ep, arg)| c * e.powi(ep) * sin_deg(arg)).sum();

    // Planetary arguments: (coefficient, constant, rate per lunation).
    let planetary: [(f64, f64, f64); 13] = [
        (0.000_165, 251.88, 0.016_321),
        (0.000_164, 251.83, 26.651_886),
        (0.000_126, 349.42, 36.412_478),
        (0.000_110, 84.66, 18.206_239),
        (0.000_062, 141.74, 53.303_771),
        (0.000_060, 207.14, 2.453_732),
        (0.000_056, 154.84, 7.306_860),
        (0.000_047, 34.52, 27.261_239),
        (0.000_042, 207.19, 0.121_824),
        (0.000_040, 291.34, 1.844_379),
        (0.000_037, 161.72, 24.198_154),
        (0.000_035, 239.56, 25.513_099),
        (0.000_023, 331.55, 3.592_518),
    ];
    let a1 = 299.77 + 0.107_408 * k - 0.009_173 * t2;
    let additional: f64 =
        0.000_325 * sin_deg(a1) + planetary.iter().map(|&(c, base, rate)| c * sin_deg(base + rate * k)).sum::<f64>();

    mean + periodic + additional
}

/// Apparent geometric longitude of the Sun in degrees, 0..360, at JDE `jde`.
/// Meeus ch. 25, low-accuracy method.
fn sun_apparent_longitude(jde: f64) -> f64 {
    let t = (jde - 2_451_545.0) / 36_525.0;
    let t2 = t * t;
    let l0 = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let m = 357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t2;
    let centre = (1.914_602 - 0.004_817 * t - 0.000_014 * t2) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_289 * sin_deg(3.0 * m);
    let omega = 125.04 - 1_934.136 * t;
    let apparent = l0 + centre - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// ΔT = TT − UT in days, for a Julian day.
fn delta_t_days_for_jd(jd: f64) -> f64 {
    let year = 2000.0 + (jd - 2_451_545.0) / 365.25;
    delta_t_seconds(year) / 86_400.0
}

/// ΔT in seconds for a decimal year: the piecewise polynomials of
/// Espenak & Meeus (NASA "Five Millennium Canon of Solar Eclipses"), for the
/// ranges this crate supports; outside 1900–2150 the long-term parabola.
fn delta_t_seconds(y: f64) -> f64 {
    let parabola = |y: f64| {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    if y < 1900.0 {
        if y >= 1860.0 {
            let t = y - 1860.0;
            7.62 + 0.5737 * t - 0.251_754 * t.powi(2) + 0.016_806_68 * t.powi(3) - 0.000_447_362_4 * t.powi(4)
                + t.powi(5) / 233_174.0
        } else {
            parabola(y)
        }
    } else if y < 1920.0 {
        let t = y - 1900.0;
        -2.79 + 1.494_119 * t - 0.059_893_9 * t.powi(2) + 0.006_196_6 * t.powi(3) - 0.000_197 * t.powi(4)
    } else if y < 1941.0 {
        let t = y - 1920.0;
        21.20 + 0.844_93 * t - 0.076_100 * t.powi(2) + 0.002_093_6 * t.powi(3)
    } else if y < 1961.0 {
        let t = y - 1950.0;
        29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
    } else if y < 1986.0 {
        let t = y - 1975.0;
        45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
    } else if y < 2005.0 {
        let t = y - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if y < 2050.0 {
        let t = y - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t.powi(2)
    } else if y < 2150.0 {
        parabola(y) - 0.5628 * (2150.0 - y)
    } else {
        parabola(y)
    }
}

fn date_to_jdn(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_CE_OFFSET
}

fn jdn_to_date(jdn: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(jdn - JDN_CE_OFFSET).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn julian_day_numbers() {
        assert_eq!(date_to_jdn(d(2000, 1, 1)), 2_451_545);
        assert_eq!(date_to_jdn(d(1977, 2, 18)), 2_443_193);
        assert_eq!(jdn_to_date(2_451_545), Some(d(2000, 1, 1)));
    }

    #[test]
    fn meeus_worked_examples() {
        // Meeus example 49.a: new moon of 1977 February, k = -283,
        // JDE 2443192.65118.
        assert!((new_moon_jde(-283.0) - 2_443_192.651_18).abs() < 1e-4);
        // Meeus example 25.a: 1992 October 13.0 TD, apparent longitude 199.90895°.
        assert!((sun_apparent_longitude(2_448_908.5) - 199.908_95).abs() < 2e-3);
        // New moon of February 2030 (k = 372): published as 02/02/2030 16:07 UTC
        // (JD 2462535.1715); it decides Tết 2030 in Vietnam.
        let jde = new_moon_jde(372.0);
        let ut = jde - delta_t_days_for_jd(jde);
        assert!((ut - 2_462_535.171_5).abs() < 2.0 / 1440.0, "{ut}");
        assert_eq!(jdn_to_date(new_moon_day(372)), Some(d(2030, 2, 2)));
    }

    /// Tết (1/1 lunar) as observed in Vietnam, hand-checked against
    /// published Vietnamese almanacs.
    #[test]
    fn tet_dates() {
        let cases = [
            (1985, d(1985, 1, 21)), // differs from China (20/02/1985)
            (2007, d(2007, 2, 17)), // differs from China (18/02/2007)
            // 1968: the North adopted UTC+7 and had Tết on 29/01; the South (UTC+8) on 30/01.
            (1968, d(1968, 1, 29)),
            (2019, d(2019, 2, 5)),
            (2020, d(2020, 1, 25)),
            (2021, d(2021, 2, 12)),
            (2022, d(2022, 2, 1)),
            (2023, d(2023, 1, 22)),
            (2024, d(2024, 2, 10)),
            (2025, d(2025, 1, 29)),
            (2026, d(2026, 2, 17)),
            (2027, d(2027, 2, 6)),
            // New moon 02/02/2030 16:07 UTC = 23:07 in Vietnam, 00:07 on 03/02
            // in China: Tết Canh Tuất is 02/02 here, 03/02 in China (the
            // brief's 03/02 is the Chinese date).
            (2030, d(2030, 2, 2)),
        ];
        for (year, expected) in cases {
            assert_eq!(lunar_to_solar(year, 1, 1, false), Some(expected), "Tết {year}");
            assert_eq!(solar_to_lunar(expected), LunarDate { year, month: 1, day: 1, leap: false });
        }
    }

    #[test]
    fn hung_kings_commemoration() {
        for (year, expected) in [(2024, d(2024, 4, 18)), (2025, d(2025, 4, 7)), (2026, d(2026, 4, 26))] {
            assert_eq!(lunar_to_solar(year, 3, 10, false), Some(expected), "Giỗ Tổ {year}");
        }
    }

    #[test]
    fn last_days_of_lunar_year() {
        // Both Chạp months (Giáp Thìn, Ất Tỵ) have 29 days: the official
        // notices call 28/01/2025 and 16/02/2026 "29 tháng Chạp".
        assert_eq!(solar_to_lunar(d(2025, 1, 28)), LunarDate { year: 2024, month: 12, day: 29, leap: false });
        assert_eq!(solar_to_lunar(d(2026, 2, 14)), LunarDate { year: 2025, month: 12, day: 27, leap: false });
        assert_eq!(lunar_month_length(2025, 12, false), Some(29));
        assert_eq!(lunar_to_solar(2025, 12, 30, false), None);
    }

    #[test]
    fn leap_months() {
        assert_eq!(leap_month(2023), Some(2));
        assert_eq!(leap_month(2025), Some(6));
        assert_eq!(leap_month(2020), Some(4));
        assert_eq!(leap_month(2017), Some(6));
        assert_eq!(leap_month(2024), None);
        assert_eq!(leap_month(2026), None);
        // 1/2 nhuận Quý Mão = 22/03/2023; 1/6 nhuận Ất Tỵ = 25/07/2025.
        assert_eq!(lunar_to_solar(2023, 2, 1, true), Some(d(2023, 3, 22)));
        assert_eq!(lunar_to_solar(2025, 6, 1, true), Some(d(2025, 7, 25)));
        assert_eq!(solar_to_lunar(d(2025, 7, 25)), LunarDate { year: 2025, month: 6, day: 1, leap: true });
        // Asking for a leap month in a year without it fails.
        assert_eq!(lunar_to_solar(2024, 6, 1, true), None);
        assert_eq!(lunar_to_solar(2025, 7, 1, true), None);
    }

    #[test]
    fn invalid_inputs() {
        assert_eq!(lunar_to_solar(2025, 0, 1, false), None);
        assert_eq!(lunar_to_solar(2025, 13, 1, false), None);
        assert_eq!(lunar_to_solar(2025, 1, 31, false), None);
        assert_eq!(lunar_to_solar(2025, 1, 0, false), None);
        assert_eq!(lunar_to_solar(99_999, 1, 1, false), None);
    }

    #[test]
    fn tet_span_1900_2100_is_plausible() {
        for year in 1900..=2100 {
            let tet = lunar_to_solar(year, 1, 1, false).expect("Tết exists");
            assert_eq!(tet.year(), year);
            assert!(tet >= d(year, 1, 19) && tet <= d(year, 2, 21), "{year}: {tet}");
        }
    }

    /// Every day from 1950 through 2080 converts to a valid lunar date that
    /// converts back, and consecutive days advance the lunar date by one.
    #[test]
    fn round_trip_every_day_1950_2080() {
        let mut date = d(1950, 1, 1);
        let end = d(2080, 12, 31);
        let mut prev = solar_to_lunar(date);
        assert_eq!(lunar_to_solar(prev.year, prev.month, prev.day, prev.leap), Some(date));
        while date < end {
            date = date.succ_opt().unwrap();
            let l = solar_to_lunar(date);
            assert_eq!(lunar_to_solar(l.year, l.month, l.day, l.leap), Some(date), "{date} -> {l:?}");
            if l.day != 1 {
                assert_eq!((l.year, l.month, l.leap, l.day), (prev.year, prev.month, prev.leap, prev.day + 1));
            } else {
                assert!((29..=30).contains(&prev.day), "{date}: previous month had {} days", prev.day);
            }
            prev = l;
        }
    }

    proptest! {
        #[test]
        fn lunar_round_trip(year in 1900i32..=2100, month in 1u32..=12, day in 1u32..=30, leap in any::<bool>()) {
            if let Some(solar) = lunar_to_solar(year, month, day, leap) {
                prop_assert_eq!(solar_to_lunar(solar), LunarDate { year, month, day, leap });
            } else {
                // Only impossible dates may fail: a missing leap month or day 30.
                prop_assert!(leap || day == 30);
            }
        }

        #[test]
        fn solar_round_trip(days in 0i64..(366 * 201)) {
            let date = d(1900, 1, 1) + chrono::Duration::days(days);
            let l = solar_to_lunar(date);
            prop_assert_eq!(lunar_to_solar(l.year, l.month, l.day, l.leap), Some(date));
        }
    }
}
