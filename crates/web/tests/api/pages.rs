//! The server-rendered pages through the real router: status codes, headers, what each page
//! shows and hides, and the HTML problem pages.

use axum::http::{StatusCode, header};

use cqs_domain::dossier::DossierState;

use super::*;

impl Resp {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("pages are UTF-8")
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

#[tokio::test]
async fn public_pages_render_in_vietnamese_with_strict_headers() {
    let app = app().await;
    for path in ["/", "/thu-tuc", "/thu-tuc/1.001193", "/co-quan", "/tra-cuu"] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.header(header::CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
        assert!(r.header(header::CONTENT_SECURITY_POLICY).contains("script-src 'self'"), "{path}");
        assert_eq!(r.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(r.header(header::REFERRER_POLICY), "same-origin");
        let html = r.text();
        assert!(html.starts_with("<!doctype html>") && html.contains(r#"<html lang="vi">"#), "{path}");
        assert!(html.contains("Bỏ qua, đến nội dung chính"), "{path}: skip link");
        assert!(cqs_domain::text::is_nfc(&html), "{path}: NFC text");
    }
}

#[tokio::test]
async fn search_ignores_diacritics_and_filters_by_field_and_agency() {
    let app = app().await;
    let html = app.get("/thu-tuc?q=DANG+KY+khai+sinh", None).await.text();
    assert!(html.contains("Tìm thấy 2 thủ tục"), "{html}");
    assert!(html.contains(r#"href="/thu-tuc/1.001193""#));
    let html = app.get("/thu-tuc?q=&linh-vuc=ho-tich&trang=abc", None).await.text();
    assert!(html.contains("Tìm thấy 3 thủ tục"), "a bad page number still shows the first page");
    let html = app.get("/thu-tuc?co-quan=000.00.05.H99", None).await.text();
    assert!(html.contains("Không tìm thấy thủ tục nào"), "the department neither receives nor decides these");
    let html = app.get("/thu-tuc?co-quan=000.00.31.H99&truc-tuyen=1", None).await.text();
    assert!(html.contains("Tìm thấy 3 thủ tục"));
    let html = app.get("/thu-tuc?co-quan=khong-co", None).await.text();
    assert!(html.contains("Không tìm thấy thủ tục nào"), "an unknown agency matches nothing");
}

#[tokio::test]
async fn procedure_page_shows_what_a_citizen_needs() {
    let app = app().await;
    let html = app.get("/thu-tuc/1.001193", None).await.text();
    for needle in [
        "<h1>Đăng ký khai sinh</h1>",
        "Cha, mẹ của trẻ",
        "Giấy chứng sinh",
        "1 ngày làm việc",
        "Miễn phí",
        "Ủy ban nhân dân các xã, phường",
        "Luật Hộ tịch số 60/2014/QH13",
        "Nộp hồ sơ trực tuyến",
        "Áp dụng từ 01/07/2025",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert_eq!(app.get("/thu-tuc/9.999999", None).await.status, StatusCode::NOT_FOUND);
    let bad = app.get("/thu-tuc/khong-phai-ma", None).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert!(bad.text().contains("Không tìm thấy trang"));
}

#[tokio::test]
async fn lookup_page_shows_status_and_steps_but_nothing_personal() {
    let app = app().await;
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.31.H99", "online"), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let page = app.get(&format!("/tra-cuu?ma={}", code.to_lowercase()), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(&format!("Hồ sơ {code}")), "codes are matched whatever their case");
    assert!(html.contains("Hồ sơ được nộp"));
    assert!(html.contains("Đăng ký khai sinh"));
    for secret in ["Nguyễn Văn An", "001203004567", "Nguyễn Bảo Na"] {
        assert!(!html.contains(secret), "the public page shows {secret}");
    }
    let bad = app.get("/tra-cuu?ma=abc", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let html = bad.text();
    assert!(
        html.contains("error-summary") && html.contains(r##"href="#ma""##) && html.contains(r#"aria-invalid="true""#)
    );
    let missing = app.get("/tra-cuu?ma=000.00.31.H99-261123-9999", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("Không có hồ sơ nào mang mã này"));
    assert_eq!(app.get("/tra-cuu?ma=", None).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_pages_are_html_and_unknown_api_routes_problem_json() {
    let app = app().await;
    let page = app.get("/khong-co-trang-nay", None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.header(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert!(page.text().contains("Không tìm thấy trang"));
    let api = app.get("/api/v1/khong-co", None).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.header(header::CONTENT_TYPE), "application/problem+json");
}

#[tokio::test]
async fn static_assets_are_embedded_versioned_and_revalidated() {
    let app = app().await;
    let html = app.get("/", None).await.text();
    let css = html.split(r#"href="/static/app.css?v="#).nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let r = app.get(&format!("/static/app.css?v={css}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CONTENT_TYPE), "text/css; charset=utf-8");
    assert_eq!(r.header(header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    let etag = r.header(header::ETAG).to_owned();
    let req = Request::get("/static/app.css").header(header::IF_NONE_MATCH, &etag).body(Body::empty()).unwrap();
    let again = app.call(req).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header(header::CACHE_CONTROL), "no-cache", "an unversioned link is revalidated");
    let htmx = app.get("/static/vendor/htmx.min.js", None).await;
    assert_eq!(htmx.status, StatusCode::OK);
    assert!(htmx.text().contains("htmx"));
    assert_eq!(app.get("/static/../Cargo.toml", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/static/nope.css", None).await.status, StatusCode::NOT_FOUND);
}

impl App {
    async fn post_form(&self, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", cqs_web::portal::encode(v))).collect();
        let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.call(b.body(Body::from(body.join("&"))).unwrap()).await
    }

    async fn version(&self, code: &str) -> String {
        self.store.dossier_by_code(code).await.unwrap().unwrap().version.to_string()
    }

    /// Posts one action form as `token` and returns the response.
    async fn act_form(&self, code: &str, token: &str, action: &str, extra: &[(&str, &str)]) -> Resp {
        let v = self.version(code).await;
        let mut fields = vec![("action", action), ("expected_version", v.as_str())];
        fields.extend_from_slice(extra);
        self.post_form(&format!("/can-bo/ho-so/{code}/thao-tac"), Some(token), &fields).await
    }
}

#[tokio::test]
async fn console_is_for_staff_and_each_officer_sees_only_their_units() {
    let app = app().await;
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.31.H99", "online"), None).await;
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let anon = app.get("/can-bo", None).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER, "anonymous officers are sent to sign in");
    assert_eq!(anon.header(header::LOCATION), "/can-bo/dang-nhap?tiep=%2Fcan-bo");
    assert_eq!(app.get("/can-bo", Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    let inbox = app.get("/can-bo", Some(&app.desk_x)).await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.text().contains(&code), "the desk of the receiving unit sees it");
    assert!(!app.get("/can-bo", Some(&app.desk_y)).await.text().contains(&code), "another unit's desk does not");
    let path = format!("/can-bo/ho-so/{code}");
    let anon = app.get(&path, None).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.header(header::LOCATION), format!("/can-bo/dang-nhap?tiep={}", cqs_web::portal::encode(&path)));
    assert_eq!(app.get(&path, Some(&app.desk_y)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/can-bo/ho-so/khong-phai-ma", Some(&app.desk_x)).await.status, StatusCode::NOT_FOUND);
    let page = app.get(&path, Some(&app.desk_x)).await.text();
    assert!(page.contains("Nguyễn Văn An") && page.contains("001203004567"), "staff see the applicant");
    assert!(page.contains("Nguyễn Bảo Na"), "and the form data");
    assert!(page.contains(r#"value="accept""#) && page.contains(r#"value="refuse""#), "the desk may accept or refuse");
    assert!(!page.contains(r#"value="approve""#), "but not approve");
    let specialist = app.get(&path, Some(&app.specialist_x)).await.text();
    assert!(!specialist.contains(r#"name="action""#), "a specialist has nothing to do before acceptance");
    // Another unit's desk cannot act through the form either.
    assert_eq!(app.act_form(&code, &app.desk_y, "accept", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post_form(&format!("{path}/thao-tac"), None, &[("action", "accept")]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn officers_take_a_dossier_from_acceptance_to_its_result_through_the_pages() {
    let app = app().await;
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.31.H99", "online"), None).await;
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let state = |app: &App, code: &str| {
        let (store, code) = (app.store.clone(), code.to_owned());
        async move { store.dossier_by_code(&code).await.unwrap().unwrap().state }
    };
    // A refusal needs its reason: the form comes back with the error beside the field.
    let no_reason = app.act_form(&code, &app.desk_x, "refuse", &[("reason", "  ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = no_reason.text();
    assert!(
        html.contains("error-summary") && html.contains(r##"href="#refuse-reason""##) && html.contains("Nhập lý do")
    );
    // A stale form (someone acted meanwhile) is refused with the reason, nothing changes.
    let stale = app
        .post_form(
            &format!("/can-bo/ho-so/{code}/thao-tac"),
            Some(&app.desk_x),
            &[("action", "accept"), ("expected_version", "99")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.text().contains("đã được cập nhật bởi người khác"));
    assert_eq!(state(&app, &code).await, DossierState::Submitted);

    let ok = app.act_form(&code, &app.desk_x, "accept", &[]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.header(header::LOCATION), format!("/can-bo/ho-so/{code}?xong=accept"));
    assert!(
        app.get(&format!("/can-bo/ho-so/{code}?xong=accept"), Some(&app.desk_x))
            .await
            .text()
            .contains("Đã tiếp nhận hồ sơ.")
    );
    assert_eq!(app.act_form(&code, &app.desk_x, "forward", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.act_form(&code, &app.specialist_x, "forward", &[("note", "Hồ sơ hợp lệ")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.act_form(&code, &app.leader_x, "approve", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.act_form(&code, &app.desk_x, "record_result", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(state(&app, &code).await, DossierState::Resolved);
    let bad_channel = app.act_form(&code, &app.desk_x, "return_result", &[("channel", "bo-cau")]).await;
    assert_eq!(bad_channel.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.act_form(&code, &app.desk_x, "return_result", &[("channel", "online")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(state(&app, &code).await, DossierState::Returned);
    let page = app.get(&format!("/can-bo/ho-so/{code}"), Some(&app.desk_x)).await.text();
    for step in [
        "Bộ phận một cửa tiếp nhận hồ sơ",
        "Lãnh đạo đã phê duyệt",
        "Đã trả kết quả",
        "Hồ sơ hợp lệ",
        "Phiếu kiểm soát",
    ] {
        assert!(page.contains(step), "missing {step}");
    }
    assert!(page.contains("Trước hạn") || page.contains("Đúng hạn"), "each step is judged against its allowance");
}

#[tokio::test]
async fn supplements_and_payments_pause_the_clock_through_the_pages() {
    let app = app().await;
    let r = app.post_json("/api/v1/dossiers", Some(&app.desk_x), &submission("000.00.31.H99", "counter"), None).await;
    let code = r.json()["code"].as_str().unwrap().to_owned();
    assert_eq!(app.act_form(&code, &app.desk_x, "forward", &[]).await.status, StatusCode::SEE_OTHER);
    let r = app
        .act_form(&code, &app.specialist_x, "request_supplement", &[("reason", "Bổ sung bản sao giấy chứng sinh")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get(&format!("/can-bo/ho-so/{code}"), Some(&app.desk_x)).await.text();
    assert!(page.contains("Đang tạm dừng tính thời hạn") && page.contains("Bổ sung bản sao giấy chứng sinh"));
    assert_eq!(app.act_form(&code, &app.desk_x, "supply_supplement", &[]).await.status, StatusCode::SEE_OTHER);
    let bad = app.act_form(&code, &app.specialist_x, "request_payment", &[("amount", "abc")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("Nhập số tiền"));
    assert_eq!(
        app.act_form(&code, &app.specialist_x, "request_payment", &[("amount", "50.000")]).await.status,
        StatusCode::SEE_OTHER
    );
    let d = app.store.dossier_by_code(&code).await.unwrap().unwrap();
    assert_eq!(d.state, DossierState::NeedPayment);
    let apology = app
        .act_form(
            &code,
            &app.specialist_x,
            "apologize_and_reschedule",
            &[("reason", "Chờ xác minh"), ("new_due_date", "2099-01-05")],
        )
        .await;
    assert_eq!(apology.status, StatusCode::SEE_OTHER);
    let d = app.store.dossier_by_code(&code).await.unwrap().unwrap();
    assert_eq!(cqs_web::ui::fmt::datetime(d.due_at.unwrap()), "17:00 05/01/2099");
}
