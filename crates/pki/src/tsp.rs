//! An RFC 3161 timestamping client: asks a timestamp authority (TSA) to sign "this digest
//! existed at this time", and checks what comes back. Signed results use it for PAdES B-T;
//! the exchange's message log uses it to timestamp sealed batches.
//!
//! Requests, responses and tokens are built, parsed and verified by `tsp-ltv` (the RFC 3161
//! part of the `underskrift` family): the CMS signature of the token, the critical
//! timeStamping key usage of the TSA certificate, the message imprint and the nonce. Nothing
//! here encodes ASN.1 by hand.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rustls_pki_types::CertificateDer;
use tsp_ltv::crypto::algorithm::DigestAlgorithm;
use tsp_ltv::trust::TrustStore;

use crate::PkiError;

/// A verified timestamp token and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampToken {
    /// The token as the TSA sent it: a DER CMS ContentInfo holding the signed TSTInfo. This is
    /// what goes into a signature's unsigned attributes or next to a sealed batch.
    pub der: Vec<u8>,
    /// When the TSA says it saw the digest (genTime), in UTC.
    pub gen_time: DateTime<Utc>,
    /// The token's serial number, hexadecimal, unique per TSA.
    pub serial: String,
    /// The TSA's policy OID, dotted.
    pub policy: Option<String>,
}

/// A client of one timestamp authority.
#[derive(Debug, Clone)]
pub struct TsaClient {
    url: String,
    inner: tsp_ltv::tsp::TsaClient,
}

fn failed(e: tsp_ltv::error::TspError) -> PkiError {
    use tsp_ltv::error::TspError as E;
    match e {
        E::HttpError(m) => PkiError::Timestamp(format!("không kết nối được máy chủ cấp dấu thời gian: {m}")),
        E::TsaError(m) => PkiError::Timestamp(format!("máy chủ cấp dấu thời gian từ chối: {m}")),
        E::InvalidResponse(m) | E::VerificationFailed(m) => {
            PkiError::Timestamp(format!("dấu thời gian không hợp lệ: {m}"))
        }
    }
}

impl TsaClient {
    /// A client for the TSA at `url` (http or https), giving up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, PkiError> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(PkiError::Invalid(format!("địa chỉ máy chủ cấp dấu thời gian phải là http(s): {url}")));
        }
        let inner = tsp_ltv::tsp::TsaClient::new(url).digest_algorithm(DigestAlgorithm::Sha256).timeout(timeout);
        Ok(Self { url: url.to_owned(), inner })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Timestamps a SHA-256 digest. The response is checked before it is returned: status
    /// granted, the token's CMS signature, the TSA certificate's critical timeStamping usage,
    /// the imprint equal to `digest` and our nonce echoed.
    pub async fn timestamp_digest(&self, digest: &[u8; 32]) -> Result<TimeStampToken, PkiError> {
        let der = self.inner.timestamp(digest).await.map_err(failed)?;
        describe(der)
    }

    /// Timestamps `data` (its SHA-256).
    pub async fn timestamp(&self, data: &[u8]) -> Result<TimeStampToken, PkiError> {
        self.timestamp_digest(&sha256(data)).await
    }
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().try_into().expect("32 bytes")
}

fn describe(der: Vec<u8>) -> Result<TimeStampToken, PkiError> {
    let info = tsp_ltv::tsp::extract_tst_info(&der).map_err(failed)?;
    Ok(TimeStampToken {
        gen_time: gen_time(&info.gen_time_der)?,
        serial: crate::cert::hex(&info.serial_number),
        policy: info.policy_oid,
        der,
    })
}

/// genTime as tsp-ltv hands it over: the GeneralizedTime's text, `YYYYMMDDHHMMSS[.f*]Z`.
fn gen_time(text: &[u8]) -> Result<DateTime<Utc>, PkiError> {
    let bad = || PkiError::Timestamp("thời điểm trong dấu thời gian không đọc được".into());
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    let s = s.strip_suffix('Z').ok_or_else(bad)?;
    let t = NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S%.f").map_err(|_| bad())?;
    Ok(t.and_utc())
}

/// Verifies a stored token against the digest it should cover and, when `trust` is not
/// empty, that the TSA certificate chains to one of those roots (at the token's time).
pub fn verify_token(der: &[u8], digest: &[u8; 32], trust: &[CertificateDer<'_>]) -> Result<TimeStampToken, PkiError> {
    let mut store = TrustStore::new();
    for root in trust {
        store.add_der_certificate(root).map_err(|e| PkiError::Invalid(format!("chứng thư gốc: {e}")))?;
    }
    let store = (!trust.is_empty()).then_some(&store);
    tsp_ltv::tsp::verify_timestamp_token(der, digest, DigestAlgorithm::Sha256, None, store, None, &[])
        .map_err(failed)?;
    describe(der.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_time_reads_whole_and_fractional_seconds() {
        let t = gen_time(b"20261123011500Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T01:15:00+00:00");
        let t = gen_time(b"20261123011500.25Z").unwrap();
        assert_eq!(t.timestamp_subsec_millis(), 250);
        assert!(gen_time(b"20261123011500").is_err(), "UTC only");
        assert!(gen_time(b"not a time").is_err());
    }

    #[test]
    fn only_http_addresses() {
        assert!(TsaClient::new("ftp://tsa.example.vn", Duration::from_secs(5)).is_err());
        assert!(TsaClient::new("https://tsa.example.vn/tsr", Duration::from_secs(5)).is_ok());
    }
}
