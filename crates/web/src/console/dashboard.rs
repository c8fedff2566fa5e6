//! `GET /can-bo/thong-ke`: the unit's dashboard. The report of `api::statistics::unit_report`
//! (the same as `GET /api/v1/statistics`) as figures, two SVG charts drawn on the server and the
//! table by procedure; the period is an ordinary GET form with shortcuts for this month,
//! quarter and year, so a view can be bookmarked.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::NaiveDate;
use cqs_domain::auth::Principal;
use cqs_domain::dossier::local_date;
use cqs_domain::statistics::{Counts, Period};
use serde::Deserialize;

use crate::AppState;
use crate::api::statistics::{StatisticsParams, unit_report};
use crate::auth::Caller;
use crate::console::inbox::Opt;
use crate::ui::chart::{self, BarChart, Share};
use crate::ui::{Chrome, PageResult, fmt};

const PATH: &str = "/can-bo/thong-ke";

/// The form as browsers send it: empty fields arrive as empty strings.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    unit: Option<String>,
    tu: Option<String>,
    den: Option<String>,
}

/// One figure of the summary.
pub struct Figure {
    pub label: &'static str,
    pub value: String,
    pub note: String,
}

/// A row of the tables: figures by name.
pub struct Row {
    pub name: String,
    pub total: String,
    pub carried_over: String,
    pub received: String,
    pub early: String,
    pub on_time: String,
    pub late: String,
    pub closed: String,
    pub pending_on_time: String,
    pub pending_late: String,
    pub rate: String,
}

fn row(name: String, c: &Counts) -> Row {
    let n = fmt::count;
    Row {
        name,
        total: n(c.total()),
        carried_over: n(c.carried_over),
        received: n(c.received),
        early: n(c.resolved_early),
        on_time: n(c.resolved_on_time),
        late: n(c.resolved_late),
        closed: n(c.closed_without_result),
        pending_on_time: n(c.pending_on_time),
        pending_late: n(c.pending_late),
        rate: c.on_time_percent().map_or_else(|| "–".to_owned(), fmt::percent),
    }
}

/// A legend entry: the CSS class of its colour, the name and the count.
pub struct Legend {
    pub class: &'static str,
    pub label: &'static str,
    pub value: String,
}

/// A shortcut to a period.
pub struct Shortcut {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// One stretch of the chart as a table row.
pub struct BucketRow {
    pub label: String,
    pub received: String,
    pub resolved: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/dashboard.html")]
pub struct Dashboard {
    chrome: Chrome,
    units: Vec<Opt>,
    unit_name: String,
    from: String,
    to: String,
    period: String,
    judged_on: String,
    shortcuts: Vec<Shortcut>,
    figures: Vec<Figure>,
    outcome: Vec<Share>,
    legend: Vec<Legend>,
    chart: BarChart,
    chart_daily: bool,
    buckets: Vec<BucketRow>,
    totals: Row,
    procedures: Vec<Row>,
    problem: Option<String>,
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn date(v: &Option<String>) -> Result<Option<NaiveDate>, String> {
    match some(v) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("Ngày {s} không hợp lệ; hãy chọn ngày theo dạng ngày/tháng/năm")),
    }
}

pub async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<Filters>,
) -> PageResult<Dashboard> {
    super::require_staff(&caller, PATH)?;
    let Principal::Staff { grants, .. } = &caller.0 else { unreachable!("checked above") };
    let all_units = state.store.org_units().await?;
    let mut my_units: Vec<&cqs_domain::org::OrgUnit> =
        all_units.iter().filter(|u| grants.iter().any(|g| g.org_unit_id == u.id)).collect();
    my_units.sort_by(|a, b| a.name.cmp(&b.name));
    let unit = some(&f.unit).or_else(|| {
        grants.first().and_then(|g| all_units.iter().find(|u| u.id == g.org_unit_id)).map(|u| u.code.to_string())
    });
    let today = local_date(state.clock.now());
    let mut problem = None;
    let (from, to) = match (date(&f.tu), date(&f.den)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            problem = Some(e);
            (None, None)
        }
    };
    let mut params = StatisticsParams { unit: unit.clone(), from, to };
    let (unit_row, report) = match unit_report(&state, &caller, &params).await {
        Ok(r) => r,
        // A period the report refuses: say why and show this month instead.
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            problem = Some(e.title);
            params.from = None;
            params.to = None;
            unit_report(&state, &caller, &params).await?
        }
        Err(e) => return Err(e.into()),
    };
    let t = report.totals;
    let link = |p: Period| {
        format!(
            "{PATH}?unit={}&tu={}&den={}",
            crate::portal::encode(unit_row.code.as_str()),
            p.from.format("%Y-%m-%d"),
            p.to.format("%Y-%m-%d")
        )
    };
    let shortcuts = [
        ("Tháng này", Period::month_to_date(today)),
        ("Quý này", Period::quarter_to_date(today)),
        ("Năm nay", Period::year_to_date(today)),
    ]
    .into_iter()
    .map(|(label, p)| Shortcut { label, href: link(p), current: p == report.period })
    .collect();
    let figures = vec![
        Figure {
            label: "Tổng số hồ sơ",
            value: fmt::count(t.total()),
            note: format!(
                "{} mới tiếp nhận, {} kỳ trước chuyển sang",
                fmt::count(t.received),
                fmt::count(t.carried_over)
            ),
        },
        Figure {
            label: "Đã giải quyết",
            value: fmt::count(t.resolved()),
            note: format!(
                "{} trước hạn, {} đúng hạn, {} quá hạn",
                fmt::count(t.resolved_early),
                fmt::count(t.resolved_on_time),
                fmt::count(t.resolved_late)
            ),
        },
        Figure {
            label: "Tỷ lệ đúng hạn",
            value: t.on_time_percent().map_or_else(|| "–".to_owned(), fmt::percent),
            note: "trên số hồ sơ đã giải quyết".to_owned(),
        },
        Figure {
            label: "Đang giải quyết",
            value: fmt::count(t.pending()),
            note: format!("{} trong hạn, {} quá hạn", fmt::count(t.pending_on_time), fmt::count(t.pending_late)),
        },
        Figure {
            label: "Không giải quyết",
            value: fmt::count(t.closed_without_result),
            note: "từ chối, rút hoặc dừng giải quyết".to_owned(),
        },
    ];
    let parts: [(&'static str, &'static str, u64); 5] = [
        ("s-early", "Giải quyết trước hạn", t.resolved_early),
        ("s-on-time", "Giải quyết đúng hạn", t.resolved_on_time),
        ("s-late", "Giải quyết quá hạn", t.resolved_late),
        ("s-pending", "Đang giải quyết, trong hạn", t.pending_on_time),
        ("s-pending-late", "Đang giải quyết, quá hạn", t.pending_late),
    ];
    let outcome = chart::shares(&parts.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>());
    let legend = parts.iter().map(|&(class, label, n)| Legend { class, label, value: fmt::count(n) }).collect();
    let groups: Vec<(String, Vec<u64>)> =
        report.buckets.iter().map(|b| (b.label.clone(), vec![b.received, b.resolved])).collect();
    Ok(Dashboard {
        chrome: Chrome::console("Thống kê", "dashboard").for_caller(&caller),
        units: my_units
            .iter()
            .map(|u| Opt { value: u.code.to_string(), label: u.name.clone(), selected: u.id == unit_row.id })
            .collect(),
        unit_name: unit_row.name.clone(),
        from: report.period.from.format("%Y-%m-%d").to_string(),
        to: report.period.to.format("%Y-%m-%d").to_string(),
        period: format!("{} – {}", report.period.from.format("%d/%m/%Y"), report.period.to.format("%d/%m/%Y")),
        judged_on: report.judged_on.format("%d/%m/%Y").to_string(),
        shortcuts,
        figures,
        outcome,
        legend,
        chart: chart::grouped(&["s-received", "s-resolved"], &groups),
        chart_daily: (report.period.to - report.period.from).num_days() < cqs_domain::statistics::DAILY_UP_TO,
        buckets: report
            .buckets
            .iter()
            .map(|b| BucketRow {
                label: b.label.clone(),
                received: fmt::count(b.received),
                resolved: fmt::count(b.resolved),
            })
            .collect(),
        totals: row("Tổng cộng".to_owned(), &t),
        procedures: report.by_procedure.iter().map(|p| row(p.procedure_name.clone(), &p.counts)).collect(),
        problem,
    })
}
