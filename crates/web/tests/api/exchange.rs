//! The exchange registry and the access-request procedure through the API: who may change what,
//! services with OpenAPI descriptions, grants and revocation, and requests answered within two
//! working days (late answers recorded as late), refusals only in writing with a legal basis.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

fn vn(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

pub(crate) struct Exchange {
    /// Admin of the provider member's unit (Sở, 000.00.05.H99).
    pub provider_admin: String,
    /// Admin of the client member's unit (xã, 000.00.31.H99).
    pub client_admin: String,
}

async fn send(app: &App, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(v).unwrap())
        }
        None => Body::empty(),
    };
    app.call(b.body(body).unwrap()).await
}

pub(crate) const PROVIDER: &str = "VN-LH/GOV/000.00.05.H99/ho-tich";
pub(crate) const CLIENT: &str = "VN-LH/GOV/000.00.31.H99/mot-cua";
pub(crate) const SERVICE: &str = "VN-LH/GOV/000.00.05.H99/ho-tich/khai-sinh";

/// Members, two subsystems and one described service, set up through the API.
pub(crate) async fn registry(app: &App, provider_base_url: &str) -> Exchange {
    let unit = |c: &'static str| {
        let store = app.store.clone();
        async move { store.org_unit_by_code(c).await.unwrap().unwrap().id }
    };
    let provider_admin = staff(&app.store, "admin.sotp", Role::Admin, unit("000.00.05.H99").await).await;
    let client_admin = staff(&app.store, "admin.xa", Role::Admin, unit("000.00.31.H99").await).await;
    for (id, name) in [("VN-LH/GOV/000.00.05.H99", "Sở Tư pháp"), ("VN-LH/GOV/000.00.31.H99", "UBND xã")] {
        let r = send(app, "POST", "/api/v1/exchange/members", Some(&app.admin), Some(&json!({"id": id, "name": name})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["org_unit_id"].is_string(), "GOV members join their org unit");
    }
    for (id, admin) in [(PROVIDER, &provider_admin), (CLIENT, &client_admin)] {
        let r =
            send(app, "POST", "/api/v1/exchange/subsystems", Some(admin), Some(&json!({"id": id, "name": "Hệ thống"})))
                .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    }
    let spec = json!({
        "code": "khai-sinh", "title": "Tra cứu khai sinh", "version": "1.0.0", "owner": "Sở Tư pháp tỉnh Lạc Hồng",
        "base_url": provider_base_url, "timeout_ms": 5000,
        "openapi": {"openapi": "3.0.3", "info": {"title": "Khai sinh", "version": "1.0.0"},
            "paths": {"/khai-sinh/{so}": {"get": {}}, "/khai-sinh": {"post": {}}, "/thong-ke": {"get": {}}}}
    });
    let path = format!("/api/v1/exchange/subsystems/{PROVIDER}/services");
    let r = send(app, "POST", &path, Some(&provider_admin), Some(&spec)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    Exchange { provider_admin, client_admin }
}

#[tokio::test]
async fn registry_is_administered_by_the_operator_and_members() {
    let app = app().await;
    let member = json!({"id": "VN-LH/GOV/000.00.05.H99", "name": "Sở Tư pháp"});
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/members", None, Some(&member)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/members", Some(&app.desk_x), Some(&member)).await.status,
        StatusCode::FORBIDDEN
    );
    let bad = json!({"id": "VN-LH/GOV/SO-TU-PHAP", "name": "Sở Tư pháp"});
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/members", Some(&app.admin), Some(&bad)).await.json()["code"],
        "invalid_exchange_id"
    );
    let ex = registry(&app, "http://127.0.0.1:9").await;
    // The client's admin cannot register a system for the provider member, nor add its services.
    let theirs = json!({"id": "VN-LH/GOV/000.00.05.H99/khac", "name": "Khác"});
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/subsystems", Some(&ex.client_admin), Some(&theirs)).await.status,
        StatusCode::FORBIDDEN
    );
    let dup = json!({"id": CLIENT, "name": "Trùng"});
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/subsystems", Some(&ex.client_admin), Some(&dup)).await.status,
        StatusCode::CONFLICT
    );
    // Anyone signed in reads the catalog, with the endpoints of the description.
    assert_eq!(send(&app, "GET", "/api/v1/exchange/services", None, None).await.status, StatusCode::UNAUTHORIZED);
    let list = send(&app, "GET", "/api/v1/exchange/services", Some(&app.desk_x), None).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], SERVICE);
    let endpoints: Vec<String> = list[0]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["method"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    assert_eq!(endpoints, ["GET /khai-sinh/*", "GET /thong-ke", "POST /khai-sinh"]);
    let one = send(&app, "GET", &format!("/api/v1/exchange/services/{SERVICE}"), Some(&app.desk_x), None).await;
    assert_eq!(one.json()["version"], "1.0.0");
    assert_eq!(
        send(&app, "GET", "/api/v1/exchange/services/VN-LH/GOV/000.00.05.H99/ho-tich/none", Some(&app.desk_x), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A bad description, a reserved code and a foreign provider's service are refused.
    let path = format!("/api/v1/exchange/subsystems/{PROVIDER}/services");
    let mut spec =
        json!({"code": "listMethods", "title": "x", "version": "1", "owner": "x", "base_url": "http://127.0.0.1:9"});
    assert_eq!(
        send(&app, "POST", &path, Some(&ex.provider_admin), Some(&spec)).await.json()["code"],
        "reserved_service_code"
    );
    spec["code"] = json!("v2");
    spec["openapi"] = json!({"swagger": "2.0"});
    assert_eq!(
        send(&app, "POST", &path, Some(&ex.provider_admin), Some(&spec)).await.json()["code"],
        "invalid_registry_entry"
    );
    assert_eq!(send(&app, "POST", &path, Some(&ex.client_admin), Some(&spec)).await.status, StatusCode::FORBIDDEN);
    // Secrets are shown once and never listed.
    let secret =
        send(&app, "POST", &format!("/api/v1/exchange/subsystems/{CLIENT}/secret"), Some(&ex.client_admin), None).await;
    assert_eq!(secret.status, StatusCode::CREATED);
    assert_eq!(secret.json()["secret"].as_str().unwrap().len(), 64);
    assert_eq!(secret.json()["system_id"], "mot-cua");
    let subs = send(&app, "GET", "/api/v1/exchange/subsystems", Some(&app.desk_x), None).await;
    assert!(!String::from_utf8_lossy(&subs.body).contains(secret.json()["secret"].as_str().unwrap()));
    let patch = send(
        &app,
        "PATCH",
        &format!("/api/v1/exchange/subsystems/{CLIENT}"),
        Some(&ex.client_admin),
        Some(&json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(patch.json()["status"], "disabled");
    // Limits are the operator's.
    let limit = json!({"client": CLIENT, "window": "minute", "max_requests": 600});
    assert_eq!(
        send(&app, "PUT", "/api/v1/exchange/limits", Some(&ex.client_admin), Some(&limit)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&app, "PUT", "/api/v1/exchange/limits", Some(&app.admin), Some(&limit)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&app, "GET", "/api/v1/exchange/limits", Some(&app.admin), None).await.json()[0]["max_requests"],
        600
    );
}

#[tokio::test]
async fn direct_grants_and_revocation() {
    let app = app().await;
    let ex = registry(&app, "http://127.0.0.1:9").await;
    let grants = format!("/api/v1/exchange/services/{SERVICE}/grants");
    let body = json!({"client": CLIENT, "endpoint": {"method": "GET", "path": "/khai-sinh/*"}});
    assert_eq!(send(&app, "POST", &grants, Some(&ex.client_admin), Some(&body)).await.status, StatusCode::FORBIDDEN);
    let g = send(&app, "POST", &grants, Some(&ex.provider_admin), Some(&body)).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&g.body));
    let id = g.json()["id"].as_str().unwrap().to_owned();
    let bad = json!({"client": CLIENT, "endpoint": {"method": "BREW", "path": "/x"}});
    assert_eq!(
        send(&app, "POST", &grants, Some(&ex.provider_admin), Some(&bad)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(send(&app, "GET", &grants, Some(&ex.provider_admin), None).await.json().as_array().unwrap().len(), 1);
    let revoke = format!("/api/v1/exchange/grants/{id}/revoke");
    let reason = json!({"reason": "Hết nhu cầu sử dụng"});
    assert_eq!(send(&app, "POST", &revoke, Some(&ex.client_admin), Some(&reason)).await.status, StatusCode::FORBIDDEN);
    let r = send(&app, "POST", &revoke, Some(&ex.provider_admin), Some(&reason)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["revoke_reason"], "Hết nhu cầu sử dụng");
    assert_eq!(send(&app, "POST", &revoke, Some(&ex.provider_admin), Some(&reason)).await.status, StatusCode::CONFLICT);
    assert!(send(&app, "GET", &grants, Some(&ex.provider_admin), None).await.json().as_array().unwrap().is_empty());
    assert_eq!(
        send(&app, "GET", &format!("{grants}?include_revoked=true"), Some(&ex.provider_admin), None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn access_requests_follow_the_legal_procedure() {
    let app = app().await;
    let ex = registry(&app, "http://127.0.0.1:9").await;
    // Thursday 5 March 2026, 10:00: the answer is due Monday 9 March, 10:00.
    app.clock.set(vn(2026, 3, 5, 10, 0));
    let ask = json!({"client": CLIENT, "service": SERVICE, "endpoints": [{"method": "GET", "path": "/khai-sinh/*"}],
        "purpose": "Đối chiếu giấy khai sinh khi tiếp nhận hồ sơ", "legal_basis": "Luật Hộ tịch số 60/2014/QH13"});
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/access-requests", Some(&ex.provider_admin), Some(&ask)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = send(&app, "POST", "/api/v1/exchange/access-requests", Some(&ex.client_admin), Some(&ask)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let req = r.json();
    assert_eq!(req["state"], "pending");
    assert_eq!(req["answer_due_at"], json!(vn(2026, 3, 9, 10, 0)));
    assert!(req["answer_rule"].as_str().unwrap().contains("194/2025"));
    let id = req["id"].as_str().unwrap().to_owned();
    let mut vague = ask.clone();
    vague["purpose"] = json!("cần");
    assert_eq!(
        send(&app, "POST", "/api/v1/exchange/access-requests", Some(&ex.client_admin), Some(&vague)).await.json()["code"],
        "access_request_rejected"
    );
    // Both sides and the operator see it; another unit's admin does not.
    for who in [&ex.client_admin, &ex.provider_admin, &app.admin] {
        assert_eq!(
            send(&app, "GET", &format!("/api/v1/exchange/access-requests/{id}"), Some(who), None).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        send(&app, "GET", &format!("/api/v1/exchange/access-requests/{id}"), Some(&app.desk_x), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        send(&app, "GET", "/api/v1/exchange/access-requests", Some(&app.desk_x), None)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Monday 11:00: overdue.
    app.clock.set(vn(2026, 3, 9, 11, 0));
    let overdue =
        send(&app, "GET", "/api/v1/exchange/access-requests?overdue=true", Some(&ex.provider_admin), None).await.json();
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    assert_eq!(overdue[0]["overdue"], true);
    // A refusal needs written reasons and a legal basis; only the provider answers.
    let decision = format!("/api/v1/exchange/access-requests/{id}/decision");
    let refuse = json!({"decision": "refuse", "reason": "Dữ liệu chứa thông tin cá nhân nhạy cảm", "legal_basis": ""});
    assert_eq!(
        send(&app, "POST", &decision, Some(&ex.provider_admin), Some(&refuse)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let grant = json!({"decision": "grant"});
    assert_eq!(send(&app, "POST", &decision, Some(&ex.client_admin), Some(&grant)).await.status, StatusCode::FORBIDDEN);
    let wider = json!({"decision": "grant", "endpoints": [{"method": "*", "path": "/**"}]});
    assert_eq!(
        send(&app, "POST", &decision, Some(&ex.provider_admin), Some(&wider)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let done = send(&app, "POST", &decision, Some(&ex.provider_admin), Some(&grant)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(done.json()["state"], "granted");
    assert_eq!(done.json()["answered_late"], true);
    assert_eq!(
        send(&app, "POST", &decision, Some(&ex.provider_admin), Some(&grant)).await.status,
        StatusCode::CONFLICT
    );
    let grants =
        send(&app, "GET", &format!("/api/v1/exchange/services/{SERVICE}/grants"), Some(&ex.provider_admin), None)
            .await
            .json();
    assert_eq!(grants[0]["access_request_id"], json!(id));
    assert_eq!(grants[0]["endpoint"]["path"], "/khai-sinh/*");
    // A second request, refused in time with its basis.
    app.clock.set(vn(2026, 3, 10, 8, 0));
    let r2 = send(&app, "POST", "/api/v1/exchange/access-requests", Some(&ex.client_admin), Some(&ask)).await.json();
    let refuse = json!({"decision": "refuse", "reason": "Dữ liệu chứa thông tin cá nhân nhạy cảm", "legal_basis": "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15"});
    let d2 = send(
        &app,
        "POST",
        &format!("/api/v1/exchange/access-requests/{}/decision", r2["id"].as_str().unwrap()),
        Some(&ex.provider_admin),
        Some(&refuse),
    )
    .await
    .json();
    assert_eq!((d2["state"].as_str(), d2["answered_late"].as_bool()), (Some("refused"), Some(false)));
    assert_eq!(d2["refusal_legal_basis"], "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15");
    let events: Vec<String> = app.store.pending_events(100).await.unwrap().into_iter().map(|e| e.topic).collect();
    assert_eq!(events.iter().filter(|t| *t == "exchange.access_decided").count(), 2);
}
