//! Reading certificates: PEM files (rustls-pki-types), and what a certificate says about its
//! holder (x509-parser), in the terms a verification page shows.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::*;

use crate::PkiError;

/// The organizationIdentifier attribute (X.520, 2.5.4.97). Our agency certificates carry the
/// QCVN 102 agency code there, so a signature names its agency by code and not only by name.
pub const ORGANIZATION_IDENTIFIER: &[u64] = &[2, 5, 4, 97];

/// What a certificate says, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateInfo {
    /// The full subject, RFC 4514 style.
    pub subject: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    /// organizationIdentifier: the QCVN 102 code in certificates this platform issues; a CA's
    /// own scheme (for example a tax number) in others.
    pub organization_identifier: Option<String>,
    pub issuer: String,
    /// Serial number in hexadecimal.
    pub serial: String,
    pub not_before: chrono::DateTime<chrono::Utc>,
    pub not_after: chrono::DateTime<chrono::Utc>,
    pub is_ca: bool,
    /// Key usage allows digital signatures and non-repudiation (content commitment).
    pub signs_documents: bool,
    /// SHA-256 of the DER certificate, hexadecimal: what a person compares with the CA's list.
    pub fingerprint_sha256: String,
}

fn first_attr(name: &X509Name<'_>, oid: &x509_parser::der_parser::oid::Oid<'_>) -> Option<String> {
    name.iter_attributes().find(|a| a.attr_type() == oid).and_then(|a| a.as_str().ok()).map(str::to_owned)
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| PkiError::Invalid(format!("chứng thư số hỏng: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::Invalid("chứng thư số có dữ liệu thừa".into()));
    }
    Ok(cert)
}

impl CertificateInfo {
    pub fn parse(der: &[u8]) -> Result<Self, PkiError> {
        let cert = parse(der)?;
        let org_id = x509_parser::der_parser::oid::Oid::from(ORGANIZATION_IDENTIFIER)
            .map_err(|_| PkiError::Invalid("OID".into()))?;
        let subject = cert.subject();
        let ku = cert.key_usage().ok().flatten().map(|k| *k.value);
        Ok(Self {
            subject: subject.to_string(),
            common_name: subject.iter_common_name().next().and_then(|a| a.as_str().ok()).map(str::to_owned),
            organization: subject.iter_organization().next().and_then(|a| a.as_str().ok()).map(str::to_owned),
            organization_identifier: first_attr(subject, &org_id),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string().replace(':', ""),
            not_before: instant(cert.validity().not_before)?,
            not_after: instant(cert.validity().not_after)?,
            is_ca: cert.is_ca(),
            signs_documents: ku.is_some_and(|k| k.digital_signature() && k.non_repudiation()),
            fingerprint_sha256: hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref()),
        })
    }

    /// Whether the certificate is within its validity period at `at`.
    pub fn valid_at(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

fn instant(t: ASN1Time) -> Result<chrono::DateTime<chrono::Utc>, PkiError> {
    chrono::DateTime::from_timestamp(t.timestamp(), 0)
        .ok_or_else(|| PkiError::Invalid("thời hạn chứng thư số không hợp lệ".into()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The subjectPublicKey bits of a certificate (an EC point, or a DER RSAPublicKey).
pub fn subject_public_key(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    Ok(parse(der)?.public_key().subject_public_key.data.to_vec())
}

/// Every certificate in a PEM file, in file order.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Invalid(format!("tệp PEM chứng thư số không đọc được: {e}")))?;
    if certs.is_empty() {
        return Err(PkiError::Invalid("tệp PEM không chứa chứng thư số nào".into()));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| PkiError::Invalid(format!("tệp PEM khóa bí mật không đọc được: {e}")))
}

/// Reads a file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))
}

/// The signature algorithm a certificate's key is used with: RSA (2048 bits or more) or ECDSA
/// on P-256.
pub fn key_algorithm(der: &[u8]) -> Result<crate::signer::Algorithm, PkiError> {
    use x509_parser::oid_registry::{OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};
    let cert = parse(der)?;
    let spki = cert.public_key();
    let alg = &spki.algorithm;
    if alg.algorithm == OID_PKCS1_RSAENCRYPTION {
        match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(k)) if k.key_size() >= 2048 => {
                Ok(crate::signer::Algorithm::RsaPkcs1Sha256)
            }
            _ => Err(PkiError::Invalid("khóa RSA của chứng thư số phải dài ít nhất 2048 bit".into())),
        }
    } else if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY
        && alg.parameters.as_ref().and_then(|p| p.as_oid().ok()).is_some_and(|c| c == OID_EC_P256)
    {
        Ok(crate::signer::Algorithm::EcdsaP256Sha256)
    } else {
        Err(PkiError::Invalid("chỉ hỗ trợ khóa RSA hoặc ECDSA P-256".into()))
    }
}
