//! The working calendar of a year, read-only: the days off, the swapped days and the make-up
//! working days as the platform computes them, each with its name and legal basis, and where the
//! year comes from (a notice shipped with the binary, the operator's file, or the Labour Code
//! computation when the year has no notice). Editing here would change deadlines on one node
//! only: every node loads the calendar at start and replays the due dates of open dossiers then
//! (docs/rules.md), so a year is added as a file and the nodes restarted.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Weekday};
use cqs_domain::calendar::holidays::build_overrides;
use cqs_domain::calendar::{COMPUTED_YEARS, DayKind, HolidayRules};

use super::{chrome, require_admin};
use crate::AppState;
use crate::auth::Caller;
use crate::rules::YearNotice;
use crate::ui::{Chrome, FormErrors, PageResult, render};

const PATH: &str = "/can-bo/quan-tri/lich";

pub struct DayRow {
    pub date: String,
    pub weekday: &'static str,
    pub name: String,
    pub legal_basis: String,
    /// Whether the working calendar in use counts the day as a working day.
    pub working: bool,
}

#[derive(Template)]
#[template(path = "console/admin/calendar.html")]
pub struct CalendarPage {
    chrome: Chrome,
    year: i32,
    year_text: String,
    first: i32,
    last: i32,
    errors: FormErrors,
    /// Where the year's days come from, in words.
    source: String,
    /// The notice's legal basis and the documents it lists, when there is one.
    legal_basis: Option<String>,
    documents: Vec<String>,
    days_off: Vec<DayRow>,
    working_days: Vec<DayRow>,
}

pub fn weekday_vi(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "Thứ Hai",
        Weekday::Tue => "Thứ Ba",
        Weekday::Wed => "Thứ Tư",
        Weekday::Thu => "Thứ Năm",
        Weekday::Fri => "Thứ Sáu",
        Weekday::Sat => "Thứ Bảy",
        Weekday::Sun => "Chủ nhật",
    }
}

/// Where a year's calendar comes from, in words for the page.
pub fn source_vi(year: i32, notice: Option<&YearNotice>) -> String {
    match notice {
        Some(YearNotice { file: Some(path), .. }) => {
            format!("Tệp của đơn vị vận hành {path} (thay cho dữ liệu đi kèm phần mềm, nếu có)")
        }
        Some(YearNotice { file: None, .. }) => {
            format!("Thông báo nghỉ lễ năm {year} đi kèm phần mềm (rules/calendar/{year}.json)")
        }
        None => format!(
            "Chưa có thông báo nghỉ lễ năm {year}: các ngày nghỉ được tính theo Điều 112 Bộ luật Lao động 2019 (Tết Nguyên đán tính theo âm lịch, nghỉ bù khi ngày lễ trùng ngày nghỉ hằng tuần)"
        ),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct CalendarQuery {
    nam: Option<String>,
}

/// `GET /can-bo/quan-tri/lich?nam=2026`.
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<CalendarQuery>,
) -> PageResult<Response> {
    require_admin(&state, &caller, PATH).await?;
    let this_year = cqs_domain::dossier::local_date(state.clock.now()).year();
    let mut errors = FormErrors::default();
    let asked = q.nam.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let year = match asked.map(str::parse::<i32>) {
        None => this_year,
        Some(Ok(y)) if COMPUTED_YEARS.contains(&y) => y,
        Some(_) => {
            errors.add("nam", format!("Chọn một năm từ {} đến {}", COMPUTED_YEARS.start(), COMPUTED_YEARS.end()));
            this_year.clamp(*COMPUTED_YEARS.start(), *COMPUTED_YEARS.end())
        }
    };
    let notice = state.rules.notices.iter().find(|n| n.decision.year == year);
    let decisions: Vec<_> = notice.map(|n| n.decision.clone()).into_iter().collect();
    let overrides = build_overrides(year..=year, &HolidayRules::labour_code_2019(), &decisions).map_err(|e| {
        tracing::error!(error = %e, year, "calendar of the year not built");
        crate::ui::PageError::internal()
    })?;
    let calendar = &state.rules.calendar;
    let (mut days_off, mut working_days) = (Vec::new(), Vec::new());
    for (date, o) in overrides.into_iter().filter(|(d, _)| d.year() == year) {
        let row = DayRow {
            date: date.format("%d/%m/%Y").to_string(),
            weekday: weekday_vi(date),
            name: o.name,
            legal_basis: o.legal_basis,
            working: calendar.is_working_day(date),
        };
        if o.kind == DayKind::Working { working_days.push(row) } else { days_off.push(row) }
    }
    let page = CalendarPage {
        chrome: chrome(&format!("Lịch làm việc năm {year}"), &caller),
        year,
        year_text: asked.unwrap_or_default().to_owned(),
        first: *COMPUTED_YEARS.start(),
        last: *COMPUTED_YEARS.end(),
        errors,
        source: source_vi(year, notice),
        legal_basis: notice.map(|n| n.decision.legal_basis.clone()),
        documents: notice.map(|n| n.decision.sources.clone()).unwrap_or_default(),
        days_off,
        working_days,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(status, &page))
}

#[cfg(test)]
mod tests {
    #[test]
    fn weekdays_read_in_vietnamese() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 9, 2).unwrap();
        assert_eq!(super::weekday_vi(d), "Thứ Tư");
        assert!(super::source_vi(2031, None).contains("Bộ luật Lao động 2019"));
    }
}
