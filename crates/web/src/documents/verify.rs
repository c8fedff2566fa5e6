//! Verification of a signed PDF for anyone (the API, the public page, `cqs verify`): the
//! signatures as `cqs_documents::verify` finds them against this node's trusted roots, and the
//! dossier the platform issued the exact file for, found by its SHA-256.

use chrono::{DateTime, Utc};
use cqs_documents::verify::{SignatureCheck, Verification, verify_pdf};
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// One signature, as a person reads it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignatureView {
    /// Intact, covering the whole document, and by a certificate of a trusted CA.
    pub valid: bool,
    pub intact: bool,
    /// False when something was added to the file after it was signed.
    pub covers_document: bool,
    pub trusted: bool,
    /// The signing organisation (or person) named by the certificate.
    pub signer: Option<String>,
    /// The QCVN 102 agency code (organizationIdentifier) of the certificate.
    pub signer_code: Option<String>,
    pub certificate_subject: Option<String>,
    pub certificate_issuer: Option<String>,
    pub certificate_fingerprint: Option<String>,
    /// PAdES level: B-B, B-T, ...
    pub level: String,
    /// When a timestamp authority saw the signature (B-T and above).
    pub timestamped_at: Option<DateTime<Utc>>,
    pub problems: Vec<String>,
}

/// A document this platform issued, found by the exact file's SHA-256.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedView {
    pub dossier_code: String,
    pub title: String,
    pub document_type: String,
    pub signed_at: DateTime<Utc>,
    pub timestamped_at: Option<DateTime<Utc>>,
    pub pades_level: String,
}

/// The answer to "is this document genuine?".
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// At least one signature, and every one valid.
    pub valid: bool,
    /// The verdict in one Vietnamese sentence.
    pub verdict: String,
    /// SHA-256 of the file received, hexadecimal.
    pub sha256: String,
    pub signatures: Vec<SignatureView>,
    /// Set when this platform issued exactly this file.
    pub issued: Option<IssuedView>,
}

fn view(s: &SignatureCheck) -> SignatureView {
    SignatureView {
        valid: s.valid(),
        intact: s.intact,
        covers_document: s.covers_document,
        trusted: s.trusted,
        signer: s.signer.as_ref().and_then(|c| c.organization.clone().or(c.common_name.clone())),
        signer_code: s.signer.as_ref().and_then(|c| c.organization_identifier.clone()),
        certificate_subject: s.signer.as_ref().map(|c| c.subject.clone()),
        certificate_issuer: s.signer.as_ref().map(|c| c.issuer.clone()),
        certificate_fingerprint: s.signer.as_ref().map(|c| c.fingerprint_sha256.clone()),
        level: s.level.clone(),
        timestamped_at: s.timestamped_at,
        problems: s.problems.clone(),
    }
}

/// The verdict sentence for a verification.
pub fn verdict(v: &Verification) -> String {
    let Some(first_bad) = v.signatures.iter().find(|s| !s.valid()) else {
        return match v.signatures.len() {
            0 => "Tài liệu không có chữ ký số.".to_owned(),
            1 => "Chữ ký số hợp lệ: tài liệu không bị thay đổi từ khi ký.".to_owned(),
            n => format!("Cả {n} chữ ký số đều hợp lệ: tài liệu không bị thay đổi từ khi ký."),
        };
    };
    if !first_bad.intact {
        "Chữ ký số không hợp lệ: nội dung đã ký bị sửa đổi hoặc chữ ký bị hỏng.".to_owned()
    } else if !first_bad.covers_document {
        "Tài liệu đã bị thay đổi sau khi ký: phần thêm vào không được chữ ký bảo đảm.".to_owned()
    } else {
        "Chữ ký còn nguyên vẹn nhưng chứng thư số không do tổ chức chứng thực tin cậy cấp hoặc đã hết hạn.".to_owned()
    }
}

/// Checks `pdf` (off the async runtime) and looks the exact file up among issued documents.
pub async fn check(state: &AppState, pdf: Vec<u8>) -> Result<VerifyReport, ApiError> {
    let trust = state.signing.trust.clone();
    let v = tokio::task::spawn_blocking(move || verify_pdf(&pdf, &trust))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "not_a_pdf", e.to_string()))?;
    let issued = state.store.issued_documents_by_sha256(&v.sha256).await?.into_iter().next().map(|d| IssuedView {
        dossier_code: d.dossier_code,
        title: d.title,
        document_type: d.document_type,
        signed_at: d.signed_at,
        timestamped_at: d.timestamped_at,
        pades_level: d.pades_level,
    });
    Ok(VerifyReport {
        valid: v.valid(),
        verdict: verdict(&v),
        sha256: v.sha256.clone(),
        signatures: v.signatures.iter().map(view).collect(),
        issued,
    })
}

/// The report as `cqs verify` prints it.
pub fn as_text(r: &VerifyReport) -> String {
    let yes_no = |b: bool, yes: &str, no: &str| if b { yes.to_owned() } else { no.to_owned() };
    let mut out = format!("{}\n{}\nSHA-256: {}\n", yes_no(r.valid, "HỢP LỆ", "KHÔNG HỢP LỆ"), r.verdict, r.sha256);
    for (i, s) in r.signatures.iter().enumerate() {
        out.push_str(&format!("Chữ ký {}: {}\n", i + 1, yes_no(s.valid, "hợp lệ", "không hợp lệ")));
        out.push_str(&format!("  Người ký: {}", s.signer.as_deref().unwrap_or("không rõ")));
        if let Some(c) = &s.signer_code {
            out.push_str(&format!(" (mã định danh {c})"));
        }
        out.push('\n');
        if let Some(issuer) = &s.certificate_issuer {
            out.push_str(&format!("  Tổ chức cấp chứng thư: {issuer}\n"));
        }
        out.push_str(&format!("  Chuẩn: PAdES {}\n", s.level));
        match s.timestamped_at {
            Some(t) => out.push_str(&format!("  Dấu thời gian: {}\n", crate::ui::fmt::datetime(t))),
            None => out.push_str("  Dấu thời gian: không có\n"),
        }
        out.push_str(&format!("  Nội dung đã ký: {}\n", yes_no(s.intact, "nguyên vẹn", "đã bị sửa đổi")));
        out.push_str(&format!(
            "  Thay đổi sau khi ký: {}\n",
            yes_no(s.covers_document, "không có", "có phần thêm vào sau khi ký")
        ));
        out.push_str(&format!("  Chứng thư số: {}\n", yes_no(s.trusted, "tin cậy", "không tin cậy hoặc hết hạn")));
        for p in &s.problems {
            out.push_str(&format!("  - {p}\n"));
        }
    }
    match &r.issued {
        Some(i) => out.push_str(&format!(
            "Thuộc hồ sơ {}: {} (ký lúc {})\n",
            i.dossier_code,
            i.title,
            crate::ui::fmt::datetime(i.signed_at)
        )),
        None => out.push_str("Không tìm thấy văn bản giống hệt tệp này trong hệ thống.\n"),
    }
    out
}
