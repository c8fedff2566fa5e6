//! Keeping the bodies of mediated exchanges, encrypted at rest (off unless `keep_bodies`).
//!
//! The signed log holds only the bodies' SHA-256; a province that must be able to show *what*
//! was exchanged (a dispute, an inspection) turns body keeping on. Each record's request and
//! response are then sealed together with AES-256-GCM (aws-lc-rs) under the node's body key,
//! and stored beside the record. The record's node and number are the associated data, so a
//! sealed blob cannot be moved to another record; the key's id is in the blob, so old keys can
//! still open what they sealed after the key is rotated. Bodies may be kept for less time than
//! the log itself (`body_retention_days`): forgetting them leaves the signed chain intact.
//!
//! Blob: `CQB1` | key id (8 bytes) | nonce (12) | sealed(request length as u64 BE | request |
//! response) with its 16-byte tag. Nonces are random: with 96 bits, one key should seal no
//! more than about 2^32 blobs, so rotate the key (a new file; list the old one under
//! `body_old_key_files`) well before that.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use sha2::Digest;

const MAGIC: &[u8; 4] = b"CQB1";
const KEY_ID_LEN: usize = 8;
const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + NONCE_LEN;
const TAG_LEN: usize = 16;
/// Bytes of key material in a key file.
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("nội dung lưu không đúng định dạng")]
    Format,
    #[error("không có khóa {0} để mở nội dung đã lưu (khóa cũ cần được khai báo trong body_old_key_files)")]
    UnknownKey(String),
    #[error("nội dung lưu đã bị sửa hoặc không thuộc bản ghi này")]
    Tampered,
}

/// One body key: the AES-256 key and its id.
pub struct BodyKey {
    id: [u8; KEY_ID_LEN],
    key: LessSafeKey,
}

impl BodyKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let digest = sha2::Sha256::new().chain_update(b"cqs-exchange-body-key/1\0").chain_update(bytes).finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).ok()?);
        Some(Self { id, key })
    }

    /// Reads a key file, creating it (owner-only) with fresh random bytes when `create` and it
    /// does not exist.
    pub fn load(path: &Path, create: bool) -> std::io::Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
                let mut fresh = [0u8; KEY_LEN];
                SystemRandom::new().fill(&mut fresh).map_err(|_| std::io::Error::other("không tạo được khóa"))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::log::write_private(path, &fresh)?;
                fresh.to_vec()
            }
            Err(e) => return Err(e),
        };
        Self::from_bytes(&bytes).ok_or_else(|| {
            std::io::Error::other(format!("khóa mã hóa nội dung {} phải dài đúng {KEY_LEN} byte", path.display()))
        })
    }

    /// The key's id as shown to operators.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }
}

/// The key that seals new bodies and every key that may open old ones.
pub struct BodyKeys {
    current: BodyKey,
    old: Vec<BodyKey>,
}

fn aad(node: &str, seq: i64) -> Vec<u8> {
    let mut a = Vec::with_capacity(32 + node.len());
    a.extend_from_slice(b"cqs-exchange-bodies/1\0");
    a.extend_from_slice(node.as_bytes());
    a.push(0);
    a.extend_from_slice(&seq.to_be_bytes());
    a
}

impl BodyKeys {
    pub fn new(current: BodyKey, old: Vec<BodyKey>) -> Self {
        Self { current, old }
    }

    /// Seals the bodies of record `seq` of `node`.
    pub fn seal(&self, node: &str, seq: i64, request: &[u8], response: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system's random source works");
        let mut out = Vec::with_capacity(HEADER_LEN + 8 + request.len() + response.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        let mut sealed = Vec::with_capacity(8 + request.len() + response.len() + TAG_LEN);
        sealed.extend_from_slice(&(request.len() as u64).to_be_bytes());
        sealed.extend_from_slice(request);
        sealed.extend_from_slice(response);
        self.current
            .key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(node, seq)), &mut sealed)
            .expect("AES-GCM seals any length the gateway allows");
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`BodyKeys::seal`] sealed for record `seq` of `node`: (request, response).
    pub fn open(&self, node: &str, seq: i64, blob: &[u8]) -> Result<(Vec<u8>, Vec<u8>), BodyError> {
        if blob.len() < HEADER_LEN + TAG_LEN + 8 || &blob[..MAGIC.len()] != MAGIC {
            return Err(BodyError::Format);
        }
        let id = &blob[MAGIC.len()..MAGIC.len() + KEY_ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == id)
            .ok_or_else(|| BodyError::UnknownKey(hex::encode(id)))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[MAGIC.len() + KEY_ID_LEN..HEADER_LEN]);
        let mut sealed = blob[HEADER_LEN..].to_vec();
        let plain = key
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad(node, seq)), &mut sealed)
            .map_err(|_| BodyError::Tampered)?;
        let (len, rest) = plain.split_at(8);
        let len = usize::try_from(u64::from_be_bytes(len.try_into().map_err(|_| BodyError::Format)?))
            .map_err(|_| BodyError::Format)?;
        if len > rest.len() {
            return Err(BodyError::Format);
        }
        let (request, response) = rest.split_at(len);
        Ok((request.to_vec(), response.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> BodyKeys {
        BodyKeys::new(BodyKey::from_bytes(&[byte; KEY_LEN]).unwrap(), Vec::new())
    }

    #[test]
    fn bodies_open_only_for_their_record_and_with_their_key() {
        let k = keys(7);
        let blob = k.seal("node-a", 42, b"{\"so\":\"123\"}", b"");
        assert_eq!(k.open("node-a", 42, &blob).unwrap(), (b"{\"so\":\"123\"}".to_vec(), Vec::new()));
        assert!(!blob.windows(5).any(|w| w == b"\"so\":"), "the request is not readable at rest");
        assert_eq!(k.open("node-a", 43, &blob), Err(BodyError::Tampered), "moved to another record");
        assert_eq!(k.open("node-b", 42, &blob), Err(BodyError::Tampered), "moved to another node");
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert!(k.open("node-a", 42, &bad).is_err(), "byte {i} changed and still opened");
        }
        assert!(matches!(keys(8).open("node-a", 42, &blob), Err(BodyError::UnknownKey(_))));
        assert_eq!(k.open("node-a", 42, &blob[..10]), Err(BodyError::Format));
        // After rotation the old key, listed as old, still opens what it sealed.
        let rotated = BodyKeys::new(
            BodyKey::from_bytes(&[8; KEY_LEN]).unwrap(),
            vec![BodyKey::from_bytes(&[7; KEY_LEN]).unwrap()],
        );
        assert_eq!(rotated.open("node-a", 42, &blob).unwrap().0, b"{\"so\":\"123\"}");
        let newer = rotated.seal("node-a", 43, b"a", b"b");
        assert_eq!(&newer[4..12], &BodyKey::from_bytes(&[8; KEY_LEN]).unwrap().id[..], "new blobs use the new key");
    }

    #[test]
    fn each_seal_takes_a_fresh_nonce() {
        let k = keys(1);
        assert_ne!(k.seal("n", 1, b"x", b"y"), k.seal("n", 1, b"x", b"y"));
    }

    #[test]
    fn a_key_file_is_created_once_and_must_hold_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exchange").join("body.key");
        let a = BodyKey::load(&path, true).unwrap();
        let b = BodyKey::load(&path, true).unwrap();
        assert_eq!(a.id_hex(), b.id_hex(), "the second start reads the same key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("short.key"), [1u8; 16]).unwrap();
        assert!(BodyKey::load(&dir.path().join("short.key"), false).is_err());
        assert!(BodyKey::load(&dir.path().join("missing.key"), false).is_err(), "a named key is never invented");
    }

    proptest::proptest! {
        #[test]
        fn any_bodies_round_trip(req in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                                 resp in proptest::collection::vec(proptest::num::u8::ANY, 0..300), seq in 1i64..1_000_000) {
            let k = keys(3);
            let blob = k.seal("n", seq, &req, &resp);
            proptest::prop_assert_eq!(k.open("n", seq, &blob).unwrap(), (req, resp));
        }
    }
}
