//! "Hồ sơ của tôi" as a browser without JavaScript uses it: the list and page of a citizen's own
//! dossiers, another citizen's dossier answered 404, the supplement form (multipart, with the
//! CSRF field first) through the workflow's `supply_supplement`, the fee asked for, and the
//! signed result downloaded.

use super::identity_support::{Browser, page};
use super::*;
use sha2::Digest;

pub fn html(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

/// Citizen `b` submits the test dossier online for themselves.
pub async fn own_dossier(app: &App, b: &Browser, identity: &str) -> String {
    let mut body = submission("000.00.31.H99", "online");
    body["applicant"]["identity_number"] = json!(identity);
    let req = Request::post("/api/v1/dossiers")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::COOKIE, &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = app.call(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    r.json()["code"].as_str().unwrap().to_owned()
}

/// The supplement form as a browser posts it: fields in order, files as parts.
async fn supply(app: &App, b: &Browser, code: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Resp {
    let (content_type, body) = super::identity_support::multipart(fields, files);
    let req = Request::post(format!("/ho-so-cua-toi/{code}/bo-sung"))
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::COOKIE, &b.cookie)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

#[tokio::test]
async fn a_citizen_follows_their_dossier_supplies_documents_and_downloads_the_result() {
    let ca = tempfile::tempdir().unwrap();
    let app = super::results::signing(app().await, ca.path(), None);
    let a = super::identity_support::citizen(&app, "001203004567", "0912345678").await;
    let b = super::identity_support::citizen(&app, "001203007654", "0977000111").await;
    let code = own_dossier(&app, &a, "001203004567").await;
    let path = format!("/ho-so-cua-toi/{code}");

    // Anonymous visitors sign in first and come back; staff keys are not citizens.
    let anon = page(&app, None, "/ho-so-cua-toi").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.headers[header::LOCATION], "/dang-nhap?tiep=%2Fho-so-cua-toi");
    assert_eq!(app.get("/ho-so-cua-toi", Some(&app.desk_x)).await.status, StatusCode::FORBIDDEN);

    let list = page(&app, Some(&a), "/ho-so-cua-toi").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = html(&list);
    assert!(list.contains(&format!("href=\"{path}\"")), "{list}");
    assert!(list.contains("Mới đăng ký"), "status in words: {list}");
    // Someone else's dossier: not listed, and its page does not exist for them.
    assert!(!html(&page(&app, Some(&b), "/ho-so-cua-toi").await).contains(&code));
    assert_eq!(page(&app, Some(&b), &path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, Some(&b), "/ho-so-cua-toi/khong-phai-ma").await.status, StatusCode::NOT_FOUND);

    // The desk accepts and asks for a supplement; the page shows the request and the form.
    assert_eq!(act(&app, &code, &app.desk_x, 1, json!({"type": "accept"})).await.status, StatusCode::OK);
    let reason = "Thiếu bản chụp giấy chứng sinh có dấu của trạm y tế";
    let r = act(&app, &code, &app.desk_x, 2, json!({"type": "request_supplement", "reason": reason})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let detail = html(&page(&app, Some(&a), &path).await);
    assert!(detail.contains(reason), "{detail}");
    assert!(detail.contains("Việc bạn cần làm: bổ sung giấy tờ"), "{detail}");
    assert!(detail.contains("enctype=\"multipart/form-data\""));
    assert!(detail.contains("Chờ bổ sung") || detail.contains("bổ sung"), "{detail}");

    // Without the CSRF field first, the upload is refused before it is read.
    let no_token =
        supply(&app, &a, &code, &[("expected_version", "3")], &[("tep-giay-chung-sinh", "gcs.pdf", PDF)]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = supply(
        &app,
        &a,
        &code,
        &[("csrf_token", "0000"), ("expected_version", "3")],
        &[("tep-giay-chung-sinh", "gcs.pdf", PDF)],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let token = [("csrf_token", a.csrf.as_str()), ("expected_version", "3")];
    // Nothing chosen, or a file of the wrong type: errors beside the field and in the summary.
    let empty = supply(&app, &a, &code, &token, &[("tep-to-khai", "", b"")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&empty).contains("Chọn ít nhất một tệp để bổ sung"));
    let text = supply(&app, &a, &code, &token, &[("tep-giay-chung-sinh", "gcs.txt", b"just text")]).await;
    assert_eq!(text.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = html(&text);
    assert!(text.contains("error-summary") && text.contains("href=\"#tep-giay-chung-sinh\""), "{text}");
    assert!(text.contains("không đúng loại cho phép"), "{text}");
    // Another citizen cannot supply for this dossier.
    let token_b = [("csrf_token", b.csrf.as_str()), ("expected_version", "3")];
    let other = supply(&app, &b, &code, &token_b, &[("tep-giay-chung-sinh", "gcs.pdf", PDF)]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    let with_note = [("csrf_token", a.csrf.as_str()), ("expected_version", "3"), ("note", "Gửi bản chụp có dấu")];
    let ok = supply(&app, &a, &code, &with_note, &[("tep-giay-chung-sinh", "giấy chứng sinh.pdf", PDF)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", html(&ok));
    assert_eq!(ok.headers[header::LOCATION], format!("{path}?da-bo-sung"));
    let d = app.store.dossier_by_code(&code).await.unwrap().unwrap();
    assert_eq!(d.state, cqs_domain::dossier::DossierState::Accepted, "the clock resumes where it stood");
    let files = app.store.attachments(d.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].attachment.component, "giay-chung-sinh");
    assert_eq!(files[0].attachment.file_name, "giấy chứng sinh.pdf");
    let stored = app.state.files.read_checked(&files[0].storage_key, &files[0].attachment.sha256).await.unwrap();
    assert_eq!(stored, PDF, "the file was promoted and reads back");
    let history = app.store.history(d.id).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!((last.action.as_str(), last.note.as_deref()), ("supply_supplement", Some("Gửi bản chụp có dấu")));
    let after = html(&page(&app, Some(&a), &format!("{path}?da-bo-sung")).await);
    assert!(after.contains("Đã gửi giấy tờ bổ sung"), "{after}");
    assert!(!after.contains("Việc bạn cần làm: bổ sung giấy tờ"));
    // A second send of the same form is stale: nothing is added twice.
    let again = supply(&app, &a, &code, &with_note, &[("tep-giay-chung-sinh", "gcs.pdf", PDF)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(app.store.attachments(d.id).await.unwrap().len(), 1);
    assert_eq!(app.pending_files(), 0, "the refused upload left no file behind");

    // A fee asked for shows its amount and what to do.
    assert_eq!(act(&app, &code, &app.desk_x, 4, json!({"type": "forward"})).await.status, StatusCode::OK);
    let r = act(&app, &code, &app.specialist_x, 5, json!({"type": "request_payment", "amount": 8000})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let fee = html(&page(&app, Some(&a), &path).await);
    assert!(fee.contains("Việc bạn cần làm: nộp phí, lệ phí") && fee.contains("8.000 đ"), "{fee}");
    assert_eq!(act(&app, &code, &app.desk_x, 6, json!({"type": "confirm_payment"})).await.status, StatusCode::OK);

    // Through to the result, which the citizen downloads as signed.
    assert_eq!(act(&app, &code, &app.specialist_x, 7, json!({"type": "forward"})).await.status, StatusCode::OK);
    assert_eq!(act(&app, &code, &app.leader_x, 8, json!({"type": "approve"})).await.status, StatusCode::OK);
    assert_eq!(act(&app, &code, &app.desk_x, 9, json!({"type": "record_result"})).await.status, StatusCode::OK);
    let done = html(&page(&app, Some(&a), &path).await);
    assert!(done.contains("Kết quả giải quyết"), "{done}");
    let href = done.split(&format!("href=\"{path}/ket-qua/")).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let pdf = page(&app, Some(&a), &format!("{path}/ket-qua/{href}")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.body.starts_with(b"%PDF"));
    let issued = app.store.issued_documents(d.id).await.unwrap();
    assert_eq!(hex::encode(sha2::Sha256::digest(&pdf.body)), issued[0].sha256, "the file as signed");
    assert_eq!(page(&app, Some(&b), &format!("{path}/ket-qua/{href}")).await.status, StatusCode::NOT_FOUND);
    let list = html(&page(&app, Some(&a), "/ho-so-cua-toi").await);
    assert!(list.contains("Có kết quả"), "{list}");
}
