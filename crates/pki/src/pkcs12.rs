//! PKCS#12 (.p12 / .pfx) files, the form in which a CA usually hands over a software key, read
//! and written with `p12-keystore` (pure Rust; PBES2/AES as OpenSSL 3 writes them, and the
//! legacy 3DES/RC2 of older Windows exports).

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, Pkcs12ImportPolicy, PrivateKey, PrivateKeyChain};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::PkiError;
use crate::signer::SoftwareSigner;

fn bad(e: impl std::fmt::Display) -> PkiError {
    PkiError::Invalid(format!("tệp PKCS#12 không đọc được (sai mật khẩu hoặc tệp hỏng): {e}"))
}

/// The key and chain of a PKCS#12 file as a signer. The file must hold exactly one key.
pub fn load(data: &[u8], password: &str) -> Result<SoftwareSigner, PkiError> {
    let store = KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Relaxed).map_err(bad)?;
    let mut chains = store.entries().filter_map(|(_, e)| match e {
        KeyStoreEntry::PrivateKeyChain(c) => Some(c),
        _ => None,
    });
    let chain = chains.next().ok_or_else(|| PkiError::Invalid("tệp PKCS#12 không có khóa bí mật".into()))?;
    if chains.next().is_some() {
        return Err(PkiError::Invalid("tệp PKCS#12 có nhiều khóa bí mật; hãy xuất riêng khóa dùng để ký".into()));
    }
    let certs: Vec<CertificateDer<'static>> =
        chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    SoftwareSigner::new(&key, certs)
}

/// A PKCS#12 file holding one PKCS#8 key and its chain (signer first), protected by
/// `password` with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256 MAC.
pub fn write(key_pkcs8: &[u8], chain: &[CertificateDer<'_>], alias: &str, password: &str) -> Result<Vec<u8>, PkiError> {
    let key = PrivateKey::from_der(key_pkcs8).map_err(bad)?;
    let certs = chain.iter().map(|c| Certificate::from_der(c.as_ref())).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    let local_id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, chain[0].as_ref());
    let mut store = KeyStore::new();
    store
        .add_entry(alias, KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_id.as_ref().to_vec(), key, certs)));
    store.writer(password).write().map_err(bad)
}
