//! Certificates and signing keys for Chính Quyền Số.
//!
//! - [`devca`]: a development CA for tests and the demo (root, agency document-signing
//!   certificates, node TLS certificates for federation, a timestamping certificate);
//! - [`Signer`]: a key that signs SHA-256 digests, held in memory ([`SoftwareSigner`], from
//!   PEM or PKCS#12) or on a token ([`pkcs11::Pkcs11Signer`]);
//! - [`KeySource`]: how configuration names a key;
//! - [`cert`]: reading PEM files and what a certificate says about its holder;
//! - [`tsp`]: an RFC 3161 timestamping client and token verification;
//! - [`testing`]: a timestamp authority for tests (`openssl ts -reply` on a loopback port).
//!
//! Cryptography is aws-lc-rs (software keys), the token itself (PKCS#11), rcgen (issuing) and
//! x509-parser (reading); nothing here encodes ASN.1 by hand.

pub mod cert;
pub mod devca;
pub mod pkcs11;
pub mod pkcs12;
mod signer;
mod source;
pub mod testing;
pub mod tsp;

pub use cert::CertificateInfo;
pub use rustls_pki_types::CertificateDer;
pub use signer::{Algorithm, SharedSigner, Signer, SoftwareSigner, self_test};
pub use source::KeySource;

/// What can go wrong with keys and certificates. Messages are Vietnamese: they reach operators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    #[error("{0}")]
    Invalid(String),
    #[error("lỗi đọc/ghi tệp: {0}")]
    Io(String),
    #[error("lỗi token/HSM: {0}")]
    Token(String),
    #[error("lỗi ký số: {0}")]
    Sign(String),
    #[error("lỗi dấu thời gian: {0}")]
    Timestamp(String),
}
