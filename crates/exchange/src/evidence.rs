//! Evidence of one exchange as a self-contained file: the record's exact bytes, the chain value
//! before it, the digests of the later records of its batch, the batch statement and the node's
//! signature. `cqs verify-evidence` checks the signature (with the key the statement names, or a
//! pinned one), the chain from the record to the signed head, and that the file is exactly the
//! canonical form of its content, so any changed byte fails.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
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
    #[error(transparent)]
    Store(#[from] cqs_store::StoreError),
}

/// Builds the evidence of the record `seq` of `node`.
pub async fn export(store: &dyn Store, node: &str, message_id: &str) -> Result<Evidence, EvidenceError> {
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
    Ok(Evidence {
        format: FORMAT.into(),
        record: String::from_utf8(row.record).map_err(|_| EvidenceError::Format("record".into()))?,
        prev: hex::encode(prev),
        later: later.iter().map(hex::encode).collect(),
        statement: batch.statement,
        signature: hex::encode(batch.signature),
    })
}

/// What a verified file proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub record: LogRecord,
    pub statement: BatchStatement,
}

/// Verifies a file's bytes; `trusted` pins the node keys accepted (hex), none = the one the
/// statement names (reported so it can be compared with the node's published key).
pub fn verify(bytes: &[u8], trusted: &[String]) -> Result<Verified, EvidenceError> {
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
    Ok(Verified { record, statement })
}
