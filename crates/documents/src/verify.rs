//! Checking the signatures of a PDF: is each one intact and cryptographically valid, does it
//! cover the document as it is now, does the signer's certificate chain to a root we trust,
//! who signed, and when (the timestamp authority's time for B-T signatures).
//!
//! `underskrift`'s verifier does the PDF and CMS work (byte ranges, message digest, signature,
//! ESS signing-certificate-v2, certificate path); the timestamp token is checked again by
//! `cqs_pki::tsp`, which also reads its time.

use chrono::{DateTime, Utc};
use cqs_pki::{CertificateDer, CertificateInfo};
use tsp_ltv::trust::{TrustStore, TrustStoreSet};
use underskrift::SignatureVerifier;
use underskrift::verify::{CryptoValidity, SignatureStatus, SignatureType};

/// What one signature of a document says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureCheck {
    /// The signature field's name.
    pub field: String,
    /// The signed bytes are intact and the signature matches the signer's key.
    pub intact: bool,
    /// Nothing was added to the document after this signature (beyond signature metadata).
    pub covers_document: bool,
    /// The signer's certificate chains to a trusted root and was valid when it signed.
    pub trusted: bool,
    pub signer: Option<CertificateInfo>,
    /// PAdES baseline level found: `B-B`, `B-T`, `B-LT`, `B-LTA`, or `PKCS#7` for a
    /// pre-PAdES signature.
    pub level: String,
    /// The timestamp authority's time, when a valid signature time-stamp is present.
    pub timestamped_at: Option<DateTime<Utc>>,
    /// Why the signature is not valid, in the verifier's words, for operators.
    pub problems: Vec<String>,
}

impl SignatureCheck {
    /// Valid in every respect a citizen cares about.
    pub fn valid(&self) -> bool {
        self.intact && self.covers_document && self.trusted
    }
}

/// The signatures of a document, in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// SHA-256 of the file checked, hexadecimal: how the platform finds its own documents.
    pub sha256: String,
    pub signatures: Vec<SignatureCheck>,
}

impl Verification {
    /// At least one signature, and every one valid.
    pub fn valid(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(SignatureCheck::valid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("tệp không phải PDF hoặc đã hỏng: {0}")]
    NotPdf(String),
}

fn sha256(data: &[u8]) -> [u8; 32] {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().try_into().expect("32 bytes")
}

/// Checks every signature of `pdf` against the roots in `trust`. Blocking (CPU-bound).
pub fn verify_pdf(pdf: &[u8], trust: &[CertificateDer<'_>]) -> Result<Verification, VerifyError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(VerifyError::NotPdf("thiếu phần đầu %PDF-".into()));
    }
    let mut store = TrustStore::new();
    for root in trust {
        store.add_der_certificate(root).map_err(|e| VerifyError::NotPdf(e.to_string()))?;
    }
    let mut tsa = TrustStore::new();
    for root in trust {
        tsa.add_der_certificate(root).map_err(|e| VerifyError::NotPdf(e.to_string()))?;
    }
    let set = TrustStoreSet::new().with_sig_store(store).with_tsa_store(tsa);
    let report = SignatureVerifier::new(&set).verify_pdf(pdf).map_err(|e| VerifyError::NotPdf(e.to_string()))?;
    let signatures = report
        .signatures
        .iter()
        .filter(|s| s.signature_type != SignatureType::DocTimestamp)
        .map(|s| {
            let signer = s.signer_cert_der.as_deref().and_then(|der| CertificateInfo::parse(der).ok());
            let timestamped_at = s.timestamp_token_der.as_deref().and_then(|token| {
                cqs_pki::tsp::verify_token(token, &sha256(&s.signature_value_bytes), trust).ok().map(|t| t.gen_time)
            });
            let intact = s.integrity_ok && s.digest_matches && s.cryptographic_validity == CryptoValidity::Valid;
            let covers_document = s.covers_whole_document && !s.modifications_after_signing;
            let mut problems = s.integrity_issues.clone();
            if s.status != SignatureStatus::Valid {
                problems.push(s.summary.clone());
            }
            SignatureCheck {
                field: s.field_name.clone(),
                intact,
                covers_document,
                trusted: s.chain_trusted,
                signer,
                level: level_name(&s.pades_level),
                timestamped_at,
                problems,
            }
        })
        .collect();
    Ok(Verification { sha256: crate::hex(&sha256(pdf)), signatures })
}

fn level_name(level: &underskrift::verify::DetectedPadesLevel) -> String {
    use underskrift::verify::DetectedPadesLevel as L;
    match level {
        L::BB => "B-B",
        L::BT => "B-T",
        L::BLT => "B-LT",
        L::BLTA => "B-LTA",
        L::NotPades => "PKCS#7",
        L::Unknown => "không xác định",
    }
    .to_owned()
}
