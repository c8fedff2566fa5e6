//! Sign-in through an e-ID provider, end to end against a real OpenID Connect provider: the
//! `oidc-provider` package run by Node (tests/oidc/provider.mjs). The test plays the browser:
//! it starts the sign-in on our pages, goes through the provider's login and consent pages with
//! form posts, and brings the provider's answer back to our callback. Our node talks to the
//! provider over HTTP for discovery, keys, the code exchange and userinfo.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::time::Duration;

use cqs_domain::identity::CitizenLogin;
use serde_json::Value;

use super::*;

const REDIRECT_BASE: &str = "http://cqs.test";
const CLIENT_SECRET: &str = "secret-of-the-test-client-only";

/// The Node process; killed when dropped.
struct OidcProvider {
    child: Child,
    issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OidcProvider {
    /// Starts the provider on a free port and waits until its discovery document answers.
    /// Without Node (or without `npm ci` in tests/oidc) the test is skipped, except in CI, where
    /// it fails.
    async fn start(redirect_uri: &str) -> Option<Self> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc");
        let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
        let installed = dir.join("node_modules/oidc-provider/package.json").exists();
        if !node || !installed {
            let why = if node {
                "tests/oidc/node_modules is missing (run `npm ci` in tests/oidc)"
            } else {
                "node is not installed"
            };
            assert!(
                std::env::var("CI").is_err(),
                "the e-ID sign-in test needs a real OpenID Connect provider: {why}; scripts/test.sh installs it (ensure_oidc_provider)"
            );
            eprintln!("skipping the e-ID sign-in test: {why}");
            return None;
        }
        let child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("REDIRECT_URI", redirect_uri)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        // Killed and waited for when dropped, on every path.
        let mut provider = Self { child, issuer: String::new() };
        let mut line = String::new();
        let mut out = std::io::BufReader::new(provider.child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep reading what the provider prints later (its development notices): writing to a
        // closed pipe would end the provider in the middle of a sign-in.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let port: u16 = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the OpenID Connect provider did not start: {line:?}"));
        provider.issuer = format!("http://127.0.0.1:{port}");
        let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
        let http = reqwest::Client::new();
        for _ in 0..50 {
            if http.get(&discovery).send().await.is_ok_and(|r| r.status().is_success()) {
                return Some(provider);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(provider);
        panic!("the provider's discovery document never answered at {discovery}");
    }
}

/// A browser at the provider: follows its redirects and keeps its cookies.
struct Agent {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Agent {
    fn new() -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, cookies: Vec::new() }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let jar = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let req = if jar.is_empty() { req } else { req.header(header::COOKIE, jar) };
        let res = req.send().await.unwrap();
        for set in res.headers().get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        res
    }

    /// Signs in at the provider as `login` and grants consent; returns the address the provider
    /// sends the browser back to (our callback, with the code and state).
    async fn authorize(&mut self, auth_url: &str, login: &str) -> String {
        let mut url = reqwest::Url::parse(auth_url).unwrap();
        let mut res = self.send(self.http.get(url.clone())).await;
        for _ in 0..12 {
            if res.status().is_redirection() {
                let location = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
                let next = url.join(&location).unwrap();
                if next.as_str().starts_with(REDIRECT_BASE) {
                    return next.to_string();
                }
                url = next;
                res = self.send(self.http.get(url.clone())).await;
                continue;
            }
            let status = res.status();
            let html = res.text().await.unwrap();
            assert_eq!(status, reqwest::StatusCode::OK, "provider page {url}: {html}");
            let (action, mut fields) = form(&html);
            if fields.iter().any(|(k, _)| k == "login") || html.contains("name=\"login\"") {
                fields.retain(|(k, _)| k != "login" && k != "password");
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "any password: the development login page checks none".into()));
            }
            url = url.join(&action).unwrap();
            res = self.send(self.http.post(url.clone()).form(&fields)).await;
        }
        panic!("the provider never sent the browser back");
    }
}

/// The first form of a page: its action and the named inputs with their values.
fn form(html: &str) -> (String, Vec<(String, String)>) {
    let start = html.find("<form").expect("a form on the provider's page");
    let end = html[start..].find("</form>").map_or(html.len(), |e| start + e);
    let body = &html[start..end];
    let tag_end = body.find('>').unwrap();
    let action = attr(&body[..tag_end], "action").expect("form action");
    let mut fields = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("<input") {
        let tag = &rest[i..i + rest[i..].find('>').unwrap()];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[i + 6..];
    }
    (action, fields)
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let v = &tag[i..i + tag[i..].find('"')?];
    Some(v.replace("&amp;", "&").replace("&#x2F;", "/").replace("&quot;", "\""))
}

fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn with_query_param(url: &str, name: &str, value: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name { value.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// The part of an absolute address our router sees.
fn local(url: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
}

async fn call(router: &axum::Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    Answer {
        status: res.status(),
        location: res.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()),
        cookies: res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect(),
    }
}

fn cookie(a: &Answer, name: &str) -> Option<String> {
    a.cookies.iter().find(|c| c.starts_with(&format!("{name}=")) && c.len() > name.len() + 1).cloned()
}

/// Starts a sign-in on our page; returns the provider address and the browser binding cookie.
async fn start(router: &axum::Router, back: &str) -> (String, String) {
    let req = Request::post("/dang-nhap/dinh-danh/test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("tiep={}", back.replace('/', "%2F"))))
        .unwrap();
    let a = call(router, req).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let to = a.location.clone().unwrap();
    for p in ["state", "nonce", "code_challenge"] {
        assert!(query_param(&to, p).is_some_and(|v| v.len() >= 16), "{p} in {to}");
    }
    assert_eq!(query_param(&to, "code_challenge_method").as_deref(), Some("S256"));
    (to, cookie(&a, "cqs_eid").expect("binding cookie"))
}

async fn come_back(router: &axum::Router, callback: &str, binding: Option<&str>) -> Answer {
    let mut req = Request::get(local(callback));
    if let Some(b) = binding {
        req = req.header(header::COOKIE, b);
    }
    call(router, req.body(Body::empty()).unwrap()).await
}

async fn me(router: &axum::Router, session: &str) -> Value {
    let req = Request::get("/api/v1/me").header(header::COOKIE, session).body(Body::empty()).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// Our node's view of the test provider, reached directly or through `proxy`.
fn providers(provider: &OidcProvider, proxy: Option<&str>) -> cqs_web::identity::eid::EidProviders {
    let config = cqs_web::identity::eid::ProviderConfig {
        name: "test".into(),
        display_name: "Định danh thử nghiệm".into(),
        issuer: provider.issuer.clone(),
        client_id: "cqs-test".into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec!["openid".into(), "profile".into(), "cccd".into()],
        identity_number_claim: "cccd".into(),
        identity_number_verified_claim: Some("cccd_verified".into()),
        trust_identity_number: false,
        name_claim: "name".into(),
    };
    let ttl = chrono::Duration::minutes(10);
    cqs_web::identity::eid::EidProviders::new(vec![config], REDIRECT_BASE, ttl, true, Duration::from_secs(10), proxy)
        .unwrap()
}

/// A forward HTTP proxy between our node and the provider that puts another identity number in
/// the ID token of every token response, keeping the provider's signature.
async fn tampering_proxy() -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxy = axum::Router::new().fallback(|req: axum::extract::Request| async move {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let mut forward = http.request(parts.method.clone(), parts.uri.to_string());
        for (k, v) in &parts.headers {
            if k != header::HOST && k.as_str() != "proxy-connection" {
                forward = forward.header(k, v);
            }
        }
        let res = forward.body(body).send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let mut bytes = res.bytes().await.unwrap().to_vec();
        if parts.uri.path() == "/token" && status.is_success() {
            let mut answer: Value = serde_json::from_slice(&bytes).unwrap();
            let mut parts: Vec<String> = answer["id_token"].as_str().unwrap().split('.').map(String::from).collect();
            let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
            assert_eq!(claims["cccd"], "001203004567", "the provider puts the number in the ID token");
            claims["cccd"] = "079301009999".into();
            parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
            answer["id_token"] = parts.join(".").into();
            bytes = serde_json::to_vec(&answer).unwrap();
        }
        let mut out = axum::http::Response::builder().status(status);
        for (k, v) in &headers {
            if k != header::CONTENT_LENGTH && k != header::TRANSFER_ENCODING && k != header::CONNECTION {
                out = out.header(k, v);
            }
        }
        out.body(Body::from(bytes)).unwrap()
    });
    tokio::spawn(async move { axum::serve(listener, proxy).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_id_token_changed_on_the_way_is_refused() {
    let redirect = format!("{REDIRECT_BASE}/dang-nhap/dinh-danh/test/ket-qua");
    let Some(provider) = OidcProvider::start(&redirect).await else { return };
    let app = app().await;
    let proxy = tampering_proxy().await;
    let router = cqs_web::router(app.state.clone().with_eid(providers(&provider, Some(&proxy))));
    let (auth_url, binding) = start(&router, "/").await;
    let callback = Agent::new().authorize(&auth_url, "citizen-a").await;
    let refused = come_back(&router, &callback, Some(&binding)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(cookie(&refused, "cqs_session").is_none());
    let login = CitizenLogin::IdentityNumber("079301009999".into());
    assert!(app.store.citizen_credentials(&login).await.unwrap().is_none(), "no account for the forged number");
    let events = app.get("/api/v1/security-events?limit=50", Some(&app.admin)).await.json();
    let events = events["items"].as_array().or(events.as_array()).unwrap().clone();
    assert!(events.iter().any(|e| e["kind"] == "sign_in_failed"
        && e["detail"].as_str().is_some_and(|d| d.contains("mã thông báo không hợp lệ"))));
}

#[tokio::test]
async fn citizens_sign_in_through_a_real_openid_connect_provider() {
    let redirect = format!("{REDIRECT_BASE}/dang-nhap/dinh-danh/test/ket-qua");
    let Some(provider) = OidcProvider::start(&redirect).await else { return };
    let app = app().await;
    // A citizen registered with a password; the provider knows the same person.
    let a = super::identity_support::citizen(&app, "001203004567", "0912345678").await;
    let a_id = me(&app.router, &a.cookie).await["account"]["id"].as_str().unwrap().to_owned();
    let router = cqs_web::router(app.state.clone().with_eid(providers(&provider, None)));

    // The sign-in page offers the provider, and the API lists it.
    let page = router.clone().oneshot(Request::get("/dang-nhap").body(Body::empty()).unwrap()).await.unwrap();
    let html = String::from_utf8(page.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(html.contains("Đăng nhập bằng tài khoản định danh điện tử"), "{html}");
    assert!(html.contains("action=\"/dang-nhap/dinh-danh/test\""), "{html}");
    let list = router.clone().oneshot(Request::get("/api/v1/auth/eid-providers").body(Body::empty()).unwrap()).await;
    let list: Value = serde_json::from_slice(&list.unwrap().into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(list[0]["name"], "test");

    // The whole flow: our page → the provider's login and consent → our callback.
    let (auth_url, binding) = start(&router, "/tai-khoan/ho-so").await;
    assert!(auth_url.starts_with(&format!("{}/auth?", provider.issuer)), "{auth_url}");
    let mut browser = Agent::new();
    let callback = browser.authorize(&auth_url, "citizen-a").await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    let signed_in = come_back(&router, &callback, Some(&binding)).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location.as_deref(), Some("/tai-khoan/ho-so"));
    let session = cookie(&signed_in, "cqs_session").expect("a session cookie");
    let who = me(&router, &session).await;
    // Linked to the existing account by the verified identity number, with a new session.
    assert_eq!(who["kind"], "citizen");
    assert_eq!(who["account"]["id"].as_str(), Some(a_id.as_str()));
    assert_eq!(who["account"]["identity_number"], "001203004567");
    assert_ne!(session, a.cookie);

    // The same callback again: the pending sign-in was taken, so nothing happens.
    let replay = come_back(&router, &callback, Some(&binding)).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(cookie(&replay, "cqs_session").is_none());

    // A state we never issued; then the right state from another browser (no binding cookie),
    // which spends it, so the right browser cannot use it afterwards either.
    let (auth_url, binding) = start(&router, "/").await;
    let callback = Agent::new().authorize(&auth_url, "citizen-a").await;
    let forged = with_query_param(&callback, "state", "a-state-nobody-issued");
    assert_eq!(come_back(&router, &forged, Some(&binding)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(come_back(&router, &callback, None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(come_back(&router, &callback, Some(&binding)).await.status, StatusCode::BAD_REQUEST);

    // A nonce changed on the way to the provider: its ID token carries the other nonce.
    let (auth_url, binding) = start(&router, "/").await;
    let tampered = with_query_param(&auth_url, "nonce", "a-nonce-we-never-issued-0123456789");
    let callback = Agent::new().authorize(&tampered, "citizen-a").await;
    let refused = come_back(&router, &callback, Some(&binding)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(cookie(&refused, "cqs_session").is_none());

    // A code changed on the way back: the provider refuses the exchange.
    let (auth_url, binding) = start(&router, "/").await;
    let callback = Agent::new().authorize(&auth_url, "citizen-a").await;
    let code = query_param(&callback, "code").unwrap();
    let changed = with_query_param(&callback, "code", &format!("{code}x"));
    assert_eq!(come_back(&router, &changed, Some(&binding)).await.status, StatusCode::UNAUTHORIZED);

    // A person the portal does not know yet, with a verified number: an account is opened.
    let (auth_url, binding) = start(&router, "/").await;
    let callback = Agent::new().authorize(&auth_url, "citizen-new").await;
    let opened = come_back(&router, &callback, Some(&binding)).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.location.as_deref(), Some("/"));
    let who = me(&router, &cookie(&opened, "cqs_session").unwrap()).await;
    assert_eq!(who["account"]["identity_number"], "079301001234");
    assert_eq!(who["account"]["full_name"], "Trần Thị Bình");
    assert_ne!(who["account"]["id"].as_str(), Some(a_id.as_str()));

    // A number the provider has not verified (A's number!) is not linked, and no account is opened.
    let (auth_url, binding) = start(&router, "/").await;
    let callback = Agent::new().authorize(&auth_url, "citizen-unverified").await;
    let refused = come_back(&router, &callback, Some(&binding)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(cookie(&refused, "cqs_session").is_none());

    // Signing in again: the provider's subject is linked now.
    let (auth_url, binding) = start(&router, "/").await;
    let callback = Agent::new().authorize(&auth_url, "citizen-a").await;
    let again = come_back(&router, &callback, Some(&binding)).await;
    let who = me(&router, &cookie(&again, "cqs_session").unwrap()).await;
    assert_eq!(who["account"]["id"].as_str(), Some(a_id.as_str()));

    // Every outcome is in the security log, without codes or tokens.
    let events = app.get("/api/v1/security-events?limit=200", Some(&app.admin)).await.json();
    let events = events["items"].as_array().or(events.as_array()).unwrap().clone();
    let with = |kind: &str, detail: &str| {
        events.iter().filter(|e| e["kind"] == kind && e["detail"].as_str().is_some_and(|d| d.contains(detail))).count()
    };
    assert_eq!(with("sign_in_succeeded", "định danh điện tử test: thành công"), 3);
    assert_eq!(with("eid_linked", "liên kết theo số định danh đã xác minh"), 1);
    assert_eq!(with("eid_linked", "mở tài khoản mới"), 1);
    assert_eq!(with("sign_in_failed", "state không hợp lệ"), 4);
    assert_eq!(with("sign_in_failed", "mã thông báo không hợp lệ"), 2);
    assert_eq!(with("sign_in_failed", "số định danh chưa được xác minh"), 1);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&code), "a code in the security log");
}
