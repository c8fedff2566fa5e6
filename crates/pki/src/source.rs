//! Where an agency's signing key comes from, as configuration names it: PEM files, a PKCS#12
//! file, or a PKCS#11 token. Passwords and PINs are read from environment variables named in
//! the configuration, never written in it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::signer::{SoftwareSigner, self_test};
use crate::{PkiError, Signer};

/// How to load one signing key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySource {
    /// A PEM certificate chain (signer first) and a PEM private key.
    Pem { certificate: PathBuf, key: PathBuf },
    /// A PKCS#12 (.p12/.pfx) file; its password is in the environment variable `password_env`.
    Pkcs12 { file: PathBuf, password_env: String },
    /// A key on a PKCS#11 token; its certificate chain in a PEM file; the user PIN in the
    /// environment variable `pin_env`.
    Pkcs11 { module: PathBuf, token_label: String, key_label: String, certificate: PathBuf, pin_env: String },
}

fn secret(var: &str) -> Result<String, PkiError> {
    std::env::var(var).map_err(|_| PkiError::Invalid(format!("chưa đặt biến môi trường {var} (mật khẩu hoặc mã PIN)")))
}

impl KeySource {
    /// Loads the key and checks it by signing a test digest with it.
    pub fn load(&self) -> Result<Arc<dyn Signer>, PkiError> {
        let signer: Arc<dyn Signer> = match self {
            KeySource::Pem { certificate, key } => {
                let chain = crate::cert::certificates_from_pem(&crate::cert::read(certificate)?)?;
                let key = crate::cert::private_key_from_pem(&crate::cert::read(key)?)?;
                Arc::new(SoftwareSigner::new(&key, chain)?)
            }
            KeySource::Pkcs12 { file, password_env } => {
                Arc::new(crate::pkcs12::load(&crate::cert::read(file)?, &secret(password_env)?)?)
            }
            KeySource::Pkcs11 { module, token_label, key_label, certificate, pin_env } => {
                let chain = crate::cert::certificates_from_pem(&crate::cert::read(certificate)?)?;
                let key = crate::pkcs11::Pkcs11Key {
                    module: module.clone(),
                    token_label: token_label.clone(),
                    key_label: key_label.clone(),
                };
                Arc::new(crate::pkcs11::Pkcs11Signer::open(&key, &secret(pin_env)?, chain)?)
            }
        };
        self_test(signer.as_ref())?;
        Ok(signer)
    }
}
