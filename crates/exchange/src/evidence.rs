//! Evidence of one exchange as a self-contained file: the record's exact bytes, the chain value
//! before it, the digests of the later records of its batch, the batch statement and the node's
//! signature. `cqs verify-evidence` checks the signature (with the key the statement names, or a
//! pinned one), the chain from the record to the signed head, and that the file is exactly the
//! canonical form of its content, so any changed byte fails. When the batch was timestamped
//! (`stamp`), the file also carries the round's RFC 3161 token, its Merkle root and the batch's
//! audit path, and verification checks those too: the token's signature, that it covers the
//! round's imprint, and that the batch's statement is in the tree; with the authority's root
//! certificates given, also the authority's chain. When the node keeps bodies (`bodies`) and
//! the export asks for them, the file carries the request and response too, and verification
//! checks them against the hashes in the signed record.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cqs_domain::exchange::chain::{self, BatchStatement, Hash};
use cqs_store::Store;
use serde::{Deserialize, Serialize};

use crate::log::LogRecord;

pub const FORMAT: &str = "cqs-exchange-evidence/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub format: String,
    /// The record, as the exact JSON text the node chained.
    pub record: String,
    /// Chain value before the record (hex).
    pub prev: String,
    /// Digests of the later records of the batch (hex), in order.
    pub later: Vec<String>,
    /// The batch statement, as the exact JSON text the node signed.
    pub statement: String,
    /// Ed25519 signature of the statement (hex).
    pub signature: String,
    /// The RFC 3161 timestamp of the round holding the batch; absent when the batch was not
    /// stamped (no authority configured, or the export came before the round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// The exchange's bodies (base64), when kept and asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bodies: Option<Bodies>,
}

/// The request and response bodies of the exchange, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bodies {
    pub request: String,
    pub response: String,
}

/// A batch's place in a timestamp round (see `crate::stamp`). Every field is checked: the
/// token covers the round's imprint, made of the root and the leaf count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timestamp {
    /// The token, DER in base64.
    pub token: String,
    /// The round's Merkle root (hex).
    pub root: String,
    /// Leaves in the round, and the batch's leaf among them (from 0).
    pub leaves: u64,
    pub index: u64,
    /// Sibling hashes from the batch's leaf up to the root (hex).
    pub path: Vec<String>,
}

impl Evidence {
    /// The canonical bytes of the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("evidence serializes");
        v.push(b'\n');
        v
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("không tìm thấy bản ghi trao đổi {0}")]
    NotFound(String),
    #[error("tệp không đúng định dạng chứng cứ: {0}")]
    Format(String),
    #[error("tệp đã bị sửa: nội dung không ở dạng chuẩn")]
    NotCanonical,
    #[error("chữ ký của nút không hợp lệ")]
    Signature,
    #[error("khóa ký {0} không phải khóa được tin cậy")]
    UntrustedKey(String),
    #[error("bản ghi không khớp với lô đã ký: {0}")]
    Chain(#[from] chain::ChainError),
    #[error("lô không nằm trong vòng gắn dấu thời gian mà tệp nêu")]
    NotStamped,
    #[error("nội dung của trao đổi {0} không được lưu (hoặc đã hết thời hạn lưu)")]
    NoBodies(String),
    #[error(transparent)]
    Sealed(#[from] crate::bodies::BodyError),
    #[error("nội dung trong tệp không khớp với mã băm trong bản ghi đã ký")]
    BodiesDiffer,
    #[error(transparent)]
    Timestamp(#[from] cqs_pki::PkiError),

    #[error(transparent)]
    Store(#[from] cqs_store::StoreError),
}

/// Builds the evidence of the exchange `message_id` as logged by `node`; with `bodies`, the
/// kept bodies too (opened with those keys; an exchange without kept bodies is then an error).
pub async fn export(
    store: &dyn Store,
    node: &str,
    message_id: &str,
    bodies: Option<&crate::bodies::BodyKeys>,
) -> Result<Evidence, EvidenceError> {
    let row = store
        .log_rows(message_id)
        .await?
        .into_iter()
        .find(|r| r.node == node)
        .ok_or_else(|| EvidenceError::NotFound(message_id.to_owned()))?;
    let batch =
        store.log_batch(node, row.batch).await?.ok_or_else(|| EvidenceError::NotFound(message_id.to_owned()))?;
    let earlier = store.log_digests(node, batch.first_seq, row.seq - 1).await?;
    let first_prev = chain::parse_hash(
        &serde_json::from_str::<BatchStatement>(&batch.statement)
            .map_err(|e| EvidenceError::Format(e.to_string()))?
            .prev,
    )?;
    let mut prev = first_prev;
    for d in &earlier {
        let d: Hash = d.as_slice().try_into().map_err(|_| EvidenceError::Format("digest".into()))?;
        prev = chain::link(&prev, &d);
    }
    let later = store.log_digests(node, row.seq + 1, batch.last_seq).await?;
    // A round that cannot give its proof leaves the evidence without a timestamp rather than
    // without evidence: the signed chain stands on its own.
    let proof = crate::stamp::proof(store, node, row.batch).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, node, batch = row.batch, "timestamp proof of a log batch unavailable");
        None
    });
    let bodies = match bodies {
        None => None,
        Some(keys) => {
            let sealed = row.bodies.as_deref().ok_or_else(|| EvidenceError::NoBodies(message_id.to_owned()))?;
            let (request, response) = keys.open(node, row.seq, sealed)?;
            Some(Bodies { request: BASE64.encode(request), response: BASE64.encode(response) })
        }
    };
    let timestamp = proof.map(|p| Timestamp {
        token: BASE64.encode(&p.stamp.token),
        root: hex::encode(&p.stamp.root),
        leaves: p.size,
        index: p.index,
        path: p.path.iter().map(hex::encode).collect(),
    });
    Ok(Evidence {
        format: FORMAT.into(),
        record: String::from_utf8(row.record).map_err(|_| EvidenceError::Format("record".into()))?,
        prev: hex::encode(prev),
        later: later.iter().map(hex::encode).collect(),
        statement: batch.statement,
        signature: hex::encode(batch.signature),
        timestamp,
        bodies,
    })
}

/// What a verified file proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub record: LogRecord,
    pub statement: BatchStatement,
    /// The timestamp of the batch's round, when the file has one.
    pub stamped: Option<TimeStampToken>,
    /// Whether the file carried the bodies (then checked against the record's hashes).
    pub bodies: bool,
}

pub use cqs_pki::tsp::TimeStampToken;

/// Verifies a file's bytes; `trusted` pins the node keys accepted (hex), none = the one the
/// statement names (reported so it can be compared with the node's published key);
/// `tsa_roots` are the root certificates a timestamp's authority must chain to (none: the
/// token's own signature and imprint are still checked, but not who made it, so its time is
/// only as good as the file's source).
pub fn verify(
    bytes: &[u8],
    trusted: &[String],
    tsa_roots: &[cqs_pki::CertificateDer<'_>],
) -> Result<Verified, EvidenceError> {
    let ev: Evidence = serde_json::from_slice(bytes).map_err(|e| EvidenceError::Format(e.to_string()))?;
    if ev.to_bytes() != bytes {
        return Err(EvidenceError::NotCanonical);
    }
    if ev.format != FORMAT {
        return Err(EvidenceError::Format(format!("định dạng {}", ev.format)));
    }
    let statement: BatchStatement =
        serde_json::from_str(&ev.statement).map_err(|e| EvidenceError::Format(e.to_string()))?;
    if serde_json::to_string(&statement).ok().as_deref() != Some(ev.statement.as_str()) {
        return Err(EvidenceError::NotCanonical);
    }
    if !trusted.is_empty() && !trusted.iter().any(|k| k.eq_ignore_ascii_case(&statement.key)) {
        return Err(EvidenceError::UntrustedKey(statement.key.clone()));
    }
    let key = hex::decode(&statement.key).map_err(|_| EvidenceError::Signature)?;
    let sig = hex::decode(&ev.signature).map_err(|_| EvidenceError::Signature)?;
    if hex::encode(&sig) != ev.signature {
        return Err(EvidenceError::NotCanonical);
    }
    UnparsedPublicKey::new(&ED25519, &key)
        .verify(ev.statement.as_bytes(), &sig)
        .map_err(|_| EvidenceError::Signature)?;
    let record: LogRecord = serde_json::from_str(&ev.record).map_err(|e| EvidenceError::Format(e.to_string()))?;
    if serde_json::to_string(&record).ok().as_deref() != Some(ev.record.as_str()) || record.node != statement.node {
        return Err(EvidenceError::NotCanonical);
    }
    let prev = chain::parse_hash(&ev.prev)?;
    let later = ev.later.iter().map(|h| chain::parse_hash(h)).collect::<Result<Vec<_>, _>>()?;
    if hex::encode(prev) != ev.prev || later.iter().zip(&ev.later).any(|(h, s)| hex::encode(h) != *s) {
        return Err(EvidenceError::NotCanonical);
    }
    chain::check_inclusion(&statement, record.seq, &prev, &chain::digest(ev.record.as_bytes()), &later)?;
    let stamped = ev.timestamp.as_ref().map(|t| verify_timestamp(t, &ev.statement, tsa_roots)).transpose()?;
    if let Some(b) = &ev.bodies {
        verify_bodies(b, &record)?;
    }
    Ok(Verified { record, statement, stamped, bodies: ev.bodies.is_some() })
}

/// Checks that the bodies are the ones whose hashes and sizes the signed record holds.
fn verify_bodies(b: &Bodies, record: &LogRecord) -> Result<(), EvidenceError> {
    use sha2::Digest;
    let decode = |s: &str| {
        let bytes = BASE64.decode(s).map_err(|_| EvidenceError::Format("bodies".into()))?;
        if BASE64.encode(&bytes) != s {
            return Err(EvidenceError::NotCanonical);
        }
        Ok(bytes)
    };
    let (request, response) = (decode(&b.request)?, decode(&b.response)?);
    let same =
        |body: &[u8], sha: &str, len: u64| hex::encode(sha2::Sha256::digest(body)) == sha && body.len() as u64 == len;
    if same(&request, &record.request_body_sha256, record.request_bytes)
        && same(&response, &record.response_body_sha256, record.response_bytes)
    {
        Ok(())
    } else {
        Err(EvidenceError::BodiesDiffer)
    }
}

/// Checks that `t` puts the statement in a round whose root its token covers.
fn verify_timestamp(
    t: &Timestamp,
    statement: &str,
    tsa_roots: &[cqs_pki::CertificateDer<'_>],
) -> Result<TimeStampToken, EvidenceError> {
    let root = chain::parse_hash(&t.root)?;
    let path = t.path.iter().map(|h| chain::parse_hash(h)).collect::<Result<Vec<_>, _>>()?;
    let token = BASE64.decode(&t.token).map_err(|_| EvidenceError::Format("token".into()))?;
    if hex::encode(root) != t.root
        || path.iter().zip(&t.path).any(|(h, s)| hex::encode(h) != *s)
        || BASE64.encode(&token) != t.token
    {
        return Err(EvidenceError::NotCanonical);
    }
    if !crate::stamp::included(&crate::stamp::leaf(statement), t.index, t.leaves, &path, &root) {
        return Err(EvidenceError::NotStamped);
    }
    Ok(cqs_pki::tsp::verify_token(&token, &crate::stamp::imprint(&root, t.leaves), tsa_roots)?)
}
