//! The message log's evidence rules. Each node keeps one chain: record `i` is stored as bytes,
//! its digest is `D_i = SHA-256(bytes)`, and the chain value is
//! `H_i = SHA-256("cqs-exchange-log/1" ‖ H_{i-1} ‖ D_i)` from `H_0` = 32 zero bytes. The node
//! seals records in batches: a batch statement names the node, the batch, its first and last
//! record and the chain values before and after it, and the node signs the statement's exact
//! bytes (and an RFC 3161 authority may timestamp the signature). Proving one record then needs
//! the record, the chain value before it, the digests of the later records of its batch, the
//! statement and its signature: nothing else, so evidence can be exported one exchange at a time.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

pub type Hash = [u8; 32];

pub const GENESIS: Hash = [0; 32];
const DOMAIN: &[u8] = b"cqs-exchange-log/1";

pub fn digest(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

pub fn link(prev: &Hash, digest: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    h.update(digest);
    h.finalize().into()
}

/// The chain value after `digests`, starting from `prev`.
pub fn walk<'a>(prev: &Hash, digests: impl IntoIterator<Item = &'a Hash>) -> Hash {
    digests.into_iter().fold(*prev, |h, d| link(&h, d))
}

/// What a node signs for a batch. Serialized once with serde_json and kept as those bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchStatement {
    /// Format version, 1.
    pub v: u32,
    /// The node that kept the log (its configured node id).
    pub node: String,
    /// The node's signing key (hex of the Ed25519 public key).
    pub key: String,
    pub batch: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    /// Chain value before the first record (hex).
    pub prev: String,
    /// Chain value after the last record (hex).
    pub head: String,
    /// When the batch was sealed (RFC 3339, UTC).
    pub sealed_at: String,
}

/// Why a record does not belong to a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("bản ghi không thuộc lô được ký (số thứ tự {seq} ngoài {first}–{last})")]
    OutsideBatch { seq: i64, first: i64, last: i64 },
    #[error("số mã băm của các bản ghi sau không khớp với lô ({got}, cần {want})")]
    WrongTail { got: usize, want: usize },
    #[error("chuỗi băm không khớp với giá trị đã ký của lô")]
    HeadMismatch,
    #[error("giá trị băm không hợp lệ")]
    BadHex,
}

pub fn parse_hash(hex_str: &str) -> Result<Hash, ChainError> {
    let v = hex::decode(hex_str).map_err(|_| ChainError::BadHex)?;
    v.try_into().map_err(|_| ChainError::BadHex)
}

/// Checks that the record with digest `record` and number `seq`, preceded by `prev` and followed
/// by `later` in its batch, yields the head the statement names.
pub fn check_inclusion(
    statement: &BatchStatement,
    seq: i64,
    prev: &Hash,
    record: &Hash,
    later: &[Hash],
) -> Result<(), ChainError> {
    if seq < statement.first_seq || seq > statement.last_seq {
        return Err(ChainError::OutsideBatch { seq, first: statement.first_seq, last: statement.last_seq });
    }
    let want = usize::try_from(statement.last_seq - seq).map_err(|_| ChainError::BadHex)?;
    if later.len() != want {
        return Err(ChainError::WrongTail { got: later.len(), want });
    }
    let head = walk(&link(prev, record), later);
    if head != parse_hash(&statement.head)? {
        return Err(ChainError::HeadMismatch);
    }
    if seq == statement.first_seq && *prev != parse_hash(&statement.prev)? {
        return Err(ChainError::HeadMismatch);
    }
    Ok(())
}

/// `X-Road-Request-Hash` (PR-REST 4.3): SHA-512(SHA-512(headers) ‖ SHA-512(body)), or
/// SHA-512(headers) without a body. The headers are the request line and the headers that define
/// the call, one per line in a fixed order (`METHOD path?query`, then `x-road-client`,
/// `x-road-service`, `x-road-id`, `x-road-userid`, `x-road-issue`, `content-type` with their
/// values, absent ones skipped), so both nodes of a federated call compute the same value.
pub fn request_hash(request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(request_line.as_bytes());
    h.update(b"\n");
    for (k, v) in headers {
        h.update(k.as_bytes());
        h.update(b": ");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    let head: [u8; 64] = h.finalize().into();
    if body.is_empty() {
        return head;
    }
    let mut outer = Sha512::new();
    outer.update(head);
    outer.update(Sha512::digest(body));
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn statement(prev: Hash, digests: &[Hash], first: i64) -> BatchStatement {
        BatchStatement {
            v: 1,
            node: "n1".into(),
            key: "00".into(),
            batch: 1,
            first_seq: first,
            last_seq: first + digests.len() as i64 - 1,
            prev: hex::encode(prev),
            head: hex::encode(walk(&prev, digests)),
            sealed_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    proptest! {
        /// Every record of a batch proves inclusion with its own tail, and a changed record,
        /// changed tail digest or wrong predecessor never does.
        #[test]
        fn inclusion(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..12), start in any::<[u8; 32]>(), flip in any::<usize>()) {
            let digests: Vec<Hash> = records.iter().map(|r| digest(r)).collect();
            let st = statement(start, &digests, 10);
            let mut prev = start;
            for (i, d) in digests.iter().enumerate() {
                let seq = 10 + i as i64;
                prop_assert!(check_inclusion(&st, seq, &prev, d, &digests[i + 1..]).is_ok());
                let mut bad = *d;
                bad[flip % 32] ^= 1;
                prop_assert!(check_inclusion(&st, seq, &prev, &bad, &digests[i + 1..]).is_err());
                let mut bad_prev = prev;
                bad_prev[flip % 32] ^= 0x80;
                prop_assert!(check_inclusion(&st, seq, &bad_prev, d, &digests[i + 1..]).is_err());
                if i + 1 < digests.len() {
                    let mut tail = digests[i + 1..].to_vec();
                    tail[0][flip % 32] ^= 4;
                    prop_assert!(check_inclusion(&st, seq, &prev, d, &tail).is_err());
                }
                prev = link(&prev, d);
            }
            prop_assert!(check_inclusion(&st, 9, &start, &digests[0], &digests[1..]).is_err());
        }
    }

    #[test]
    fn request_hash_binds_headers_and_body() {
        let h = |line: &str, body: &[u8]| request_hash(line, &[("x-road-client", "A/B/C/D")], body);
        assert_ne!(h("GET /a", b""), h("GET /b", b""));
        assert_ne!(h("POST /a", b"1"), h("POST /a", b"2"));
        assert_eq!(h("POST /a", b"1"), h("POST /a", b"1"));
        assert_ne!(request_hash("GET /a", &[], b""), h("GET /a", b""));
    }
}
