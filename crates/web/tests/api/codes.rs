//! One-time codes: a citizen verifies an e-mail address and a phone number, resets a forgotten
//! password; codes expire, run out of tries, are sent at most once a minute and five times an
//! hour; the notice's text never reaches the log unless asked; and e-mail really goes through an
//! SMTP server (Python's aiosmtpd, started by the test).

use std::io::BufRead;

use chrono::Duration;
use cqs_web::notify::{Destination, Notice, Notifier};
use serde_json::{Value, json};

use super::account_pages::{Page, csrf_of};
use super::identity_support::{Browser, CITIZEN_PW, citizen};
use super::*;

/// The six digits in the last notice sent to `to`.
fn code_sent_to(app: &App, to: &Destination) -> String {
    let n = app.notices.last_to(to).expect("a notice was sent");
    n.text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("a six-digit code").to_owned()
}

impl App {
    /// Signs a registered citizen in (again: a test that moves the clock by hours outlives the
    /// session's idle limit).
    async fn citizen_session(&self, login: &str) -> Browser {
        let body = json!({"kind": "citizen", "login": login, "password": CITIZEN_PW});
        let r = self.anonymous_json("/api/v1/auth/sign-in", &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        Browser {
            cookie: r.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned(),
            csrf: r.json()["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    pub(crate) async fn as_citizen(&self, b: &Browser, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, &b.cookie)
            .header("x-csrf-token", &b.csrf);
        let req = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                req.body(Body::from(v.to_string()))
            }
            None => req.body(Body::empty()),
        };
        self.call(req.unwrap()).await
    }

    async fn anonymous_json(&self, path: &str, body: &Value) -> Resp {
        let req = Request::post(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(req).await
    }
}

#[tokio::test]
async fn citizens_verify_their_phone_and_email_with_codes() {
    let app = app().await;
    let a = citizen(&app, "001203004567", "0912345678").await;
    let phone = Destination::Phone("+84912345678".into());
    let send = json!({"contact": "phone"});
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["sent_to"], "+84*****678");
    let first = code_sent_to(&app, &phone);
    // A second code within the minute is refused, with when to ask again.
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::TOO_MANY_REQUESTS, json!("code_recently_sent")));
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // A minute later a new code replaces the first.
    let t0 = app.clock.now();
    app.clock.set(t0 + Duration::seconds(61));
    assert_eq!(app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await.status, StatusCode::ACCEPTED);
    let second = code_sent_to(&app, &phone);
    let confirm = |code: &str| json!({"contact": "phone", "code": code});
    if first != second {
        let r = app.as_citizen(&a, "POST", "/api/v1/me/verification/confirm", Some(&confirm(&first))).await;
        assert_eq!(r.json()["code"], "wrong_code", "only the newest code counts");
    }
    let wrong = if second == "000000" { "111111" } else { "000000" };
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification/confirm", Some(&confirm(wrong))).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("wrong_code")));
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification/confirm", Some(&confirm(&second))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let me = app.as_citizen(&a, "GET", "/api/v1/me", None).await.json();
    assert!(me["account"]["phone_verified_at"].is_string(), "{me}");
    // Used once.
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification/confirm", Some(&confirm(&second))).await;
    assert_eq!(r.json()["code"], "code_expired");
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "already verified");
    // No e-mail on this account.
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&json!({"contact": "email"}))).await;
    assert_eq!(r.json()["code"], "no_such_contact");
    assert!(app.event_log_has("contact_verified").await);
}

#[tokio::test]
async fn codes_expire_and_run_out_of_tries() {
    let app = app().await;
    let a = citizen(&app, "001203004567", "0912345678").await;
    let phone = Destination::Phone("+84912345678".into());
    let send = json!({"contact": "phone"});
    app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await;
    let code = code_sent_to(&app, &phone);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let r = app
            .as_citizen(
                &a,
                "POST",
                "/api/v1/me/verification/confirm",
                Some(&json!({"contact": "phone", "code": wrong})),
            )
            .await;
        assert_eq!(r.json()["detail"], format!("Còn {left} lần thử"));
    }
    // Out of tries: even the right code is refused.
    let right = json!({"contact": "phone", "code": code});
    assert_eq!(
        app.as_citizen(&a, "POST", "/api/v1/me/verification/confirm", Some(&right)).await.json()["code"],
        "code_expired"
    );
    // A fresh code expires after ten minutes.
    let t0 = app.clock.now() + Duration::seconds(61);
    app.clock.set(t0);
    app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await;
    let code = code_sent_to(&app, &phone);
    app.clock.set(t0 + Duration::minutes(10));
    let r = app
        .as_citizen(&a, "POST", "/api/v1/me/verification/confirm", Some(&json!({"contact": "phone", "code": code})))
        .await;
    assert_eq!(r.json()["code"], "code_expired");
    // Five codes an hour at most.
    let mut t = t0 + Duration::minutes(10);
    let mut sent = 2;
    while sent < 5 {
        t += Duration::seconds(61);
        app.clock.set(t);
        assert_eq!(
            app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await.status,
            StatusCode::ACCEPTED
        );
        sent += 1;
    }
    app.clock.set(t + Duration::seconds(61));
    let r = app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.set(t0 + Duration::minutes(61));
    let a = app.citizen_session("001203004567").await;
    assert_eq!(app.as_citizen(&a, "POST", "/api/v1/me/verification", Some(&send)).await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_a_code() {
    let app = app().await;
    let a = citizen(&app, "001203004567", "0912345678").await;
    let phone = Destination::Phone("+84912345678".into());
    // The answer is the same for an account that does not exist.
    let r = app.anonymous_json("/api/v1/auth/password-reset", &json!({"login": "001203009999"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let unknown = r.json();
    assert!(app.notices.sent().is_empty());
    let r = app.anonymous_json("/api/v1/auth/password-reset", &json!({"login": "0912345678"})).await;
    assert_eq!((r.status, r.json()), (StatusCode::ACCEPTED, unknown));
    let code = code_sent_to(&app, &phone);
    let new_pw = "Mùa thu Hà Nội 2026";
    let reset = |code: &str, pw: &str| json!({"login": "001203004567", "code": code, "password": pw});
    // The policy is checked before the code is spent.
    let r = app.anonymous_json("/api/v1/auth/password-reset/confirm", &reset(&code, "ngắn")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "/password");
    let r = app.anonymous_json("/api/v1/auth/password-reset/confirm", &reset(&code, new_pw)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", String::from_utf8_lossy(&r.body));
    // Every session ended; the old password no longer works, the new one does.
    assert_eq!(app.as_citizen(&a, "GET", "/api/v1/me", None).await.status, StatusCode::UNAUTHORIZED);
    let sign_in = |pw: &str| json!({"kind": "citizen", "login": "001203004567", "password": pw});
    assert_eq!(app.anonymous_json("/api/v1/auth/sign-in", &sign_in(CITIZEN_PW)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.anonymous_json("/api/v1/auth/sign-in", &sign_in(new_pw)).await.status, StatusCode::OK);
    let r = app.anonymous_json("/api/v1/auth/password-reset/confirm", &reset(&code, "Một mật khẩu khác nữa")).await;
    assert_eq!(r.json()["code"], "code_expired", "a code resets once");
    assert!(app.event_log_has("password_reset_requested").await && app.event_log_has("password_changed").await);
}

#[tokio::test]
async fn the_pages_verify_an_email_and_reset_a_password() {
    let app = app().await;
    let body = json!({"identity_number": "001203004567", "full_name": "Nguyễn Văn An", "phone": "0912345678",
        "email": "an.nguyen@example.vn", "password": CITIZEN_PW});
    assert_eq!(app.anonymous_json("/api/v1/auth/register", &body).await.status, StatusCode::CREATED);
    let b = app.sign_in_page("/dang-nhap", "001203004567", CITIZEN_PW).await;
    let account = app.page("GET", "/tai-khoan", &b, &[]).await.html();
    assert!(account.contains(r#"href="/tai-khoan/xac-minh/thu-dien-tu""#), "{account}");
    let page = app.page("GET", "/tai-khoan/xac-minh/thu-dien-tu", &b, &[]).await.html();
    let csrf = csrf_of(&page);
    let sent =
        app.page("POST", "/tai-khoan/xac-minh/thu-dien-tu", &b, &[("csrf_token", &csrf), ("action", "send")]).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.html().contains("Đã gửi mã tới a***@example.vn"), "{}", sent.html());
    let email = Destination::Email("an.nguyen@example.vn".into());
    let notice = app.notices.last_to(&email).unwrap();
    assert_eq!(notice.subject, "Mã xác minh thư điện tử");
    let code = code_sent_to(&app, &email);
    let done = app
        .page(
            "POST",
            "/tai-khoan/xac-minh/thu-dien-tu",
            &b,
            &[("csrf_token", &csrf), ("action", "confirm"), ("code", &code)],
        )
        .await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/tai-khoan?da-xac-minh"));
    let account = app.page("GET", "/tai-khoan?da-xac-minh", &b, &[]).await.html();
    assert!(account.contains("an.nguyen@example.vn (đã xác minh)"), "{account}");

    // Forgotten password, through the pages: the code goes to the verified e-mail.
    let anon = Page::default();
    let form = app.page("POST", "/quen-mat-khau", &anon, &[("login", "an.nguyen@example.vn")]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html().contains("Mã đặt lại mật khẩu"));
    let code = code_sent_to(&app, &email);
    let pw = "Mùa thu Hà Nội 2026";
    let fields = |code: &str, again: &str| {
        vec![
            ("login".to_owned(), "an.nguyen@example.vn".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("password".to_owned(), pw.to_owned()),
            ("password_again".to_owned(), again.to_owned()),
        ]
    };
    fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
    let mismatch = fields(&code, "khác");
    let r = app.page("POST", "/quen-mat-khau/dat-lai", &anon, &as_refs(&mismatch)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = fields(&code, pw);
    let r = app.page("POST", "/quen-mat-khau/dat-lai", &anon, &as_refs(&ok)).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/dang-nhap?da-dat-lai"));
    assert!(app.page("GET", "/dang-nhap?da-dat-lai", &anon, &[]).await.html().contains("Đã đặt mật khẩu mới"));
    app.sign_in_page("/dang-nhap", "001203004567", pw).await;
}

#[tokio::test]
async fn the_log_notifier_keeps_codes_out_of_the_log_unless_asked() {
    // The log notifier only says where a notice went; the demo's asks for the text.
    let notice = Notice {
        to: Destination::Email("an.nguyen@example.vn".into()),
        subject: "Mã xác minh thư điện tử".into(),
        text: "Mã xác minh của bạn là 482913.".into(),
        kind: "verify_email".into(),
    };
    let quiet =
        tracing_capture(|| async { cqs_web::notify::LogNotifier { reveal: false }.send(&notice).await.unwrap() }).await;
    assert!(quiet.contains("a***@example.vn") && !quiet.contains("482913") && !quiet.contains("an.nguyen"), "{quiet}");
    let loud =
        tracing_capture(|| async { cqs_web::notify::LogNotifier { reveal: true }.send(&notice).await.unwrap() }).await;
    assert!(loud.contains("482913"), "{loud}");
}

/// What the log says while `f` runs.
async fn tracing_capture<F, Fut>(f: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let guard = tracing::subscriber::set_default(subscriber);
    f().await;
    drop(guard);
    String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
}

/// A real SMTP server (aiosmtpd) writing what it receives as JSON; stopped when dropped.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Option<Self> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp/capture.py");
        let have =
            std::process::Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
        if !have {
            assert!(
                std::env::var("CI").is_err(),
                "python3 with aiosmtpd is needed in CI (scripts/test.sh installs it)"
            );
            eprintln!("skipping the SMTP test: python3 -m pip install aiosmtpd");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("ready <port>");
        Some(Self { child, port, dir })
    }

    /// The messages received so far, oldest first.
    fn received(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn verification_codes_go_out_by_email_through_a_real_smtp_server() {
    let Some(smtp) = SmtpServer::start() else { return };
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let notifier = cqs_web::notify::smtp::SmtpNotifier::new(
        &url,
        "Cổng Dịch vụ công tỉnh Lạc Hồng <no-reply@lachong.example.vn>",
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    let app = app().await;
    let state = app.state.clone().with_notifier(Arc::new(notifier));
    let router = cqs_web::router(state);
    let body = json!({"identity_number": "001203004567", "full_name": "Nguyễn Văn An", "email": "an.nguyen@example.vn",
        "password": CITIZEN_PW});
    assert_eq!(app.anonymous_json("/api/v1/auth/register", &body).await.status, StatusCode::CREATED);
    let r = app
        .anonymous_json(
            "/api/v1/auth/sign-in",
            &json!({"kind": "citizen", "login": "an.nguyen@example.vn", "password": CITIZEN_PW}),
        )
        .await;
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_owned();
    let call = |path: &str, body: Value| {
        Request::post(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let res = router.clone().oneshot(call("/api/v1/me/verification", json!({"contact": "email"}))).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mail = smtp.received();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    assert_eq!(m["to"], json!(["an.nguyen@example.vn"]));
    assert_eq!(m["from"], "no-reply@lachong.example.vn");
    assert_eq!(m["subject"], "Mã xác minh thư điện tử", "the subject survives encoding");
    assert_eq!((m["content_type"].as_str(), m["charset"].as_str()), (Some("text/plain"), Some("utf-8")));
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Không cung cấp mã này cho bất kỳ ai"), "{text}");
    let code = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap();
    let res = router
        .oneshot(call("/api/v1/me/verification/confirm", json!({"contact": "email", "code": code})))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let account = app
        .store
        .citizen_by_id(
            app.store
                .citizen_credentials(&cqs_domain::identity::CitizenLogin::IdentityNumber("001203004567".into()))
                .await
                .unwrap()
                .unwrap()
                .account
                .id,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(account.email_verified_at.is_some());
}

impl App {
    async fn event_log_has(&self, kind: &str) -> bool {
        let r = self.get(&format!("/api/v1/security-events?kind={kind}"), Some(&self.admin)).await;
        !r.json()["items"].as_array().unwrap().is_empty()
    }
}

#[tokio::test]
async fn applicants_hear_about_deadlines_at_their_verified_address_once() {
    let app = app().await;
    let body = json!({"identity_number": "001203004567", "full_name": "Nguyễn Văn An", "phone": "0912345678",
        "email": "an.nguyen@example.vn", "password": CITIZEN_PW});
    assert_eq!(app.anonymous_json("/api/v1/auth/register", &body).await.status, StatusCode::CREATED);
    let b = app.citizen_session("0912345678").await;
    let email = Destination::Email("an.nguyen@example.vn".into());
    let mine = app.as_citizen(&b, "POST", "/api/v1/dossiers", Some(&submission("000.00.31.H99", "online"))).await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&mine.body));
    let code = mine.json()["code"].as_str().unwrap().to_owned();
    let accepted = act(&app, &code, &app.desk_x, 1, json!({"type": "accept"})).await.json();
    let due: chrono::DateTime<chrono::Utc> = serde_json::from_value(accepted["due_at"].clone()).unwrap();
    let relay = || cqs_web::events::relay_pending(app.store.as_ref(), app.state.bus.as_ref(), &app.clock);
    let sweep = || cqs_web::jobs::sweep(app.store.as_ref(), &app.state.rules.calendar, app.clock.now());

    // Past due while the e-mail is unverified: nothing is sent to an address that may not be theirs.
    app.clock.set(due + Duration::hours(1));
    assert_eq!(sweep().await.unwrap().overdue, 1);
    relay().await.unwrap();
    assert!(app.notices.sent().iter().all(|n| !n.kind.starts_with("dossier.")), "{:?}", app.notices.sent());

    // Verified, and a new due date (an apology) that is missed again: one notice, sent once.
    let b = app.citizen_session("0912345678").await;
    app.as_citizen(&b, "POST", "/api/v1/me/verification", Some(&json!({"contact": "email"}))).await;
    let verify = json!({"contact": "email", "code": code_sent_to(&app, &email)});
    assert_eq!(
        app.as_citizen(&b, "POST", "/api/v1/me/verification/confirm", Some(&verify)).await.status,
        StatusCode::NO_CONTENT
    );
    let new_due = due + Duration::days(7);
    let version = accepted["version"].as_i64().unwrap();
    let apology = json!({"type": "apologize_and_reschedule", "new_due_at": new_due, "reason": "Cần xác minh thêm"});
    let r = act(&app, &code, &app.desk_x, version, apology).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    app.clock.set(new_due + Duration::hours(1));
    assert_eq!(sweep().await.unwrap().overdue, 1);
    relay().await.unwrap();
    let notices: Vec<Notice> = app.notices.sent().into_iter().filter(|n| n.kind == "dossier.overdue").collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].to, email);
    assert!(notices[0].subject.contains(&code) && notices[0].text.contains("quá hạn"), "{:?}", notices[0]);
    // An event delivered twice (a relay that died before marking it, or two nodes) is told once.
    let consumer = cqs_web::events::applicant_notices::ApplicantNotices {
        store: app.store.clone(),
        notifier: app.state.notifier.clone(),
    };
    let soon = cqs_web::events::Event {
        event_id: uuid::Uuid::now_v7(),
        topic: "dossier.due_soon".into(),
        aggregate_id: uuid::Uuid::nil(),
        created_at: app.clock.now(),
        payload: json!({"code": code, "kind": "due_soon", "due_at": new_due}),
    };
    for _ in 0..2 {
        cqs_web::events::Consumer::handle(&consumer, std::slice::from_ref(&soon)).await.unwrap();
    }
    assert_eq!(app.notices.sent().into_iter().filter(|n| n.kind == "dossier.due_soon").count(), 1);
}
