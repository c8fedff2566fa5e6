//! What operators see: readiness of each dependency, and Prometheus metrics scraped with a
//! `metrics:read` key (and refused to everyone else).

use super::*;

/// The value of the sample whose line starts with `series` (name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
}

#[tokio::test]
async fn metrics_are_scraped_with_a_metrics_key_only() {
    let app = app().await;
    let scraper = key(&app.store, None, vec![Scope::MetricsRead], None).await;
    assert_eq!(app.get("/metrics", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/metrics", Some(&app.admin)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/metrics", Some(&app.portal)).await.status, StatusCode::FORBIDDEN);

    // Some traffic: two submissions, an acceptance, a lookup of a code that does not exist.
    let code = submitted(&app).await;
    submitted(&app).await;
    assert_eq!(act(&app, &code, &app.desk_x, 1, json!({"type": "accept"})).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/lookup/000.00.31.H99-991231-0001", None).await.status, StatusCode::NOT_FOUND);
    // The relay has not run yet: three events wait; then it runs and the counts follow.
    let before = app.get("/metrics", Some(&scraper)).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(before.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(before.body).unwrap();
    assert_eq!(sample(&text, "cqs_outbox_pending"), Some(3.0), "{text}");
    assert!(sample(&text, "cqs_outbox_oldest_age_seconds").is_some());
    assert_eq!(sample(&text, "cqs_dossiers{state=\"submitted\"}"), Some(0.0));

    let requests = |method: &str, route: &str, status: u16| {
        format!("cqs_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}")
    };
    assert_eq!(sample(&text, &requests("POST", "/api/v1/dossiers", 201)), Some(2.0));
    assert_eq!(sample(&text, &requests("POST", "/api/v1/dossiers/{code}/actions", 200)), Some(1.0));
    assert_eq!(sample(&text, &requests("GET", "/api/v1/lookup/{code}", 404)), Some(1.0));
    assert_eq!(sample(&text, &requests("GET", "/metrics", 401)), Some(1.0));
    // Latency histograms by route template: the path itself (a dossier code) never appears.
    let bucket = "cqs_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/dossiers\",le=\"+Inf\"}";
    assert_eq!(sample(&text, bucket), Some(2.0), "{text}");
    assert!(!text.contains(&code) && !text.contains("991231"), "no dossier codes in metrics");
    assert!(!text.contains("Nguyễn") && !text.contains("001203004567"), "no personal data in metrics");
    for pool in ["read", "write"] {
        assert!(sample(&text, &format!("cqs_db_pool_max{{pool=\"{pool}\"}}")).is_some_and(|n| n >= 1.0), "{text}");
        assert!(sample(&text, &format!("cqs_db_pool_connections{{pool=\"{pool}\"}}")).is_some());
    }
    assert_eq!(sample(&text, "cqs_dossiers_overdue"), Some(0.0));

    // The relay publishes; the next reading (after the reading interval) shows the counts.
    cqs_web::events::relay_pending(app.store.as_ref(), app.state.bus.as_ref(), &app.clock).await.unwrap();
    app.clock.set(app.clock.now() + chrono::Duration::days(30));
    tokio::time::sleep(cqs_web::telemetry::GAUGE_TTL).await;
    let text = String::from_utf8(app.get("/metrics", Some(&scraper)).await.body).unwrap();
    assert_eq!(sample(&text, "cqs_outbox_pending"), Some(0.0));
    assert_eq!(sample(&text, "cqs_dossiers{state=\"submitted\"}"), Some(1.0));
    assert_eq!(sample(&text, "cqs_dossiers{state=\"accepted\"}"), Some(1.0));
    assert_eq!(sample(&text, "cqs_dossiers_overdue"), Some(2.0), "a month later both are late");
    assert_eq!(sample(&text, "cqs_events_published_total"), Some(3.0));
}

#[tokio::test]
async fn readiness_names_each_dependency() {
    let app = app().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"status": "ok", "store": {"kind": "sqlite", "ok": true}, "bus": {"kind": "in-process", "ok": true},
               "files": {"kind": "local", "ok": true}})
    );
    // File storage that cannot be written makes the node unready (and says which part failed).
    let files = app.dir.path().join("files");
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, b"not a folder").unwrap();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["files"]["ok"], false);
    assert_eq!(r.json()["store"]["ok"], true);
    assert_eq!(r.json()["status"], "unavailable");
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK, "alive all the same");
}
