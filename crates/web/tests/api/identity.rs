//! Sign-in, sessions, CSRF and citizens' own dossiers through the API.

use chrono::Duration;
use serde_json::{Value, json};

use super::*;

use super::identity_support::{Browser, CITIZEN_PW};

const STAFF_PW: &str = "Mật khẩu cán bộ 2026";

fn cookie_of(r: &Resp) -> String {
    let set = r.headers.get(header::SET_COOKIE).expect("Set-Cookie").to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

impl App {
    async fn request(&self, method: &str, path: &str, b: Option<&Browser>, body: Option<&Value>, csrf: bool) -> Resp {
        let mut req = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1:8080");
        if let Some(b) = b {
            req = req.header(header::COOKIE, &b.cookie);
            if csrf {
                req = req.header("x-csrf-token", &b.csrf);
            }
        }
        let req = match body {
            Some(v) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => req.body(Body::empty()),
        };
        self.call(req.unwrap()).await
    }

    async fn sign_in(&self, kind: &str, login: &str, password: &str) -> Resp {
        let body = json!({"kind": kind, "login": login, "password": password});
        self.request("POST", "/api/v1/auth/sign-in", None, Some(&body), false).await
    }

    async fn browser(&self, kind: &str, login: &str, password: &str) -> Browser {
        let r = self.sign_in(kind, login, password).await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        Browser { cookie: cookie_of(&r), csrf: r.json()["csrf_token"].as_str().unwrap().to_owned() }
    }

    async fn register(&self, identity: &str, phone: &str, email: Option<&str>) -> Resp {
        let body = json!({"identity_number": identity, "full_name": "Nguyễn Văn An", "phone": phone,
            "email": email, "password": CITIZEN_PW});
        self.request("POST", "/api/v1/auth/register", None, Some(&body), false).await
    }
}

async fn with_staff_password(app: &App, username: &str) {
    cqs_web::identity::set_staff_password(app.store.as_ref(), &Default::default(), username, STAFF_PW.into())
        .await
        .unwrap();
}

#[tokio::test]
async fn staff_sign_in_sets_a_secure_cookie_and_rotates_the_session() {
    let app = app().await;
    with_staff_password(&app, "desk.x").await;
    let r = app.sign_in("staff", "desk.x", STAFF_PW).await;
    assert_eq!(r.status, StatusCode::OK);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attr in ["cqs_session=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let first = Browser { cookie: cookie_of(&r), csrf: r.json()["csrf_token"].as_str().unwrap().to_owned() };
    let me = app.request("GET", "/api/v1/me", Some(&first), None, false).await;
    assert_eq!(me.status, StatusCode::OK);
    let me = me.json();
    assert_eq!((me["kind"].as_str(), me["username"].as_str()), (Some("staff"), Some("desk.x")));
    assert_eq!(me["roles"][0]["role"], "desk_officer");
    assert_eq!(me["session"]["csrf_token"], first.csrf.as_str());
    // The staff member's roles work through the cookie as through a key.
    assert_eq!(app.request("GET", "/api/v1/inbox", Some(&first), None, false).await.status, StatusCode::OK);

    // Wrong password and unknown user look the same.
    for (login, pw) in [("desk.x", "Mật khẩu sai 2026"), ("nobody", STAFF_PW), ("desk.y", STAFF_PW)] {
        let r = app.sign_in("staff", login, pw).await;
        assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_credentials")));
    }
    // Signing in again from the same browser replaces its session.
    let body = json!({"kind": "staff", "login": "desk.x", "password": STAFF_PW});
    let again = app.request("POST", "/api/v1/auth/sign-in", Some(&first), Some(&body), true).await;
    assert_eq!(again.status, StatusCode::OK);
    let second = Browser { cookie: cookie_of(&again), csrf: again.json()["csrf_token"].as_str().unwrap().to_owned() };
    assert_ne!(second.cookie, first.cookie);
    assert_eq!(app.request("GET", "/api/v1/me", Some(&first), None, false).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.request("GET", "/api/v1/me", Some(&second), None, false).await.status, StatusCode::OK);
    // Sign-out ends it and clears the cookie.
    let out = app.request("POST", "/api/v1/auth/sign-out", Some(&second), None, true).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(app.request("GET", "/api/v1/me", Some(&second), None, false).await.status, StatusCode::UNAUTHORIZED);
    // A new password ends every session.
    let third = app.browser("staff", "desk.x", STAFF_PW).await;
    cqs_web::identity::set_staff_password(
        app.store.as_ref(),
        &Default::default(),
        "desk.x",
        "Mật khẩu mới 2027".into(),
    )
    .await
    .unwrap();
    assert_eq!(app.request("GET", "/api/v1/me", Some(&third), None, false).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in("staff", "desk.x", STAFF_PW).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_the_same_origin() {
    let app = app().await;
    with_staff_password(&app, "desk.x").await;
    let b = app.browser("staff", "desk.x", STAFF_PW).await;
    let code = submitted(&app).await;
    let path = format!("/api/v1/dossiers/{code}/actions");
    let accept = json!({"expected_version": 1, "action": {"type": "accept"}});
    let r = app.request("POST", &path, Some(&b), Some(&accept), false).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::FORBIDDEN, json!("csrf_token_missing")));
    let wrong = Browser { csrf: "0".repeat(64), ..b.clone() };
    let r = app.request("POST", &path, Some(&wrong), Some(&accept), true).await;
    assert_eq!(r.json()["code"], "csrf_token_invalid");
    // Another site's page posting with the victim's cookie and a stolen token still fails.
    let forged = Request::post(&path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(accept.to_string()))
        .unwrap();
    assert_eq!(app.call(forged).await.json()["code"], "csrf_origin_mismatch");
    assert_eq!(app.store.history(app.store.dossier_by_code(&code).await.unwrap().unwrap().id).await.unwrap().len(), 1);
    let ok = Request::post(&path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::COOKIE, &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(accept.to_string()))
        .unwrap();
    assert_eq!(app.call(ok).await.status, StatusCode::OK);
    // Login CSRF: another site cannot sign the browser in either.
    let login = Request::post("/api/v1/auth/sign-in")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"kind": "staff", "login": "desk.x", "password": STAFF_PW}).to_string()))
        .unwrap();
    assert_eq!(app.call(login).await.status, StatusCode::FORBIDDEN);
    // A plain HTML form sends the token as a field.
    let form = |token: &str| {
        Request::post("/api/v1/auth/sign-out")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::COOKIE, &b.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf_token={token}&x=1")))
            .unwrap()
    };
    assert_eq!(app.call(form("nope")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(form(&b.csrf)).await.status, StatusCode::NO_CONTENT);
    // API keys are not cookies: no token needed.
    let r = act(&app, &code, &app.desk_x, 2, json!({"type": "forward"})).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_citizen_registers_submits_and_sees_only_their_own_dossiers() {
    let app = app().await;
    let r = app.register("001203004567", "0912 345 678", Some("An@Example.vn")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let account = r.json();
    assert_eq!((account["phone"].as_str(), account["email"].as_str()), (Some("+84912345678"), Some("an@example.vn")));
    assert!(!String::from_utf8_lossy(&r.body).contains("argon2"), "no hash in the answer");
    let dup = app.register("001203004567", "0987654321", None).await;
    assert_eq!((dup.status, dup.json()["detail"].clone()), (StatusCode::CONFLICT, json!("identity_number")));
    assert_eq!(app.register("001203009999", "+84912345678", None).await.json()["detail"], "phone");
    let bad = app
        .request(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(&json!({"identity_number": "1", "full_name": "",
            "password": "123"})),
            false,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.register("001203007654", "0977000111", None).await.status, StatusCode::CREATED);

    // Any of the identity number, phone or e-mail signs in.
    for login in ["001203004567", "0912345678", "AN@example.vn"] {
        assert_eq!(app.sign_in("citizen", login, CITIZEN_PW).await.status, StatusCode::OK, "{login}");
    }
    assert_eq!(app.sign_in("citizen", "001203004567", "Sông Hồng chảy mải").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in("staff", "001203004567", CITIZEN_PW).await.status, StatusCode::UNAUTHORIZED);
    let a = app.browser("citizen", "0912345678", CITIZEN_PW).await;
    let b = app.browser("citizen", "001203007654", CITIZEN_PW).await;
    assert_eq!(
        app.request("GET", "/api/v1/me", Some(&a), None, false).await.json()["account"]["identity_number"],
        "001203004567"
    );

    // A submits online for themselves; not for someone else, not at the counter.
    let mine = submission("000.00.31.H99", "online");
    let r = app.request("POST", "/api/v1/dossiers", Some(&a), Some(&mine), true).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let mut other = mine.clone();
    other["applicant"]["identity_number"] = json!("001203007654");
    let r = app.request("POST", "/api/v1/dossiers", Some(&a), Some(&other), true).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let counter = submission("000.00.31.H99", "counter");
    assert_eq!(
        app.request("POST", "/api/v1/dossiers", Some(&a), Some(&counter), true).await.json()["code"],
        "channel_not_allowed"
    );
    app.request("POST", "/api/v1/dossiers", Some(&a), Some(&mine), true).await;
    submitted(&app).await; // one through the portal, owned by nobody

    let list = app.request("GET", "/api/v1/me/dossiers?limit=1", Some(&a), None, false).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let cursor = list["next_cursor"].as_str().unwrap().replace('+', "%2B");
    let rest = app.request("GET", &format!("/api/v1/me/dossiers?cursor={cursor}"), Some(&a), None, false).await.json();
    assert_eq!(rest["items"][0]["code"], code.as_str());
    assert!(rest["next_cursor"].is_null());
    assert!(
        app.request("GET", "/api/v1/me/dossiers", Some(&b), None, false).await.json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.get("/api/v1/me/dossiers", Some(&app.desk_x)).await.status, StatusCode::FORBIDDEN);

    // The owner reads the dossier and its history; the other citizen may not.
    let path = format!("/api/v1/dossiers/{code}");
    assert_eq!(app.request("GET", &path, Some(&a), None, false).await.json()["owner_account_id"], account["id"]);
    assert_eq!(app.request("GET", &format!("{path}/history"), Some(&a), None, false).await.status, StatusCode::OK);
    let denied = app.request("GET", &path, Some(&b), None, false).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.request("GET", &format!("{path}/history"), Some(&b), None, false).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&path, Some(&app.desk_x)).await.status, StatusCode::OK, "the receiving desk sees it");
    assert_eq!(app.get(&format!("{path}/history"), Some(&app.desk_x)).await.json()[0]["actor"]["kind"], "citizen");

    // Only the owner acts for the applicant (withdraw); nobody else's citizen account does.
    let withdraw = json!({"expected_version": 1, "action": {"type": "withdraw", "reason": "Nộp nhầm"}});
    let r = app.request("POST", &format!("{path}/actions"), Some(&b), Some(&withdraw), true).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.request("POST", &format!("{path}/actions"), Some(&a), Some(&withdraw), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"]["national_code"], 7);
    // Staff work is not for citizens.
    assert_eq!(app.request("GET", "/api/v1/inbox", Some(&a), None, false).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old_and_can_be_listed_and_revoked() {
    let app = app().await;
    with_staff_password(&app, "specialist.x").await;
    let start = app.clock.now();
    let b = app.browser("staff", "specialist.x", STAFF_PW).await;
    app.clock.set(start + Duration::minutes(29));
    assert_eq!(app.request("GET", "/api/v1/me", Some(&b), None, false).await.status, StatusCode::OK);
    app.clock.set(start + Duration::minutes(29 + 31));
    assert_eq!(app.request("GET", "/api/v1/me", Some(&b), None, false).await.status, StatusCode::UNAUTHORIZED, "idle");
    // Used every 20 minutes it still ends 12 hours after sign-in.
    let start = start + Duration::hours(1);
    app.clock.set(start);
    let b = app.browser("staff", "specialist.x", STAFF_PW).await;
    let mut t = start;
    while t < start + Duration::hours(12) - Duration::minutes(20) {
        t += Duration::minutes(20);
        app.clock.set(t);
        assert_eq!(app.request("GET", "/api/v1/me", Some(&b), None, false).await.status, StatusCode::OK);
    }
    app.clock.set(start + Duration::hours(12));
    assert_eq!(
        app.request("GET", "/api/v1/me", Some(&b), None, false).await.status,
        StatusCode::UNAUTHORIZED,
        "absolute"
    );

    let one = app.browser("staff", "specialist.x", STAFF_PW).await;
    let two = app.browser("staff", "specialist.x", STAFF_PW).await;
    let list = app.request("GET", "/api/v1/me/sessions", Some(&one), None, false).await.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let other = list.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let r = app.request("DELETE", &format!("/api/v1/me/sessions/{other}"), Some(&one), None, true).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.request("GET", "/api/v1/me", Some(&two), None, false).await.status, StatusCode::UNAUTHORIZED);
    let again = app.request("DELETE", &format!("/api/v1/me/sessions/{other}"), Some(&one), None, true).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // Another account's session cannot be ended from here.
    with_staff_password(&app, "desk.x").await;
    let desk = app.browser("staff", "desk.x", STAFF_PW).await;
    let desk_session = app.request("GET", "/api/v1/me", Some(&desk), None, false).await.json()["session"]["id"].clone();
    let r = app
        .request("DELETE", &format!("/api/v1/me/sessions/{}", desk_session.as_str().unwrap()), Some(&one), None, true)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.request("GET", "/api/v1/me", Some(&desk), None, false).await.status, StatusCode::OK);
}

/// Another server process on the same database: its own store (pools) and router.
async fn second_node(app: &App, store: Arc<dyn Store>) -> axum::Router {
    let files = FileStore::open(app.dir.path().join("files")).unwrap();
    let state = cqs_web::AppState::new(store, files, cqs_web::Rules::embedded().unwrap(), Default::default())
        .with_clock(app.clock.clone());
    cqs_web::router(state)
}

async fn on(router: &axum::Router, path: &str, b: &Browser) -> StatusCode {
    let req = Request::get(path).header(header::COOKIE, &b.cookie).body(Body::empty()).unwrap();
    router.clone().oneshot(req).await.unwrap().status()
}

async fn sessions_cross_nodes(app: &App, other_node: Arc<dyn Store>) {
    with_staff_password(app, "desk.x").await;
    let b = app.browser("staff", "desk.x", STAFF_PW).await;
    let node2 = second_node(app, other_node).await;
    assert_eq!(on(&node2, "/api/v1/me", &b).await, StatusCode::OK, "the other node accepts the cookie");
    let out = Request::post("/api/v1/auth/sign-out")
        .header(header::COOKIE, &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .body(Body::empty())
        .unwrap();
    assert_eq!(node2.clone().oneshot(out).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(app.request("GET", "/api/v1/me", Some(&b), None, false).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_work_across_two_processes_on_sqlite_and_survive_a_restart() {
    let app = app().await;
    let url = format!("sqlite://{}", app.dir.path().join("t.db").display());
    let other = cqs_store::open(&cqs_store::StoreOptions::new(url.clone())).await.unwrap();
    with_staff_password(&app, "specialist.x").await;
    let kept = app.browser("staff", "specialist.x", STAFF_PW).await;
    sessions_cross_nodes(&app, other).await;
    // Both processes are gone (their stores dropped); a restarted one knows the session.
    let App { dir, .. } = app;
    let restarted = cqs_store::open(&cqs_store::StoreOptions::new(url)).await.unwrap();
    let files = FileStore::open(dir.path().join("files")).unwrap();
    let router = cqs_web::router(cqs_web::AppState::new(
        restarted,
        files,
        cqs_web::Rules::embedded().unwrap(),
        Default::default(),
    ));
    assert_eq!(on(&router, "/api/v1/me", &kept).await, StatusCode::OK);
}

#[tokio::test]
async fn sessions_work_across_two_processes_on_postgres() {
    let Ok(admin) = std::env::var("CQS_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CQS_TEST_POSTGRES_URL must be set in CI");
        return;
    };
    let url = cqs_store::testing::create_postgres_database(&admin, "cqs_t_").await.unwrap();
    let first = cqs_store::open(&cqs_store::StoreOptions::new(url.clone())).await.unwrap();
    let second = cqs_store::open(&cqs_store::StoreOptions::new(url)).await.unwrap();
    let app = app_on(first, tempfile::tempdir().unwrap()).await;
    sessions_cross_nodes(&app, second).await;
}

fn sign_in_from(ip: &str, login: &str, password: &str) -> Request<Body> {
    let body = json!({"kind": "staff", "login": login, "password": password}).to_string();
    let mut req = Request::post("/api/v1/auth/sign-in")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    req
}

async fn status_of(router: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap) {
    let res = router.clone().oneshot(req).await.unwrap();
    (res.status(), res.headers().clone())
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_the_address_on_every_node() {
    let app = app().await;
    with_staff_password(&app, "desk.x").await;
    with_staff_password(&app, "desk.y").await;
    for _ in 0..5 {
        assert_eq!(app.sign_in("staff", "desk.x", "Mật khẩu sai 2026").await.status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, on this node and on another one.
    let locked = app.sign_in("staff", "desk.x", STAFF_PW).await;
    assert_eq!(
        (locked.status, locked.json()["code"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("sign_in_locked"))
    );
    let retry: i64 = locked.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    let url = format!("sqlite://{}", app.dir.path().join("t.db").display());
    let other = cqs_store::open(&cqs_store::StoreOptions::new(url)).await.unwrap();
    let node2 = second_node(&app, other.clone()).await;
    assert_eq!(status_of(&node2, sign_in_from("192.0.2.1", "desk.x", STAFF_PW)).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not affected; the lock ends after fifteen minutes.
    assert_eq!(app.sign_in("staff", "desk.y", STAFF_PW).await.status, StatusCode::OK);
    app.clock.set(app.clock.now() + Duration::minutes(15));
    assert_eq!(app.sign_in("staff", "desk.x", STAFF_PW).await.status, StatusCode::OK);
    // A success forgets earlier failures: four more do not lock again.
    for _ in 0..4 {
        app.sign_in("staff", "desk.x", "Mật khẩu sai 2026").await;
    }
    assert_eq!(app.sign_in("staff", "desk.x", STAFF_PW).await.status, StatusCode::OK);

    // One address guessing many accounts is locked as an address (3 failures in this node's
    // configuration); other addresses still sign in.
    let strict = cqs_web::auth::AuthConfig {
        lockout: cqs_domain::identity::LockoutPolicy { address_failures: 3, ..Default::default() },
        ..Default::default()
    };
    let files = FileStore::open(app.dir.path().join("files")).unwrap();
    let state = cqs_web::AppState::new(other, files, cqs_web::Rules::embedded().unwrap(), Default::default())
        .with_clock(app.clock.clone())
        .with_auth(strict);
    let node3 = cqs_web::router(state);
    for login in ["a.nguyen", "b.tran", "c.le"] {
        assert_eq!(
            status_of(&node3, sign_in_from("198.51.100.7", login, "đoán bừa 123456")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        status_of(&node3, sign_in_from("198.51.100.7", "desk.y", STAFF_PW)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(status_of(&node3, sign_in_from("198.51.100.8", "desk.y", STAFF_PW)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn security_events_are_recorded_for_admins_and_hold_no_secrets() {
    let app = app().await;
    with_staff_password(&app, "desk.x").await;
    let desk = app.browser("staff", "desk.x", STAFF_PW).await;
    app.sign_in("staff", "desk.x", "Mật khẩu sai 2026").await;
    app.sign_in("staff", "khong.co.ai", "Mật khẩu sai 2026").await;
    app.register("001203004567", "0912345678", None).await;
    let citizen = app.browser("citizen", "001203004567", CITIZEN_PW).await;
    let code = submitted(&app).await;
    // Refusals: a citizen reading a dossier that is not theirs, a missing CSRF token.
    assert_eq!(
        app.request("GET", &format!("/api/v1/dossiers/{code}"), Some(&citizen), None, false).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request("POST", "/api/v1/auth/sign-out", Some(&desk), None, false).await.status,
        StatusCode::FORBIDDEN
    );
    app.request("POST", "/api/v1/auth/sign-out", Some(&desk), None, true).await;

    assert_eq!(app.get("/api/v1/security-events", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/security-events", Some(&app.desk_x)).await.status, StatusCode::FORBIDDEN);
    let r = app.get("/api/v1/security-events?limit=500", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    let events = r.json();
    let kinds: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in
        ["sign_in_succeeded", "sign_in_failed", "citizen_registered", "access_denied", "signed_out", "password_changed"]
    {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let denied: Vec<&Value> =
        events["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "access_denied").collect();
    assert!(denied.iter().any(|e| e["route"] == "/api/v1/dossiers/{code}" && e["account"]["kind"] == "citizen"));
    assert!(denied.iter().any(|e| e["route"] == "/api/v1/auth/sign-out" && e["account"]["kind"] == "staff"));
    let only = app.get("/api/v1/security-events?kind=sign_in_failed", Some(&app.admin)).await.json();
    assert_eq!(only["items"].as_array().unwrap().len(), 2);
    let page = app.get("/api/v1/security-events?limit=2", Some(&app.admin)).await.json();
    let before = page["next_before"].as_str().unwrap();
    let next = app.get(&format!("/api/v1/security-events?limit=2&before={before}"), Some(&app.admin)).await.json();
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    // No password, token or key in the log.
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let token = desk.cookie.trim_start_matches("cqs_session=");
    for secret in [
        STAFF_PW,
        CITIZEN_PW,
        "Mật khẩu sai 2026",
        token,
        desk.csrf.as_str(),
        citizen.csrf.as_str(),
        app.admin.as_str(),
    ] {
        assert!(!text.contains(secret), "the security log holds a secret");
    }
    let secret_part = app.admin.rsplit('_').next().unwrap();
    assert!(!text.contains(secret_part));
}
