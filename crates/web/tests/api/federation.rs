//! Two federated nodes over mutual TLS, on real sockets: a consumer on the national node (VN-TW)
//! reaches a provider behind the province's node (VN-LH) by service id alone. Granted calls
//! succeed (bodies and X-Road headers arrive), ungranted and revoked ones are refused with the
//! provider node's X-Road error, the metaservices answer across, both nodes log the exchange and
//! its evidence verifies while a tampered copy does not; certificates of nodes that are not the
//! configured peer are refused, and a peer may speak only for its own instance's clients.

use std::net::SocketAddr;
use std::sync::Arc;

use cqs_exchange::federation::{FederationConfig, PeerConfig};
use cqs_pki::devca::{DevCa, NodeSpec};
use serde_json::{Value, json};

use super::exchange::{CLIENT, PROVIDER, SERVICE, registry};
use super::gateway::{call as send, provider};
use super::*;

const TW: &str = "VN-TW";
const TW_MEMBER: &str = "VN-TW/GOV/000.00.31.H99";
const TW_CLIENT: &str = "VN-TW/GOV/000.00.31.H99/mot-cua";

struct Node {
    app: App,
    router: axum::Router,
    gateway: Arc<cqs_exchange::Gateway>,
}

struct Certs {
    _dir: tempfile::TempDir,
    ca: std::path::PathBuf,
    issued: std::collections::HashMap<&'static str, cqs_pki::devca::Issued>,
}

fn certs() -> Certs {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = DevCa::open_or_create(dir.path(), "tỉnh Lạc Hồng").unwrap();
    let issued = ["node-lh", "node-tw", "node-la"]
        .into_iter()
        .map(|n| (n, ca.issue_node(&NodeSpec { name: n.into(), sans: vec!["127.0.0.1".into()] }).unwrap()))
        .collect();
    Certs { ca: ca.root_path(), _dir: dir, issued }
}

fn federation(certs: &Certs, me: &str, listen: SocketAddr, peers: Vec<PeerConfig>) -> FederationConfig {
    FederationConfig {
        listen: listen.to_string(),
        cert: certs.issued[me].chain_pem.clone(),
        key: certs.issued[me].key_pem.clone(),
        ca: certs.ca.clone(),
        timeout_ms: 5000,
        peers,
    }
}

fn peer(instance: &str, name: &str, addr: SocketAddr) -> PeerConfig {
    PeerConfig {
        instance: instance.into(),
        url: format!("https://{addr}"),
        name: name.into(),
        cert_sha256: String::new(),
    }
}

async fn start(app: App, instance: &str, fed: FederationConfig, listener: tokio::net::TcpListener) -> Node {
    let config = cqs_exchange::Config { instance: instance.into(), federation: fed, ..Default::default() };
    let gateway =
        cqs_exchange::Gateway::start(app.store.clone(), config, &app.dir.path().join("exchange")).await.unwrap();
    tokio::spawn(cqs_exchange::federation::serve(gateway.clone(), listener, std::future::pending()));
    Node { router: cqs_web::router(app.state.clone().with_exchange(gateway.clone())), gateway, app }
}

async fn admin(node: &Node, method: &str, path: &str, token: &str, body: Value) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(&node.router, req).await
}

#[tokio::test]
async fn two_federated_nodes_carry_granted_calls_and_refuse_the_rest() {
    let certs = certs();
    let (la, lb) = (
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let (addr_tw, addr_lh) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    // The province's node: the provider and its registry, trusting only node-tw.
    let lh_app = app().await;
    let ex = registry(&lh_app, &provider().await).await;
    let lh =
        start(lh_app, "VN-LH", federation(&certs, "node-lh", addr_lh, vec![peer(TW, "node-tw", addr_tw)]), lb).await;
    // The national node: the consumer's member and subsystem, trusting only node-lh.
    let tw_app = app().await;
    let unit = tw_app.store.org_unit_by_code("000.00.31.H99").await.unwrap().unwrap().id;
    let tw_admin = staff(&tw_app.store, "admin.tw", Role::Admin, unit).await;
    let tw =
        start(tw_app, TW, federation(&certs, "node-tw", addr_tw, vec![peer("VN-LH", "node-lh", addr_lh)]), la).await;
    let r = admin(&tw, "POST", "/api/v1/exchange/members", &tw.app.admin, json!({"id": TW_MEMBER, "name": "UBND xã"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let r =
        admin(&tw, "POST", "/api/v1/exchange/subsystems", &tw_admin, json!({"id": TW_CLIENT, "name": "Một cửa"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let secret = admin(&tw, "POST", &format!("/api/v1/exchange/subsystems/{TW_CLIENT}/secret"), &tw_admin, json!({}))
        .await
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let consumer = |method: &str, path: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(format!("/r1/{path}"))
            .header("x-road-client", TW_CLIENT)
            .header("x-systemid", TW_CLIENT)
            .header("x-secretkey", &secret)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };

    // Nothing granted yet: the province's node refuses, and its error comes back as it is.
    let denied = send(&tw.router, consumer("GET", &format!("{SERVICE}/khai-sinh/1"), "")).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&denied.body));
    assert_eq!(denied.headers["x-road-error"], "Server.ServerProxy.AccessDenied");
    assert!(denied.json()["message"].as_str().unwrap().contains(TW_CLIENT));

    // Granted on the provider's node to the national client.
    let grants = format!("/api/v1/exchange/services/{SERVICE}/grants");
    let g = admin(&lh, "POST", &grants, &ex.provider_admin, json!({"client": TW_CLIENT})).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&g.body));
    let gid = g.json()["id"].as_str().unwrap().to_owned();
    let ok = send(
        &tw.router,
        Request::builder()
            .method("POST")
            .uri(format!("/r1/{SERVICE}/khai-sinh?nam=2026"))
            .header("x-systemid", TW_CLIENT)
            .header("x-secretkey", &secret)
            .header("x-road-id", "fed-1")
            .header("x-road-userid", "VN001203004567")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"so":"123"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    let seen = ok.json();
    assert_eq!(seen["uri"], "/api/khai-sinh?nam=2026");
    assert_eq!(seen["body"], r#"{"so":"123"}"#, "the body reaches the provider");
    assert_eq!(seen["headers"]["x-road-client"], TW_CLIENT);
    assert_eq!(seen["headers"]["x-road-userid"], "VN001203004567");
    assert!(seen["headers"].get("x-secretkey").is_none() && seen["headers"].get("x-systemid").is_none());
    assert_eq!(ok.headers["x-road-id"], "fed-1");
    assert_eq!(ok.headers["x-road-service"], SERVICE);
    let hash = ok.headers["x-road-request-hash"].to_str().unwrap().to_owned();

    // Both nodes logged it, each naming the other, with the same request hash; the consumer's
    // admin exports the national node's evidence, which verifies, and no changed byte does.
    let lh_rows = lh.app.store.log_rows("fed-1").await.unwrap();
    let tw_rows = tw.app.store.log_rows("fed-1").await.unwrap();
    assert_eq!((lh_rows.len(), tw_rows.len()), (1, 1));
    let ev = send(
        &tw.router,
        Request::get("/api/v1/exchange/log/fed-1/evidence")
            .header(header::AUTHORIZATION, format!("Bearer {tw_admin}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(ev.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ev.body));
    let v = cqs_exchange::evidence::verify(&ev.body, std::slice::from_ref(&tw.gateway.log.key_hex), &[]).unwrap();
    assert_eq!(v.record.request_hash, hash);
    assert_eq!(
        (v.record.peer.as_deref(), v.record.client.as_str(), v.record.status),
        (Some("node-lh"), TW_CLIENT, 200)
    );
    for i in (0..ev.body.len()).step_by(7) {
        let mut t = ev.body.clone();
        t[i] ^= 0x01;
        assert!(cqs_exchange::evidence::verify(&t, &[], &[]).is_err(), "byte {i} changed and still verified");
    }
    let lh_record: cqs_exchange::log::LogRecord = serde_json::from_slice(&lh_rows[0].record).unwrap();
    assert_eq!((lh_record.peer.as_deref(), lh_record.request_hash.as_str()), (Some("node-tw"), hash.as_str()));

    // The metaservices answer across, for the national client.
    let meta = |code: &str| consumer("GET", &format!("{PROVIDER}/{code}"), "");
    let list = send(&tw.router, meta("listMethods")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", String::from_utf8_lossy(&list.body));
    assert_eq!(list.json()["service"][0]["service_code"], "khai-sinh");
    let allowed = send(&tw.router, meta("allowedMethods")).await.json();
    assert_eq!(allowed["service"][0]["service_code"], "khai-sinh");
    let doc = send(&tw.router, meta("getOpenAPI?serviceCode=khai-sinh")).await;
    assert_eq!((doc.status, doc.json()["info"]["title"].as_str()), (StatusCode::OK, Some("Khai sinh")));

    // Revoked on the provider's node: refused from then on.
    let revoke = admin(
        &lh,
        "POST",
        &format!("/api/v1/exchange/grants/{gid}/revoke"),
        &ex.provider_admin,
        json!({"reason": "Hết nhu cầu sử dụng"}),
    )
    .await;
    assert_eq!(revoke.status, StatusCode::OK);
    let after = send(&tw.router, consumer("GET", &format!("{SERVICE}/khai-sinh/1"), "")).await;
    assert_eq!(after.headers["x-road-error"], "Server.ServerProxy.AccessDenied");
    assert_eq!(after.status, StatusCode::FORBIDDEN);

    // An instance with no peer is unknown here.
    let unknown = send(&tw.router, consumer("GET", "VN-XX/GOV/000.00.05.H99/ho-tich/khai-sinh/1", "")).await;
    assert_eq!(unknown.headers["x-road-error"], "Server.ClientProxy.UnknownInstance");

    // The province's node grants the province's own client too; the national node's certificate
    // may not speak for it.
    admin(&lh, "POST", &grants, &ex.provider_admin, json!({"client": CLIENT})).await;
    let as_tw = cqs_exchange::federation::Federation::load(
        &federation(&certs, "node-tw", "127.0.0.1:0".parse().unwrap(), vec![peer("VN-LH", "node-lh", addr_lh)]),
        TW,
    )
    .unwrap();
    /// A call sent straight to the province's node with `fed`'s certificate.
    async fn direct_to(
        fed: &cqs_exchange::federation::Federation,
        addr: std::net::SocketAddr,
        client: &str,
    ) -> Result<cqs_exchange::upstream::Answer, cqs_exchange::upstream::FetchError> {
        let req = axum::http::Request::get(format!("https://{addr}/r1/{SERVICE}/khai-sinh/1"))
            .header("x-road-client", client)
            .body(http_body_util::Full::new(axum::body::Bytes::new()))
            .unwrap();
        fed.peer("VN-LH").unwrap().http.fetch(req, std::time::Duration::from_secs(10), 1 << 20).await
    }
    let direct = |fed, client| direct_to(fed, addr_lh, client);
    let spoof = direct(&as_tw, CLIENT).await.unwrap();
    assert_eq!(spoof.status, StatusCode::FORBIDDEN);
    assert_eq!(spoof.headers["x-road-error"], "Server.ServerProxy.AccessDenied");
    // A certificate from the same CA, of a node that is not the configured peer, gets no answer.
    let stranger = cqs_exchange::federation::Federation::load(
        &federation(&certs, "node-la", "127.0.0.1:0".parse().unwrap(), vec![peer("VN-LH", "node-lh", addr_lh)]),
        "VN-LA",
    )
    .unwrap();
    assert!(direct(&stranger, "VN-LA/GOV/000.00.31.H99/mot-cua").await.is_err(), "an unconfigured node is refused");
    // Nor does the national node talk to a province node that shows another node's certificate.
    let misnamed = cqs_exchange::federation::Federation::load(
        &federation(&certs, "node-tw", "127.0.0.1:0".parse().unwrap(), vec![peer("VN-LH", "node-la", addr_lh)]),
        TW,
    )
    .unwrap();
    assert!(direct(&misnamed, TW_CLIENT).await.is_err(), "the server's identity is checked too");
}

#[test]
fn federation_settings_are_checked_before_start() {
    let base = FederationConfig {
        listen: "127.0.0.1:5500".into(),
        cert: "a.pem".into(),
        key: "a.key".into(),
        ca: "ca.pem".into(),
        timeout_ms: 0,
        peers: vec![peer(TW, "node-tw", "127.0.0.1:5501".parse().unwrap())],
    };
    let check = |f: &dyn Fn(&mut FederationConfig)| {
        let mut c = base.clone();
        f(&mut c);
        cqs_exchange::federation::validate(&c, "VN-LH")
    };
    assert!(check(&|_| {}).is_ok());
    assert!(cqs_exchange::federation::validate(&FederationConfig::default(), "VN-LH").is_ok(), "off by default");
    assert!(check(&|c| c.ca = "".into()).is_err());
    assert!(check(&|c| c.listen = "cổng 5500".into()).is_err());
    assert!(check(&|c| c.peers[0].instance = "VN-LH".into()).is_err(), "a peer serving this node's own instance");
    assert!(check(&|c| c.peers.push(c.peers[0].clone())).is_err(), "two peers for one instance");
    assert!(check(&|c| c.peers[0].url = "http://127.0.0.1:5501".into()).is_err(), "plain HTTP");
    assert!(check(&|c| c.peers[0].url = "https://127.0.0.1:5501/x".into()).is_err());
    assert!(check(&|c| c.peers[0].cert_sha256 = "abc".into()).is_err());
}
