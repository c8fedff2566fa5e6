//! Keys on a hardware token or HSM, through PKCS#11 (`cryptoki`). The key never leaves the
//! token: we hand it the SHA-256 digest (wrapped in a DigestInfo for RSA) and get the signature
//! back. Tested against SoftHSM2, which implements the same interface as the USB tokens
//! Vietnamese CAs issue and the network HSMs provinces run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rustls_pki_types::CertificateDer;

use crate::PkiError;
use crate::signer::{Algorithm, SHA256_DIGEST_INFO_PREFIX, Signer};

/// Where the key is: the module, the token, and the key on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Key {
    /// The vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so.
    pub module: PathBuf,
    /// The token's label (CKA_LABEL of the token).
    pub token_label: String,
    /// The private key's label (CKA_LABEL).
    pub key_label: String,
}

/// A signer whose key lives on a PKCS#11 token. One logged-in session, used one signature at a
/// time (tokens serialize signing anyway).
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    algorithm: Algorithm,
    chain: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

fn p11(what: &'static str) -> impl Fn(cryptoki::error::Error) -> PkiError {
    move |e| PkiError::Token(format!("{what}: {e}"))
}

/// One initialized context per module for the whole process: a library is initialized once and
/// shared by every key on it (finalizing it for one key would close the others' sessions).
fn context(module: &Path) -> Result<Pkcs11, PkiError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut all = CONTEXTS.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = all.get(module) {
        return Ok(c.clone());
    }
    let context = Pkcs11::new(module).map_err(p11("không nạp được thư viện PKCS#11"))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(p11("không khởi tạo được PKCS#11")(e)),
    }
    all.insert(module.to_owned(), context.clone());
    Ok(context)
}

impl Pkcs11Signer {
    /// Opens the token named in `key`, logs in with `pin`, finds the key, and pairs it with
    /// `chain` (the key's certificate first, as the CA issued it).
    pub fn open(key: &Pkcs11Key, pin: &str, chain: Vec<CertificateDer<'static>>) -> Result<Self, PkiError> {
        let first = chain.first().ok_or_else(|| PkiError::Invalid("không có chứng thư số nào đi kèm khóa".into()))?;
        let algorithm = crate::cert::key_algorithm(first)?;
        let context = context(&key.module)?;
        let slot = context
            .get_slots_with_token()
            .map_err(p11("không liệt kê được khe token"))?
            .into_iter()
            .find(|s| context.get_token_info(*s).is_ok_and(|t| t.label().trim_end() == key.token_label))
            .ok_or_else(|| PkiError::Token(format!("không thấy token có nhãn \"{}\"", key.token_label)))?;
        let session = context.open_ro_session(slot).map_err(p11("không mở được phiên làm việc với token"))?;
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(p11("đăng nhập token thất bại (sai mã PIN?)")(e)),
        }
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(key.key_label.as_bytes().to_vec()),
            ])
            .map_err(p11("không tìm được khóa trên token"))?;
        let handle = match found.as_slice() {
            [one] => *one,
            [] => return Err(PkiError::Token(format!("token không có khóa bí mật nhãn \"{}\"", key.key_label))),
            _ => return Err(PkiError::Token(format!("token có nhiều khóa bí mật nhãn \"{}\"", key.key_label))),
        };
        Ok(Self { session: Mutex::new(session), key: handle, algorithm, chain })
    }
}

impl Signer for Pkcs11Signer {
    fn certificate(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, PkiError> {
        let session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.algorithm {
            Algorithm::RsaPkcs1Sha256 => {
                let mut block = SHA256_DIGEST_INFO_PREFIX.to_vec();
                block.extend_from_slice(digest);
                session.sign(&Mechanism::RsaPkcs, self.key, &block).map_err(p11("token không ký được"))
            }
            Algorithm::EcdsaP256Sha256 => {
                // PKCS#11 returns r‖s; CMS wants the DER ECDSA-Sig-Value.
                let raw = session.sign(&Mechanism::Ecdsa, self.key, digest).map_err(p11("token không ký được"))?;
                let sig = p256::ecdsa::Signature::from_slice(&raw)
                    .map_err(|_| PkiError::Token("token trả về chữ ký ECDSA sai độ dài".into()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}
