//! A unit's statistics through the API and the console's dashboard page: counts of the period,
//! scoped to the caller's units, with the period checked.

use super::*;

fn text(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

#[tokio::test]
async fn a_unit_sees_its_own_statistics_as_figures_and_charts() {
    let app = app().await;
    let (resolved, refused, _open) = (submitted(&app).await, submitted(&app).await, submitted(&app).await);
    for (i, (token, action)) in [
        (&app.desk_x, "accept"),
        (&app.desk_x, "forward"),
        (&app.specialist_x, "forward"),
        (&app.leader_x, "approve"),
        (&app.desk_x, "record_result"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = act(&app, &resolved, token, i as i64 + 1, json!({"type": action})).await;
        assert_eq!(r.status, StatusCode::OK, "{action}");
    }
    let r = act(&app, &refused, &app.desk_x, 1, json!({"type": "refuse", "reason": "Không thuộc thẩm quyền"})).await;
    assert_eq!(r.status, StatusCode::OK);

    let s = app.get("/api/v1/statistics", Some(&app.desk_x)).await;
    assert_eq!(s.status, StatusCode::OK, "{}", text(&s));
    let s = s.json();
    assert_eq!(s["unit_code"], "000.00.31.H99");
    let t = &s["totals"];
    assert_eq!((t["received"].as_u64(), t["carried_over"].as_u64()), (Some(3), Some(0)), "{s}");
    let in_time = t["resolved_early"].as_u64().unwrap() + t["resolved_on_time"].as_u64().unwrap();
    assert_eq!((in_time, t["resolved_late"].as_u64()), (1, Some(0)), "resolved the day it came: not late");
    assert_eq!((t["closed_without_result"].as_u64(), t["pending_on_time"].as_u64()), (Some(1), Some(1)));
    assert_eq!(s["on_time_percent"], 100.0);
    assert_eq!(s["by_procedure"][0]["procedure_code"], "1.001193");
    let charted: u64 = s["buckets"].as_array().unwrap().iter().map(|b| b["received"].as_u64().unwrap()).sum();
    assert_eq!(charted, 3);

    // Another unit's desk sees its own unit, and not this one; citizens and clients not at all.
    let y = app.get("/api/v1/statistics", Some(&app.desk_y)).await.json();
    assert_eq!(y["totals"]["received"], 0);
    let other = app.get("/api/v1/statistics?unit=000.00.31.H99", Some(&app.desk_y)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/statistics", Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/statistics", None).await.status, StatusCode::UNAUTHORIZED);
    // Periods: reversed or longer than a year are refused; a bad date is a bad request.
    let reversed = app.get("/api/v1/statistics?from=2026-11-02&to=2026-11-01", Some(&app.desk_x)).await;
    assert_eq!(
        (reversed.status, reversed.json()["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period"))
    );
    let long = app.get("/api/v1/statistics?from=2025-01-01&to=2026-06-30", Some(&app.desk_x)).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/statistics?from=hom-qua", Some(&app.desk_x)).await.status, StatusCode::BAD_REQUEST);
    // A past period without these dossiers.
    let past = app.get("/api/v1/statistics?from=2025-01-01&to=2025-01-31", Some(&app.desk_x)).await.json();
    assert_eq!((past["totals"]["received"].as_u64(), past["buckets"].as_array().unwrap().len()), (Some(0), 31));

    // The dashboard page shows the same report.
    let page = app.get("/can-bo/thong-ke", Some(&app.desk_x)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = text(&page);
    for needle in ["Thống kê giải quyết hồ sơ", "<svg class=\"chart\"", "Đăng ký khai sinh", "100,0 %", "Tháng này"]
    {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    assert!(cqs_domain::text::is_nfc(&html));
    let bad = text(&app.get("/can-bo/thong-ke?tu=abc&den=", Some(&app.desk_x)).await);
    assert!(bad.contains("Ngày abc không hợp lệ") && bad.contains("Đang hiển thị tháng này"), "{bad}");
    let reversed = text(&app.get("/can-bo/thong-ke?tu=2026-11-02&den=2026-11-01", Some(&app.desk_x)).await);
    assert!(reversed.contains("Ngày đầu kỳ không được sau ngày cuối kỳ"), "{reversed}");
    let anon = app.get("/can-bo/thong-ke", None).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/can-bo/thong-ke", Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/can-bo/thong-ke?unit=000.00.31.H99", Some(&app.desk_y)).await.status, StatusCode::FORBIDDEN);
}
