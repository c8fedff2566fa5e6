//! The server-rendered pages through the real router: status codes, headers, what each page
//! shows and hides, and the HTML problem pages.

use axum::http::{StatusCode, header};

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
