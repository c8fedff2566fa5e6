//! The administration pages (`/can-bo/quan-tri`) as a browser without JavaScript uses them:
//! only the root unit's administrators get in; a catalog file with errors gives the row report
//! and writes nothing, a clean one adds drafts that are then published through the API's own
//! function; staff accounts are created and their roles changed, each recorded in the security
//! log; an org unit with a malformed code is refused beside the field.

use super::*;

const HOME: &str = "/can-bo/quan-tri";
const PAGES: [&str; 6] = [
    HOME,
    "/can-bo/quan-tri/thu-tuc",
    "/can-bo/quan-tri/can-bo",
    "/can-bo/quan-tri/don-vi",
    "/can-bo/quan-tri/lich",
    "/can-bo/quan-tri/lgsp",
];

fn html(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn location(r: &Resp) -> &str {
    r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn request(path: &str, method: &str, auth: Option<(&str, &str)>) -> axum::http::request::Builder {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080");
    match auth {
        None => req,
        Some(("key", k)) => req.header(header::AUTHORIZATION, format!("Bearer {k}")),
        Some((_, cookie)) => req.header(header::COOKIE, cookie),
    }
}

async fn open(app: &App, key: Option<&str>, path: &str) -> Resp {
    app.call(request(path, "GET", key.map(|k| ("key", k))).body(Body::empty()).unwrap()).await
}

async fn post_form(app: &App, key: &str, path: &str, fields: &[(&str, &str)]) -> Resp {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", cqs_web::portal::encode(k), cqs_web::portal::encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = request(path, "POST", Some(("key", key)))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

async fn upload(app: &App, key: &str, file_name: &str, bytes: &[u8]) -> Resp {
    let boundary = "----cqsAdminBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"tep\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = request("/can-bo/quan-tri/thu-tuc", "POST", Some(("key", key)))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

/// A CSV of the table, every cell quoted.
fn csv_of(table: &[Vec<String>]) -> Vec<u8> {
    table
        .iter()
        .map(|r| r.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes()
}

/// Two new procedures in the import format.
fn catalog() -> Vec<Vec<String>> {
    let mut a = spec();
    a.code = cqs_domain::ids::ProcedureCode::parse("1.009001").unwrap();
    a.name = "Đăng ký kết hôn".into();
    let mut b = spec();
    b.code = cqs_domain::ids::ProcedureCode::parse("1.009002").unwrap();
    b.name = "Đăng ký giám hộ".into();
    cqs_import::read_csv(cqs_import::to_csv(&[a, b]).as_bytes()).unwrap()
}

#[tokio::test]
async fn only_the_root_units_administrators_get_in() {
    let app = app().await;
    for p in PAGES {
        let r = open(&app, None, p).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{p}");
        assert_eq!(location(&r), format!("/can-bo/dang-nhap?tiep={}", cqs_web::portal::encode(p)));
        for who in [&app.desk_x, &app.leader_x, &app.portal] {
            assert_eq!(open(&app, Some(who), p).await.status, StatusCode::FORBIDDEN, "{p}");
        }
        let r = open(&app, Some(&app.admin), p).await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        assert!(html(&r).contains(r#"href="/can-bo/quan-tri" aria-current="page""#), "{p}: the navigation has it");
    }
    // An officer's navigation has no "Quản trị".
    assert!(!html(&open(&app, Some(&app.desk_x), "/can-bo").await).contains(r#"href="/can-bo/quan-tri""#));
    let citizen = super::identity_support::citizen(&app, "001203007654", "0977000111").await;
    for p in PAGES {
        let r = app.call(request(p, "GET", Some(("cookie", &citizen.cookie))).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{p}");
    }
    // Writes too: an officer cannot publish, create accounts or change units.
    let r = post_form(&app, &app.desk_x, "/can-bo/quan-tri/don-vi", &[("code", "000.00.50.H99")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(upload(&app, &app.desk_x, "a.csv", &csv_of(&catalog())).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.all_procedure_versions().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_file_with_errors_gives_the_row_report_and_writes_nothing() {
    let app = app().await;
    let mut table = catalog();
    let col = |name: &str| table[0].iter().position(|c| c == name).unwrap();
    let (from, name) = (col("effective_from"), col("name"));
    table[2][from] = "32/13/2025".into();
    table[1][name] = String::new();
    let r = upload(&app, &app.admin, "danh mục.csv", &csv_of(&table)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    for s in [
        "Không nhập thủ tục nào",
        "Báo cáo lỗi",
        "<td data-label=\"Dòng\">2</td>",
        "<td data-label=\"Dòng\">3</td>",
        "effective_from",
    ] {
        assert!(page.contains(s), "{s}: {page}");
    }
    assert_eq!(app.store.all_procedure_versions().await.unwrap().len(), 3, "nothing written");
    // Not a catalog file, or no file at all.
    let r = upload(&app, &app.admin, "anh.png", b"\x89PNG").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Tệp phải có đuôi .csv hoặc .xlsx"));
}

#[tokio::test]
async fn a_clean_file_adds_drafts_that_are_then_published() {
    let app = app().await;
    let r = upload(&app, &app.admin, "danh-muc.csv", &csv_of(&catalog())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let page = html(&r);
    assert!(page.contains("2 phiên bản nháp mới") && page.contains("1.009001 – phiên bản 1"), "{page}");
    assert!(page.contains(r#"action="/can-bo/quan-tri/thu-tuc/1.009002/1/cong-bo""#), "{page}");
    let draft = app.store.procedure_versions("1.009001").await.unwrap();
    assert_eq!(draft[0].status, cqs_domain::catalog::VersionStatus::Draft);
    // The portal does not show a draft.
    assert_eq!(app.get("/api/v1/procedures/1.009001", None).await.status, StatusCode::NOT_FOUND);

    let r = post_form(&app, &app.admin, "/can-bo/quan-tri/thu-tuc/1.009001/1/cong-bo", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/can-bo/quan-tri/thu-tuc?da_cong_bo="));
    let v = app.store.procedure_versions("1.009001").await.unwrap();
    assert_eq!(v[0].status, cqs_domain::catalog::VersionStatus::Published);
    assert_eq!(app.get("/api/v1/procedures/1.009001", None).await.status, StatusCode::OK);
    // Publishing twice: the API's answer (no draft left).
    let again = post_form(&app, &app.admin, "/can-bo/quan-tri/thu-tuc/1.009001/1/cong-bo", &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let list = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/thu-tuc").await);
    assert!(list.contains("Đăng ký giám hộ") && list.contains("Bản nháp") && list.contains("Đã công bố"));
}

#[tokio::test]
async fn accounts_are_created_and_their_roles_changed_in_the_security_log() {
    let app = app().await;
    let path = "/can-bo/quan-tri/can-bo";
    // Errors beside the fields, nothing created.
    let r = post_form(
        &app,
        &app.admin,
        path,
        &[("username", "Sai Ten"), ("full_name", ""), ("password", "ngan"), ("role", "leader")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    for s in [
        "Có lỗi cần sửa",
        r##"href="#username""##,
        r##"href="#full_name""##,
        r##"href="#password""##,
        "Chọn đơn vị của vai trò",
    ] {
        assert!(page.contains(s), "{s}: {page}");
    }
    assert!(app.store.user_by_username("Sai Ten").await.unwrap().is_none());

    let password = "Hoa-sen-nở-2026!";
    let fields = [
        ("username", "tran.thi.binh"),
        ("full_name", "Trần Thị Bình"),
        ("email", ""),
        ("password", password),
        ("role", "desk_officer"),
        ("unit", "000.00.31.H99"),
    ];
    let r = post_form(&app, &app.admin, path, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(location(&r), "/can-bo/quan-tri/can-bo/tran.thi.binh?moi=1");
    let u = app.store.user_by_username("tran.thi.binh").await.unwrap().unwrap();
    let x = app.store.org_unit_by_code("000.00.31.H99").await.unwrap().unwrap().id;
    let y = app.store.org_unit_by_code("000.00.32.H99").await.unwrap().unwrap().id;
    assert_eq!(u.grants, vec![RoleGrant { role: Role::DeskOfficer, org_unit_id: x }]);
    assert!(app.store.user_password_hash(u.id).await.unwrap().is_some_and(|h| h.starts_with("$argon2id$")));
    // The same username again is refused.
    let r = post_form(&app, &app.admin, path, &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Tên đăng nhập này đã có người dùng"));

    let page = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/can-bo/tran.thi.binh?moi=1").await);
    assert!(page.contains("Đã tạo tài khoản") && page.contains("Cán bộ tiếp nhận (một cửa)"), "{page}");
    // Drop the desk role (its box not sent), add leader at Y.
    let r = post_form(
        &app,
        &app.admin,
        "/can-bo/quan-tri/can-bo/tran.thi.binh",
        &[("them_vai_tro", "leader"), ("them_don_vi", "000.00.32.H99")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let u = app.store.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(u.grants, vec![RoleGrant { role: Role::Leader, org_unit_id: y }]);
    // A role without its unit is refused beside the field.
    let r = post_form(&app, &app.admin, "/can-bo/quan-tri/can-bo/tran.thi.binh", &[("them_vai_tro", "clerk")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Chọn đơn vị của vai trò"));

    let events = app.get("/api/v1/security-events?kind=staff_changed", Some(&app.admin)).await.json();
    let details: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(details.len(), 2, "{events}");
    assert!(
        details
            .iter()
            .any(|d| d.contains("tạo tài khoản tran.thi.binh bởi admin; vai trò: desk_officer@000.00.31.H99"))
    );
    assert!(details.iter().any(|d| d.contains("desk_officer@000.00.31.H99 → leader@000.00.32.H99")));
    assert!(!events.to_string().contains(password));

    // Resetting the second step is recorded by the shared function.
    let r = post_form(&app, &app.admin, "/can-bo/quan-tri/can-bo/tran.thi.binh/xac-thuc", &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/can-bo/quan-tri/can-bo/tran.thi.binh?da=xac-thuc"));
    let events = app.get("/api/v1/security-events?kind=mfa_reset", Some(&app.admin)).await.json();
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    // The administrator cannot take their own administrator role away.
    let r = post_form(&app, &app.admin, "/can-bo/quan-tri/can-bo/admin", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn org_units_are_added_and_edited_and_a_bad_code_is_refused() {
    let app = app().await;
    let path = "/can-bo/quan-tri/don-vi";
    let before = app.store.org_units().await.unwrap().len();
    let bad = [
        ("sua", ""),
        ("code", "31.H99"),
        ("name", "UBND xã Hoa Sen"),
        ("kind", "commune"),
        ("parent", "000.00.00.H99"),
        ("valid_from", "2025-07-01"),
    ];
    let r = post_form(&app, &app.admin, path, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains("Mã định danh không đúng dạng QCVN 102") && page.contains(r##"href="#code""##), "{page}");
    assert!(page.contains(r#"value="UBND xã Hoa Sen""#), "what was typed is kept");
    assert_eq!(app.store.org_units().await.unwrap().len(), before);

    let mut good = bad;
    good[1] = ("code", "000.00.33.H99");
    let r = post_form(&app, &app.admin, path, &good).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/can-bo/quan-tri/don-vi?da_luu=000.00.33.H99"));
    let added = app.store.org_unit_by_code("000.00.33.H99").await.unwrap().unwrap();
    assert_eq!(added.name, "UBND xã Hoa Sen");

    // Edit: rename and move under the department; the code stays.
    let edit = [
        ("sua", "000.00.33.H99"),
        ("code", "000.00.33.H99"),
        ("name", "UBND phường Hoa Sen"),
        ("kind", "commune"),
        ("parent", "000.00.05.H99"),
        ("valid_from", "2025-07-01"),
    ];
    let r = post_form(&app, &app.admin, path, &edit).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let edited = app.store.org_unit_by_code("000.00.33.H99").await.unwrap().unwrap();
    let dept = app.store.org_unit_by_code("000.00.05.H99").await.unwrap().unwrap();
    assert_eq!((edited.id, edited.name.as_str(), edited.parent_id), (added.id, "UBND phường Hoa Sen", Some(dept.id)));
    // A unit cannot be put under itself.
    let mut cycle = edit;
    cycle[4] = ("parent", "000.00.33.H99");
    assert_eq!(post_form(&app, &app.admin, path, &cycle).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let form = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/don-vi?sua=000.00.33.H99").await);
    assert!(form.contains("Sửa đơn vị 000.00.33.H99") && form.contains(r#"value="UBND phường Hoa Sen""#));
}

#[tokio::test]
async fn the_calendar_shows_a_years_days_off_and_make_up_days_with_their_source() {
    let app = app().await;
    let page = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/lich?nam=2026").await);
    for s in [
        "Lịch làm việc năm 2026",
        "đi kèm phần mềm (rules/calendar/2026.json)",
        "02/09/2026",
        "01/01/2026",
        "Trang này chỉ để xem",
    ] {
        assert!(page.contains(s), "{s}: {page}");
    }
    let computed = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/lich?nam=2035").await);
    assert!(computed.contains("Bộ luật Lao động 2019") && computed.contains("02/09/2035"), "{computed}");
    let r = open(&app, Some(&app.admin), "/can-bo/quan-tri/lich?nam=1990").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_exchange_page_shows_the_registry_and_the_requests_waiting() {
    use super::exchange::{CLIENT, SERVICE, registry};
    let app = app().await;
    let empty = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/lgsp").await);
    assert!(empty.contains("Chưa có thành viên nào") && empty.contains("Không có yêu cầu nào đang chờ"));
    let ex = registry(&app, "http://127.0.0.1:9/api").await;
    let ask = serde_json::json!({"client": CLIENT, "service": SERVICE, "purpose": "Đối chiếu giấy khai sinh khi tiếp nhận hồ sơ",
        "legal_basis": "Luật Hộ tịch số 60/2014/QH13"});
    let req = request("/api/v1/exchange/access-requests", "POST", Some(("key", &ex.client_admin)))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(ask.to_string()))
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::CREATED);
    let page = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/lgsp").await);
    for text in [
        "Sở Tư pháp",
        "VN-LH/GOV/000.00.05.H99/ho-tich",
        "Tra cứu khai sinh",
        "Sở Tư pháp tỉnh Lạc Hồng",
        "Đối chiếu giấy khai sinh khi tiếp nhận hồ sơ",
        CLIENT,
        "chưa cấp khóa bí mật",
        "1 yêu cầu chờ trả lời",
    ] {
        assert!(page.contains(text), "the page lacks {text}");
    }
    assert!(!page.contains("Quá hạn"), "the request is not late yet");
    // Two working days later and more, it is.
    app.clock.set(chrono::Utc::now() + chrono::Duration::days(10));
    let late = html(&open(&app, Some(&app.admin), "/can-bo/quan-tri/lgsp").await);
    assert!(late.contains("Quá hạn"));
    // A member's own admin is not the operator.
    assert_eq!(open(&app, Some(&ex.provider_admin), "/can-bo/quan-tri/lgsp").await.status, StatusCode::FORBIDDEN);
}

/// The text between `start` and the next `end` in `page`, to read an id or secret off a page.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    &page[from..from + page[from..].find(end).unwrap()]
}

#[tokio::test]
async fn the_operator_runs_the_registry_and_answers_requests_from_the_console() {
    use super::exchange::{CLIENT, PROVIDER, SERVICE};
    let app = app().await;
    let admin = app.admin.clone();
    let lgsp = "/can-bo/quan-tri/lgsp";
    let saved = |r: &Resp, to: &str| {
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(r));
        assert!(location(r).starts_with(to), "went to {}", location(r));
    };
    for (id, name) in [("VN-LH/GOV/000.00.05.H99", "Sở Tư pháp"), ("VN-LH/GOV/000.00.31.H99", "UBND xã")] {
        let r = post_form(
            &app,
            &admin,
            "/can-bo/quan-tri/lgsp/thanh-vien",
            &[("id", id), ("name", name), ("status", "active")],
        )
        .await;
        saved(&r, "/can-bo/quan-tri/lgsp?xong=thanh-vien");
    }
    let bad =
        post_form(&app, &admin, "/can-bo/quan-tri/lgsp/thanh-vien", &[("id", "VN-LH/GOV/SO TU PHAP"), ("name", "Sở")])
            .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&bad).contains("error-summary") && html(&bad).contains("value=\"VN-LH/GOV/SO TU PHAP\""),
        "kept as typed"
    );
    for id in [PROVIDER, CLIENT] {
        let r = post_form(
            &app,
            &admin,
            "/can-bo/quan-tri/lgsp/he-thong",
            &[("id", id), ("name", "Hệ thống"), ("system_id", "")],
        )
        .await;
        saved(&r, "/can-bo/quan-tri/lgsp?xong=he-thong");
    }
    let dup = post_form(&app, &admin, "/can-bo/quan-tri/lgsp/he-thong", &[("id", CLIENT), ("name", "Trùng")]).await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY, "a duplicate is said beside the field");

    // A service: the description must be JSON, and the page says where it is not.
    let new = html(&open(&app, Some(&admin), &format!("/can-bo/quan-tri/lgsp/dich-vu?he-thong={PROVIDER}")).await);
    assert!(new.contains("Dịch vụ mới") && new.contains(PROVIDER));
    let mut service = vec![
        ("provider", PROVIDER),
        ("code", "khai-sinh"),
        ("title", "Tra cứu khai sinh"),
        ("version", "1.0.0"),
        ("owner", "Sở Tư pháp"),
        ("status", "active"),
        ("base_url", "http://127.0.0.1:9/api"),
        ("timeout_ms", "5000"),
        (
            "openapi",
            "{\"openapi\": \"3.0.3\",\n\"paths\": {\"/khai-sinh/{so}\": {\"get\": {}}, \"/thong-ke\": {\"get\": {}},}}",
        ),
    ];
    let r = post_form(&app, &admin, "/can-bo/quan-tri/lgsp/dich-vu", &service).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("phải là JSON hợp lệ (dòng 2"), "{}", html(&r));
    service[8].1 =
        "{\"openapi\": \"3.0.3\", \"paths\": {\"/khai-sinh/{so}\": {\"get\": {}}, \"/thong-ke\": {\"get\": {}}}}";
    saved(
        &post_form(&app, &admin, "/can-bo/quan-tri/lgsp/dich-vu", &service).await,
        "/can-bo/quan-tri/lgsp/dich-vu?id=",
    );
    let page_of_service = format!("/can-bo/quan-tri/lgsp/dich-vu?id={}", cqs_web::portal::encode(SERVICE));
    let shown = html(&open(&app, Some(&admin), &page_of_service).await);
    assert!(shown.contains("GET /khai-sinh/*") && shown.contains("Chưa cấp quyền cho hệ thống nào"), "{shown}");

    // An access request for two endpoints, answered with one of them.
    let ask = [
        ("client", CLIENT),
        ("service", SERVICE),
        ("endpoints", "GET /khai-sinh/*\nGET /thong-ke"),
        ("purpose", "Đối chiếu giấy khai sinh khi tiếp nhận hồ sơ"),
        ("legal_basis", "Luật Hộ tịch số 60/2014/QH13"),
    ];
    saved(&post_form(&app, &admin, "/can-bo/quan-tri/lgsp/de-nghi", &ask).await, "/can-bo/quan-tri/lgsp?xong=de-nghi");
    let overview = html(&open(&app, Some(&admin), lgsp).await);
    let id = between(&overview, "/can-bo/quan-tri/lgsp/de-nghi/", "\"").to_owned();
    let request_page = format!("/can-bo/quan-tri/lgsp/de-nghi/{id}");
    let asked = html(&open(&app, Some(&admin), &request_page).await);
    assert!(
        asked.contains("Đang chờ trả lời")
            && asked.contains("Luật Hộ tịch số 60/2014/QH13")
            && asked.contains("Gửi trả lời")
    );
    let no_basis =
        post_form(&app, &admin, &request_page, &[("decision", "refuse"), ("reason", "Dữ liệu thuộc bí mật")]).await;
    assert_eq!(no_basis.status, StatusCode::UNPROCESSABLE_ENTITY, "a refusal names its legal basis");
    let answer = [("decision", "grant"), ("endpoint", "GET /thong-ke"), ("note", "Chỉ dùng cho thống kê")];
    saved(&post_form(&app, &admin, &request_page, &answer).await, &request_page);
    let answered = html(&open(&app, Some(&admin), &format!("{request_page}?xong=1")).await);
    assert!(
        answered.contains("Đã cấp quyền")
            && answered.contains("Chỉ dùng cho thống kê")
            && !answered.contains("Gửi trả lời")
    );
    let granted = between(&answered, "Phạm vi được cấp", "</ul>");
    assert!(
        granted.contains("GET /thong-ke") && !granted.contains("/khai-sinh"),
        "only the ticked endpoint: {granted}"
    );
    let again = post_form(&app, &admin, &request_page, &answer).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&again).contains("đã được trả lời"));
    let grants = app.store.exchange_grants(None, false).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0].endpoint.as_ref().map(ToString::to_string).as_deref(),
        Some("GET /thong-ke"),
        "only what was ticked"
    );

    // A direct grant of the whole service, then its revocation, which needs a reason.
    let grant = [("service", SERVICE), ("client", CLIENT), ("method", ""), ("path", "")];
    saved(&post_form(&app, &admin, "/can-bo/quan-tri/lgsp/quyen", &grant).await, "/can-bo/quan-tri/lgsp/dich-vu?id=");
    let whole =
        app.store.exchange_grants(None, false).await.unwrap().into_iter().find(|g| g.endpoint.is_none()).unwrap();
    let no_reason = post_form(
        &app,
        &admin,
        "/can-bo/quan-tri/lgsp/quyen/thu-hoi",
        &[("id", &whole.id.to_string()), ("reason", " ")],
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.exchange_grants(None, false).await.unwrap().len(), 2, "nothing revoked without a reason");
    let revoke = [("id", whole.id.to_string()), ("reason", "Hết thời hạn phối hợp".to_owned())];
    let revoke: Vec<(&str, &str)> = revoke.iter().map(|(k, v)| (*k, v.as_str())).collect();
    saved(
        &post_form(&app, &admin, "/can-bo/quan-tri/lgsp/quyen/thu-hoi", &revoke).await,
        "/can-bo/quan-tri/lgsp/dich-vu?id=",
    );
    let left = app.store.exchange_grants(None, true).await.unwrap();
    let ended = left.iter().find(|g| g.id == whole.id).unwrap();
    assert_eq!(ended.revoke_reason.as_deref(), Some("Hết thời hạn phối hợp"));

    // A secret shown once, never cached, and the one the registry now checks.
    let issued = post_form(&app, &admin, "/can-bo/quan-tri/lgsp/he-thong/khoa", &[("id", CLIENT)]).await;
    assert_eq!(issued.status, StatusCode::OK);
    assert_eq!(issued.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let secret = between(&html(&issued), "id=\"khoa\">", "<").to_owned();
    let snapshot = app.store.registry_snapshot().await.unwrap();
    let cred = snapshot.credentials.iter().find(|c| c.client.to_string() == CLIENT).unwrap();
    assert_eq!(cred.secret_hash.as_deref(), Some(cqs_web::auth::hash_secret(&secret).as_str()));

    // Limits, a status change, and the page showing them.
    let limit = [("client", CLIENT), ("service", ""), ("window", "minute"), ("max", "600")];
    saved(
        &post_form(&app, &admin, "/can-bo/quan-tri/lgsp/gioi-han", &limit).await,
        "/can-bo/quan-tri/lgsp?xong=gioi-han",
    );
    let negative = [("client", CLIENT), ("service", ""), ("window", "minute"), ("max", "-5")];
    assert_eq!(
        post_form(&app, &admin, "/can-bo/quan-tri/lgsp/gioi-han", &negative).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let off = [("id", CLIENT), ("status", "disabled")];
    saved(
        &post_form(&app, &admin, "/can-bo/quan-tri/lgsp/he-thong/trang-thai", &off).await,
        "/can-bo/quan-tri/lgsp?xong=trang-thai",
    );
    let snapshot = app.store.registry_snapshot().await.unwrap();
    assert_eq!(snapshot.limits.len(), 1);
    assert_eq!(snapshot.limits[0].max_requests, 600);
    let client = snapshot.subsystems.iter().find(|s| s.id.to_string() == CLIENT).unwrap();
    assert_eq!(client.status.as_str(), "disabled");
    let overview = html(&open(&app, Some(&admin), "/can-bo/quan-tri/lgsp?xong=gioi-han").await);
    assert!(overview.contains("Đã lưu giới hạn lượt gọi.") && overview.contains("600 lượt mỗi phút"));
    let removed = [("client", CLIENT), ("service", ""), ("window", "minute"), ("max", "")];
    saved(
        &post_form(&app, &admin, "/can-bo/quan-tri/lgsp/gioi-han", &removed).await,
        "/can-bo/quan-tri/lgsp?xong=gioi-han",
    );
    assert!(app.store.registry_snapshot().await.unwrap().limits.is_empty(), "an empty maximum removes the limit");

    // A member's own admin is not the operator: every console change is refused to them.
    let ex_admin = staff(
        &app.store,
        "admin.sotp2",
        Role::Admin,
        app.store.org_unit_by_code("000.00.05.H99").await.unwrap().unwrap().id,
    )
    .await;
    for (path, fields) in [
        ("/can-bo/quan-tri/lgsp/thanh-vien", vec![("id", "VN-LH/GOV/000.00.06.H99"), ("name", "Sở khác")]),
        ("/can-bo/quan-tri/lgsp/he-thong/khoa", vec![("id", CLIENT)]),
        ("/can-bo/quan-tri/lgsp/quyen", grant.to_vec()),
        (request_page.as_str(), answer.to_vec()),
    ] {
        assert_eq!(post_form(&app, &ex_admin, path, &fields).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(app.store.registry_snapshot().await.unwrap().members.len(), 2);
}
