//! In-process API tests: the real router on a real SQLite store in a temporary directory.

mod account_pages;
mod admin_pages;
mod api_fuzz;
mod codes;
mod counter;
mod deadlines;
mod docstore;
mod eid;
mod events;
mod exchange;
mod federation;
mod forms;
mod gateway;
mod hostile;
mod idempotency;
mod identity;
mod identity_support;
mod keys;
mod matrix;
mod mfa;
mod mine;
mod observability;
mod organizations;
mod pages;
mod ratings;
mod results;
mod statistics;
mod submit_pages;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cqs_domain::auth::{Role, RoleGrant, Scope};
use cqs_domain::catalog::{Field, ProcedureSpec};
use cqs_domain::ids::AgencyCode;
use cqs_domain::org::{OrgUnitKind, OrgUnitSpec};
use cqs_store::files::FileStore;
use cqs_store::{NewApiKey, NewUser, Store};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

struct App {
    router: axum::Router,
    state: cqs_web::AppState,
    clock: cqs_web::Clock,
    store: Arc<dyn Store>,
    dir: tempfile::TempDir,
    portal: String,
    reader_other_unit: String,
    desk_x: String,
    desk_y: String,
    admin: String,
    specialist_x: String,
    leader_x: String,
    /// What people would have received (one-time codes).
    notices: cqs_web::notify::MemoryNotifier,
}

fn unit(code: &str, kind: OrgUnitKind, parent: Option<&str>) -> OrgUnitSpec {
    OrgUnitSpec {
        code: AgencyCode::parse(code).unwrap(),
        name: format!("UBND {code}"),
        short_name: None,
        kind,
        parent: parent.map(|p| AgencyCode::parse(p).unwrap()),
        valid_from: "2025-07-01".parse().unwrap(),
        valid_to: None,
        successor: None,
        address: None,
        phone: None,
    }
}

fn spec() -> ProcedureSpec {
    serde_json::from_value(json!({
        "code": "1.001193", "name": "Đăng ký khai sinh", "field": "ho-tich", "summary": "Đăng ký việc sinh.",
        "applicants": "Cha, mẹ của trẻ", "receiving_units": ["kind:commune"], "deciding_unit": "receiving",
        "online_level": "full", "deadline": {"kind": "working_hours", "hours": 8},
        "fees": [{"name": "Lệ phí", "amount": 0, "note": null}],
        "components": [
            {"code": "to-khai", "name": "Tờ khai", "required": false, "file_types": ["pdf", "jpg"], "originals": 1, "copies": 0, "document_type": "to-khai"},
            {"code": "giay-chung-sinh", "name": "Giấy chứng sinh", "required": false, "file_types": ["pdf"], "originals": 1, "copies": 0, "document_type": "giay-chung-sinh"}
        ],
        "form_schema": {"type": "object", "additionalProperties": false, "required": ["ho_ten_tre", "ngay_sinh"],
            "properties": {"ho_ten_tre": {"type": "string", "title": "Họ và tên của trẻ", "minLength": 1, "maxLength": 100},
                           "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"}}},
        "result": {"name": "Giấy khai sinh", "document_type": "giay-khai-sinh"}, "return_channels": ["counter", "online"],
        "legal_basis": ["Luật Hộ tịch số 60/2014/QH13"],
        "process": [{"step": "intake", "unit": "receiving", "role": "desk_officer", "hours": 1},
                    {"step": "appraisal", "unit": "receiving", "role": "specialist", "hours": 5},
                    {"step": "approval", "unit": "receiving", "role": "leader", "hours": 1},
                    {"step": "returning", "unit": "receiving", "role": "desk_officer", "hours": 1}],
        "effective_from": "2025-07-01", "effective_to": null
    }))
    .unwrap()
}

async fn key(store: &Arc<dyn Store>, user: Option<Uuid>, scopes: Vec<Scope>, unit: Option<Uuid>) -> String {
    let k = cqs_web::auth::generate_key();
    store
        .create_api_key(&NewApiKey {
            id: Uuid::now_v7(),
            prefix: k.prefix,
            secret_hash: k.secret_hash,
            name: "test".into(),
            user_id: user,
            scopes,
            org_unit_id: unit,
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    k.token
}

async fn staff(store: &Arc<dyn Store>, name: &str, role: Role, unit: Uuid) -> String {
    let u = store
        .create_user(&NewUser {
            username: name.into(),
            full_name: name.into(),
            email: None,
            grants: vec![RoleGrant { role, org_unit_id: unit }],
        })
        .await
        .unwrap();
    key(store, Some(u.id), vec![], None).await
}

async fn app() -> App {
    let (store, dir) = cqs_store::testing::sqlite_store().await;
    app_on(store, dir).await
}

/// The same application on a throw-away PostgreSQL database.
async fn postgres_app() -> Option<App> {
    let store = cqs_store::testing::postgres_store().await?;
    Some(app_on(store, tempfile::tempdir().unwrap()).await)
}

async fn app_on(store: Arc<dyn Store>, dir: tempfile::TempDir) -> App {
    store
        .upsert_org_units(&[
            unit("000.00.00.H99", OrgUnitKind::ProvinceCommittee, None),
            unit("000.00.31.H99", OrgUnitKind::Commune, Some("000.00.00.H99")),
            unit("000.00.32.H99", OrgUnitKind::Commune, Some("000.00.00.H99")),
            unit("000.00.05.H99", OrgUnitKind::Department, Some("000.00.00.H99")),
        ])
        .await
        .unwrap();
    store.upsert_fields(&[Field { code: "ho-tich".into(), name: "Hộ tịch".into() }]).await.unwrap();
    let mut strict = spec();
    strict.code = cqs_domain::ids::ProcedureCode::parse("1.000656").unwrap();
    strict.name = "Đăng ký lại khai sinh".into();
    strict.components[0].required = true;
    // Three working days, for deadlines that cross holidays.
    let mut long = spec();
    long.code = cqs_domain::ids::ProcedureCode::parse("1.004884").unwrap();
    long.name = "Cấp bản sao trích lục hộ tịch".into();
    long.deadline = cqs_domain::catalog::Deadline::WorkingHours { hours: 24 };
    store.add_procedure_versions(&[spec(), strict, long], true).await.unwrap();
    let id = |c: &'static str| {
        let store = store.clone();
        async move { store.org_unit_by_code(c).await.unwrap().unwrap().id }
    };
    let (root, x, y) = (id("000.00.00.H99").await, id("000.00.31.H99").await, id("000.00.32.H99").await);
    let portal = key(&store, None, vec![Scope::DossiersSubmit], None).await;
    let reader_other_unit = key(&store, None, vec![Scope::DossiersRead], Some(y)).await;
    let desk_x = staff(&store, "desk.x", Role::DeskOfficer, x).await;
    let desk_y = staff(&store, "desk.y", Role::DeskOfficer, y).await;
    let admin = staff(&store, "admin", Role::Admin, root).await;
    let specialist_x = staff(&store, "specialist.x", Role::Specialist, x).await;
    let leader_x = staff(&store, "leader.x", Role::Leader, x).await;
    let files = FileStore::open(dir.path().join("files")).unwrap();
    // A clock the deadline tests move; the others run at the real time it starts at.
    let clock = cqs_web::Clock::fixed(chrono::Utc::now());
    let notices = cqs_web::notify::MemoryNotifier::default();
    let state = cqs_web::AppState::new(store.clone(), files, cqs_web::Rules::embedded().unwrap(), Default::default())
        .with_clock(clock.clone())
        .with_notifier(Arc::new(notices.clone()));
    App {
        router: cqs_web::router(state.clone()),
        state,
        clock,
        store,
        dir,
        portal,
        reader_other_unit,
        desk_x,
        desk_y,
        admin,
        specialist_x,
        leader_x,
        notices,
    }
}

/// The string values of `key` in each element of a JSON array.
fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array().unwrap().iter().map(|x| x[key].as_str().unwrap()).collect()
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

impl App {
    async fn call(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Resp { status, headers, body }
    }
    async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut b = Request::get(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.call(b.body(Body::empty()).unwrap()).await
    }
    async fn post_json(&self, path: &str, token: Option<&str>, body: &Value, idem: Option<&str>) -> Resp {
        let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(k) = idem {
            b = b.header("idempotency-key", k);
        }
        self.call(b.body(Body::from(serde_json::to_vec(body).unwrap())).unwrap()).await
    }
    async fn post_multipart(&self, token: &str, dossier: &Value, files: &[(&str, &str, &[u8])]) -> Resp {
        let boundary = "cqs-test-boundary";
        let mut body = Vec::new();
        let mut part = |headers: String, content: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        };
        part(
            "Content-Disposition: form-data; name=\"dossier\"\r\nContent-Type: application/json".into(),
            &serde_json::to_vec(dossier).unwrap(),
        );
        for (name, file, bytes) in files {
            part(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream"
                ),
                bytes,
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::post("/api/v1/dossiers")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        self.call(req).await
    }
    fn pending_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("files/pending")).unwrap().count()
    }
}

fn submission(unit: &str, channel: &str) -> Value {
    json!({
        "procedure_code": "1.001193", "receiving_unit": unit, "channel": channel,
        "applicant": {"kind": "person", "identity_kind": "citizen", "identity_number": "001203004567", "name": "Nguyễn Văn An"},
        "form_data": {"ho_ten_tre": "Nguyễn Bảo Na", "ngay_sinh": "2026-11-01"}
    })
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

#[tokio::test]
async fn submit_then_look_up_publicly() {
    submit_then_look_up(app().await).await;
}

#[tokio::test]
async fn submit_retry_and_look_up_on_postgres() {
    if let Some(app) = postgres_app().await {
        submit_then_look_up(app).await;
    }
    if let Some(app) = postgres_app().await {
        idempotent_retry(app).await;
    }
}

async fn submit_then_look_up(app: App) {
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.31.H99", "online"), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let receipt = r.json();
    let code = receipt["code"].as_str().unwrap();
    let today = cqs_domain::dossier::local_date(chrono::Utc::now()).format("%y%m%d").to_string();
    assert_eq!(code, format!("000.00.31.H99-{today}-0001"));
    assert_eq!(receipt["state"], "submitted");
    assert!(receipt["due_at"].is_string());
    assert_eq!(r.headers[header::LOCATION], format!("/api/v1/dossiers/{code}"));

    let l = app.get(&format!("/api/v1/lookup/{code}"), None).await;
    assert_eq!(l.status, StatusCode::OK);
    let v = l.json();
    assert_eq!(v["status"]["national_code"], 1);
    assert_eq!(v["status"]["name"], "Mới đăng ký");
    assert_eq!(v["procedure_name"], "Đăng ký khai sinh");
    let text = String::from_utf8_lossy(&l.body);
    assert!(!text.contains("Nguyễn Văn An") && !text.contains("001203004567"), "no personal data in lookup");

    assert_eq!(app.get("/api/v1/lookup/000.00.31.H99-991231-0001", None).await.status, StatusCode::NOT_FOUND);
    let bad = app.get("/api/v1/lookup/abc", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(bad.json()["code"], "invalid_dossier_code");
}

#[tokio::test]
async fn idempotency_key_returns_first_receipt() {
    idempotent_retry(app().await).await;
}

async fn idempotent_retry(app: App) {
    let body = submission("000.00.31.H99", "online");
    let first = app.post_json("/api/v1/dossiers", Some(&app.portal), &body, Some("retry-1")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app.post_json("/api/v1/dossiers", Some(&app.portal), &body, Some("retry-1")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json(), first.json());
    let mut changed = body.clone();
    changed["form_data"]["ho_ten_tre"] = json!("Tên khác");
    let clash = app.post_json("/api/v1/dossiers", Some(&app.portal), &changed, Some("retry-1")).await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clash.json()["code"], "idempotency_key_reused");
    assert_eq!(app.store.count_dossiers().await.unwrap(), 1);
    let bad_key = app.post_json("/api/v1/dossiers", Some(&app.portal), &body, Some("có dấu")).await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn multipart_attachments_are_sniffed_hashed_and_downloadable() {
    let app = app().await;
    let r = app
        .post_multipart(&app.portal, &submission("000.00.31.H99", "online"), &[("to-khai", "../../Tờ khai.pdf", PDF)])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let code = r.json()["code"].as_str().unwrap().to_owned();
    assert_eq!(app.pending_files(), 0, "committed files leave pending storage");
    // The submitting client may read its own dossier.
    let d = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.portal)).await;
    assert_eq!(d.status, StatusCode::OK);
    let view = d.json();
    assert_eq!(view["applicant"]["name"], "Nguyễn Văn An");
    let att = &view["attachments"][0];
    assert_eq!(att["file_name"], "Tờ khai.pdf", "path tricks are stripped from names");
    assert_eq!(att["content_type"], "application/pdf");
    let dl = app
        .get(&format!("/api/v1/dossiers/{code}/attachments/{}", att["id"].as_str().unwrap()), Some(&app.portal))
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.body, PDF);
    let h = app.get(&format!("/api/v1/dossiers/{code}/history"), Some(&app.portal)).await.json();
    assert_eq!(h[0]["to_status"]["name"], "Mới đăng ký");
    assert_eq!(h[0]["action"], "submit");
}

#[tokio::test]
async fn bad_input_is_refused_without_side_effects() {
    let app = app().await;
    // A program disguised as a PDF.
    let exe = app
        .post_multipart(
            &app.portal,
            &submission("000.00.31.H99", "online"),
            &[("to-khai", "to-khai.pdf", b"MZ\x90\0\x03\0\0\0\x04\0")],
        )
        .await;
    assert_eq!(exe.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(exe.json()["errors"][0]["field"], "/files/to-khai");
    // Missing required component, bad form data, bad identity number: all reported at once.
    let mut bad = submission("000.00.31.H99", "online");
    bad["procedure_code"] = json!("1.000656");
    bad["form_data"] = json!({"ho_ten_tre": "", "ngay_sinh": "31/12/2026", "la": 1});
    bad["applicant"]["identity_number"] = json!("12");
    let r = app.post_multipart(&app.portal, &bad, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> =
        r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    for f in ["/applicant/identity_number", "/form_data/ho_ten_tre", "/form_data/ngay_sinh", "/files/to-khai"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    // Unknown JSON field, broken JSON, wrong content type.
    let mut extra = submission("000.00.31.H99", "online");
    extra["surprise"] = json!(true);
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &extra, None).await;
    assert_eq!((r.status, r.json()["code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("invalid_json_fields")));
    let broken = Request::post("/api/v1/dossiers")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.portal))
        .body(Body::from("{\"procedure_code\": "))
        .unwrap();
    assert_eq!(app.call(broken).await.status, StatusCode::BAD_REQUEST);
    let text = Request::post("/api/v1/dossiers")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.portal))
        .body(Body::from("hello"))
        .unwrap();
    assert_eq!(app.call(text).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Unknown procedure and a unit that does not receive it.
    let mut unknown = submission("000.00.31.H99", "online");
    unknown["procedure_code"] = json!("2.999999");
    assert_eq!(
        app.post_json("/api/v1/dossiers", Some(&app.portal), &unknown, None).await.status,
        StatusCode::NOT_FOUND
    );
    let wrong_unit =
        app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.05.H99", "online"), None).await;
    assert_eq!(wrong_unit.json()["code"], "unit_does_not_receive");
    // Oversized JSON body.
    let mut huge = submission("000.00.31.H99", "online");
    huge["form_data"]["ho_ten_tre"] = json!("x".repeat(2 * 1024 * 1024));
    assert_eq!(
        app.post_json("/api/v1/dossiers", Some(&app.portal), &huge, None).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(app.store.count_dossiers().await.unwrap(), 0);
    assert_eq!(app.pending_files(), 0, "no orphan file");
}

#[tokio::test]
async fn every_route_checks_who_calls_it() {
    let app = app().await;
    let body = submission("000.00.31.H99", "online");
    assert_eq!(app.post_json("/api/v1/dossiers", None, &body, None).await.status, StatusCode::UNAUTHORIZED);
    let forged = "cqs_abcdefgh_".to_owned() + &"0".repeat(64);
    assert_eq!(app.post_json("/api/v1/dossiers", Some(&forged), &body, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.post_json("/api/v1/dossiers", Some(&app.reader_other_unit), &body, None).await.status,
        StatusCode::FORBIDDEN
    );
    // Staff: counter intake only at their own unit, and accepted on the spot.
    let counter = submission("000.00.31.H99", "counter");
    assert_eq!(
        app.post_json("/api/v1/dossiers", Some(&app.desk_y), &counter, None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app.post_json("/api/v1/dossiers", Some(&app.desk_x), &counter, None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["state"], "accepted");
    assert_eq!(
        app.post_json("/api/v1/dossiers", Some(&app.desk_x), &body, None).await.json()["code"],
        "channel_not_allowed"
    );
    assert_eq!(
        app.post_json("/api/v1/dossiers", Some(&app.portal), &counter, None).await.json()["code"],
        "channel_not_allowed"
    );
    // Reading: the unit's staff yes, other units and other clients no, anonymous never.
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/dossiers/{code}");
    assert_eq!(app.get(&path, Some(&app.desk_x)).await.status, StatusCode::OK);
    assert_eq!(app.get(&path, Some(&app.desk_y)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&app.reader_other_unit)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, None).await.status, StatusCode::UNAUTHORIZED);
    // Catalog writes: admin of the root unit only.
    let mut s = serde_json::to_value(spec()).unwrap();
    s["name"] = json!("Đăng ký khai sinh (sửa đổi)");
    assert_eq!(app.post_json("/api/v1/procedures", Some(&app.desk_x), &s, None).await.status, StatusCode::FORBIDDEN);
    let created = app.post_json("/api/v1/procedures", Some(&app.admin), &s, None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&created.body));
    assert_eq!(created.json()["version"], 2);
    assert_eq!(app.get("/api/v1/procedures/1.001193?version=2", None).await.status, StatusCode::UNAUTHORIZED);
    let publish = Request::post("/api/v1/procedures/1.001193/versions/2/publish")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.call(publish).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/procedures/1.001193", None).await.json()["version"], 2);
}

#[tokio::test]
async fn catalog_search_ignores_diacritics() {
    let app = app().await;
    let r = app.get("/api/v1/procedures?q=dang%20ky%20KHAI%20sinh", None).await.json();
    assert_eq!(r["total"], 2, "both khai sinh procedures match");
    assert_eq!(r["items"][1]["name"], "Đăng ký khai sinh");
    assert_eq!(app.get("/api/v1/procedures?q=lai%20khai%20sinh", None).await.json()["total"], 1);
    assert_eq!(app.get("/api/v1/procedures?q=ket%20hon", None).await.json()["total"], 0);
    assert_eq!(app.get("/api/v1/procedures?unit=000.00.05.H99", None).await.json()["total"], 0);
    assert_eq!(app.get("/api/v1/procedures?limit=0", None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/procedures?bogus=1", None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/org-units", None).await.json().as_array().unwrap().len(), 4);
    assert_eq!(app.get("/api/v1/nothing-here", None).await.json()["code"], "route_not_found");
}

/// Every route in the OpenAPI document must appear here with what an anonymous caller gets, so
/// a new route cannot ship without someone deciding who may call it.
#[tokio::test]
async fn route_table_covers_every_route() {
    let table: &[(&str, &str, u16)] = &[
        ("get", "/api/v1/procedures", 200),
        ("post", "/api/v1/procedures", 401),
        ("get", "/api/v1/procedures/{code}", 200),
        ("post", "/api/v1/procedures/{code}/versions/{version}/publish", 401),
        ("get", "/api/v1/fields", 200),
        ("get", "/api/v1/org-units", 200),
        ("post", "/api/v1/dossiers", 401),
        ("get", "/api/v1/dossiers/{code}", 401),
        ("get", "/api/v1/dossiers/{code}/history", 401),
        ("get", "/api/v1/dossiers/{code}/attachments/{id}", 401),
        ("post", "/api/v1/dossiers/{code}/actions", 401),
        ("get", "/api/v1/dossiers/{code}/control-sheet", 401),
        ("get", "/api/v1/inbox", 401),
        ("get", "/api/v1/apology-tasks", 401),
        ("get", "/api/v1/lookup/{code}", 404),
        ("get", "/api/v1/exchange/members", 401),
        ("post", "/api/v1/exchange/members", 401),
        ("get", "/api/v1/exchange/subsystems", 401),
        ("post", "/api/v1/exchange/subsystems", 401),
        ("patch", "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}", 401),
        ("post", "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}/secret", 401),
        ("post", "/api/v1/exchange/subsystems/{instance}/{class}/{member}/{subsystem}/services", 401),
        ("get", "/api/v1/exchange/services", 401),
        ("get", "/api/v1/exchange/services/{instance}/{class}/{member}/{subsystem}/{service}", 401),
        ("get", "/api/v1/exchange/services/{instance}/{class}/{member}/{subsystem}/{service}/grants", 401),
        ("post", "/api/v1/exchange/services/{instance}/{class}/{member}/{subsystem}/{service}/grants", 401),
        ("post", "/api/v1/exchange/grants/{id}/revoke", 401),
        ("get", "/api/v1/exchange/limits", 401),
        ("put", "/api/v1/exchange/limits", 401),
        ("get", "/api/v1/exchange/access-requests", 401),
        ("post", "/api/v1/exchange/access-requests", 401),
        ("get", "/api/v1/exchange/access-requests/{id}", 401),
        ("post", "/api/v1/exchange/access-requests/{id}/decision", 401),
        ("post", "/api/v1/exchange/token", 503),
        ("get", "/api/v1/exchange/log/{message_id}/evidence", 401),
        ("get", "/api/v1/exchange/monitoring", 401),
        ("get", "/r1/{instance}/{class}/{member}/{subsystem}/{service}", 503),
        ("post", "/r1/{instance}/{class}/{member}/{subsystem}/{service}", 503),
        ("put", "/r1/{instance}/{class}/{member}/{subsystem}/{service}", 503),
        ("patch", "/r1/{instance}/{class}/{member}/{subsystem}/{service}", 503),
        ("delete", "/r1/{instance}/{class}/{member}/{subsystem}/{service}", 503),
        ("get", "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}", 503),
        ("post", "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}", 503),
        ("put", "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}", 503),
        ("patch", "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}", 503),
        ("delete", "/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}", 503),
        ("post", "/api/v1/auth/sign-in", 422),
        ("post", "/api/v1/auth/sign-out", 204),
        ("post", "/api/v1/auth/register", 422),
        ("get", "/api/v1/auth/eid-providers", 200),
        ("get", "/api/v1/me", 401),
        ("get", "/api/v1/me/dossiers", 401),
        ("get", "/api/v1/me/sessions", 401),
        ("delete", "/api/v1/me/sessions/{id}", 401),
        ("get", "/api/v1/security-events", 401),
        ("post", "/api/v1/auth/mfa", 401),
        ("post", "/api/v1/auth/mfa/enrolment", 401),
        ("post", "/api/v1/auth/password-reset", 422),
        ("post", "/api/v1/auth/password-reset/confirm", 422),
        ("post", "/api/v1/me/verification", 401),
        ("post", "/api/v1/me/verification/confirm", 401),
        ("get", "/api/v1/me/mfa", 401),
        ("post", "/api/v1/me/mfa/enrolment", 401),
        ("post", "/api/v1/me/mfa/confirm", 401),
        ("post", "/api/v1/me/mfa/recovery-codes", 401),
        ("post", "/api/v1/me/mfa/disable", 401),
        ("post", "/api/v1/oauth/token", 400),
        ("get", "/api/v1/api-keys", 401),
        ("post", "/api/v1/api-keys", 401),
        ("post", "/api/v1/api-keys/{prefix}/rotate", 401),
        ("post", "/api/v1/api-keys/{prefix}/revoke", 401),
        ("post", "/api/v1/organizations", 401),
        ("get", "/api/v1/organizations/{id}", 401),
        ("post", "/api/v1/organizations/{id}/members", 401),
        ("delete", "/api/v1/organizations/{id}/members/{account_id}", 401),
        ("get", "/api/v1/organizations/{id}/dossiers", 401),
        ("get", "/api/v1/me/organizations", 401),
        ("get", "/healthz", 200),
        ("get", "/readyz", 200),
        ("get", "/metrics", 401),
        ("get", "/api/v1/dossiers/{code}/forms", 401),
        ("get", "/api/v1/dossiers/{code}/forms/{form}", 401),
        ("get", "/api/v1/register", 401),
        ("get", "/api/v1/statistics", 401),
        ("get", "/api/v1/dossiers/{code}/results", 401),
        ("get", "/api/v1/dossiers/{code}/results/{id}", 401),
        ("get", "/api/v1/dossiers/{code}/rating", 401),
        ("post", "/api/v1/dossiers/{code}/rating", 401),
        ("post", "/api/v1/verify", 422),
        ("get", "/api/v1/me/documents", 401),
        ("get", "/api/v1/me/documents/offers", 401),
        ("get", "/api/v1/me/documents/{id}", 401),
        ("post", "/api/v1/dossiers/{code}/attachments/{id}/verified", 401),
        ("get", "/api/v1/dossiers/{code}/reused/{id}", 401),
    ];
    let doc = serde_json::to_value(cqs_web::api::openapi()).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in
            ops.as_object().unwrap().keys().filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
        {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut listed: Vec<(String, String)> = table.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    listed.sort();
    assert_eq!(documented, listed, "every route needs an entry in this table");
    let app = app().await;
    for (method, path, expected) in table {
        let concrete = path
            .replace("{code}", if path.contains("procedures") { "1.001193" } else { "000.00.31.H99-261123-0009" })
            .replace("{version}", "1")
            .replace("{id}", &Uuid::nil().to_string())
            .replace("{account_id}", &Uuid::nil().to_string())
            .replace("{prefix}", "abcdefgh")
            .replace("{instance}/{class}/{member}/{subsystem}", "VN-LH/GOV/000.00.05.H99/ho-tich")
            .replace("{service}", "khai-sinh")
            .replace("{path}", "a/b")
            .replace("{message_id}", "m-1")
            .replace("{form}", "01");
        let req = Request::builder().method(method.to_uppercase().as_str()).uri(&concrete);
        let req = if ["post", "put", "patch"].contains(method) {
            req.header(header::CONTENT_TYPE, "application/json").body(Body::from("{}"))
        } else {
            req.body(Body::empty())
        };
        let r = app.call(req.unwrap()).await;
        assert_eq!(r.status.as_u16(), *expected, "{method} {path}");
    }
    let spec = app.get("/api/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.json()["paths"]["/api/v1/dossiers"].is_object());
    assert_eq!(app.get("/api/docs/", None).await.status, StatusCode::OK);
}

async fn submitted(app: &App) -> String {
    let r = app.post_json("/api/v1/dossiers", Some(&app.portal), &submission("000.00.31.H99", "online"), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    r.json()["code"].as_str().unwrap().to_owned()
}

async fn act(app: &App, code: &str, token: &str, version: i64, action: Value) -> Resp {
    app.post_json(
        &format!("/api/v1/dossiers/{code}/actions"),
        Some(token),
        &json!({"expected_version": version, "action": action}),
        None,
    )
    .await
}

#[tokio::test]
async fn a_dossier_goes_from_desk_to_result() {
    let app = app().await;
    let code = submitted(&app).await;
    let steps = [
        (&app.desk_x, json!({"type": "accept"}), "accepted"),
        (&app.desk_x, json!({"type": "forward"}), "in_progress"),
        (&app.specialist_x, json!({"type": "forward"}), "in_progress"),
        (&app.leader_x, json!({"type": "approve"}), "in_progress"),
        (&app.desk_x, json!({"type": "record_result"}), "resolved"),
        (&app.desk_x, json!({"type": "return_result", "channel": "counter"}), "returned"),
    ];
    for (i, (token, action, state)) in steps.iter().enumerate() {
        let r = act(&app, &code, token, i as i64 + 1, action.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["status"]["state"], *state);
        assert_eq!(r.json()["version"], i as i64 + 2);
    }
    let lookup = app.get(&format!("/api/v1/lookup/{code}"), None).await.json();
    assert_eq!(lookup["status"]["national_code"], 10);
    let history = app.get(&format!("/api/v1/dossiers/{code}/history"), Some(&app.desk_x)).await.json();
    let actions = strings(&history, "action");
    assert_eq!(actions, ["submit", "accept", "forward", "forward", "approve", "record_result", "return_result"]);
    let sheet = app.get(&format!("/api/v1/dossiers/{code}/control-sheet"), Some(&app.leader_x)).await.json();
    let kinds = strings(&sheet, "kind");
    assert_eq!(kinds, ["intake", "appraisal", "approval", "returning"]);
    assert!(sheet.as_array().unwrap().iter().all(|r| r["timeliness"] == "early"), "{sheet}");
    assert_eq!(
        app.get(&format!("/api/v1/dossiers/{code}/control-sheet"), Some(&app.desk_y)).await.status,
        StatusCode::FORBIDDEN
    );
    // The wrong person, the wrong step, a stale version.
    let code2 = submitted(&app).await;
    assert_eq!(act(&app, &code2, &app.desk_y, 1, json!({"type": "accept"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(act(&app, &code2, &app.specialist_x, 1, json!({"type": "accept"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(act(&app, &code2, &app.desk_x, 1, json!({"type": "approve"})).await.status, StatusCode::CONFLICT);
    assert_eq!(act(&app, &code2, &app.desk_x, 7, json!({"type": "accept"})).await.json()["code"], "stale_version");
    assert_eq!(
        act(&app, &code2, &app.desk_x, 1, json!({"type": "refuse", "reason": ""})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        act(&app, &code2, &app.desk_x, 1, json!({"type": "teleport"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let refused =
        act(&app, &code2, &app.desk_x, 1, json!({"type": "refuse", "reason": "Hồ sơ không thuộc thẩm quyền"})).await;
    assert_eq!(refused.json()["status"]["national_code"], 3);
    let h = app.get(&format!("/api/v1/dossiers/{code2}/history"), Some(&app.desk_x)).await.json();
    assert_eq!(h[1]["note"], "Hồ sơ không thuộc thẩm quyền");
}

#[tokio::test]
async fn the_applicant_supplies_documents_and_the_clock_resumes() {
    let app = app().await;
    let code = submitted(&app).await;
    act(&app, &code, &app.desk_x, 1, json!({"type": "accept"})).await;
    act(&app, &code, &app.desk_x, 2, json!({"type": "forward"})).await;
    let paused = act(
        &app,
        &code,
        &app.specialist_x,
        3,
        json!({"type": "request_supplement", "reason": "Thiếu giấy chứng sinh"}),
    )
    .await
    .json();
    assert_eq!(paused["status"]["national_code"], 5);
    assert_eq!(paused["clock_paused"], true);
    // Another client may not answer for the applicant; the submitting portal may.
    assert_eq!(
        act(&app, &code, &app.reader_other_unit, 4, json!({"type": "supply_supplement"})).await.status,
        StatusCode::FORBIDDEN
    );
    let resumed = act(&app, &code, &app.portal, 4, json!({"type": "supply_supplement"})).await.json();
    assert_eq!(resumed["status"]["state"], "in_progress");
    assert_eq!(resumed["clock_paused"], false);
    assert!(
        resumed["due_at"].as_str().unwrap() >= paused["due_at"].as_str().unwrap(),
        "the pause never shortens the time"
    );
    let withdrawn =
        act(&app, &code, &app.portal, 5, json!({"type": "withdraw", "reason": "Không còn nhu cầu"})).await.json();
    assert_eq!(withdrawn["status"]["national_code"], 7);
}

async fn race(app: App) {
    let code = submitted(&app).await;
    let (a, b) = tokio::join!(
        act(&app, &code, &app.desk_x, 1, json!({"type": "accept"})),
        act(&app, &code, &app.desk_x, 1, json!({"type": "refuse", "reason": "Trùng hồ sơ"}))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "exactly one officer wins");
    let loser = if a.status == StatusCode::CONFLICT { a } else { b };
    assert_eq!(loser.json()["code"], "stale_version");
    let history = app.get(&format!("/api/v1/dossiers/{code}/history"), Some(&app.desk_x)).await.json();
    assert_eq!(history.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn two_officers_at_once_on_sqlite() {
    race(app().await).await;
}

#[tokio::test]
async fn two_officers_at_once_on_postgres() {
    if let Some(app) = postgres_app().await {
        race(app).await;
    }
}

#[tokio::test]
async fn inbox_lists_what_each_officer_must_do_most_urgent_first() {
    let app = app().await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(submitted(&app).await);
    }
    let inbox = |token: String, query: &'static str| {
        let app = &app;
        async move { app.get(&format!("/api/v1/inbox{query}"), Some(&token)).await }
    };
    let desk = inbox(app.desk_x.clone(), "").await.json();
    let listed: Vec<&str> = desk["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(
        listed,
        codes.iter().map(String::as_str).collect::<Vec<_>>(),
        "submitted dossiers wait at the desk, by due date"
    );
    assert_eq!(desk["items"][0]["status"]["national_code"], 1);
    assert_eq!(desk["items"][0]["applicant_name"], "Nguyễn Văn An");
    assert!(inbox(app.specialist_x.clone(), "").await.json()["items"].as_array().unwrap().is_empty());
    // Accept and forward the first: it moves to the specialist's inbox.
    act(&app, &codes[0], &app.desk_x, 1, json!({"type": "accept"})).await;
    act(&app, &codes[0], &app.desk_x, 2, json!({"type": "forward"})).await;
    let spec = inbox(app.specialist_x.clone(), "").await.json();
    assert_eq!(spec["items"].as_array().unwrap().len(), 1);
    assert_eq!(spec["items"][0]["code"], codes[0]);
    assert_eq!(inbox(app.desk_x.clone(), "").await.json()["items"].as_array().unwrap().len(), 2);
    // Pagination by cursor, filters, search without diacritics.
    let first = inbox(app.desk_x.clone(), "?limit=1").await.json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(&format!("/api/v1/inbox?limit=1&cursor={}", cursor.replace('+', "%2B")), Some(&app.desk_x))
        .await
        .json();
    assert_eq!(second["items"][0]["code"], codes[2]);
    assert!(second["next_cursor"].is_null());
    assert_eq!(inbox(app.desk_x.clone(), "?q=nguyen%20van").await.json()["items"].as_array().unwrap().len(), 2);
    assert_eq!(inbox(app.desk_x.clone(), "?q=tran%20thi").await.json()["items"].as_array().unwrap().len(), 0);
    let by_code = app.get(&format!("/api/v1/inbox?q={}", &codes[2]), Some(&app.desk_x)).await.json();
    assert_eq!(by_code["items"].as_array().unwrap().len(), 1);
    assert_eq!(inbox(app.desk_x.clone(), "?overdue=true").await.json()["items"].as_array().unwrap().len(), 0);
    assert_eq!(inbox(app.leader_x.clone(), "?scope=unit").await.json()["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        inbox(app.desk_x.clone(), "?state=in_progress&scope=unit").await.json()["items"].as_array().unwrap().len(),
        1
    );
    // Only staff of the unit.
    assert_eq!(inbox(app.desk_y.clone(), "?unit=000.00.31.H99").await.status, StatusCode::FORBIDDEN);
    assert_eq!(inbox(app.portal.clone(), "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(inbox(app.desk_x.clone(), "?cursor=bogus").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(inbox(app.desk_x.clone(), "?scope=everyone").await.status, StatusCode::BAD_REQUEST);
}
