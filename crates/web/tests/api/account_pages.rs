//! Signing in, registering and signing out through the HTML pages, as a browser without
//! JavaScript does it: form posts with the CSRF field, the session cookie, redirects.

use axum::http::{StatusCode, header};

use super::*;

const STAFF_PW: &str = "Mật khẩu cán bộ 2026";
const CITIZEN_PW: &str = "Sông Hồng chảy mãi";

/// A browser as far as the pages care: its cookie (if signed in).
#[derive(Default, Clone)]
pub(crate) struct Page {
    pub cookie: Option<String>,
}

impl Resp {
    pub(crate) fn html(&self) -> String {
        String::from_utf8(self.body.clone()).expect("pages are UTF-8")
    }
    pub(crate) fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// The value of the first hidden `csrf_token` field of a page.
pub(crate) fn csrf_of(html: &str) -> String {
    html.split(r#"name="csrf_token" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned()
}

impl App {
    /// A page request from this site (Host and Origin as a browser sends them).
    pub(crate) async fn page(&self, method: &str, path: &str, b: &Page, form: &[(&str, &str)]) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, "http://127.0.0.1:8080");
        if let Some(c) = &b.cookie {
            req = req.header(header::COOKIE, c);
        }
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", cqs_web::portal::encode(v))).collect();
        let req = if method == "GET" {
            req.body(Body::empty())
        } else {
            req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body.join("&")))
        };
        self.call(req.unwrap()).await
    }

    /// Signs in through a sign-in page and returns the signed-in browser.
    pub(crate) async fn sign_in_page(&self, path: &str, login: &str, password: &str) -> Page {
        let r = self.page("POST", path, &Page::default(), &[("login", login), ("password", password)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html());
        let set = r.headers.get(header::SET_COOKIE).expect("Set-Cookie").to_str().unwrap();
        Page { cookie: Some(set.split(';').next().unwrap().to_owned()) }
    }
}

pub(crate) async fn staff_password(app: &App, username: &str) {
    cqs_web::identity::set_staff_password(app.store.as_ref(), &Default::default(), username, STAFF_PW.into())
        .await
        .unwrap();
}

/// Registers a citizen through the page and returns the signed-in browser.
pub(crate) async fn citizen(app: &App, identity: &str, phone: &str, name: &str) -> Page {
    let r = app
        .page(
            "POST",
            "/dang-ky",
            &Page::default(),
            &[
                ("identity_number", identity),
                ("full_name", name),
                ("phone", phone),
                ("email", ""),
                ("password", CITIZEN_PW),
                ("password_again", CITIZEN_PW),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html());
    let set = r.headers.get(header::SET_COOKIE).expect("Set-Cookie").to_str().unwrap();
    Page { cookie: Some(set.split(';').next().unwrap().to_owned()) }
}

#[tokio::test]
async fn staff_sign_in_through_the_page_opens_the_console_and_returns_where_asked() {
    let app = app().await;
    staff_password(&app, "desk.x").await;
    let form = app.page("GET", "/can-bo/dang-nhap?tiep=/can-bo?scope=unit", &Page::default(), &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let html = form.html();
    assert!(html.contains(r#"autocomplete="current-password""#) && html.contains("Tên đăng nhập"));
    assert!(html.contains(r#"name="tiep" value="/can-bo?scope=unit""#), "the return address is kept");

    let anon = Page::default();
    let empty = app.page("POST", "/can-bo/dang-nhap", &anon, &[("login", ""), ("password", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = empty.html();
    assert!(
        html.contains("error-summary") && html.contains(r##"href="#login""##) && html.contains(r##"href="#password""##)
    );
    let wrong =
        app.page("POST", "/can-bo/dang-nhap", &anon, &[("login", "desk.x"), ("password", "sai mật khẩu")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html().contains("Sai tên đăng nhập hoặc mật khẩu"));
    assert!(wrong.html().contains(r#"value="desk.x""#), "the login is kept, the password is not");

    let ok = app
        .page(
            "POST",
            "/can-bo/dang-nhap",
            &anon,
            &[("login", "desk.x"), ("password", STAFF_PW), ("tiep", "/can-bo?scope=unit")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/can-bo?scope=unit");
    let set = ok.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    // Another site is never where a sign-in ends.
    for evil in ["//evil.example/", "https://evil.example/", "/\\evil.example"] {
        let r = app
            .page("POST", "/can-bo/dang-nhap", &anon, &[("login", "desk.x"), ("password", STAFF_PW), ("tiep", evil)])
            .await;
        assert_eq!(r.location(), "/can-bo", "{evil}");
    }
    let officer = app.sign_in_page("/can-bo/dang-nhap", "desk.x", STAFF_PW).await;
    let inbox = app.page("GET", "/can-bo", &officer, &[]).await;
    assert_eq!(inbox.status, StatusCode::OK);
    let html = inbox.html();
    assert!(html.contains(r#"<span class="viewer">desk.x</span>"#), "the officer's name is shown");
    let token = csrf_of(&html);
    assert_eq!(token.len(), 64, "every form carries the session's token");
    assert!(html.contains("hx-headers='{&#34;X-CSRF-Token&#34;:&#34;"), "htmx requests carry it too");
}

#[tokio::test]
async fn a_citizen_registers_signs_out_and_signs_in_again_through_the_pages() {
    let app = app().await;
    let form = app.page("GET", "/dang-ky", &Page::default(), &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html().contains(r#"id="identity_number""#) && form.html().contains(r#"autocomplete="new-password""#));
    // Mismatched passwords: nothing is created, every problem is reported at once.
    let anon = Page::default();
    let bad = app
        .page(
            "POST",
            "/dang-ky",
            &anon,
            &[
                ("identity_number", "12345"),
                ("full_name", "Nguyễn Văn An"),
                ("phone", "0912345678"),
                ("password", CITIZEN_PW),
                ("password_again", "khác hẳn"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.html();
    assert!(html.contains(r##"href="#identity_number""##) && html.contains(r##"href="#password_again""##), "{html}");
    assert!(html.contains(r#"value="Nguyễn Văn An""#), "what was typed is kept");
    let login = cqs_domain::identity::CitizenLogin::parse("0912345678").unwrap();
    assert!(app.store.citizen_credentials(&login).await.unwrap().is_none(), "nothing was registered");

    let me = citizen(&app, "001203004567", "0912345678", "Nguyễn Văn An").await;
    let home = app.page("GET", "/", &me, &[]).await.html();
    assert!(home.contains(r#"<span class="viewer">Nguyễn Văn An</span>"#));
    let again = app
        .page(
            "POST",
            "/dang-ky",
            &anon,
            &[
                ("identity_number", "001203004567"),
                ("full_name", "Người khác"),
                ("phone", "0987654321"),
                ("password", CITIZEN_PW),
                ("password_again", CITIZEN_PW),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.html().contains("Số định danh này đã có tài khoản"));

    // Sign-out needs the page's token; after it the cookie no longer works.
    let no_token = app.page("POST", "/dang-xuat", &me, &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let out = app.page("POST", "/dang-xuat", &me, &[("csrf_token", &csrf_of(&home))]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/da-dang-xuat");
    assert!(out.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    assert!(!app.page("GET", "/", &me, &[]).await.html().contains("class=\"viewer\""), "signed out");
    assert!(app.page("GET", "/da-dang-xuat", &anon, &[]).await.html().contains("Bạn đã đăng xuất"));

    // Back in with the phone number, to the page that asked.
    let wrong = app.page("POST", "/dang-nhap", &anon, &[("login", "0912345678"), ("password", "sai")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app
        .page("POST", "/dang-nhap", &anon, &[("login", "0912 345 678"), ("password", CITIZEN_PW), ("tiep", "/tra-cuu")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.html());
    assert_eq!(ok.location(), "/tra-cuu");
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_signs_other_browsers_out() {
    let app = app().await;
    let anon = app.page("GET", "/tai-khoan", &Page::default(), &[]).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location(), "/dang-nhap?tiep=%2Ftai-khoan");
    let phone = citizen(&app, "001203004567", "0912345678", "Nguyễn Văn An").await;
    let laptop = app.sign_in_page("/dang-nhap", "001203004567", CITIZEN_PW).await;
    let page = app.page("GET", "/tai-khoan", &laptop, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.html();
    assert!(html.contains("001203004567") && html.contains("0912 345 678 (chưa xác minh)"));
    assert_eq!(html.matches("/ket-thuc\"").count(), 2, "two browsers are signed in");
    assert!(html.contains("Phiên này"));
    // The session that is not this one.
    let other = html
        .split("action=\"/tai-khoan/phien/")
        .skip(1)
        .map(|s| s.split('/').next().unwrap().to_owned())
        .find(|id| {
            let row_start = html.find(&format!("/tai-khoan/phien/{id}/")).unwrap();
            !html[row_start.saturating_sub(600)..row_start].contains("Phiên này")
        })
        .unwrap();
    let token = csrf_of(&html);
    let r = app.page("POST", &format!("/tai-khoan/phien/{other}/ket-thuc"), &laptop, &[("csrf_token", &token)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/tai-khoan?da-ket-thuc");
    assert_eq!(
        app.page("GET", "/tai-khoan", &phone, &[]).await.status,
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );
    let html = app.page("GET", "/tai-khoan?da-ket-thuc", &laptop, &[]).await.html();
    assert!(html.contains("Đã đăng xuất phiên đăng nhập đó") && html.matches("/ket-thuc\"").count() == 1);
    // Nobody ends a session that is not theirs.
    let desk = {
        staff_password(&app, "desk.x").await;
        app.sign_in_page("/can-bo/dang-nhap", "desk.x", STAFF_PW).await
    };
    let desk_html = app.page("GET", "/tai-khoan", &desk, &[]).await.html();
    assert!(desk_html.contains("Cán bộ một cửa") || desk_html.contains("desk.x"));
    let mine = html.split("action=\"/tai-khoan/phien/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let r = app
        .page("POST", &format!("/tai-khoan/phien/{mine}/ket-thuc"), &desk, &[("csrf_token", &csrf_of(&desk_html))])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.page("GET", "/tai-khoan", &laptop, &[]).await.status, StatusCode::OK, "still signed in");
}
