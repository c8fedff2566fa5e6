//! The cryptography of two-step sign-in, all through libraries: TOTP codes with `totp-rs`
//! (SHA-1, 6 digits, 30 s, one step of clock skew: what authenticator apps use), secrets sealed
//! with AES-256-GCM and recovery codes hashed with HMAC-SHA-256 (aws-lc-rs).
//!
//! The key behind both lives outside the database (`[auth] mfa_key_file`, by default
//! `<data_dir>/mfa.key`; every node of a cluster is given the same file), so a copy of the
//! database alone yields neither a secret nor a way to test recovery codes offline. Each sealed
//! secret is bound to its account (the account id is the associated data), so secrets cannot be
//! swapped between rows.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use cqs_domain::identity::mfa::{RECOVERY_CODE_CHARS, RECOVERY_CODES, TOTP_PERIOD_SECS, recovery_code};
use rand::Rng;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

/// Bytes of a new TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// The node's key for two-step sign-in secrets (and the keyed hashes of one-time codes sent to
/// people). Debug output never shows it.
pub struct MfaKey {
    seal: RandomizedNonceKey,
    recovery: hmac::Key,
    one_time: hmac::Key,
}

impl std::fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKey(..)")
    }
}

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("không đọc/ghi được tệp khóa {0}: {1}")]
    Io(String, std::io::Error),
    #[error("tệp khóa {0} phải chứa đúng 64 chữ số thập lục phân")]
    Malformed(String),
}

impl MfaKey {
    /// A key from 32 bytes of master key material; the sealing and hashing keys are derived
    /// from it with HMAC under separate labels, so neither use weakens the other.
    pub fn from_bytes(master: &[u8; 32]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, master);
        let derive = |label: &[u8]| hmac::sign(&master, label);
        let seal = RandomizedNonceKey::new(&AES_256_GCM, derive(b"cqs mfa seal v1").as_ref())
            .expect("a 32-byte key fits AES-256-GCM");
        let recovery = hmac::Key::new(hmac::HMAC_SHA256, derive(b"cqs mfa recovery v1").as_ref());
        let one_time = hmac::Key::new(hmac::HMAC_SHA256, derive(b"cqs one-time code v1").as_ref());
        Self { seal, recovery, one_time }
    }

    /// A random key kept only in memory (tests, and nodes never configured: secrets then last
    /// only as long as the process, which `cqs serve` never does).
    pub fn ephemeral() -> Self {
        Self::from_bytes(&rand::rng().random())
    }

    /// Reads the key file, or creates it (owner-only) with a new random key if it is missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        let shown = path.display().to_string();
        let io = |e| KeyFileError::Io(shown.clone(), e);
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|_| KeyFileError::Malformed(shown.clone()))?;
                let key: [u8; 32] = bytes.try_into().map_err(|_| KeyFileError::Malformed(shown.clone()))?;
                Ok(Self::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let key: [u8; 32] = rand::rng().random();
                write_private(path, &format!("{}\n", hex::encode(key))).map_err(io)?;
                Ok(Self::from_bytes(&key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seals a TOTP secret for `user`: base64 of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, user: Uuid, secret: &[u8]) -> String {
        let mut buf = secret.to_vec();
        let nonce =
            self.seal.seal_in_place_append_tag(Aad::from(user.as_bytes()), &mut buf).expect("AES-GCM sealing works");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        STANDARD_NO_PAD.encode(out)
    }

    /// Opens a secret sealed for `user`; `None` if it was sealed for someone else, with another
    /// key, or changed.
    pub fn open(&self, user: Uuid, sealed: &str) -> Option<Vec<u8>> {
        let bytes = STANDARD_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = rest.to_vec();
        let plain = self.seal.open_in_place(nonce, Aad::from(user.as_bytes()), &mut buf).ok()?;
        Some(plain.to_vec())
    }

    /// What the store keeps of a recovery code (normalized, as `SecondFactor` gives it).
    pub fn recovery_hash(&self, user: Uuid, code: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.recovery);
        ctx.update(user.as_bytes());
        ctx.update(code.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }
}

impl MfaKey {
    /// What the store keeps of a one-time code sent to a person: six digits are few, so a plain
    /// hash would give them away to anyone with a copy of the database; a keyed one does not.
    pub fn one_time_code_hash(&self, purpose: &str, account: Uuid, code: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.one_time);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(account.as_bytes());
        ctx.update(code.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// A new random TOTP secret.
pub fn new_secret() -> Vec<u8> {
    rand::rng().random::<[u8; SECRET_BYTES]>().to_vec()
}

/// New recovery codes (normalized; show them with `display_recovery_code`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES).map(|_| recovery_code(rand::rng().random::<[u8; RECOVERY_CODE_CHARS]>())).collect()
}

/// The TOTP generator of a secret. `account` and `issuer` name it in the authenticator app.
pub fn totp(secret: &[u8], issuer: &str, account: &str) -> Totp {
    // A colon separates issuer and account in the otpauth label: keep it out of both.
    let clean = |s: &str| s.replace(':', " ");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(TOTP_PERIOD_SECS)
        .with_secret(Secret::from(secret.to_vec()))
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build()
        .expect("a 160-bit secret with RFC parameters builds")
}

/// What an authenticator app needs: the `otpauth://` URI (for the QR code) and the secret in
/// base32 (to type in by hand).
#[derive(Debug, Clone)]
pub struct Provisioning {
    pub uri: String,
    pub secret_base32: String,
}

pub fn provisioning(t: &Totp) -> Provisioning {
    Provisioning {
        uri: t.to_url().expect("the account name is set and has no colon"),
        secret_base32: t.secret().to_base32(),
    }
}

/// The step a code matches at `unix_secs` (this step, the one before or the one after), if any.
pub fn matching_step(t: &Totp, code: &str, unix_secs: u64) -> Option<u64> {
    t.check(code, unix_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_account_and_key() {
        let key = MfaKey::ephemeral();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let secret = new_secret();
        let sealed = key.seal(a, &secret);
        assert_ne!(sealed, key.seal(a, &secret), "a fresh nonce each time");
        assert_eq!(key.open(a, &sealed), Some(secret.clone()));
        assert_eq!(key.open(b, &sealed), None, "bound to the account");
        assert_eq!(MfaKey::ephemeral().open(a, &sealed), None, "another key");
        let mut tampered = STANDARD_NO_PAD.decode(&sealed).unwrap();
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(key.open(a, &STANDARD_NO_PAD.encode(tampered)), None);
        assert_eq!(key.open(a, "not base64!"), None);
        assert_ne!(key.recovery_hash(a, "abcd"), key.recovery_hash(b, "abcd"));
        assert_ne!(key.recovery_hash(a, "abcd"), MfaKey::ephemeral().recovery_hash(a, "abcd"));
    }

    #[test]
    fn key_files_are_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/mfa.key");
        let first = MfaKey::load_or_create(&path).unwrap();
        let sealed = first.seal(Uuid::nil(), b"secret");
        let again = MfaKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(Uuid::nil(), &sealed).as_deref(), Some(&b"secret"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(MfaKey::load_or_create(&path), Err(KeyFileError::Malformed(_))));
        assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).unwrap()));
    }

    #[test]
    fn codes_match_their_step_and_its_neighbours() {
        // RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" at 59 s gives 94287082
        // (8 digits); its last six digits are the 6-digit code.
        let t = totp(b"12345678901234567890", "Chính Quyền Số", "lanhdao.lacson");
        assert_eq!(matching_step(&t, "287082", 59), Some(1));
        assert_eq!(matching_step(&t, "287082", 59 + 30), Some(1), "one step of skew");
        assert_eq!(matching_step(&t, "287082", 59 + 90), None);
        let p = provisioning(&t);
        assert!(p.uri.starts_with("otpauth://totp/"), "{}", p.uri);
        assert!(p.uri.contains(&format!("secret={}", p.secret_base32)));
        assert_eq!(new_recovery_codes().len(), RECOVERY_CODES);
    }
}
