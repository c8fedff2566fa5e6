//! How dates, times and money are written on pages: dd/mm/yyyy in Vietnam time, and amounts in
//! đồng with dots between thousands (`1.000.000 đ`).

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;

/// `23/11/2026`, the local date of an instant.
pub fn date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh).format("%d/%m/%Y").to_string()
}

/// `08:30 23/11/2026`, the local time and date of an instant.
pub fn datetime(at: DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string()
}

/// `08:30`, the local time of an instant.
pub fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh).format("%H:%M").to_string()
}

/// `2026-11-23T08:30:00+07:00`, for the `datetime` attribute of `<time>`.
pub fn iso(at: DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The sentence-case form of a label: its first letter upper-case ("tiếp nhận" → "Tiếp nhận").
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A count with dots between thousands: `12.345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `1.000.000 đ`.
pub fn money(amount: u64) -> String {
    format!("{} đ", count(amount))
}

/// A share in per cent with a decimal comma: `87,5 %`.
pub fn percent(p: f64) -> String {
    format!("{p:.1} %").replace('.', ",")
}

/// A fee as shown to citizens: nothing to pay reads "Miễn phí".
pub fn fee(amount: u64) -> String {
    if amount == 0 { "Miễn phí".to_owned() } else { money(amount) }
}

/// A size in bytes as people read it: `840 KB`, `2,4 MB`.
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 * 1024.0 {
        format!("{} KB", (b / 1024.0).ceil() as i64)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0)).replace('.', ",")
    }
}

/// A phone number kept as E.164 written as people in Vietnam write it: `+84912345678` →
/// `0912 345 678`; other countries keep the international form.
pub fn phone(e164: &str) -> String {
    match e164.strip_prefix("+84") {
        Some(rest) if rest.len() == 9 && rest.bytes().all(|b| b.is_ascii_digit()) => {
            format!("0{} {} {}", &rest[..3], &rest[3..6], &rest[6..])
        }
        Some(rest) => format!("0{rest}"),
        None => e164.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn writes_vietnamese_dates_and_money() {
        // 17:30 UTC on the 23rd is already the 24th in Vietnam.
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 17, 30, 0).unwrap();
        assert_eq!(date(t), "24/11/2026");
        assert_eq!(datetime(t), "00:30 24/11/2026");
        assert_eq!(iso(t), "2026-11-24T00:30:00+07:00");
        assert_eq!(money(1_000_000), "1.000.000 đ");
        assert_eq!(money(8_000), "8.000 đ");
        assert_eq!(money(950), "950 đ");
        assert_eq!(money(12_345_678), "12.345.678 đ");
        assert_eq!(
            (count(0), count(1234), percent(87.54), percent(100.0)),
            ("0".into(), "1.234".into(), "87,5 %".into(), "100,0 %".into())
        );
        assert_eq!(fee(0), "Miễn phí");
        assert_eq!(size(860_000), "840 KB");
        assert_eq!(size(2_500_000), "2,4 MB");
        assert_eq!(phone("+84912345678"), "0912 345 678");
        assert_eq!(phone("+842438123456"), "02438123456");
        assert_eq!(phone("+14155550100"), "+14155550100");
    }
}
