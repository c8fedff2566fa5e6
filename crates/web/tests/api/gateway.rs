//! Mediated calls through the gateway (X-Road REST r1) against a real provider on loopback:
//! credentials in both provincial styles, grants to an endpoint, revocation, provider errors
//! passed through, metaservices, limits and body sizes.

use axum::extract::Request as AxumRequest;
use serde_json::{Value, json};

use super::exchange::{CLIENT, SERVICE, registry};
use super::*;

/// A provider that echoes what it received; `/loi` answers 418 as the provider's own error.
pub(crate) async fn provider() -> String {
    async fn echo(req: AxumRequest) -> axum::response::Response {
        use axum::response::IntoResponse;
        let (parts, body) = req.into_parts();
        if parts.uri.path().ends_with("/loi") {
            return (axum::http::StatusCode::IM_A_TEAPOT, "provider says no").into_response();
        }
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let headers: serde_json::Map<String, Value> =
            parts.headers.iter().map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("")))).collect();
        axum::Json(json!({"method": parts.method.as_str(), "uri": parts.uri.to_string(), "headers": headers,
            "body": String::from_utf8_lossy(&bytes)}))
        .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(echo)).await.unwrap() });
    format!("http://{addr}/api")
}

pub(crate) struct Gw {
    pub router: axum::Router,
    pub gateway: std::sync::Arc<cqs_exchange::Gateway>,
    pub secret: String,
    pub provider_admin: String,
}

pub(crate) async fn gateway(app: &App, config: cqs_exchange::Config) -> Gw {
    let ex = registry(app, &provider().await).await;
    let secret = app
        .post_json(&format!("/api/v1/exchange/subsystems/{CLIENT}/secret"), Some(&ex.client_admin), &json!({}), None)
        .await
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let gw = cqs_exchange::Gateway::start(app.store.clone(), config, &app.dir.path().join("exchange")).await.unwrap();
    Gw {
        router: cqs_web::router(app.state.clone().with_exchange(gw.clone())),
        gateway: gw,
        secret,
        provider_admin: ex.provider_admin,
    }
}

fn lh() -> cqs_exchange::Config {
    cqs_exchange::Config { instance: "VN-LH".into(), ..Default::default() }
}

pub(crate) async fn call(router: &axum::Router, req: Request<Body>) -> Resp {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp { status, headers, body }
}

fn r1(method: &str, path: &str, secret: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(format!("/r1/{SERVICE}{path}"))
        .header("x-road-client", CLIENT)
        .header("x-systemid", "mot-cua")
        .header("x-secretkey", secret)
}

/// An admin call through the gateway's node, so the change applies there at once.
async fn admin(gw: &Gw, method: &str, path: &str, token: &str, body: Value) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    call(&gw.router, req).await
}

async fn app_get(gw: &Gw, path: &str, token: &str) -> Resp {
    let req = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    call(&gw.router, req).await
}

async fn grant(_app: &App, gw: &Gw, body: Value) -> String {
    let r = admin(gw, "POST", &format!("/api/v1/exchange/services/{SERVICE}/grants"), &gw.provider_admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    r.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn granted_calls_reach_the_provider_with_xroad_headers() {
    let app = app().await;
    let gw = gateway(&app, lh()).await;
    // Nothing is granted yet.
    let denied = call(&gw.router, r1("GET", "/khai-sinh/123", &gw.secret).body(Body::empty()).unwrap()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.headers["x-road-error"], "Server.ServerProxy.AccessDenied");
    assert_eq!(denied.json()["type"], "Server.ServerProxy.AccessDenied");
    let gid = grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "GET", "path": "/khai-sinh/*"}})).await;
    let ok = call(
        &gw.router,
        r1("GET", "/khai-sinh/123?nam=2026", &gw.secret)
            .header("x-road-id", "msg-1")
            .header("x-road-userid", "VN001203004567")
            .header("x-road-issue", "000.00.31.H99-260305-0001")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    let seen = ok.json();
    assert_eq!(seen["uri"], "/api/khai-sinh/123?nam=2026");
    assert_eq!(seen["headers"]["x-road-client"], CLIENT);
    assert_eq!(seen["headers"]["x-road-service"], SERVICE);
    assert_eq!(seen["headers"]["x-road-userid"], "VN001203004567");
    assert!(seen["headers"].get("x-secretkey").is_none(), "the client's secret never reaches the provider");
    assert_eq!(ok.headers["x-road-id"], "msg-1");
    assert_eq!(ok.headers["x-road-client"], CLIENT);
    assert_eq!(ok.headers["x-road-service"], SERVICE);
    assert!(ok.headers.get("x-road-request-id").is_some());
    let hash = ok.headers["x-road-request-hash"].to_str().unwrap();
    assert_eq!(hash.len(), 88, "base64 of SHA-512");
    // The exchange is in the node's message log; its evidence verifies, and a copy with any one
    // byte changed does not.
    let ev = app_get(&gw, "/api/v1/exchange/log/msg-1/evidence", &gw.provider_admin).await;
    assert_eq!(ev.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ev.body));
    let v = cqs_exchange::evidence::verify(&ev.body, &[], &[]).unwrap();
    assert_eq!((v.record.message_id.as_str(), v.record.status, v.record.client.as_str()), ("msg-1", 200, CLIENT));
    assert_eq!(v.record.request_hash, hash);
    assert!(cqs_exchange::evidence::verify(&ev.body, &["00".repeat(32)], &[]).is_err(), "an unpinned key is refused");
    for i in 0..ev.body.len() {
        let mut t = ev.body.clone();
        t[i] ^= 0x01;
        assert!(cqs_exchange::evidence::verify(&t, &[], &[]).is_err(), "byte {i} changed and still verified");
    }
    assert_eq!(app_get(&gw, "/api/v1/exchange/log/msg-1/evidence", &app.desk_x).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app_get(&gw, "/api/v1/exchange/log/none/evidence", &app.admin).await.status, StatusCode::NOT_FOUND);
    // Other methods and paths of the same service stay closed.
    for (m, p) in [("POST", "/khai-sinh"), ("GET", "/thong-ke"), ("GET", "/khai-sinh/1/2")] {
        let r = call(&gw.router, r1(m, p, &gw.secret).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {p}");
    }
    // Revoked: refused from then on.
    let path = format!("/api/v1/exchange/grants/{gid}/revoke");
    let revoke = admin(&gw, "POST", &path, &gw.provider_admin, json!({"reason": "Hết nhu cầu sử dụng"})).await;
    assert_eq!(revoke.status, StatusCode::OK);
    let after = call(&gw.router, r1("GET", "/khai-sinh/123", &gw.secret).body(Body::empty()).unwrap()).await;
    assert_eq!(after.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn credentials_in_both_provincial_styles() {
    let app = app().await;
    let gw = gateway(&app, lh()).await;
    grant(&app, &gw, json!({"client": CLIENT})).await;
    let get = |b: axum::http::request::Builder| {
        b.method("GET").uri(format!("/r1/{SERVICE}/khai-sinh/1")).body(Body::empty()).unwrap()
    };
    let none = call(&gw.router, get(Request::builder().header("x-road-client", CLIENT))).await;
    assert_eq!(
        (none.status, none.json()["type"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Client.AuthenticationFailed"))
    );
    let wrong =
        call(&gw.router, get(Request::builder().header("x-systemid", "mot-cua").header("x-secretkey", "0".repeat(64))))
            .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok =
        call(&gw.router, get(Request::builder().header("x-systemid", "mot-cua").header("x-secretkey", &gw.secret)))
            .await;
    assert_eq!(ok.status, StatusCode::OK, "X-SystemId + X-SecretKey without X-Road-Client");
    let other = call(
        &gw.router,
        get(Request::builder()
            .header("x-road-client", "VN-LH/GOV/000.00.05.H99/ho-tich")
            .header("x-systemid", "mot-cua")
            .header("x-secretkey", &gw.secret)),
    )
    .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "X-Road-Client must be the authenticated system");
    let bad = call(&gw.router, get(Request::builder().header("x-road-client", "VN-LH/GOV/x"))).await;
    assert_eq!(bad.json()["type"], "Client.InvalidClientIdentifier");
    // Login → Bearer token, as provincial LGSPs do; a new secret ends it.
    let login = call(
        &gw.router,
        Request::post("/api/v1/exchange/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": "mot-cua", "password": gw.secret, "applicationCode": "DVC"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", String::from_utf8_lossy(&login.body));
    assert_eq!(login.json()["expires_in"], 1800);
    let token = login.json()["access_token"].as_str().unwrap().to_owned();
    let bearer = call(
        &gw.router,
        get(Request::builder().header("x-road-client", CLIENT).header("authorization", format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(bearer.status, StatusCode::OK);
    assert!(bearer.json()["headers"].get("authorization").is_none(), "the platform token stays at the gateway");
    let refused = call(
        &gw.router,
        Request::post("/api/v1/exchange/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"system_id": "mot-cua", "secret": "sai"}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let unit = app.store.org_unit_by_code("000.00.31.H99").await.unwrap().unwrap().id;
    let other_admin = staff(&app.store, "admin.xa2", Role::Admin, unit).await;
    admin(&gw, "POST", &format!("/api/v1/exchange/subsystems/{CLIENT}/secret"), &other_admin, json!({})).await;
    let stale = call(&gw.router, get(Request::builder().header("authorization", format!("Bearer {token}")))).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED, "tokens of the old secret are void");
}

#[tokio::test]
async fn metaservices_errors_limits_and_sizes() {
    let app = app().await;
    let config = cqs_exchange::Config { max_body_kb: 1, ..lh() };
    let gw = gateway(&app, config).await;
    grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "GET", "path": "/khai-sinh/*"}})).await;
    grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "*", "path": "/loi"}})).await;
    let meta = |code: &str| {
        Request::get(format!("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/{code}"))
            .header("x-road-client", CLIENT)
            .header("x-secretkey", &gw.secret)
            .body(Body::empty())
            .unwrap()
    };
    let list = call(&gw.router, meta("listMethods")).await.json();
    assert_eq!(list["service"][0]["service_code"], "khai-sinh");
    assert_eq!(list["service"][0]["service_type"], "OPENAPI");
    assert_eq!(list["service"][0]["endpoint_list"].as_array().unwrap().len(), 3);
    let allowed = call(&gw.router, meta("allowedMethods")).await.json();
    let eps: Vec<String> = allowed["service"][0]["endpoint_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["method"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    assert_eq!(eps, ["* /loi", "GET /khai-sinh/*"]);
    let doc = call(&gw.router, meta("getOpenAPI?serviceCode=khai-sinh")).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json()["info"]["title"], "Khai sinh");
    assert_eq!(call(&gw.router, meta("getOpenAPI")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(call(&gw.router, meta("getOpenAPI?serviceCode=none")).await.status, StatusCode::NOT_FOUND);
    // The provider's own error passes through untouched, without X-Road-Error.
    let teapot = call(&gw.router, r1("POST", "/loi", &gw.secret).body(Body::from("x")).unwrap()).await;
    assert_eq!(teapot.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(teapot.body, b"provider says no");
    assert!(teapot.headers.get("x-road-error").is_none());
    assert!(teapot.headers.get("x-road-request-hash").is_some());
    // Too large a body, an unknown service, XML errors on request.
    let big = call(&gw.router, r1("POST", "/loi", &gw.secret).body(Body::from(vec![b'a'; 2048])).unwrap()).await;
    assert_eq!(
        (big.status, big.json()["type"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("Client.MessageTooLarge"))
    );
    let unknown = call(
        &gw.router,
        Request::get("/r1/VN-LH/GOV/000.00.05.H99/ho-tich/khong-co/x")
            .header("x-secretkey", &gw.secret)
            .header("x-systemid", "mot-cua")
            .header("accept", "application/xml")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&unknown.body).contains("<type>Server.ServerProxy.UnknownService</type>"));
    let elsewhere = call(
        &gw.router,
        Request::get("/r1/VN-HN/GOV/000.00.05.H01/ho-tich/khai-sinh/x")
            .header("x-secretkey", &gw.secret)
            .header("x-systemid", "mot-cua")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(elsewhere.json()["type"], "Server.ClientProxy.UnknownInstance");
    // A limit of 3 calls a minute: the fourth is refused with Retry-After.
    let limit = json!({"client": CLIENT, "window": "minute", "max_requests": 3});
    assert_eq!(admin(&gw, "PUT", "/api/v1/exchange/limits", &app.admin, limit).await.status, StatusCode::NO_CONTENT);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(call(&gw.router, r1("GET", "/khai-sinh/1", &gw.secret).body(Body::empty()).unwrap()).await);
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status.as_u16()).collect();
    assert!(codes[..3].iter().all(|c| *c == 200) && codes[3] == 429, "{codes:?}");
    assert!(statuses[3].headers.get("retry-after").is_some());
}

#[tokio::test]
async fn monitoring_counts_every_call_by_service_client_and_outcome() {
    let app = app().await;
    let gw = gateway(&app, lh()).await;
    let get = |path: &str, secret: &str| r1("GET", path, secret).body(Body::empty()).unwrap();
    assert_eq!(call(&gw.router, get("/khai-sinh/1", &gw.secret)).await.status, StatusCode::FORBIDDEN);
    grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "GET", "path": "/khai-sinh/*"}})).await;
    for n in ["1", "2"] {
        assert_eq!(call(&gw.router, get(&format!("/khai-sinh/{n}"), &gw.secret)).await.status, StatusCode::OK);
    }
    assert_eq!(call(&gw.router, get("/khai-sinh/loi", &gw.secret)).await.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(call(&gw.router, get("/khai-sinh/1", "sai-khoa")).await.status, StatusCode::UNAUTHORIZED);
    gw.gateway.monitor.flush(app.store.as_ref(), chrono::Utc::now()).await.unwrap();

    let now = chrono::Utc::now();
    let period = format!(
        "from={}&to={}",
        (now - chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let r = app_get(&gw, &format!("/api/v1/exchange/monitoring?{period}"), &app.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let rows = r.json()["rows"].as_array().unwrap().clone();
    let pair = rows.iter().find(|x| x["service"] == SERVICE && x["client"] == CLIENT).unwrap();
    assert_eq!(pair["requests"], 4);
    assert_eq!(pair["errors"], 2);
    assert_eq!(
        pair["outcomes"],
        json!({"ok": 2, "provider_error": 1, "Server.ServerProxy.AccessDenied": 1}),
        "refused calls and the provider's own errors are told apart"
    );
    assert!(pair["latency"]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(pair["latency"]["p99_ms"].as_f64().unwrap() >= pair["latency"]["p50_ms"].as_f64().unwrap());
    assert!(pair["response_bytes"].as_i64().unwrap() > 0);
    let stranger = rows.iter().find(|x| x["client"] == "").unwrap();
    assert_eq!((stranger["service"].as_str(), stranger["requests"].as_i64()), (Some(SERVICE), Some(1)));
    assert_eq!(stranger["outcomes"], json!({"Client.AuthenticationFailed": 1}));

    // Only this client's calls; the provider's admin sees its service; a desk officer sees none.
    let one = app_get(&gw, &format!("/api/v1/exchange/monitoring?{period}&client={CLIENT}"), &gw.provider_admin).await;
    assert_eq!(one.json()["rows"].as_array().unwrap().len(), 1);
    let none = app_get(&gw, &format!("/api/v1/exchange/monitoring?{period}"), &app.desk_x).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.json()["rows"].as_array().unwrap().is_empty());
    // A period backwards or too long, a bad id, no caller.
    let back =
        app_get(&gw, "/api/v1/exchange/monitoring?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", &app.admin);
    assert_eq!(back.await.status, StatusCode::BAD_REQUEST);
    let long =
        app_get(&gw, "/api/v1/exchange/monitoring?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", &app.admin);
    assert_eq!(long.await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app_get(&gw, "/api/v1/exchange/monitoring?client=khong-hop-le", &app.admin).await.status,
        StatusCode::BAD_REQUEST
    );
    let anon = call(&gw.router, Request::get("/api/v1/exchange/monitoring").body(Body::empty()).unwrap()).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamped_rounds_date_each_batch_in_its_evidence() {
    use cqs_exchange::stamp::stamp_round;
    let app = app().await;
    let gw = gateway(&app, lh()).await;
    grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "GET", "path": "/khai-sinh/*"}})).await;
    let exchange = |id: &'static str| {
        let router = gw.router.clone();
        let req = r1("GET", "/khai-sinh/1", &gw.secret).header("x-road-id", id).body(Body::empty()).unwrap();
        async move { assert_eq!(call(&router, req).await.status, StatusCode::OK) }
    };
    let evidence = |id: &str| {
        let (path, gw) = (format!("/api/v1/exchange/log/{id}/evidence"), &gw);
        async move { app_get(gw, &path, &gw.provider_admin).await }
    };
    for id in ["ts-1", "ts-2", "ts-3"] {
        exchange(id).await;
    }
    let ca = tempfile::tempdir().unwrap();
    let tsa = cqs_pki::testing::TestTsa::start(ca.path()).unwrap();
    let root = cqs_pki::devca::DevCa::open_or_create(ca.path(), "tỉnh thử nghiệm").unwrap().0.root().unwrap();
    let client = cqs_pki::tsp::TsaClient::new(tsa.url(), std::time::Duration::from_secs(10)).unwrap();
    let node = gw.gateway.log.node.clone();
    // Before the round the evidence has no timestamp and still verifies.
    let before = evidence("ts-2").await;
    assert!(cqs_exchange::evidence::verify(&before.body, &[], &[]).unwrap().stamped.is_none());
    let round = stamp_round(app.store.as_ref(), &client, &node).await.unwrap().expect("batches were waiting");
    assert_eq!(tsa.served(), 1, "one token for the whole round");
    assert!(stamp_round(app.store.as_ref(), &client, &node).await.unwrap().is_none(), "nothing left to stamp");
    let ev = evidence("ts-2").await;
    let v = cqs_exchange::evidence::verify(&ev.body, &[], std::slice::from_ref(&root)).unwrap();
    let stamped = v.stamped.expect("the batch was stamped");
    assert_eq!(stamped.gen_time, round.stamped_at);
    assert!((chrono::Utc::now() - stamped.gen_time).num_seconds().abs() < 60);
    assert!(cqs_exchange::evidence::verify(&ev.body, &[], &[]).is_ok(), "without roots the signer is only reported");
    let other_ca = tempfile::tempdir().unwrap();
    let other = cqs_pki::devca::DevCa::open_or_create(other_ca.path(), "tỉnh khác").unwrap().0.root().unwrap();
    assert!(cqs_exchange::evidence::verify(&ev.body, &[], &[other]).is_err(), "an authority of another root");
    // Any byte changed in the timestamp part fails, except in the token's unprotected parts (the
    // certificates and digest algorithm list a CMS token carries outside its signature), where a
    // change must leave what it proves as it was.
    let text = String::from_utf8_lossy(&ev.body).into_owned();
    let from = text.find("\"timestamp\"").unwrap();
    let token = text.find("\"token\": \"").unwrap() + "\"token\": \"".len();
    let token = token..token + text[token..].find('"').unwrap();
    let mut unsigned = 0;
    for i in from..ev.body.len() {
        let mut t = ev.body.clone();
        t[i] ^= 0x01;
        if let Ok(w) = cqs_exchange::evidence::verify(&t, &[], std::slice::from_ref(&root)) {
            assert!(token.contains(&i), "byte {i} changed and still verified");
            let said = w.stamped.map(|t| (t.gen_time, t.serial, t.policy));
            assert_eq!((w.record, w.statement), (v.record.clone(), v.statement.clone()));
            assert_eq!(said, Some((stamped.gen_time, stamped.serial.clone(), stamped.policy.clone())), "byte {i}");
            unsigned += 1;
        }
    }
    assert!(unsigned < token.len() / 2, "most of the token is signed: {unsigned} of {}", token.len());
    // A statement moved to another leaf of the round does not verify either.
    let mut moved: cqs_exchange::evidence::Evidence = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(moved.to_bytes(), ev.body, "the file is in canonical form");
    let t = moved.timestamp.as_mut().unwrap();
    assert_eq!((t.leaves, t.index), (3, 1), "three calls, three batches, the second one's evidence");
    t.index = 2;
    let err = cqs_exchange::evidence::verify(&moved.to_bytes(), &[], &[]).unwrap_err();
    assert!(matches!(err, cqs_exchange::evidence::EvidenceError::NotStamped), "{err}");
    // A later exchange waits for the next round, which covers only what came after.
    exchange("ts-4").await;
    assert!(cqs_exchange::evidence::verify(&evidence("ts-4").await.body, &[], &[]).unwrap().stamped.is_none());
    let next = stamp_round(app.store.as_ref(), &client, &node).await.unwrap().unwrap();
    assert_eq!(next.first_batch, round.last_batch + 1);
    let v = cqs_exchange::evidence::verify(&evidence("ts-4").await.body, &[], std::slice::from_ref(&root)).unwrap();
    assert!(v.stamped.is_some());
    assert_eq!(tsa.served(), 2);
}

#[tokio::test]
async fn kept_bodies_are_sealed_at_rest_and_come_back_only_with_evidence_that_checks_them() {
    let app = app().await;
    let gw = gateway(&app, cqs_exchange::Config { keep_bodies: true, ..lh() }).await;
    grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "POST", "path": "/khai-sinh"}})).await;
    let sent = r#"{"ho_ten":"Nguyễn Thị Bình","ngay_sinh":"2026-03-05"}"#;
    let req = r1("POST", "/khai-sinh", &gw.secret)
        .header("x-road-id", "body-1")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(sent))
        .unwrap();
    let answered = call(&gw.router, req).await;
    assert_eq!(answered.status, StatusCode::OK);
    // At rest the bodies are sealed: the stored blob shows neither the name nor the answer.
    let row = app.store.log_rows("body-1").await.unwrap().remove(0);
    let sealed = row.bodies.expect("bodies are kept");
    assert!(!sealed.windows("Bình".len()).any(|w| w == "Bình".as_bytes()), "the request is readable at rest");
    assert!(!sealed.windows(8).any(|w| w == b"ho_ten\\\""), "the response is readable at rest");
    assert!(std::fs::metadata(app.dir.path().join("exchange").join("body.key")).is_ok(), "the key was made on start");
    // Evidence without bodies unless asked; with them, the verifier checks them.
    let plain = app_get(&gw, "/api/v1/exchange/log/body-1/evidence", &gw.provider_admin).await;
    assert!(!cqs_exchange::evidence::verify(&plain.body, &[], &[]).unwrap().bodies);
    let full = app_get(&gw, "/api/v1/exchange/log/body-1/evidence?bodies=true", &gw.provider_admin).await;
    assert_eq!(full.status, StatusCode::OK, "{}", String::from_utf8_lossy(&full.body));
    assert!(cqs_exchange::evidence::verify(&full.body, &[], &[]).unwrap().bodies);
    let ev: cqs_exchange::evidence::Evidence = serde_json::from_slice(&full.body).unwrap();
    let b = ev.bodies.clone().unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.decode(&b.request).unwrap(), sent.as_bytes());
    assert_eq!(b64.decode(&b.response).unwrap(), answered.body, "the response as the client got it");
    let mut forged = ev.clone();
    forged.bodies.as_mut().unwrap().request = b64.encode(sent.replace("Bình", "Bính"));
    assert!(matches!(
        cqs_exchange::evidence::verify(&forged.to_bytes(), &[], &[]),
        Err(cqs_exchange::evidence::EvidenceError::BodiesDiffer)
    ));
    // Who may not see the evidence may not see the bodies; forgotten bodies are said so.
    let other = app_get(&gw, "/api/v1/exchange/log/body-1/evidence?bodies=true", &app.desk_x).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    app.store.forget_log_bodies_before(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap();
    let gone = app_get(&gw, "/api/v1/exchange/log/body-1/evidence?bodies=true", &gw.provider_admin).await;
    assert_eq!((gone.status, gone.json()["code"].as_str()), (StatusCode::NOT_FOUND, Some("bodies_not_kept")));
    assert_eq!(app_get(&gw, "/api/v1/exchange/log/body-1/evidence", &gw.provider_admin).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_node_that_keeps_no_bodies_says_so() {
    let app = app().await;
    let gw = gateway(&app, lh()).await;
    grant(&app, &gw, json!({"client": CLIENT, "endpoint": {"method": "GET", "path": "/khai-sinh/*"}})).await;
    let req = r1("GET", "/khai-sinh/1", &gw.secret).header("x-road-id", "nobody-1").body(Body::empty()).unwrap();
    assert_eq!(call(&gw.router, req).await.status, StatusCode::OK);
    assert_eq!(app.store.log_rows("nobody-1").await.unwrap()[0].bodies, None, "nothing but hashes is stored");
    let asked = app_get(&gw, "/api/v1/exchange/log/nobody-1/evidence?bodies=true", &gw.provider_admin).await;
    assert_eq!((asked.status, asked.json()["code"].as_str()), (StatusCode::NOT_FOUND, Some("bodies_not_kept")));
}
