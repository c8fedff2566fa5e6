//! `Idempotency-Key` on every state-changing route: retries replay the first answer and never
//! repeat the effect; a reused key with another request is 422; a key still in use is 409.

use std::collections::BTreeSet;
use std::time::Duration;

use cqs_store::{Claim, RequestKey};
use cqs_web::idempotency::{EXEMPT, declaring_operations, is_unsafe};

use super::*;

fn keyed(method: &str, path: &str, token: Option<&str>, key: &str, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", key);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn history_actions(app: &App, code: &str) -> Vec<String> {
    let d = app.store.dossier_by_code(code).await.unwrap().unwrap();
    app.store.history(d.id).await.unwrap().into_iter().map(|h| h.action).collect()
}

async fn events(app: &App, topic: &str) -> usize {
    app.store.pending_events(10_000).await.unwrap().iter().filter(|e| e.topic == topic).count()
}

#[test]
fn every_unsafe_route_takes_the_key_or_says_why_not() {
    let doc = cqs_web::api::openapi();
    let declared: BTreeSet<(String, String)> = declaring_operations(&doc).into_iter().collect();
    let mut missing = Vec::new();
    let mut exempt_used = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        let ops = [("PUT", &item.put), ("POST", &item.post), ("DELETE", &item.delete), ("PATCH", &item.patch)];
        for (method, op) in ops {
            if op.is_none() || !is_unsafe(&method.parse().unwrap()) {
                continue;
            }
            if declared.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            match EXEMPT.iter().find(|(m, p, _)| (*m == "*" || *m == method) && p == path) {
                Some(e) => {
                    exempt_used.insert(e.1);
                }
                None => missing.push(format!("{method} {path}")),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "declare params(crate::idempotency::IdempotencyKeyHeader) or add a reason to EXEMPT: {missing:#?}"
    );
    let stale: Vec<_> = EXEMPT.iter().filter(|e| !exempt_used.contains(e.1)).collect();
    assert!(stale.is_empty(), "EXEMPT names routes that no longer exist or declare the key: {stale:?}");
    // The guard's own answers are documented on every route that takes the key.
    for (method, path) in &declared {
        let op = doc.paths.paths[path].post.as_ref().or(doc.paths.paths[path].put.as_ref());
        let op = op.or(doc.paths.paths[path].patch.as_ref()).or(doc.paths.paths[path].delete.as_ref()).unwrap();
        for code in ["409", "422"] {
            assert!(op.responses.responses.contains_key(code), "{method} {path} does not document {code}");
        }
    }
}

#[tokio::test]
async fn workflow_action_retries_replay_on_sqlite() {
    action_retries(app().await).await;
}

#[tokio::test]
async fn workflow_action_retries_replay_on_postgres() {
    if let Some(app) = postgres_app().await {
        action_retries(app).await;
    }
}

async fn action_retries(app: App) {
    let code = super::submitted(&app).await;
    let path = format!("/api/v1/dossiers/{code}/actions");
    let accept = json!({"expected_version": 1, "action": {"type": "accept"}});
    let first = app.call(keyed("POST", &path, Some(&app.desk_x), "act-1", &accept)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", String::from_utf8_lossy(&first.body));
    assert!(first.headers.get("idempotent-replayed").is_none());
    // A retry (say after a timeout) gets the same answer and changes nothing.
    let again = app.call(keyed("POST", &path, Some(&app.desk_x), "act-1", &accept)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(again.body, first.body);
    assert_eq!(history_actions(&app, &code).await, ["submit", "accept"]);
    assert_eq!(events(&app, "dossier.accept").await, 1);
    // Key order and spacing do not make another request.
    let reordered = app
        .call(
            Request::post(&path)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.desk_x))
                .header("idempotency-key", "act-1")
                .body(Body::from(r#"{ "action": {"type":"accept"}, "expected_version": 1 }"#))
                .unwrap(),
        )
        .await;
    assert_eq!(reordered.status, StatusCode::OK);
    assert_eq!(reordered.body, first.body);
    // The same key with another request is refused, and does nothing.
    let other = json!({"expected_version": 2, "action": {"type": "forward"}});
    let clash = app.call(keyed("POST", &path, Some(&app.desk_x), "act-1", &other)).await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clash.json()["code"], "idempotency_key_reused");
    assert_eq!(history_actions(&app, &code).await, ["submit", "accept"]);
    // Keys are the caller's own: another caller's "act-1" is a different key.
    let fwd = app.call(keyed("POST", &path, Some(&app.desk_x), "act-2", &other)).await;
    assert_eq!(fwd.status, StatusCode::OK);
    let appraise = json!({"expected_version": 3, "action": {"type": "forward"}});
    let theirs = app.call(keyed("POST", &path, Some(&app.specialist_x), "act-1", &appraise)).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", String::from_utf8_lossy(&theirs.body));
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_eq!(history_actions(&app, &code).await, ["submit", "accept", "forward", "forward"]);
    // A refused request keeps nothing: the same key may carry the corrected request.
    let stale = json!({"expected_version": 1, "action": {"type": "approve"}});
    let refused = app.call(keyed("POST", &path, Some(&app.leader_x), "act-3", &stale)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let approve = json!({"expected_version": 4, "action": {"type": "approve"}});
    let ok = app.call(keyed("POST", &path, Some(&app.leader_x), "act-3", &approve)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(events(&app, "dossier.approve").await, 1);
    // A malformed key is a clear 400.
    let bad = app.call(keyed("POST", &path, Some(&app.leader_x), "có dấu", &approve)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["code"], "invalid_idempotency_key");
}

#[tokio::test]
async fn concurrent_retries_act_once() {
    let app = app().await;
    let code = super::submitted(&app).await;
    let path = format!("/api/v1/dossiers/{code}/actions");
    let accept = json!({"expected_version": 1, "action": {"type": "accept"}});
    let calls = (0..6).map(|_| app.call(keyed("POST", &path, Some(&app.desk_x), "race", &accept)));
    let answers = futures_util::future::join_all(calls).await;
    let mut fresh = 0;
    for r in &answers {
        match (r.status, r.headers.get("idempotent-replayed")) {
            (StatusCode::OK, None) => fresh += 1,
            (StatusCode::OK, Some(_)) => {}
            (StatusCode::CONFLICT, _) => {
                assert_eq!(r.json()["code"], "idempotency_key_in_use");
                assert_eq!(r.headers[header::RETRY_AFTER], "1");
            }
            (s, _) => panic!("unexpected {s}: {}", String::from_utf8_lossy(&r.body)),
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(history_actions(&app, &code).await, ["submit", "accept"]);
    assert_eq!(events(&app, "dossier.accept").await, 1);
}

/// A node that died while holding a key leaves a claim without an answer: a retry is told to
/// wait while the claim's lease runs, then takes the claim over and runs the request once.
#[tokio::test]
async fn a_dead_request_frees_its_key_when_its_lease_ends() {
    let app = app().await;
    let code = super::submitted(&app).await;
    let path = format!("/api/v1/dossiers/{code}/actions");
    let accept = json!({"expected_version": 1, "action": {"type": "accept"}});
    let req = keyed("POST", &path, Some(&app.desk_x), "dead", &accept);
    let (parts, _) = req.into_parts();
    let user = app.store.user_by_username("desk.x").await.unwrap().unwrap();
    let key = RequestKey {
        scope: format!("staff:{}", user.id),
        key: "dead".into(),
        request_hash: cqs_web::idempotency::fingerprint(&parts, accept.to_string().as_bytes()),
    };
    let now = app.clock.now();
    // The claim a node took before it died.
    assert!(matches!(app.store.claim_key(&key, now, Duration::from_secs(90)).await.unwrap(), Claim::Held(_)));
    let busy = app.call(keyed("POST", &path, Some(&app.desk_x), "dead", &accept)).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(busy.json()["code"], "idempotency_key_in_use");
    assert_eq!(history_actions(&app, &code).await, ["submit"]);
    app.clock.set(now + chrono::Duration::seconds(91));
    let after = app.call(keyed("POST", &path, Some(&app.desk_x), "dead", &accept)).await;
    assert_eq!(after.status, StatusCode::OK, "{}", String::from_utf8_lossy(&after.body));
    let again = app.call(keyed("POST", &path, Some(&app.desk_x), "dead", &accept)).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(history_actions(&app, &code).await, ["submit", "accept"]);
}

#[tokio::test]
async fn registration_and_catalog_writes_replay() {
    let app = app().await;
    let body = json!({"identity_number": "001203004567", "full_name": "Nguyễn Văn An", "phone": "0912345678",
        "password": identity_support::CITIZEN_PW});
    let first = app.call(keyed("POST", "/api/v1/auth/register", None, "reg-1", &body)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first.body));
    let again = app.call(keyed("POST", "/api/v1/auth/register", None, "reg-1", &body)).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    // Passwords are left out of the fingerprint (no fast hash of one is stored): the same
    // request with another password is still the same request.
    let mut other_pw = body.clone();
    other_pw["password"] = json!("Một mật khẩu khác hẳn");
    let replay = app.call(keyed("POST", "/api/v1/auth/register", None, "reg-1", &other_pw)).await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    // Another anonymous caller's different request under the same key is refused.
    let mut other = body.clone();
    other["identity_number"] = json!("001203004568");
    other["phone"] = json!("0912345679");
    let clash = app.call(keyed("POST", "/api/v1/auth/register", None, "reg-1", &other)).await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut spec = serde_json::to_value(super::spec()).unwrap();
    spec["code"] = json!("2.000001");
    let created = app.call(keyed("POST", "/api/v1/procedures", Some(&app.admin), "cat-1", &spec)).await;
    assert!(created.status.is_success(), "{}", String::from_utf8_lossy(&created.body));
    let replay = app.call(keyed("POST", "/api/v1/procedures", Some(&app.admin), "cat-1", &spec)).await;
    assert_eq!(replay.status, created.status);
    assert_eq!(replay.body, created.body);
    assert_eq!(app.store.procedure_versions("2.000001").await.unwrap().len(), 1);
}
