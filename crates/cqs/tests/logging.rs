//! Logs and traces of a real router: JSON lines that carry the request id and route template
//! and nothing a caller sent, and spans exported over OTLP/HTTP to a collector started here.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{Request, header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as OtelValue;
use prost::Message;
use tower::ServiceExt;

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A collector that keeps every OTLP/HTTP trace request it receives.
async fn collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let got: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                ([(header::CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), got)
}

fn string_attr(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
        OtelValue::StringValue(s) => Some(s.clone()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_spans_reach_the_collector() {
    let (endpoint, received) = collector().await;
    let provider = cqs::logging::otlp_provider(&endpoint).unwrap();
    let logs = Captured::default();
    let subscriber = cqs::logging::subscriber(
        tracing_subscriber::EnvFilter::new(cqs::logging::DEFAULT_FILTER),
        true,
        logs.clone(),
        Some(&provider),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let (store, dir) = cqs_store::testing::sqlite_store().await;
    cqs::demo::load(store.as_ref(), dir.path()).await.unwrap();
    let credentials = std::fs::read_to_string(dir.path().join("demo-credentials.txt")).unwrap();
    let portal = credentials.lines().find(|l| l.starts_with("Cổng dịch vụ công")).unwrap().split('\t').nth(1).unwrap();
    let files = cqs_store::files::FileStore::open(dir.path().join("files")).unwrap();
    let state = cqs_web::AppState::new(store, files, cqs_web::Rules::embedded().unwrap(), Default::default());
    let router = cqs_web::router(state);

    // A submission whose form is incomplete: the body (a name, an identity number) is read and
    // refused, and none of it may reach the log.
    let body = serde_json::json!({
        "procedure_code": "2.000635", "receiving_unit": "000.00.31.H99", "channel": "online",
        "applicant": {"kind": "person", "identity_kind": "citizen", "identity_number": "079203001234", "name": "Phạm Thị Hồng Nhung"},
        "form_data": {}
    });
    let req = Request::post("/api/v1/dossiers")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {portal}"))
        .header("x-request-id", "req-from-the-balancer-42")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["x-request-id"], "req-from-the-balancer-42", "the balancer's id is kept");
    // A request's span ends with its response body.
    drop(res);
    let req = Request::get("/api/v1/lookup/000.00.31.H99-991231-0007").body(Body::empty()).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 404);
    let made_here = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made_here.len(), 36, "a request without an id gets one");
    drop(res);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let access: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "cqs::access").collect();
    assert_eq!(access.len(), 2, "{text}");
    assert_eq!(access[0]["span"]["request_id"], "req-from-the-balancer-42");
    assert_eq!(access[0]["span"]["route"], "/api/v1/dossiers");
    assert_eq!(access[0]["span"]["method"], "POST");
    assert_eq!(access[0]["fields"]["status"], 422);
    assert!(access[0]["fields"]["ms"].as_f64().is_some());
    assert_eq!(access[1]["span"]["request_id"], made_here.as_str());
    assert_eq!(access[1]["span"]["route"], "/api/v1/lookup/{code}", "the template, not the path");
    for secret in ["079203001234", "Phạm Thị Hồng Nhung", "Nhung", "991231-0007", portal] {
        assert!(!text.contains(secret), "{secret} reached the log:\n{text}");
    }

    // The request spans reach the collector as OTLP protobuf.
    provider.force_flush().unwrap();
    let batches = received.lock().unwrap().clone();
    assert!(!batches.is_empty(), "the collector got nothing");
    let mut routes = Vec::new();
    for b in &batches {
        let req = ExportTraceServiceRequest::decode(b.as_ref()).unwrap();
        for rs in req.resource_spans {
            let resource = rs.resource.unwrap();
            assert_eq!(string_attr(&resource.attributes, "service.name").as_deref(), Some("cqs"));
            for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                if span.name == "request" {
                    routes.push(string_attr(&span.attributes, "route").unwrap_or_default());
                    let id = string_attr(&span.attributes, "request_id").unwrap_or_default();
                    assert!(id == "req-from-the-balancer-42" || id == made_here);
                }
            }
        }
    }
    routes.sort();
    assert_eq!(routes, ["/api/v1/dossiers", "/api/v1/lookup/{code}"]);
    provider.shutdown().unwrap();
}
