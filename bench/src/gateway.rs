//! What the exchange gateway costs, measured side by side in one run: a consumer calling a small
//! provider directly, through nginx as a plain reverse proxy (the practical floor for any proxy),
//! through one `cqs` node, and through two `cqs` nodes federated over mutual TLS (the consumer's
//! node forwards to the provider's node, which calls the provider), the message log on in both.
//! Each path runs with one client (what a hop adds to latency) and with many (throughput).
//! Every answer is checked: status 200 and the provider's body, byte for byte.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{Nginx, find_node_cert, run};
use crate::load::{Report, Samples, sample_clients};
use crate::server::{Database, Server, free_port};

const PROVIDER: &str = "VN-LH/GOV/000.00.05.H99/ho-tich";
const SERVICE: &str = "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh";
const LH_CLIENT: &str = "VN-LH/GOV/000.00.31.H99/mot-cua";
const TW_CLIENT: &str = "VN-TW/GOV/000.00.31.H99/mot-cua";

/// The provider's answer to `/api/khai-sinh/{so}`: a birth-register lookup of the usual size.
fn answer(so: &str) -> String {
    serde_json::json!({"so": so, "ho_ten": "Nguyễn Văn An", "ngay_sinh": "2001-02-03",
        "noi_dang_ky": "UBND xã Lạc Sơn, tỉnh Lạc Hồng", "quyen_so": "01/2001"})
    .to_string()
}

/// Starts the provider in this process; returns its base URL.
async fn provider() -> anyhow::Result<String> {
    async fn lookup(axum::extract::Path(so): axum::extract::Path<String>) -> impl axum::response::IntoResponse {
        ([(axum::http::header::CONTENT_TYPE, "application/json")], answer(&so))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/api/khai-sinh/{so}", axum::routing::get(lookup));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

/// One way of reaching the provider: a URL prefix and the headers a client sends.
#[derive(Clone)]
pub struct Route {
    pub name: &'static str,
    prefix: String,
    headers: Vec<(&'static str, String)>,
}

pub struct Row {
    pub path: &'static str,
    pub clients: usize,
    pub report: Report,
}

/// The settings file of one federated node.
fn node_config(instance: &str, listen: u16, cert: &Path, key: &Path, ca: &Path, peer: (&str, u16, &str)) -> String {
    format!(
        "[exchange]\ninstance = \"{instance}\"\n\n[exchange.federation]\nlisten = \"127.0.0.1:{listen}\"\n\
         cert = \"{}\"\nkey = \"{}\"\nca = \"{}\"\n\n[[exchange.federation.peers]]\ninstance = \"{}\"\n\
         url = \"https://127.0.0.1:{}\"\nname = \"{}\"\n",
        cert.display(),
        key.display(),
        ca.display(),
        peer.0,
        peer.1,
        peer.2
    )
}

/// An admin call on a node with its root administrator's key; the answer's JSON.
async fn admin(
    http: &reqwest::Client,
    srv: &Server,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let r = http.post(format!("{}{path}", srv.base_url)).bearer_auth(token).json(&body).send().await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "POST {path} answered {status}: {text}");
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// Registers the provider's service on the province's node (granted to its own client and to
/// the national one) and the national client on the national node; returns both secrets.
async fn register(
    http: &reqwest::Client,
    lh: &Server,
    tw: &Server,
    provider: &str,
) -> anyhow::Result<(String, String)> {
    let (lh_key, tw_key) = (lh.token_named("Khóa của quantri")?, tw.token_named("Khóa của quantri")?);
    for id in ["VN-LH/GOV/000.00.05.H99", "VN-LH/GOV/000.00.31.H99"] {
        admin(http, lh, &lh_key, "/api/v1/exchange/members", serde_json::json!({"id": id, "name": "Cơ quan"})).await?;
    }
    for id in [PROVIDER, LH_CLIENT] {
        admin(http, lh, &lh_key, "/api/v1/exchange/subsystems", serde_json::json!({"id": id, "name": "Hệ thống"}))
            .await?;
    }
    let spec = serde_json::json!({"code": "khai-sinh", "title": "Tra cứu khai sinh", "version": "1.0.0",
        "owner": "Sở Tư pháp", "base_url": format!("{provider}/api"), "timeout_ms": 5000});
    admin(http, lh, &lh_key, &format!("/api/v1/exchange/subsystems/{PROVIDER}/services"), spec).await?;
    for client in [LH_CLIENT, TW_CLIENT] {
        let grant = serde_json::json!({"client": client});
        admin(http, lh, &lh_key, &format!("/api/v1/exchange/services/{SERVICE}/grants"), grant).await?;
    }
    let lh_secret =
        admin(http, lh, &lh_key, &format!("/api/v1/exchange/subsystems/{LH_CLIENT}/secret"), serde_json::json!({}))
            .await?["secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    let member = serde_json::json!({"id": "VN-TW/GOV/000.00.31.H99", "name": "UBND xã"});
    admin(http, tw, &tw_key, "/api/v1/exchange/members", member).await?;
    admin(http, tw, &tw_key, "/api/v1/exchange/subsystems", serde_json::json!({"id": TW_CLIENT, "name": "Một cửa"}))
        .await?;
    let tw_secret =
        admin(http, tw, &tw_key, &format!("/api/v1/exchange/subsystems/{TW_CLIENT}/secret"), serde_json::json!({}))
            .await?["secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    anyhow::ensure!(!lh_secret.is_empty() && !tw_secret.is_empty(), "no secret issued");
    Ok((lh_secret, tw_secret))
}

/// `clients` clients calling `path` back to back for `dur`; every answer must be the provider's.
/// `round` keeps the calls of each round distinct.
async fn measure(
    http: &reqwest::Client,
    path: &Route,
    clients: usize,
    dur: Duration,
    round: usize,
) -> anyhow::Result<Samples> {
    let (http, path) = (http.clone(), Arc::new(path.clone()));
    sample_clients(clients, dur, path.name, move |c, n| {
        let so = format!("{round}-{c}-{n}");
        let mut req = http.get(format!("{}/khai-sinh/{so}", path.prefix));
        for (k, v) in &path.headers {
            req = req.header(*k, v);
        }
        Box::pin(async move {
            let r = req.send().await?;
            anyhow::ensure!(r.status() == 200, "answered {}", r.status());
            let body = r.bytes().await?;
            anyhow::ensure!(body == answer(&so).as_bytes(), "the body is not the provider's");
            Ok(())
        })
    })
    .await
}

/// Runs the comparison: every path with one client, then with `clients`. Each path gets `dur`
/// in all, in `rounds` slices taken in turn (path 1, path 2 ... path 1, path 2 ...), so a change
/// in the machine's speed during the run touches every path alike and their ratios hold.
pub async fn run_paths(bin: &Path, clients: usize, dur: Duration, rounds: usize) -> anyhow::Result<Vec<Row>> {
    let provider = provider().await?;
    // nginx as a plain reverse proxy with kept-alive upstream connections.
    let nginx_port = free_port()?;
    let upstream = provider.trim_start_matches("http://");
    let nginx = Nginx::start(&format!(
        "upstream provider {{ server {upstream}; keepalive 256; }}\n\
         server {{\n  listen 127.0.0.1:{nginx_port};\n  location / {{\n    proxy_pass http://provider;\n    \
         proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n  }}\n}}\n"
    ))?;
    // Two federated nodes, each with a certificate of one development CA.
    let (db_lh, db_tw) = (Database::create("sqlite", "").await?, Database::create("sqlite", "").await?);
    let tls = db_lh.dir.path().join("federation-ca");
    run(
        Command::new(bin)
            .arg("--data-dir")
            .arg(db_lh.dir.path())
            .arg("dev-ca")
            .arg("--out")
            .arg(&tls)
            .args(["--agency", "000.00.31.H99", "--node", "node-lh=127.0.0.1", "--node", "node-tw=127.0.0.1"])
            .env("CQS_LOG", "warn"),
        "cqs dev-ca",
    )?;
    let ca = tls.join("ca.crt.pem");
    let (lh_cert, lh_key) = find_node_cert(&tls, "node-lh")?;
    let (tw_cert, tw_key) = find_node_cert(&tls, "node-tw")?;
    let (lh_fed, tw_fed) = (free_port()?, free_port()?);
    let lh_conf = db_lh.dir.path().join("federation.toml");
    std::fs::write(&lh_conf, node_config("VN-LH", lh_fed, &lh_cert, &lh_key, &ca, ("VN-TW", tw_fed, "node-tw")))?;
    let tw_conf = db_tw.dir.path().join("federation.toml");
    std::fs::write(&tw_conf, node_config("VN-TW", tw_fed, &tw_cert, &tw_key, &ca, ("VN-LH", lh_fed, "node-lh")))?;
    let lh = Server::start_with(bin, &db_lh, &[("CQS_CONFIG", lh_conf.to_str().unwrap_or_default())]).await?;
    let tw = Server::start_with(bin, &db_tw, &[("CQS_CONFIG", tw_conf.to_str().unwrap_or_default())]).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).timeout(Duration::from_secs(30)).build()?;
    let (lh_secret, tw_secret) = register(&http, &lh, &tw, &provider).await?;
    let paths = [
        Route { name: "direct", prefix: format!("{provider}/api"), headers: vec![] },
        Route { name: "nginx (plain proxy)", prefix: format!("http://127.0.0.1:{nginx_port}/api"), headers: vec![] },
        Route {
            name: "one cqs node",
            prefix: format!("{}/r1/{SERVICE}", lh.base_url),
            headers: vec![("x-road-client", LH_CLIENT.into()), ("x-secretkey", lh_secret)],
        },
        Route {
            name: "two federated cqs nodes (mTLS)",
            prefix: format!("{}/r1/{SERVICE}", tw.base_url),
            headers: vec![("x-road-client", TW_CLIENT.into()), ("x-secretkey", tw_secret)],
        },
    ];
    let mut rows = Vec::new();
    let rounds = rounds.max(1);
    let slice = dur / rounds as u32;
    for n in [1, clients] {
        let mut samples: Vec<Samples> = paths.iter().map(|_| Samples::default()).collect();
        for p in &paths {
            // Warm the connection pools and the nodes' registry copies first.
            measure(&http, p, n, Duration::from_millis(500), usize::MAX).await?;
        }
        for round in 0..rounds {
            for (p, s) in paths.iter().zip(&mut samples) {
                s.add(measure(&http, p, n, slice, round).await?);
            }
        }
        for (p, s) in paths.iter().zip(samples) {
            let report: Report = s.report();
            anyhow::ensure!(report.ok > 0, "{}: no call succeeded", p.name);
            rows.push(Row { path: p.name, clients: n, report });
        }
    }
    drop((lh, tw, nginx));
    db_lh.drop().await?;
    db_tw.drop().await?;
    Ok(rows)
}
