//! Every form of every form set renders to PDF/A with the Vietnamese text intact: `pdftotext`
//! (poppler, which `.ci/run` installs) must give back the exact NFC strings that went in.
//! Set `CQS_FORMS_PNG=<dir>` to also get page images (pdftoppm) to look at.

use std::process::Command;

use cqs_documents::{FormSets, Renderer};
use serde_json::json;

fn sample() -> serde_json::Value {
    json!({
        "header": {
            "parent": "Ủy ban nhân dân tỉnh Lạc Hồng",
            "issuer": "Ủy ban nhân dân xã Lạc Sơn",
            "issuer_name": "Bộ phận Một cửa Ủy ban nhân dân xã Lạc Sơn",
            "number": "Số: 0007/TNHS",
            "place_date": "Lạc Sơn, ngày 23 tháng 11 năm 2026",
            "phone": "0299 382 0031"
        },
        "dossier": {
            "code": "000.00.31.H99-261123-0007",
            "procedure_name": "Đăng ký khai sinh",
            "applicant_name": "Nguyễn Thị Hường",
            "applicant_identity": "001203004567",
            "applicant_address": "Thôn Đông Hưng, xã Lạc Sơn, tỉnh Lạc Hồng",
            "applicant_phone": "0912345678",
            "applicant_email": "huong@example.vn",
            "components": [
                {"name": "Tờ khai đăng ký khai sinh", "originals": 1, "copies": 0},
                {"name": "Giấy chứng sinh", "originals": 1, "copies": 0}
            ],
            "legal_time": "08 giờ làm việc",
            "received_text": "08 giờ 15 phút, ngày 23/11/2026",
            "due_text": "08 giờ 15 phút, ngày 24/11/2026",
            "channel_text": "Trực tiếp tại Bộ phận Một cửa",
            "return_place": "Bộ phận Một cửa Ủy ban nhân dân xã Lạc Sơn"
        },
        "officer_name": "Trần Văn Đức",
        "reason": "Thiếu bản sao giấy chứng nhận kết hôn của cha, mẹ trẻ; đề nghị bổ sung bản chụp rõ nét.",
        "event_text": "ngày 23/11/2026",
        "original_due_text": "08 giờ 15 phút, ngày 24/11/2026",
        "new_due_text": "17 giờ 00 phút, ngày 27/11/2026",
        "control_rows": [
            {"step": "Tiếp nhận — Bộ phận Một cửa", "received": "08:15 23/11/2026", "handed_over": "08:40 23/11/2026", "timeliness": "Trước hạn", "note": ""},
            {"step": "Thẩm định — Công chức tư pháp - hộ tịch", "received": "08:40 23/11/2026", "handed_over": "", "timeliness": "", "note": "Đang xử lý"}
        ],
        "period_text": "Từ ngày 23/11/2026 đến ngày 23/11/2026",
        "register_rows": [
            {"code": "000.00.31.H99-261123-0007", "procedure": "Đăng ký khai sinh", "applicant": "Nguyễn Thị Hường",
             "contact": "Thôn Đông Hưng; 0912345678", "unit": "UBND xã Lạc Sơn", "received": "23/11/2026",
             "due": "24/11/2026", "returned": "", "note": ""}
        ]
    })
}

fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = match Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&path).arg("-").output() {
        Ok(o) => o,
        Err(_) => {
            assert!(std::env::var("CI").is_err(), "poppler-utils must be installed in CI");
            eprintln!("skipping text check: pdftotext is not installed");
            return None;
        }
    };
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn every_form_renders_with_exact_vietnamese_text() {
    let renderer = Renderer::new(None).unwrap();
    assert_eq!(renderer.family(), "Liberation Serif");
    let png_dir = std::env::var("CQS_FORMS_PNG").ok();
    let url = "https://dichvucong.lachong.gov.vn/tra-cuu/000.00.31.H99-261123-0007";
    for set in &FormSets::embedded().sets {
        for form in &set.forms {
            let pdf = renderer
                .render(set, form, sample(), url, "2026-11-23".parse().unwrap())
                .unwrap_or_else(|e| panic!("{} {}: {e}", set.code, form.number));
            assert!(pdf.starts_with(b"%PDF-"));
            assert!(String::from_utf8_lossy(&pdf).contains("pdfaid:part"), "PDF/A metadata");
            if let Some(dir) = &png_dir {
                let p = std::path::Path::new(dir).join(format!("{}-{}.pdf", set.code, form.number));
                std::fs::write(&p, &pdf).unwrap();
                let status =
                    Command::new("pdftoppm").args(["-png", "-r", "80"]).arg(&p).arg(p.with_extension("")).status();
                assert!(status.is_ok_and(|s| s.success()));
            }
            let Some(text) = pdftotext(&pdf) else { continue };
            // Words may be spread by justification; compare with whitespace collapsed.
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let want = [
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                "Độc lập - Tự do - Hạnh phúc",
                "ỦY BAN NHÂN DÂN XÃ LẠC SƠN",
                "Lạc Sơn, ngày 23 tháng 11 năm 2026",
                "000.00.31.H99-261123-0007",
                &form.title.to_uppercase(),
                &format!("Mẫu số {}", form.number),
            ];
            for w in want {
                assert!(flat.contains(w), "{} {}: missing {w:?} in\n{flat}", set.code, form.number);
            }
            assert!(flat.contains("Nguyễn Thị Hường"), "{} {}", set.code, form.number);
            assert!(cqs_text_is_nfc(&text), "pdftotext output is NFC");
        }
    }
}

fn cqs_text_is_nfc(s: &str) -> bool {
    // Decomposed Vietnamese would show combining marks (U+0300–U+0323) after base letters.
    !s.chars().any(|c| ('\u{0300}'..='\u{0323}').contains(&c))
}

#[test]
fn data_is_data_not_markup() {
    let renderer = Renderer::new(None).unwrap();
    let sets = FormSets::embedded();
    let set = &sets.sets[1];
    let mut data = sample();
    data["dossier"]["applicant_name"] = json!("#panic(\"x\") *đậm* $x$ <nhãn> [a](b) \\");
    let pdf = renderer
        .render(set, set.form("01").unwrap(), data, "https://x.vn/tra-cuu/1", "2026-11-23".parse().unwrap())
        .unwrap();
    if let Some(text) = pdftotext(&pdf) {
        assert!(text.contains("#panic(\"x\") *đậm* $x$"), "{text}");
    }
}
