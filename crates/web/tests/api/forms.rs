//! The one-stop forms served per dossier: which forms a dossier has as it moves, each one as a
//! PDF/A whose text (pdftotext) and page images (pdftoppm) carry the dossier's Vietnamese, and
//! the unit's register. Set `CQS_FORMS_PNG=<dir>` to keep the page images to look at.

use std::process::Command;

use super::*;

/// Text of a PDF with whitespace collapsed, or `None` where poppler is missing (outside CI).
pub(crate) fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    match Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&path).arg("-").output() {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            Some(String::from_utf8(o.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
        }
        Err(_) => {
            assert!(std::env::var("CI").is_err(), "poppler-utils must be installed in CI");
            None
        }
    }
}

/// Renders the first page to PNG and checks it is a real page image: A5 portrait or A4
/// landscape at 72 dpi, with ink on it.
fn page_image(pdf: &[u8], name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    let Ok(out) = Command::new("pdftoppm")
        .args(["-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&path)
        .arg(dir.path().join("p"))
        .output()
    else {
        assert!(std::env::var("CI").is_err(), "poppler-utils must be installed in CI");
        return;
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(dir.path().join("p.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) =
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    let a5 = (419..=421).contains(&w) && (595..=596).contains(&h);
    let a4_landscape = (841..=842).contains(&w) && (595..=596).contains(&h);
    assert!(a5 || a4_landscape, "{name}: {w}x{h}");
    assert!(png.len() > 8_000, "{name}: a page with text and a QR code, not a blank one ({} bytes)", png.len());
    if let Ok(keep) = std::env::var("CQS_FORMS_PNG") {
        std::fs::write(std::path::Path::new(&keep).join(format!("{name}.png")), &png).unwrap();
    }
}

async fn form(app: &App, code: &str, number: &str, token: &str) -> Resp {
    app.get(&format!("/api/v1/dossiers/{code}/forms/{number}"), Some(token)).await
}

#[tokio::test]
async fn each_form_of_a_dossier_is_a_pdf_with_its_vietnamese() {
    let app = app().await;
    let code = submitted(&app).await;
    let list = app.get(&format!("/api/v1/dossiers/{code}/forms"), Some(&app.desk_x)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!([]), "no form before the desk accepts the dossier");
    let early = form(&app, &code, "01", &app.desk_x).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.json()["code"], "form_not_issued");
    assert_eq!(form(&app, &code, "99", &app.desk_x).await.status, StatusCode::NOT_FOUND);

    act(&app, &code, &app.desk_x, 1, json!({"type": "accept"})).await;
    act(&app, &code, &app.desk_x, 2, json!({"type": "forward"})).await;
    let reason = "Thiếu bản sao giấy chứng nhận kết hôn của cha, mẹ trẻ";
    act(&app, &code, &app.specialist_x, 3, json!({"type": "request_supplement", "reason": reason})).await;
    act(&app, &code, &app.portal, 4, json!({"type": "supply_supplement"})).await;
    let promised = (chrono::Utc::now() + chrono::Duration::days(10)).to_rfc3339();
    let apology = "Cần xác minh thêm với cơ quan khác";
    let r = act(
        &app,
        &code,
        &app.specialist_x,
        5,
        json!({"type": "apologize_and_reschedule", "new_due_at": promised, "reason": apology}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));

    // Dossiers received now follow TT 03/2025: 01 receipt, 02 supplement, 04 extension, 06 control.
    let list = app.get(&format!("/api/v1/dossiers/{code}/forms"), Some(&app.specialist_x)).await.json();
    assert_eq!(strings(&list, "number"), ["01", "02", "04", "06"], "{list}");
    assert_eq!(list[0]["href"], format!("/api/v1/dossiers/{code}/forms/01"));
    let expect: [(&str, &str, &[&str]); 4] = [
        (
            "01",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            &["Nguyễn Văn An", "Đăng ký khai sinh", "Trực tuyến qua Cổng dịch vụ công"],
        ),
        ("02", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", &[reason]),
        ("04", "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN", &[apology, "đề nghị gia hạn thời gian giải quyết hồ sơ đến"]),
        ("06", "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", &["Tiếp nhận", "Trước hạn"]),
    ];
    for (number, title, lines) in expect {
        let r = form(&app, &code, number, &app.specialist_x).await;
        assert_eq!(r.status, StatusCode::OK, "{number}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
        assert!(r.body.starts_with(b"%PDF-") && String::from_utf8_lossy(&r.body).contains("pdfaid:part"));
        page_image(&r.body, &format!("mau-{number}"));
        let Some(text) = pdf_text(&r.body) else { continue };
        for want in
            [title, code.as_str(), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "UBND 000.00.31.H99"].iter().chain(lines)
        {
            assert!(text.contains(want), "Mẫu {number} lacks {want:?}:\n{text}");
        }
        assert!(text.contains(&format!("Mẫu số {number}")), "{text}");
    }
    // By kind as well as by number; the owner's side may read them, another unit may not.
    assert_eq!(form(&app, &code, "receipt", &app.portal).await.status, StatusCode::OK);
    assert_eq!(form(&app, &code, "01", &app.desk_y).await.status, StatusCode::FORBIDDEN);
    assert_eq!(form(&app, &code, "03", &app.desk_x).await.json()["code"], "form_not_issued");

    // A refused dossier has only its refusal.
    let refused = submitted(&app).await;
    act(&app, &refused, &app.desk_x, 1, json!({"type": "refuse", "reason": "Hồ sơ không thuộc thẩm quyền"})).await;
    let list = app.get(&format!("/api/v1/dossiers/{refused}/forms"), Some(&app.desk_x)).await.json();
    assert_eq!(strings(&list, "kind"), ["refusal"]);
    let r = form(&app, &refused, "03", &app.desk_x).await;
    page_image(&r.body, "mau-03");
    if let Some(text) = pdf_text(&r.body) {
        assert!(text.contains("Hồ sơ không thuộc thẩm quyền") && text.contains("PHIẾU TỪ CHỐI"), "{text}");
    }

    // The unit's register lists both, for its staff only.
    let today = cqs_domain::dossier::local_date(chrono::Utc::now());
    let path = format!("/api/v1/register?from={today}&to={today}");
    let r = app.get(&path, Some(&app.desk_x)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    page_image(&r.body, "so-theo-doi");
    if let Some(text) = pdf_text(&r.body) {
        assert!(text.contains("SỔ THEO DÕI HỒ SƠ") && text.contains(&code) && text.contains(&refused), "{text}");
        assert!(text.contains("Nguyễn Văn An"), "{text}");
    }
    let other = app.get(&path, Some(&app.desk_y)).await;
    assert_eq!(other.status, StatusCode::OK);
    if let Some(text) = pdf_text(&other.body) {
        assert!(!text.contains(&code), "another unit's register does not list X's dossiers");
    }
    assert_eq!(app.get(&format!("{path}&unit=000.00.31.H99"), Some(&app.desk_y)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&app.portal)).await.status, StatusCode::FORBIDDEN);
    let backwards = app.get(&format!("/api/v1/register?from={today}&to=2020-01-01"), Some(&app.desk_x)).await;
    assert_eq!(backwards.json()["code"], "invalid_period");
}
