//! Sessions live in the database, not in a process: the real `cqs serve` binary started twice on
//! one PostgreSQL database (two nodes, each with its own data directory) accepts a cookie either
//! node issued, finishes on one node a two-step sign-in begun on the other, ends a session
//! everywhere when either signs it out, and keeps sessions across a restart.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const PASSWORD: &str = "Mật khẩu cán bộ 2026";

/// One `cqs serve` process on a free port; killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(database_url: &str, data_dir: &std::path::Path, mfa_key: &std::path::Path) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cqs"))
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url, "--data-dir"])
            .arg(data_dir)
            .arg("serve")
            .env("CQS_LOG", "warn")
            .env("CQS_SWEEP_INTERVAL_SECS", "0")
            .env("CQS_AUTH__MFA_KEY_FILE", mfa_key)
            .env("CQS_AUTH__COOKIE_SECURE", "false")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cqs serve");
        // The server prints its address once it listens.
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        while !line.contains("http://") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "cqs serve exited before listening");
        }
        let base = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_owned();
        Node { child, base }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Browser {
    client: reqwest::Client,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self { client: reqwest::Client::new(), cookie: None, csrf: None }
    }

    async fn call(&mut self, node: &Node, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method.parse().unwrap(), format!("{}{path}", node.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        if let Some(set) = res.headers().get("set-cookie") {
            self.cookie = Some(set.to_str().unwrap().split(';').next().unwrap().to_owned());
        }
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(t) = v.get("csrf_token").and_then(Value::as_str) {
            self.csrf = Some(t.to_owned());
        }
        (status, v)
    }
}

#[tokio::test]
async fn sessions_work_across_two_servers_on_one_postgres_database_and_survive_a_restart() {
    let Ok(admin) = std::env::var("CQS_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CQS_TEST_POSTGRES_URL must be set in CI");
        eprintln!("skipping: CQS_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = cqs_store::testing::create_postgres_database(&admin, "cqs_t_").await.unwrap();
    let store = cqs_store::open(&cqs_store::StoreOptions::new(url.clone())).await.unwrap();
    let unit = cqs_domain::org::OrgUnitSpec {
        code: cqs_domain::ids::AgencyCode::parse("000.00.31.H99").unwrap(),
        name: "UBND phường Lạc Sơn".into(),
        short_name: None,
        kind: cqs_domain::org::OrgUnitKind::Commune,
        parent: None,
        valid_from: "2025-07-01".parse().unwrap(),
        valid_to: None,
        successor: None,
        address: None,
        phone: None,
    };
    store.upsert_org_units(&[unit]).await.unwrap();
    let unit_id = store.org_unit_by_code("000.00.31.H99").await.unwrap().unwrap().id;
    for (username, role) in
        [("motcua", cqs_domain::auth::Role::DeskOfficer), ("lanhdao", cqs_domain::auth::Role::Leader)]
    {
        store
            .create_user(&cqs_store::NewUser {
                username: username.into(),
                full_name: username.into(),
                email: None,
                grants: vec![cqs_domain::auth::RoleGrant { role, org_unit_id: unit_id }],
            })
            .await
            .unwrap();
        cqs_web::identity::set_staff_password(store.as_ref(), &Default::default(), username, PASSWORD.into())
            .await
            .unwrap();
    }
    drop(store);

    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let key = tempfile::tempdir().unwrap();
    let key_file = key.path().join("mfa.key");
    let a = Node::start(&url, dirs.0.path(), &key_file);
    let b = Node::start(&url, dirs.1.path(), &key_file);

    // Signed in on A, known on B; signed out on B, gone on A.
    let mut desk = Browser::new();
    let sign_in = |login: &str| json!({"kind": "staff", "login": login, "password": PASSWORD});
    assert_eq!(desk.call(&a, "POST", "/api/v1/auth/sign-in", Some(sign_in("motcua"))).await.0, 200);
    let (status, me) = desk.call(&b, "GET", "/api/v1/me", None).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("motcua")));
    let signed_in = desk.cookie.clone();
    assert_eq!(desk.call(&b, "POST", "/api/v1/auth/sign-out", None).await.0, 204);
    // The browser would drop the cookie; a copy of it must not work anywhere either.
    desk.cookie = signed_in;
    assert_eq!(desk.call(&a, "GET", "/api/v1/me", None).await.0, 401);

    // A leader's two-step sign-in: password on A, enrolment and code on B.
    let mut leader = Browser::new();
    let (status, next) = leader.call(&a, "POST", "/api/v1/auth/sign-in", Some(sign_in("lanhdao"))).await;
    assert_eq!((status, next["next"].as_str()), (202, Some("mfa_enrolment")));
    let (status, setup) = leader.call(&b, "POST", "/api/v1/auth/mfa/enrolment", None).await;
    assert_eq!(status, 200);
    let secret = totp_rs::Secret::try_from_base32(setup["secret"].as_str().unwrap()).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let code = totp.generate(now).to_string();
    let (status, done) = leader.call(&a, "POST", "/api/v1/auth/mfa", Some(json!({ "code": code }))).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(leader.call(&b, "GET", "/api/v1/me", None).await.0, 200);

    // Both nodes stop; a new one on the same database still knows the session.
    drop(a);
    drop(b);
    let c = Node::start(&url, dirs.0.path(), &key_file);
    let (status, me) = leader.call(&c, "GET", "/api/v1/me", None).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("lanhdao")));
    drop(c);
    cqs_store::testing::drop_postgres_database(&admin, &url).await.unwrap();
}
