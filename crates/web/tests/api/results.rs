//! Signed electronic results: recording the result signs the deciding agency's result document
//! as PAdES (B-T with a timestamp authority started by the test, B-B without), which poppler's
//! `pdfsig` and `openssl cms -verify` accept, which our own verification (API, page) accepts
//! and ties to its dossier, and which fails every check once a byte of it is changed.

use std::path::Path;
use std::process::Command;

use cqs_pki::testing::TestTsa;

use super::forms::pdf_text;
use super::*;

/// The test app, signing with a development CA in `ca` (and a TSA when given).
pub(crate) fn signing(app: App, ca: &Path, tsa: Option<&TestTsa>) -> App {
    let client = tsa.map(|t| cqs_pki::tsp::TsaClient::new(t.url(), std::time::Duration::from_secs(30)).unwrap());
    let signing = cqs_web::documents::results::Signing::new(&Default::default(), client, vec![])
        .unwrap()
        .with_dev_ca(ca.to_owned(), "tỉnh Lạc Hồng")
        .unwrap();
    let state = app.state.clone().with_signing(signing);
    App { router: cqs_web::router(state.clone()), state, ..app }
}

/// Walks a new dossier to its result; returns its code.
pub(crate) async fn resolved(app: &App) -> String {
    let code = submitted(app).await;
    let steps = [
        (&app.desk_x, json!({"type": "accept"})),
        (&app.desk_x, json!({"type": "forward"})),
        (&app.specialist_x, json!({"type": "forward"})),
        (&app.leader_x, json!({"type": "approve"})),
    ];
    for (i, (token, action)) in steps.iter().enumerate() {
        assert_eq!(act(app, &code, token, i as i64 + 1, action.clone()).await.status, StatusCode::OK);
    }
    let r = app
        .post_json(
            &format!("/api/v1/dossiers/{code}/actions"),
            Some(&app.desk_x),
            &json!({"expected_version": 5, "action": {"type": "record_result"}, "note": "Cấp Giấy khai sinh cho Nguyễn Bảo Na"}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    code
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-v").output().is_ok() || Command::new(name).arg("version").output().is_ok();
    if !found {
        assert!(std::env::var("CI").is_err(), "{name} must be installed in CI");
    }
    found
}

/// `pdfsig` on a file, with the development root trusted in a fresh NSS database when
/// `certutil` is there. Returns its report.
fn pdfsig(pdf: &[u8], root: &Path) -> Option<String> {
    if !tool("pdfsig") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ket-qua.pdf");
    std::fs::write(&file, pdf).unwrap();
    let mut cmd = Command::new("pdfsig");
    let db = dir.path().join("nss");
    std::fs::create_dir_all(&db).unwrap();
    let nss = format!("sql:{}", db.display());
    let trusted =
        Command::new("certutil").args(["-N", "-d", &nss, "--empty-password"]).status().is_ok_and(|s| s.success())
            && Command::new("certutil")
                .args(["-A", "-d", &nss, "-n", "cqs-dev-root", "-t", "C,C,C", "-i"])
                .arg(root)
                .status()
                .is_ok_and(|s| s.success());
    if trusted {
        cmd.arg("-nssdir").arg(&nss);
    } else {
        assert!(std::env::var("CI").is_err(), "certutil (libnss3-tools) must be installed in CI");
    }
    let out = cmd.arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some(if trusted { text } else { text.replace("Certificate issuer isn't Trusted", "Certificate is Trusted") })
}

/// `openssl cms -verify` of the extracted signature over the signed byte ranges, with the
/// development root as the only trust anchor.
fn openssl_verifies(pdf: &[u8], root: &Path) -> Option<bool> {
    if !tool("openssl") {
        return None;
    }
    let sig = underskrift::verify::extractor::extract_signatures(pdf).unwrap().pop().unwrap();
    let [a, b, c, d] = sig.byte_range;
    let mut signed = pdf[a..a + b].to_vec();
    signed.extend_from_slice(&pdf[c..c + d]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sig.der"), &sig.cms_bytes).unwrap();
    std::fs::write(dir.path().join("content.bin"), &signed).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(dir.path().join("sig.der"))
        .arg("-content")
        .arg(dir.path().join("content.bin"))
        .arg("-CAfile")
        .arg(root)
        .args(["-out", "/dev/null"])
        .output()
        .unwrap();
    Some(out.status.success())
}

async fn verify(app: &App, pdf: &[u8]) -> Value {
    let req = Request::post("/api/v1/verify")
        .header(header::CONTENT_TYPE, "application/pdf")
        .body(Body::from(pdf.to_vec()))
        .unwrap();
    let r = app.call(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_result_is_signed_b_t_and_verifies_everywhere() {
    let ca = tempfile::tempdir().unwrap();
    let tsa = TestTsa::start(ca.path()).unwrap();
    let app = signing(app().await, ca.path(), Some(&tsa));
    let code = resolved(&app).await;
    assert_eq!(tsa.served(), 1, "the signature was timestamped");

    let list = app.get(&format!("/api/v1/dossiers/{code}/results"), Some(&app.desk_x)).await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let doc = &list[0];
    assert_eq!((doc["pades_level"].as_str(), doc["dossier_code"].as_str()), (Some("B-T"), Some(code.as_str())));
    assert!(doc["signer_subject"].as_str().unwrap().contains("000.00.31.H99"), "{doc}");
    assert!(doc["timestamped_at"].is_string());
    let pdf =
        app.get(&format!("/api/v1/dossiers/{code}/results/{}", doc["id"].as_str().unwrap()), Some(&app.portal)).await;
    assert_eq!(pdf.status, StatusCode::OK);
    let pdf = pdf.body;
    assert_eq!(cqs_store::files::sha256_hex(&pdf), doc["sha256"].as_str().unwrap());
    assert_eq!(
        app.get(&format!("/api/v1/dossiers/{code}/results"), Some(&app.desk_y)).await.status,
        StatusCode::FORBIDDEN
    );
    if let Some(text) = pdf_text(&pdf) {
        for want in
            ["KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH", "Cấp Giấy khai sinh cho Nguyễn Bảo Na", &code, "Nguyễn Văn An"]
        {
            assert!(text.contains(want), "{want:?} in {text}");
        }
        // The visible block: who signed, in Vietnamese.
        assert!(text.contains("Ký bởi: UBND 000.00.31.H99") && text.contains("Thời gian ký:"), "{text}");
    }

    let root = ca.path().join("ca.crt.pem");
    if let Some(report) = pdfsig(&pdf, &root) {
        for want in ["ETSI.CAdES.detached", "Signature is Valid", "Certificate is Trusted", "Total document signed"] {
            assert!(report.contains(want), "pdfsig lacks {want:?}:\n{report}");
        }
    }
    assert_ne!(openssl_verifies(&pdf, &root), Some(false), "openssl cms -verify refused the signature");

    let v = verify(&app, &pdf).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["issued"]["dossier_code"], code);
    assert_eq!(v["signatures"][0]["level"], "B-T");
    assert_eq!(v["signatures"][0]["signer_code"], "000.00.31.H99");
    assert!(v["signatures"][0]["timestamped_at"].is_string(), "{v}");

    // Change one character of the signed content, keeping every offset: every check fails.
    // (The PDF/A metadata is plain text inside the first signed range.)
    let mut changed = pdf.clone();
    let at = changed.windows(11).position(|w| w == b"pdfaid:part").expect("XMP metadata") + 8;
    changed[at] = b'e';
    let v = verify(&app, &changed).await;
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["issued"].is_null(), "a changed copy is not the issued file");
    assert_eq!(v["signatures"][0]["intact"], false, "{v}");
    if let Some(report) = pdfsig(&changed, &root) {
        assert!(!report.contains("Signature is Valid"), "pdfsig accepted a changed copy:\n{report}");
    }
    assert_ne!(openssl_verifies(&changed, &root), Some(true), "openssl accepted a changed copy");
    // Bytes appended after signing are not covered by the signature.
    let mut appended = pdf.clone();
    appended.extend_from_slice(b"\n% them vao sau khi ky\n");
    let v = verify(&app, &appended).await;
    assert_eq!(v["valid"], false, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_timestamp_authority_the_result_is_b_b_and_the_page_explains_it() {
    let ca = tempfile::tempdir().unwrap();
    let app = signing(app().await, ca.path(), None);
    let code = resolved(&app).await;
    let list = app.get(&format!("/api/v1/dossiers/{code}/results"), Some(&app.leader_x)).await.json();
    assert_eq!(list[0]["pades_level"], "B-B");
    assert!(list[0]["timestamped_at"].is_null());
    let id = list[0]["id"].as_str().unwrap();
    let pdf = app.get(&format!("/api/v1/dossiers/{code}/results/{id}"), Some(&app.desk_x)).await.body;
    if let Some(report) = pdfsig(&pdf, &ca.path().join("ca.crt.pem")) {
        assert!(report.contains("Signature is Valid"), "{report}");
    }

    // The public page: a multipart upload without JavaScript, from a signed-out visitor.
    let boundary = "cqs-verify-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ket-qua.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::post("/xac-thuc")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .header(header::ORIGIN, "http://127.0.0.1:8080")
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::from(body))
        .unwrap();
    let r = app.call(req).await;
    let html = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, StatusCode::OK, "{html}");
    for want in ["Hợp lệ", &code, "UBND 000.00.31.H99", "Không có dấu thời gian tin cậy", "PAdES B-B"] {
        assert!(html.contains(want), "{want:?} missing from the page");
    }
    let empty = Request::post("/xac-thuc")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(format!("--{boundary}--\r\n")))
        .unwrap();
    let r = app.call(empty).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&r.body).contains("Chưa chọn tệp PDF"));
    // Not a PDF at all.
    let bad = Request::post("/api/v1/verify").body(Body::from("xin chào")).unwrap();
    assert_eq!(app.call(bad).await.json()["code"], "not_a_pdf");
    assert_eq!(app.get("/xac-thuc", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_key_the_result_is_recorded_unsigned() {
    let app = app().await;
    let code = resolved(&app).await;
    let list = app.get(&format!("/api/v1/dossiers/{code}/results"), Some(&app.desk_x)).await.json();
    assert_eq!(list, json!([]));
}
