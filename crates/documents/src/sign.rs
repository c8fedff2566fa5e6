//! PAdES signatures on PDF documents (ETSI EN 319 142-1 baseline B-B, and B-T with an RFC 3161
//! signature time-stamp), with a visible signature block, made with any `cqs_pki::Signer`: a
//! key in a file or on a PKCS#11 token, which only ever sees the SHA-256 digest of the signed
//! attributes.
//!
//! `underskrift` does the PDF side (incremental update, ByteRange, /Contents, the appearance
//! stream with an embedded font subset) and the CMS SignedData with ESS signing-certificate-v2;
//! the `cms` crate adds the time-stamp token as an unsigned attribute. Two defects of
//! underskrift 0.1.4 are worked around here through its API:
//! - `PdfSigner` has a `tsa_url` option but never uses it: for B-T we take the signature value
//!   from the signed file (its extractor), time-stamp it with our RFC 3161 client, add the
//!   `id-aa-signatureTimeStampToken` attribute with the `cms` crate, and write the grown CMS back
//!   into the same reserved /Contents with underskrift's `inject_timestamp_token`, which fills
//!   the space between the two byte ranges and so leaves the signed bytes untouched;
//! - /Reason, /Location and /ContactInfo are written as raw UTF-8 (Vietnamese would show
//!   garbled), and /M is never written: we set none of them. Who signed and when is in the
//!   visible block (Vietnamese, embedded Liberation Serif), the certificate, and with B-T the
//!   timestamp authority's signed time.

use chrono::{DateTime, Utc};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use cqs_pki::tsp::{TimeStampToken, TsaClient};
use cqs_pki::{Algorithm, SharedSigner};
use underskrift::crypto::algorithm::{DigestAlgorithm, SignatureAlgorithm};
use underskrift::error::CryptoError;
use underskrift::visual::{
    Border, Color, FontSpec, SignatureLayout, SignatureRect, TextAlignment, TextConfig, TextLine,
    VisibleSignatureConfig,
};
use underskrift::{CryptoSigner, PdfSigner, SigningOptions, SubFilter};
use x509_cert::attr::Attribute;
use x509_cert::der::asn1::{Any, SetOfVec};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};

/// id-aa-signatureTimeStampToken (RFC 3161 appendix A; CAdES/PAdES B-T).
const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("không ký được tài liệu PDF: {0}")]
    Pdf(String),
    #[error("{0}")]
    Key(#[from] cqs_pki::PkiError),
}

/// PAdES baseline level of a signature we made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PadesLevel {
    #[serde(rename = "B-B")]
    BB,
    #[serde(rename = "B-T")]
    BT,
}

impl PadesLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BB => "B-B",
            Self::BT => "B-T",
        }
    }
}

/// Where the visible block goes: a page (the last when `None`) and a rectangle in PDF points
/// from the lower-left corner.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub page: Option<u32>,
    pub rect: [f32; 4],
}

/// A signed document.
#[derive(Debug, Clone)]
pub struct Signed {
    pub pdf: Vec<u8>,
    pub level: PadesLevel,
    /// The TSA's token when the signature is B-T.
    pub timestamp: Option<TimeStampToken>,
}

/// `cqs_pki::Signer` as underskrift's signing key.
struct KeyAdapter(SharedSigner);

impl CryptoSigner for KeyAdapter {
    fn sign_hash(&self, hash: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest: &[u8; 32] =
            hash.try_into().map_err(|_| CryptoError::SigningFailed("expected a SHA-256 digest".into()))?;
        self.0.sign_sha256_digest(digest).map_err(|e| CryptoError::SigningFailed(e.to_string()))
    }

    fn certificate_der(&self) -> &[u8] {
        self.0.certificate().as_ref()
    }

    fn certificate_chain_der(&self) -> Vec<&[u8]> {
        self.0.chain().iter().map(|c| c.as_ref()).collect()
    }

    fn digest_algorithm(&self) -> DigestAlgorithm {
        DigestAlgorithm::Sha256
    }

    fn signature_algorithm(&self) -> SignatureAlgorithm {
        match self.0.algorithm() {
            Algorithm::RsaPkcs1Sha256 => SignatureAlgorithm::RsaPkcs1v15,
            Algorithm::EcdsaP256Sha256 => SignatureAlgorithm::EcdsaP256,
        }
    }
}

fn pdf_err(e: impl std::fmt::Display) -> SignError {
    SignError::Pdf(e.to_string())
}

/// The lines of the visible block: who signed (the certificate's organisation and its QCVN 102
/// code) and when, in Vietnam time.
pub fn block_lines(signer: &dyn cqs_pki::Signer, at: DateTime<Utc>) -> Result<Vec<String>, SignError> {
    let info = cqs_pki::CertificateInfo::parse(signer.certificate())?;
    let who = info.organization.clone().or(info.common_name.clone()).unwrap_or(info.subject.clone());
    let mut lines = vec!["Văn bản được ký số".to_owned(), format!("Ký bởi: {who}")];
    if let Some(code) = &info.organization_identifier {
        lines.push(format!("Mã định danh: {code}"));
    }
    let local = at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    lines.push(format!("Thời gian ký: {}", local.format("%H:%M:%S ngày %d/%m/%Y (GMT+7)")));
    Ok(lines)
}

fn page_count(pdf: &[u8]) -> Result<u32, SignError> {
    let doc = lopdf::Document::load_mem(pdf).map_err(pdf_err)?;
    Ok(doc.get_pages().len() as u32)
}

/// Signs `pdf` as PAdES B-B with a visible block of `lines`, then, when `tsa` is given, adds a
/// signature time-stamp (B-T). If the timestamp authority fails, the B-B signature is returned
/// and the caller sees `level` = B-B.
pub async fn sign_pdf(
    pdf: Vec<u8>,
    signer: SharedSigner,
    lines: Vec<String>,
    placement: Placement,
    tsa: Option<&TsaClient>,
) -> Result<Signed, SignError> {
    // Key operations may block on a token, and the PDF work is CPU-bound: off the runtime.
    let room = tsa.is_some();
    let signed = tokio::task::spawn_blocking(move || sign_blocking(&pdf, signer, lines, placement, room))
        .await
        .map_err(pdf_err)??;
    let Some(tsa) = tsa else {
        return Ok(Signed { pdf: signed, level: PadesLevel::BB, timestamp: None });
    };
    match add_signature_timestamp(signed.clone(), tsa).await {
        Ok((pdf, token)) => Ok(Signed { pdf, level: PadesLevel::BT, timestamp: Some(token) }),
        Err(e) => {
            tracing::warn!(error = %e, tsa = tsa.url(), "no timestamp: the result is signed at level B-B");
            Ok(Signed { pdf: signed, level: PadesLevel::BB, timestamp: None })
        }
    }
}

fn sign_blocking(
    pdf: &[u8],
    signer: SharedSigner,
    lines: Vec<String>,
    placement: Placement,
    room_for_timestamp: bool,
) -> Result<Vec<u8>, SignError> {
    let page = match placement.page {
        Some(p) => p,
        None => page_count(pdf)?.checked_sub(1).ok_or_else(|| SignError::Pdf("tài liệu không có trang nào".into()))?,
    };
    let [llx, lly, urx, ury] = placement.rect;
    let text = TextConfig {
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { TextLine::new(l).bold() } else { TextLine::new(l) })
            .collect(),
        font: FontSpec::Embedded { data: crate::templates::EMBEDDED_FONTS[0].to_vec(), name: "LiberationSerif".into() },
        font_size: 9.0,
        color: Color::black(),
        alignment: TextAlignment::Left,
        line_spacing: 1.25,
        padding: 5.0,
    };
    let options = SigningOptions {
        sub_filter: SubFilter::Pades,
        field_name: "ChuKySoCoQuan".into(),
        page,
        // A signature time-stamp token with the TSA's chain needs room next to the signature.
        content_size: if room_for_timestamp { 24_576 } else { 12_288 },
        visible_signature: Some(VisibleSignatureConfig {
            page,
            rect: SignatureRect::Absolute { llx, lly, urx, ury },
            layout: SignatureLayout::TextOnly(text),
            background_color: None,
            border: Some(Border { width: 0.8, color: Color::new(0.75, 0.05, 0.05) }),
        }),
        ..Default::default()
    };
    let adapter = KeyAdapter(signer);
    let handle = tokio::runtime::Handle::current();
    handle.block_on(PdfSigner::new().options(options).sign(pdf, &adapter)).map_err(pdf_err)
}

/// Adds an RFC 3161 time-stamp of the signature value to the signature's unsigned attributes
/// (PAdES B-T), in place of the CMS in the signature's reserved /Contents.
async fn add_signature_timestamp(pdf: Vec<u8>, tsa: &TsaClient) -> Result<(Vec<u8>, TimeStampToken), SignError> {
    let sig = underskrift::verify::extractor::extract_signatures(&pdf)
        .map_err(pdf_err)?
        .pop()
        .ok_or_else(|| SignError::Pdf("không thấy chữ ký vừa tạo".into()))?;
    let info = ContentInfo::from_der(&sig.cms_bytes).map_err(pdf_err)?;
    let mut data: SignedData = info.content.decode_as().map_err(pdf_err)?;
    let mut signer_info =
        data.signer_infos.0.iter().next().cloned().ok_or_else(|| SignError::Pdf("CMS rỗng".into()))?;
    let value = signer_info.signature.as_bytes();
    let digest: [u8; 32] =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value).as_ref().try_into().expect("32 bytes");
    let token = tsa.timestamp_digest(&digest).await?;
    let attr = Attribute {
        oid: SIGNATURE_TIME_STAMP_TOKEN,
        values: SetOfVec::try_from(vec![Any::from_der(&token.der).map_err(pdf_err)?]).map_err(pdf_err)?,
    };
    let mut unsigned = signer_info.unsigned_attrs.take().unwrap_or_default();
    unsigned.insert(attr).map_err(pdf_err)?;
    signer_info.unsigned_attrs = Some(unsigned);
    data.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(pdf_err)?);
    let grown = ContentInfo { content_type: info.content_type, content: Any::encode_from(&data).map_err(pdf_err)? }
        .to_der()
        .map_err(pdf_err)?;
    let [_, first_len, second_start, _] = sig.byte_range;
    // /Contents is the hex string between the two signed ranges, without its angle brackets.
    let contents = underskrift::core::byte_range::ByteRange {
        placeholder_offset: 0,
        placeholder_length: 0,
        contents_offset: first_len + 1,
        contents_length: second_start - first_len - 2,
    };
    let room = contents.contents_length / 2;
    let pdf =
        underskrift::core::doc_timestamp::inject_timestamp_token(pdf, &contents, &grown, room).map_err(pdf_err)?;
    Ok((pdf, token))
}
