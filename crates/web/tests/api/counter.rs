//! Counter intake through the console pages, as a browser without JavaScript sends it: the
//! procedure chooser, the one-page intake form (multipart, the CSRF field first), the dossier
//! accepted at once with its due date through the API's own `create`, errors beside the fields
//! with everything typed kept, who is refused, one dossier however often the button is pressed,
//! and the receipt page with the receipt PDF.

use super::account_pages::{Page, csrf_of};
use super::*;

const FORM: &str = "/can-bo/tiep-nhan/1.001193";

fn html(r: &Resp) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn location(r: &Resp) -> &str {
    r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Who sends the request: an officer's API key, or a browser's session cookie.
enum Who<'a> {
    Nobody,
    Key(&'a str),
    Cookie(&'a str),
}

fn request(path: &str, method: &str, who: &Who) -> axum::http::request::Builder {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::ORIGIN, "http://127.0.0.1:8080");
    match who {
        Who::Nobody => req,
        Who::Key(k) => req.header(header::AUTHORIZATION, format!("Bearer {k}")),
        Who::Cookie(c) => req.header(header::COOKIE, *c),
    }
}

async fn open(app: &App, who: &Who<'_>, path: &str) -> Resp {
    app.call(request(path, "GET", who).body(Body::empty()).unwrap()).await
}

/// The intake form as a browser posts it: the fields in order (the CSRF field first when
/// given), then one part per file.
async fn send(app: &App, who: &Who<'_>, path: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Resp {
    let (content_type, body) = super::identity_support::multipart(fields, files);
    let req = request(path, "POST", who).header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
    app.call(req).await
}

/// The one-time token of a rendered intake form.
fn token_of(page: &str) -> String {
    page.split(r#"name="form_token" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned()
}

/// A complete walk-in applicant for the birth registration, with this form's token.
fn walk_in(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("form_token", token.to_owned()),
        ("unit", "000.00.31.H99".into()),
        ("applicant_kind", "person".into()),
        ("identity_kind", "citizen".into()),
        ("identity_number", "001203004567".into()),
        ("name", "Nguyễn Văn An".into()),
        ("phone", "0912 345 678".into()),
        ("email", "".into()),
        ("address", "Số 1 phố Huế, Hà Nội".into()),
        ("f-ho_ten_tre", "Nguyễn Bảo Na".into()),
        ("f-ngay_sinh", "2026-11-01".into()),
        ("note", "Đã đối chiếu bản chính giấy chứng sinh".into()),
    ]
}

fn fields<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// How many dossiers unit X's desk has, through the API's inbox.
async fn dossiers_at_x(app: &App) -> usize {
    let r = app.get("/api/v1/inbox?unit=000.00.31.H99&scope=unit", Some(&app.desk_x)).await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_desk_officer_takes_a_walk_in_dossier_and_prints_the_receipt() {
    let app = app().await;
    let desk = Who::Key(&app.desk_x);

    // The chooser: procedures the officer's unit receives, found without diacritics.
    let list = open(&app, &desk, "/can-bo/tiep-nhan").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = html(&list);
    assert!(list.contains(r#"href="/can-bo/tiep-nhan/1.001193""#) && list.contains("UBND 000.00.31.H99"), "{list}");
    assert!(list.contains(r#"href="/can-bo/tiep-nhan" aria-current="page""#), "the console navigation has it");
    let found = html(&open(&app, &desk, "/can-bo/tiep-nhan?q=DANG+KY+LAI").await);
    assert!(found.contains("Đăng ký lại khai sinh") && !found.contains("Cấp bản sao trích lục"), "{found}");

    let form = open(&app, &desk, FORM).await;
    assert_eq!(form.status, StatusCode::OK);
    let form = html(&form);
    for s in [r#"name="f-ho_ten_tre""#, r#"type="date""#, r#"name="tep-giay-chung-sinh""#, r#"name="note""#] {
        assert!(form.contains(s), "{s}: {form}");
    }
    assert!(form.contains(r#"value="000.00.31.H99" checked"#), "the only desk unit is chosen already");
    let token = token_of(&form);

    let typed = walk_in(&token);
    let files: &[(&str, &str, &[u8])] =
        &[("tep-giay-chung-sinh", "giấy chứng sinh.pdf", PDF), ("tep-to-khai", "tờ khai.pdf", PDF)];
    let r = send(&app, &desk, FORM, &fields(&typed), files).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let receipt = location(&r).to_owned();
    let code = receipt.strip_prefix("/can-bo/ho-so/").unwrap().strip_suffix("/bien-nhan").unwrap().to_owned();

    // Accepted at once, with its due date, the files, the note in its history, nobody's account.
    let d = app.store.dossier_by_code(&code).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.channel),
        (cqs_domain::dossier::DossierState::Accepted, cqs_domain::dossier::Channel::Counter)
    );
    assert!(d.due_at.is_some_and(|due| due > d.received_at));
    assert_eq!(d.owner_account_id, None);
    assert_eq!(d.form_data, json!({"ho_ten_tre": "Nguyễn Bảo Na", "ngay_sinh": "2026-11-01"}));
    assert_eq!(d.applicant.phone.as_deref(), Some("0912345678"));
    let attached = app.store.attachments(d.id).await.unwrap();
    assert_eq!(attached.len(), 2);
    let history = app.store.history(d.id).await.unwrap();
    assert_eq!(history[0].note.as_deref(), Some("Đã đối chiếu bản chính giấy chứng sinh"));
    assert_eq!(app.pending_files(), 0);

    // Pressing the button again (the same form) gives the same dossier.
    let again = send(&app, &desk, FORM, &fields(&typed), files).await;
    assert_eq!((again.status, location(&again)), (StatusCode::SEE_OTHER, receipt.as_str()));
    assert_eq!(dossiers_at_x(&app).await, 1);
    // A new form is a new dossier.
    let token2 = token_of(&html(&open(&app, &desk, FORM).await));
    let other = send(&app, &desk, FORM, &fields(&walk_in(&token2)), &[]).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    assert_ne!(location(&other), receipt);
    assert_eq!(dossiers_at_x(&app).await, 2);

    let page = open(&app, &desk, &receipt).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = html(&page);
    for s in [&code, "Đã tiếp nhận hồ sơ", "Hẹn trả kết quả", "giấy chứng sinh.pdf", "In giấy tiếp nhận"]
    {
        assert!(page.contains(s), "{s}: {page}");
    }
    let pdf = format!("/api/v1/dossiers/{code}/forms/01");
    assert!(page.contains(&format!(r#"href="{pdf}""#)), "{page}");
    let r = app.get(&pdf, Some(&app.desk_x)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "application/pdf");
    assert!(r.body.starts_with(b"%PDF-"));
    // The receipt is the dossier's: another unit's desk does not see it.
    assert_eq!(open(&app, &Who::Key(&app.desk_y), &receipt).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn errors_are_shown_beside_the_fields_and_everything_typed_is_kept() {
    let app = app().await;
    let desk = Who::Key(&app.desk_x);
    let token = token_of(&html(&open(&app, &desk, "/can-bo/tiep-nhan/1.000656").await));
    let mut typed = walk_in(&token);
    for (k, v) in typed.iter_mut() {
        match *k {
            "name" => *v = String::new(),
            "identity_number" => *v = "12345".into(),
            "f-ngay_sinh" => *v = String::new(),
            "note" => *v = "Người nộp sẽ bổ sung bản sao".into(),
            _ => {}
        }
    }
    let r =
        send(&app, &desk, "/can-bo/tiep-nhan/1.000656", &fields(&typed), &[("tep-giay-chung-sinh", "gcs.pdf", PDF)])
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    // In the summary, linked to the field, and beside it.
    for id in ["name", "identity_number", "f-ngay_sinh", "tep-to-khai"] {
        assert!(page.contains(&format!(r##"href="#{id}""##)), "{id}: {page}");
        assert!(page.contains(&format!(r#"id="{id}-error""#)), "{id}: {page}");
    }
    assert!(page.contains("Trường này là bắt buộc") && page.contains("12 chữ số"), "{page}");
    // The summary names the field; beside the field the message is enough.
    assert!(page.contains(r##"<a href="#f-ngay_sinh">Ngày sinh: Trường này là bắt buộc</a>"##), "{page}");
    assert!(
        page.contains(r#"id="f-ngay_sinh-error"><span class="visually-hidden">Lỗi:</span> Trường này là bắt buộc</p>"#)
    );
    assert!(page.contains("Thiếu thành phần hồ sơ bắt buộc"), "{page}");
    for kept in [
        r#"value="Nguyễn Bảo Na""#,
        r#"value="12345""#,
        r#"value="0912 345 678""#,
        r#"value="Số 1 phố Huế, Hà Nội""#,
        "Người nộp sẽ bổ sung bản sao</textarea>",
        &format!(r#"name="form_token" value="{token}""#),
    ] {
        assert!(page.contains(kept), "{kept}: {page}");
    }
    assert!(page.contains("Đã gửi trước: gcs.pdf"), "the officer is told which files to choose again");
    assert_eq!(dossiers_at_x(&app).await, 0, "nothing was created");
    assert_eq!(app.pending_files(), 0);

    // Fixed, with the same form: the dossier is made.
    let typed = walk_in(&token);
    let r = send(
        &app,
        &desk,
        "/can-bo/tiep-nhan/1.000656",
        &fields(&typed),
        &[("tep-to-khai", "tk.pdf", PDF), ("tep-giay-chung-sinh", "gcs.pdf", PDF)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    // A wrong type of file and an organization with a citizen's identity number.
    let token = token_of(&html(&open(&app, &desk, FORM).await));
    let mut typed = walk_in(&token);
    typed.iter_mut().filter(|(k, _)| *k == "applicant_kind").for_each(|(_, v)| *v = "organization".into());
    let r = send(&app, &desk, FORM, &fields(&typed), &[("tep-to-khai", "a.txt", b"plain text")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains(r##"href="#identity_kind""##) && page.contains(r##"href="#tep-to-khai""##), "{page}");
    assert!(page.contains(r#"id="applicant_kind-organization" name="applicant_kind" value="organization" checked"#));

    // The API checks the note the same way.
    let mut body = submission("000.00.31.H99", "counter");
    body["note"] = json!("x".repeat(2001));
    let r = app.post_json("/api/v1/dossiers", Some(&app.desk_x), &body, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "/note");
}

#[tokio::test]
async fn only_a_desk_officer_of_the_unit_takes_dossiers_in() {
    let app = app().await;
    let token = uuid::Uuid::new_v4().to_string();
    let typed = walk_in(&token);

    // Anonymous: sent to the staff sign-in, which brings them back.
    for r in [open(&app, &Who::Nobody, FORM).await, send(&app, &Who::Nobody, FORM, &fields(&typed), &[]).await] {
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/can-bo/dang-nhap?tiep=%2Fcan-bo%2Ftiep-nhan%2F1.001193");
    }
    // A citizen, an API client and an officer without the desk role.
    let citizen = super::identity_support::citizen(&app, "001203007654", "0977000111").await;
    let c = Who::Cookie(&citizen.cookie);
    assert_eq!(open(&app, &c, "/can-bo/tiep-nhan").await.status, StatusCode::FORBIDDEN);
    assert_eq!(open(&app, &c, FORM).await.status, StatusCode::FORBIDDEN);
    let mut with_csrf = vec![("csrf_token", citizen.csrf.as_str())];
    with_csrf.extend(fields(&typed));
    assert_eq!(send(&app, &c, FORM, &with_csrf, &[]).await.status, StatusCode::FORBIDDEN);
    for who in [Who::Key(&app.portal), Who::Key(&app.specialist_x)] {
        assert_eq!(open(&app, &who, "/can-bo/tiep-nhan").await.status, StatusCode::FORBIDDEN);
        assert_eq!(open(&app, &who, FORM).await.status, StatusCode::FORBIDDEN);
        assert_eq!(send(&app, &who, FORM, &fields(&typed), &[]).await.status, StatusCode::FORBIDDEN);
    }
    // Another unit's desk is offered only their own unit, and cannot take one in at X.
    let y = Who::Key(&app.desk_y);
    let form = html(&open(&app, &y, FORM).await);
    assert!(form.contains("UBND 000.00.32.H99") && !form.contains("UBND 000.00.31.H99"), "{form}");
    let r = send(&app, &y, FORM, &fields(&typed), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("Chọn đơn vị tiếp nhận hồ sơ"));
    assert_eq!(dossiers_at_x(&app).await, 0);
    // A form without its token is not a form from this page.
    let no_token: Vec<(&str, &str)> = fields(&typed).into_iter().filter(|(k, _)| *k != "form_token").collect();
    assert_eq!(send(&app, &Who::Key(&app.desk_x), FORM, &no_token, &[]).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_signed_in_officer_sends_the_form_with_its_csrf_field_first() {
    let app = app().await;
    let password = "Quầy một cửa số 3 – 2026";
    cqs_web::identity::set_staff_password(app.store.as_ref(), &Default::default(), "desk.x", password.into())
        .await
        .unwrap();
    let officer: Page = app.sign_in_page("/can-bo/dang-nhap", "desk.x", password).await;
    let cookie = officer.cookie.clone().unwrap();
    let who = Who::Cookie(&cookie);
    let form = html(&open(&app, &who, FORM).await);
    let csrf = csrf_of(&form);
    assert!(!csrf.is_empty());
    let typed = walk_in(&token_of(&form));
    let r = send(&app, &who, FORM, &fields(&typed), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "without the CSRF field");
    let mut with_csrf = vec![("csrf_token", csrf.as_str())];
    with_csrf.extend(fields(&typed));
    let r = send(&app, &who, FORM, &with_csrf, &[("tep-giay-chung-sinh", "gcs.pdf", PDF)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let receipt = html(&open(&app, &who, location(&r)).await);
    assert!(receipt.contains("In giấy tiếp nhận"), "{receipt}");
}
