//! Two-step sign-in for staff through the API and the pages: enrolment required for leaders,
//! codes accepted once, recovery codes, lockout on wrong codes, optional for other roles, reset
//! by an administrator, secrets sealed in the store, and the security log.

use chrono::Duration;
use serde_json::{Value, json};
use totp_rs::{Secret, Totp};

use super::account_pages::{Page, csrf_of};
use super::identity_support::Browser;
use super::*;

const STAFF_PW: &str = "Mật khẩu cán bộ 2026";

fn cookie_of(r: &Resp) -> String {
    let set = r.headers.get(header::SET_COOKIE).expect("Set-Cookie").to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// What the authenticator app on the officer's phone computes from the secret it was given.
fn app_code(secret_base32: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let secret = Secret::try_from_base32(secret_base32).unwrap();
    let t = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let t: Totp = t;
    t.generate(at.timestamp() as u64).to_string()
}

impl App {
    async fn api(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        csrf: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1:8080");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        let req = match body {
            Some(v) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => req.body(Body::empty()),
        };
        self.call(req.unwrap()).await
    }

    async fn password_step(&self, login: &str) -> Resp {
        let body = json!({"kind": "staff", "login": login, "password": STAFF_PW});
        self.api("POST", "/api/v1/auth/sign-in", None, None, Some(&body)).await
    }

    async fn code_step(&self, pending: &str, code: &str) -> Resp {
        self.api("POST", "/api/v1/auth/mfa", Some(pending), None, Some(&json!({ "code": code }))).await
    }

    /// Password, then a code: a signed-in browser.
    async fn two_step(&self, login: &str, code: &str) -> Browser {
        let r = self.password_step(login).await;
        assert_eq!((r.status, r.json()["next"].as_str()), (StatusCode::ACCEPTED, Some("mfa_code")));
        let r = self.code_step(&cookie_of(&r), code).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        Browser { cookie: cookie_of(&r), csrf: r.json()["csrf_token"].as_str().unwrap().to_owned() }
    }

    async fn event_kinds(&self) -> Vec<String> {
        let r = self.get("/api/v1/security-events?limit=500", Some(&self.admin)).await;
        strings(&r.json()["items"], "kind").into_iter().map(str::to_owned).collect()
    }
}

async fn password(app: &App, username: &str) {
    cqs_web::identity::set_staff_password(app.store.as_ref(), &Default::default(), username, STAFF_PW.into())
        .await
        .unwrap();
}

/// Enrols leader.x at sign-in; returns the secret their app holds and the recovery codes.
async fn enrol_leader(app: &App) -> (String, Vec<String>) {
    password(app, "leader.x").await;
    let r = app.password_step("leader.x").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json()["next"], "mfa_enrolment");
    let pending = cookie_of(&r);
    // The pending sign-in stands for nobody yet.
    assert_eq!(app.api("GET", "/api/v1/me", Some(&pending), None, None).await.status, StatusCode::UNAUTHORIZED);
    let e = app.api("POST", "/api/v1/auth/mfa/enrolment", Some(&pending), None, None).await;
    assert_eq!(e.status, StatusCode::OK);
    let secret = e.json()["secret"].as_str().unwrap().to_owned();
    let uri = e.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&secret) && uri.contains("leader.x"), "{uri}");
    // Asking again shows the same secret: a reload does not undo the scan.
    let again = app.api("POST", "/api/v1/auth/mfa/enrolment", Some(&pending), None, None).await;
    assert_eq!(again.json()["secret"], secret.as_str());
    assert_eq!(app.code_step(&pending, "000000").await.json()["code"], "invalid_code");
    let r = app.code_step(&pending, &app_code(&secret, app.clock.now())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let codes: Vec<String> =
        r.json()["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 10);
    let b = Browser { cookie: cookie_of(&r), csrf: r.json()["csrf_token"].as_str().unwrap().to_owned() };
    assert_eq!(app.api("GET", "/api/v1/me", Some(&b.cookie), None, None).await.status, StatusCode::OK);
    // The pending cookie was replaced, not promoted.
    assert_eq!(app.api("GET", "/api/v1/me", Some(&pending), None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.code_step(&pending, &app_code(&secret, app.clock.now())).await.status, StatusCode::UNAUTHORIZED);
    (secret, codes)
}

#[tokio::test]
async fn leaders_enrol_at_sign_in_and_each_code_works_once() {
    let app = app().await;
    let (secret, codes) = enrol_leader(&app).await;
    let leader = app.store.user_by_username("leader.x").await.unwrap().unwrap();
    // The store holds the secret sealed: neither the base32 nor the raw bytes appear.
    let stored = app.store.mfa_of(leader.id).await.unwrap().unwrap();
    let raw = Secret::try_from_base32(&secret).unwrap().as_bytes().to_vec();
    assert!(!stored.sealed_secret.contains(&secret));
    assert!(!stored.sealed_secret.contains(&hex::encode(&raw)));
    assert!(stored.confirmed_at.is_some());

    // The next sign-in asks for a code; the one used at enrolment (same 30 s step) is refused.
    let now = app.clock.now();
    let r = app.password_step("leader.x").await;
    let pending = cookie_of(&r);
    assert_eq!(app.code_step(&pending, &app_code(&secret, now)).await.status, StatusCode::UNAUTHORIZED, "replay");
    app.clock.set(now + Duration::seconds(30));
    let b = app.two_step("leader.x", &app_code(&secret, now + Duration::seconds(30))).await;
    let me = app.api("GET", "/api/v1/me", Some(&b.cookie), None, None).await.json();
    assert_eq!(me["username"], "leader.x");
    // A code from the step before still works (clock skew), once; older ones never.
    app.clock.set(now + Duration::seconds(90));
    app.two_step("leader.x", &app_code(&secret, now + Duration::seconds(60))).await;
    let r = app.password_step("leader.x").await;
    let stale = app_code(&secret, now + Duration::seconds(30));
    assert_eq!(app.code_step(&cookie_of(&r), &stale).await.status, StatusCode::UNAUTHORIZED);

    // A recovery code signs in once, typed in any case and grouping.
    app.two_step("leader.x", &codes[0].to_uppercase().replace('-', " ")).await;
    let r = app.password_step("leader.x").await;
    assert_eq!(app.code_step(&cookie_of(&r), &codes[0]).await.status, StatusCode::UNAUTHORIZED);
    let status = app.api("GET", "/api/v1/me/mfa", Some(&b.cookie), None, None).await.json();
    assert_eq!(status, json!({"enabled": true, "required": true, "recovery_codes_left": 9}));
    // Leaders cannot turn it off.
    app.clock.set(now + Duration::seconds(120));
    let off = json!({"code": app_code(&secret, now + Duration::seconds(120))});
    let r = app.api("POST", "/api/v1/me/mfa/disable", Some(&b.cookie), Some(&b.csrf), Some(&off)).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::CONFLICT, json!("mfa_required")));

    let kinds = app.event_kinds().await;
    for k in ["mfa_enrolled", "mfa_recovery_code_used", "sign_in_failed", "sign_in_succeeded"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // The security log never holds a code or the secret.
    let log = app.get("/api/v1/security-events?limit=500", Some(&app.admin)).await;
    let text = String::from_utf8_lossy(&log.body).to_string();
    assert!(!text.contains(&secret) && !text.contains(&codes[0]) && !text.contains(&codes[1]));
}

#[tokio::test]
async fn wrong_codes_lock_the_account_like_wrong_passwords() {
    let app = app().await;
    let (secret, _) = enrol_leader(&app).await;
    let now = app.clock.now() + Duration::seconds(30);
    app.clock.set(now);
    for _ in 0..5 {
        let r = app.password_step("leader.x").await;
        assert_eq!(app.code_step(&cookie_of(&r), "123456").await.json()["code"], "invalid_code");
    }
    // Locked: the right code is not even checked, and neither is the password.
    let r = app.password_step("leader.x").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    app.clock.set(now + Duration::minutes(16));
    let r = app.password_step("leader.x").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "the lock ends");
    // A known password never resets the count of wrong codes: only a right code does.
    let pending = cookie_of(&r);
    for _ in 0..4 {
        assert_eq!(app.code_step(&pending, "654321").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.password_step("leader.x").await;
    assert_eq!(app.code_step(&cookie_of(&r), "654321").await.status, StatusCode::UNAUTHORIZED);
    let r = app.code_step(&cookie_of(&r), &app_code(&secret, app.clock.now())).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(app.event_kinds().await.iter().any(|k| k == "sign_in_locked"));
}

#[tokio::test]
async fn pending_sign_ins_end_after_ten_minutes() {
    let app = app().await;
    let (secret, _) = enrol_leader(&app).await;
    let start = app.clock.now() + Duration::seconds(30);
    app.clock.set(start);
    let r = app.password_step("leader.x").await;
    let pending = cookie_of(&r);
    let later = start + Duration::minutes(11);
    app.clock.set(later);
    let r = app.code_step(&pending, &app_code(&secret, later)).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::UNAUTHORIZED, json!("no_pending_sign_in")));
}

#[tokio::test]
async fn other_staff_may_turn_it_on_and_off_and_admins_reset_it() {
    let app = app().await;
    password(&app, "desk.x").await;
    let body = json!({"kind": "staff", "login": "desk.x", "password": STAFF_PW});
    let r = app.api("POST", "/api/v1/auth/sign-in", None, None, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "optional and off: the password is enough");
    let b = Browser { cookie: cookie_of(&r), csrf: r.json()["csrf_token"].as_str().unwrap().to_owned() };
    let status = app.api("GET", "/api/v1/me/mfa", Some(&b.cookie), None, None).await.json();
    assert_eq!(status, json!({"enabled": false, "required": false, "recovery_codes_left": 0}));
    let e = app.api("POST", "/api/v1/me/mfa/enrolment", Some(&b.cookie), Some(&b.csrf), None).await;
    assert_eq!(e.status, StatusCode::OK);
    let secret = e.json()["secret"].as_str().unwrap().to_owned();
    let now = app.clock.now();
    let bad = app
        .api("POST", "/api/v1/me/mfa/confirm", Some(&b.cookie), Some(&b.csrf), Some(&json!({"code": "000000"})))
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let ok = json!({"code": app_code(&secret, now)});
    let r = app.api("POST", "/api/v1/me/mfa/confirm", Some(&b.cookie), Some(&b.csrf), Some(&ok)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["recovery_codes"].as_array().unwrap().len(), 10);
    let r = app.api("POST", "/api/v1/me/mfa/enrolment", Some(&b.cookie), Some(&b.csrf), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "already on");

    // Now the password alone is not enough.
    app.clock.set(now + Duration::seconds(30));
    let b = app.two_step("desk.x", &app_code(&secret, now + Duration::seconds(30))).await;
    app.clock.set(now + Duration::seconds(60));
    let renew = json!({"code": app_code(&secret, now + Duration::seconds(60))});
    let r = app.api("POST", "/api/v1/me/mfa/recovery-codes", Some(&b.cookie), Some(&b.csrf), Some(&renew)).await;
    assert_eq!(r.status, StatusCode::OK);
    app.clock.set(now + Duration::seconds(90));
    let off = json!({"code": app_code(&secret, now + Duration::seconds(90))});
    let r = app.api("POST", "/api/v1/me/mfa/disable", Some(&b.cookie), Some(&b.csrf), Some(&off)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.api("POST", "/api/v1/auth/sign-in", None, None, Some(&body)).await.status, StatusCode::OK);

    // An administrator's reset (a lost phone) ends the leader's sessions; they enrol again.
    let (secret, _) = enrol_leader(&app).await;
    app.clock.set(now + Duration::seconds(150));
    let leader = app.two_step("leader.x", &app_code(&secret, now + Duration::seconds(150))).await;
    let id = app.store.user_by_username("leader.x").await.unwrap().unwrap().id;
    assert!(cqs_web::identity::mfa::reset(app.store.as_ref(), id, app.clock.now()).await.unwrap());
    assert_eq!(app.api("GET", "/api/v1/me", Some(&leader.cookie), None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.password_step("leader.x").await.json()["next"], "mfa_enrolment");
    let kinds = app.event_kinds().await;
    for k in ["mfa_enrolled", "mfa_recovery_codes_renewed", "mfa_disabled", "mfa_reset"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
}

#[tokio::test]
async fn the_staff_sign_in_page_asks_for_the_second_step() {
    let app = app().await;
    password(&app, "leader.x").await;
    let r = app
        .page(
            "POST",
            "/can-bo/dang-nhap?tiep=%2Fcan-bo",
            &Page::default(),
            &[("login", "leader.x"), ("password", STAFF_PW), ("tiep", "/can-bo")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html());
    assert_eq!(r.location(), "/can-bo/dang-nhap/buoc-hai?tiep=%2Fcan-bo");
    let pending = Page { cookie: Some(cookie_of(&r)) };
    // Still not signed in: the console sends them back to sign in.
    assert_eq!(app.page("GET", "/can-bo", &pending, &[]).await.status, StatusCode::SEE_OTHER);
    let form = app.page("GET", "/can-bo/dang-nhap/buoc-hai?tiep=%2Fcan-bo", &pending, &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let html = form.html();
    assert!(html.contains("data:image/svg+xml;base64,") && html.contains("Mã QR"), "{html}");
    let secret: String = html.split(r#"id="secret">"#).nth(1).unwrap().split('<').next().unwrap().replace(' ', "");
    let csrf = csrf_of(&html);
    let wrong = app
        .page(
            "POST",
            "/can-bo/dang-nhap/buoc-hai",
            &pending,
            &[("csrf_token", &csrf), ("code", "111111"), ("tiep", "/can-bo")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html().contains("Mã không đúng"));
    let code = app_code(&secret, app.clock.now());
    let done = app
        .page(
            "POST",
            "/can-bo/dang-nhap/buoc-hai",
            &pending,
            &[("csrf_token", &csrf), ("code", &code), ("tiep", "/can-bo")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html());
    assert!(done.html().contains("Mã dự phòng") && done.html().contains(r#"href="/can-bo""#));
    let signed_in = Page { cookie: Some(cookie_of(&done)) };
    assert_eq!(app.page("GET", "/can-bo", &signed_in, &[]).await.status, StatusCode::OK);
    let account = app.page("GET", "/tai-khoan", &signed_in, &[]).await.html();
    assert!(account.contains("Xác thực hai bước") && account.contains("Đang bật"), "{account}");
    let settings = app.page("GET", "/tai-khoan/xac-thuc-hai-buoc", &signed_in, &[]).await;
    assert!(settings.html().contains("không thể tắt"));
    // Without a pending sign-in the second-step page sends people back to the first.
    let r = app.page("GET", "/can-bo/dang-nhap/buoc-hai", &Page::default(), &[]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/can-bo/dang-nhap"));
}
