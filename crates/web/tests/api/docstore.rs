//! Each person's document store: a signed result lands in its applicant's store, the citizen
//! lists and downloads it, a later dossier needing that type reuses it instead of an upload (and
//! records it), staff see only what a dossier they handle references, and an officer keeps a
//! verified component.

use super::identity_support::{Browser, citizen};
use super::*;

async fn as_citizen(app: &App, b: &Browser, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let mut req =
        Request::builder().method(method).uri(path).header(header::COOKIE, &b.cookie).header("x-csrf-token", &b.csrf);
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.call(req.body(body).unwrap()).await
}

/// A procedure whose one required component is a birth certificate: what a stored result fills.
async fn needs_birth_certificate(app: &App) {
    let mut s = spec();
    s.code = cqs_domain::ids::ProcedureCode::parse("1.002000").unwrap();
    s.name = "Đăng ký thường trú cho trẻ".into();
    s.components = vec![
        serde_json::from_value(json!({"code": "giay-khai-sinh", "name": "Giấy khai sinh của trẻ",
        "required": true, "file_types": ["pdf"], "originals": 0, "copies": 1, "document_type": "giay-khai-sinh"}))
        .unwrap(),
    ];
    app.store.add_procedure_versions(&[s], true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_result_is_stored_offered_and_reused() {
    let ca = tempfile::tempdir().unwrap();
    let app = super::results::signing(app().await, ca.path(), None);
    let a = citizen(&app, "001203004567", "0912345678").await;
    let b = citizen(&app, "001203007654", "0977000111").await;
    let first = super::results::resolved(&app).await;

    let store = as_citizen(&app, &a, "GET", "/api/v1/me/documents", None).await;
    assert_eq!(store.status, StatusCode::OK);
    let docs = store.json();
    assert_eq!(docs.as_array().unwrap().len(), 1, "{docs}");
    let doc = &docs[0];
    assert_eq!((doc["source"].as_str(), doc["document_type"].as_str()), (Some("result"), Some("giay-khai-sinh")));
    assert_eq!((doc["title"].as_str(), doc["dossier_code"].as_str()), (Some("Giấy khai sinh"), Some(first.as_str())));
    assert_eq!(doc["issuer"], "UBND 000.00.31.H99");
    assert!(doc["valid_until"].is_null());
    let id = doc["id"].as_str().unwrap().to_owned();
    let file = as_citizen(&app, &a, "GET", &format!("/api/v1/me/documents/{id}"), None).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(cqs_store::files::sha256_hex(&file.body), doc["sha256"].as_str().unwrap());
    assert!(file.body.starts_with(b"%PDF-"));
    // Another citizen neither sees nor downloads it.
    assert_eq!(as_citizen(&app, &b, "GET", "/api/v1/me/documents", None).await.json(), json!([]));
    assert_eq!(
        as_citizen(&app, &b, "GET", &format!("/api/v1/me/documents/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );

    // A later dossier needing a birth certificate is offered the stored one...
    needs_birth_certificate(&app).await;
    let offers = as_citizen(&app, &a, "GET", "/api/v1/me/documents/offers?procedure=1.002000", None).await.json();
    assert_eq!(offers[0]["component"], "giay-khai-sinh", "{offers}");
    assert_eq!(offers[0]["documents"][0]["id"], id.as_str());
    assert_eq!(
        as_citizen(&app, &b, "GET", "/api/v1/me/documents/offers?procedure=1.002000", None).await.json(),
        json!([])
    );
    // ...and submits with it instead of an upload.
    let mut sub = json!({
        "procedure_code": "1.002000", "receiving_unit": "000.00.31.H99", "channel": "online",
        "applicant": {"kind": "person", "identity_kind": "citizen", "identity_number": "001203004567", "name": "Nguyễn Văn An"},
        "form_data": {"ho_ten_tre": "Nguyễn Bảo Na", "ngay_sinh": "2026-11-01"}
    });
    let missing = as_citizen(&app, &a, "POST", "/api/v1/dossiers", Some(&sub)).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "the component is required");
    sub["reuse"] = json!([{"component": "giay-khai-sinh", "document_id": id}]);
    let r = as_citizen(&app, &a, "POST", "/api/v1/dossiers", Some(&sub)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let second = r.json()["code"].as_str().unwrap().to_owned();
    // Someone else cannot use it, even naming themselves as applicant.
    let mut theirs = sub.clone();
    theirs["applicant"]["identity_number"] = json!("001203007654");
    let r = as_citizen(&app, &b, "POST", "/api/v1/dossiers", Some(&theirs)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&r.body).contains("Không tìm thấy giấy tờ"));

    // Staff handling the new dossier download what it references; others may not.
    let reused = format!("/api/v1/dossiers/{second}/reused/{id}");
    let got = app.get(&reused, Some(&app.desk_x)).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(cqs_store::files::sha256_hex(&got.body), doc["sha256"].as_str().unwrap());
    assert_eq!(app.get(&reused, Some(&app.desk_y)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/api/v1/dossiers/{first}/reused/{id}"), Some(&app.desk_x)).await.status,
        StatusCode::NOT_FOUND,
        "only documents the dossier references"
    );
}

#[tokio::test]
async fn an_officer_keeps_a_verified_component_in_the_applicants_store() {
    let app = app().await;
    let a = citizen(&app, "001203004567", "0912345678").await;
    let r = app
        .post_multipart(&app.portal, &submission("000.00.31.H99", "online"), &[("to-khai", "to-khai.pdf", PDF)])
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let code = r.json()["code"].as_str().unwrap().to_owned();
    let view = app.get(&format!("/api/v1/dossiers/{code}"), Some(&app.desk_x)).await.json();
    let attachment = view["attachments"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/dossiers/{code}/attachments/{attachment}/verified");
    let denied = app.post_json(&path, Some(&app.desk_y), &json!({}), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "another unit's officer");
    let past = app.post_json(&path, Some(&app.desk_x), &json!({"valid_until": "2020-01-01"}), None).await;
    assert_eq!(past.json()["code"], "expired");
    let kept = app.post_json(&path, Some(&app.desk_x), &json!({"valid_until": "2036-01-01"}), None).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", String::from_utf8_lossy(&kept.body));
    let kept = kept.json();
    assert_eq!(
        (kept["source"].as_str(), kept["document_type"].as_str()),
        (Some("verified_component"), Some("to-khai"))
    );
    assert_eq!(kept["valid_until"], "2036-01-01");
    assert!(kept["issuer"].as_str().unwrap().contains("UBND 000.00.31.H99"));
    let again = app.post_json(&path, Some(&app.specialist_x), &json!({}), None).await.json();
    assert_eq!(again["id"], kept["id"], "verifying twice keeps one document");
    let mine = as_citizen(&app, &a, "GET", "/api/v1/me/documents", None).await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["sha256"], cqs_store::files::sha256_hex(PDF));
}
