//! Online submission through the pages, as a browser without JavaScript sends it: each step
//! posted and checked by the schema the API uses, the draft kept on the server between visits,
//! the documents uploaded (CSRF field first), check-your-answers, one dossier however often the
//! last button is pressed, and the confirmation with its QR code.

use super::identity_support::{Browser, page as get, post_form as post};
use super::*;

const START: &str = "/nop-ho-so/1.001193";

async fn upload(app: &App, b: &Browser, files: &[(&str, &str, &[u8])]) -> Resp {
    let boundary = "----cqsUpload";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n", b.csrf)
        .into_bytes();
    for (k, name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = Request::post(format!("{START}/giay-to"))
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::COOKIE, &b.cookie)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

fn html(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn location(r: &Resp) -> &str {
    r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn a_citizen_submits_online_step_by_step_and_can_come_back() {
    let app = app().await;
    let a = super::identity_support::citizen(&app, "001203004567", "0912345678").await;
    let b = super::identity_support::citizen(&app, "001203007654", "0977000111").await;

    let anon = get(&app, None, START).await;
    assert_eq!((anon.status, location(&anon)), (StatusCode::SEE_OTHER, "/dang-nhap?tiep=%2Fnop-ho-so%2F1.001193"));
    assert_eq!(app.get(START, Some(&app.desk_x)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, Some(&a), "/nop-ho-so/9.999999").await.status, StatusCode::NOT_FOUND);

    let first = html(&get(&app, Some(&a), START).await);
    assert!(first.contains("Bước 1 trên 4") && first.contains("UBND 000.00.31.H99"), "{first}");
    assert!(first.contains("001203004567"), "the applicant is the account holder");

    // Nothing chosen: the error is beside the field and in the summary; the answers are kept.
    let r = post(&app, &a, START, &[("buoc", "noi-nop"), ("unit", ""), ("phone", "0912345678")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains("Chọn nơi nộp hồ sơ") && page.contains("href=\"#noi-nop\""), "{page}");
    let r = post(&app, &a, START, &[("buoc", "noi-nop"), ("unit", "000.00.31.H99"), ("phone", "0912 345 678")]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/nop-ho-so/1.001193?buoc=to-khai-1"));

    // The e-form, checked by the schema: a missing answer and an impossible date.
    let form = html(&get(&app, Some(&a), &format!("{START}?buoc=to-khai-1")).await);
    assert!(form.contains("Họ và tên của trẻ") && form.contains("type=\"date\""), "{form}");
    let r = post(&app, &a, START, &[("buoc", "to-khai-1"), ("ho_ten_tre", ""), ("ngay_sinh", "31/02/2026")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains("href=\"#f-ho_ten_tre\"") && page.contains("Trường này là bắt buộc"), "{page}");
    assert!(page.contains("id=\"f-ngay_sinh-error\""), "{page}");
    // Stop here and come back later: the draft is on the server.
    let r = post(
        &app,
        &a,
        START,
        &[("buoc", "to-khai-1"), ("ho_ten_tre", "Nguyễn Bảo Na"), ("ngay_sinh", "01/11/2026"), ("luu", "1")],
    )
    .await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/ho-so-cua-toi?da-luu-nhap"));
    let mine = html(&get(&app, Some(&a), "/ho-so-cua-toi?da-luu-nhap").await);
    assert!(mine.contains("Đã lưu bản nháp") && mine.contains("href=\"/nop-ho-so/1.001193\""), "{mine}");
    let again = html(&get(&app, Some(&a), START).await);
    assert!(again.contains("Bạn đang tiếp tục bản nháp"), "{again}");
    assert!(!html(&get(&app, Some(&b), START).await).contains("Bạn đang tiếp tục bản nháp"), "drafts are per account");
    let form = html(&get(&app, Some(&a), &format!("{START}?buoc=to-khai-1")).await);
    assert!(form.contains("value=\"Nguyễn Bảo Na\""), "{form}");
    let r =
        post(&app, &a, START, &[("buoc", "to-khai-1"), ("ho_ten_tre", "Nguyễn Bảo Na"), ("ngay_sinh", "01/11/2026")])
            .await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/nop-ho-so/1.001193?buoc=giay-to"));

    // Documents: a wrong type is refused; a PDF is kept with the draft.
    let r = upload(&app, &a, &[("tep-giay-chung-sinh", "gcs.txt", b"plain text")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("không đúng loại cho phép"));
    let r = upload(&app, &a, &[("tep-giay-chung-sinh", "giấy chứng sinh.pdf", PDF), ("tep-to-khai", "", b"")]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/nop-ho-so/1.001193?buoc=kiem-tra"));
    let id = app
        .store
        .citizen_credentials(&cqs_domain::identity::CitizenLogin::IdentityNumber("001203004567".into()))
        .await
        .unwrap()
        .unwrap()
        .account
        .id;
    let draft = app.store.draft(id, "1.001193").await.unwrap().unwrap();
    assert_eq!(draft.files.len(), 1);
    let draft_key = draft.files[0].storage_key.clone();

    let check = html(&get(&app, Some(&a), &format!("{START}?buoc=kiem-tra")).await);
    for s in ["Nguyễn Bảo Na", "01/11/2026", "giấy chứng sinh.pdf", "UBND 000.00.31.H99", "Thay đổi"] {
        assert!(check.contains(s), "{s}: {check}");
    }
    let r = post(&app, &a, &format!("{START}/nop"), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("cam đoan"));
    let r = post(&app, &a, &format!("{START}/nop"), &[("cam_doan", "co")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let done = location(&r).to_owned();
    let code = done.strip_prefix("/ho-so-cua-toi/").unwrap().strip_suffix("/da-nop").unwrap().to_owned();

    let d = app.store.dossier_by_code(&code).await.unwrap().unwrap();
    assert_eq!(d.owner_account_id, Some(id));
    assert_eq!(d.channel, cqs_domain::dossier::Channel::Online);
    assert_eq!(d.form_data, json!({"ho_ten_tre": "Nguyễn Bảo Na", "ngay_sinh": "2026-11-01"}));
    assert_eq!(d.applicant.phone.as_deref(), Some("0912345678"));
    let files = app.store.attachments(d.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(app.state.files.read_checked(&files[0].storage_key, &files[0].attachment.sha256).await.unwrap(), PDF);
    assert_eq!(app.store.draft(id, "1.001193").await.unwrap(), None, "the draft is gone");
    assert!(app.state.files.read_checked(&draft_key, &draft.files[0].sha256).await.is_err(), "with its file");
    // Pressing the button again makes no second dossier.
    let r = post(&app, &a, &format!("{START}/nop"), &[("cam_doan", "co")]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, START));
    assert_eq!(app.store.owned_dossiers(id, None, 10).await.unwrap().len(), 1);

    let confirm = get(&app, Some(&a), &done).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let confirm = html(&confirm);
    assert!(confirm.contains(&code) && confirm.contains("Hẹn trả kết quả"), "{confirm}");
    assert!(confirm.contains("src=\"data:image/svg+xml;base64,"), "the QR code");
    assert!(confirm.contains(&format!("href=\"/tra-cuu?ma={code}\"")), "{confirm}");
    assert_eq!(get(&app, Some(&b), &done).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unsent_drafts_are_purged_with_their_files() {
    let app = app().await;
    let a = super::identity_support::citizen(&app, "001203004567", "0912345678").await;
    let r = post(&app, &a, START, &[("buoc", "noi-nop"), ("unit", "000.00.31.H99")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(upload(&app, &a, &[("tep-giay-chung-sinh", "gcs.pdf", PDF)]).await.status, StatusCode::SEE_OTHER);
    let id = app
        .store
        .citizen_credentials(&cqs_domain::identity::CitizenLogin::IdentityNumber("001203004567".into()))
        .await
        .unwrap()
        .unwrap()
        .account
        .id;
    let draft = app.store.draft(id, "1.001193").await.unwrap().unwrap();
    let keep = std::time::Duration::from_secs(30 * 24 * 3600);
    assert_eq!(cqs_web::jobs::purge_drafts(&app.state, keep).await.unwrap(), 0, "still fresh");
    app.clock.set(chrono::Utc::now() + chrono::Duration::days(31));
    assert_eq!(cqs_web::jobs::purge_drafts(&app.state, keep).await.unwrap(), 1);
    assert_eq!(app.store.draft(id, "1.001193").await.unwrap(), None);
    let f = &draft.files[0];
    assert!(app.state.files.read_checked(&f.storage_key, &f.sha256).await.is_err(), "the file went too");
}
