//! A signing key with its certificate chain, wherever the key lives: in memory (PEM or PKCS#12
//! files, through aws-lc-rs) or on a token or HSM (PKCS#11). Document signatures (CMS, PAdES)
//! sign a SHA-256 digest computed by the caller, so that is the one operation a [`Signer`] must
//! perform; the private key never has to leave the token.

use std::sync::Arc;

use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::PkiError;

/// The signature algorithms our signers produce, always over SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (what Vietnamese CA tokens issue today).
    RsaPkcs1Sha256,
    /// ECDSA on P-256 with SHA-256, DER-encoded signature (what the development CA issues).
    EcdsaP256Sha256,
}

/// A private key that signs SHA-256 digests, with the certificate chain that names it.
pub trait Signer: Send + Sync {
    /// The signer's own certificate.
    fn certificate(&self) -> &CertificateDer<'static>;
    /// The chain from the signer's certificate up to (and including, if known) the root.
    fn chain(&self) -> &[CertificateDer<'static>];
    fn algorithm(&self) -> Algorithm;
    /// Signs a SHA-256 digest the caller computed. ECDSA signatures come back DER-encoded.
    fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, PkiError>;
}

enum SoftKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A key held in process memory, loaded from PEM or PKCS#12.
pub struct SoftwareSigner {
    key: SoftKey,
    chain: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner").field("algorithm", &self.algorithm()).finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// A signer from a private key (PKCS#8, or RSA PKCS#1, or EC SEC1) and its chain, signer
    /// first. The key must match the first certificate.
    pub fn new(key: &PrivateKeyDer<'_>, chain: Vec<CertificateDer<'static>>) -> Result<Self, PkiError> {
        let first = chain.first().ok_or_else(|| PkiError::Invalid("không có chứng thư số nào đi kèm khóa".into()))?;
        let ec = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let key = match key {
            PrivateKeyDer::Pkcs8(k) => match EcdsaKeyPair::from_pkcs8(ec, k.secret_pkcs8_der()) {
                Ok(k) => SoftKey::Ec(k),
                Err(_) => SoftKey::Rsa(RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).map_err(|_| unsupported())?),
            },
            PrivateKeyDer::Pkcs1(k) => {
                SoftKey::Rsa(RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(|_| unsupported())?)
            }
            PrivateKeyDer::Sec1(k) => {
                SoftKey::Ec(EcdsaKeyPair::from_private_key_der(ec, k.secret_sec1_der()).map_err(|_| unsupported())?)
            }
            _ => return Err(unsupported()),
        };
        if let SoftKey::Rsa(k) = &key
            && k.public_modulus_len() < 256
        {
            return Err(PkiError::Invalid("khóa RSA phải dài ít nhất 2048 bit".into()));
        }
        let public = match &key {
            SoftKey::Rsa(k) => k.public_key().as_ref().to_vec(),
            SoftKey::Ec(k) => k.public_key().as_ref().to_vec(),
        };
        if crate::cert::subject_public_key(first)? != public {
            return Err(PkiError::Invalid("khóa bí mật không khớp với chứng thư số".into()));
        }
        Ok(Self { key, chain })
    }
}

fn unsupported() -> PkiError {
    PkiError::Invalid("khóa bí mật không phải RSA hoặc ECDSA P-256".into())
}

/// The RFC 8017 §9.2 (note 1) DigestInfo prefix for SHA-256, for tokens that take the
/// already-encoded block (CKM_RSA_PKCS).
pub(crate) const SHA256_DIGEST_INFO_PREFIX: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];

fn imported(digest: &[u8; 32]) -> Result<Digest, PkiError> {
    Digest::import_less_safe(digest, &SHA256).map_err(|_| PkiError::Sign("mã băm không hợp lệ".into()))
}

impl Signer for SoftwareSigner {
    fn certificate(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    fn algorithm(&self) -> Algorithm {
        match self.key {
            SoftKey::Rsa(_) => Algorithm::RsaPkcs1Sha256,
            SoftKey::Ec(_) => Algorithm::EcdsaP256Sha256,
        }
    }

    fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, PkiError> {
        let d = imported(digest)?;
        let failed = |_| PkiError::Sign("không ký được bằng khóa trong bộ nhớ".into());
        match &self.key {
            SoftKey::Ec(k) => Ok(k.sign_digest(&d).map_err(failed)?.as_ref().to_vec()),
            SoftKey::Rsa(k) => {
                let mut out = vec![0; k.public_modulus_len()];
                k.sign_digest(&signature::RSA_PKCS1_SHA256, &d, &mut out).map_err(failed)?;
                Ok(out)
            }
        }
    }
}

/// Checks a signature made by `signer` over `message` with its certificate's public key, so a
/// misconfigured key or token is caught at start-up rather than by a citizen's verifier.
pub fn self_test(signer: &dyn Signer) -> Result<(), PkiError> {
    let message = b"cqs signer self-test";
    let digest: [u8; 32] = aws_lc_rs::digest::digest(&SHA256, message).as_ref().try_into().expect("32 bytes");
    let sig = signer.sign_sha256_digest(&digest)?;
    let public = crate::cert::subject_public_key(signer.certificate())?;
    let alg: &dyn signature::VerificationAlgorithm = match signer.algorithm() {
        Algorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
        Algorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
    };
    signature::UnparsedPublicKey::new(alg, public)
        .verify(message, &sig)
        .map_err(|_| PkiError::Sign("chữ ký thử không khớp với chứng thư số".into()))
}

/// A shared signer, as the services hold it.
pub type SharedSigner = Arc<dyn Signer>;
