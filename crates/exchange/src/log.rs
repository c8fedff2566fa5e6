//! The message log. Every exchange that reached a provider is a record (metadata and body
//! hashes, never bodies) appended to this node's hash chain and sealed in a signed batch. With
//! `keep_bodies`, the bodies are stored beside the record, encrypted (`bodies`).
//!
//! Write path: calls put their record on a bounded queue (`log_queue`); one writer task takes
//! whatever is waiting (up to `log_batch_max`), numbers and chains the records, signs the batch
//! statement once and writes batch and records in one transaction (group commit), then releases
//! the calls. A call answers its client only after its record is committed, so what a node
//! guarantees when it crashes is: every answer a client received is in the log; an exchange
//! whose record was not yet committed was never answered (the client saw the connection drop,
//! although the provider may have acted on it). A full queue makes calls wait rather than drop
//! records. Many concurrent calls share one transaction and one signature, which is why logging
//! does not cap throughput.

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use cqs_domain::exchange::chain::{self, BatchStatement, GENESIS, Hash};
use cqs_store::Store;
use cqs_store::exchange::{LogBatch, LogRow};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::bodies::BodyKeys;

/// One logged exchange, stored as these exact JSON bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRecord {
    pub v: u32,
    pub node: String,
    pub seq: i64,
    /// When the provider's answer arrived (RFC 3339, UTC).
    pub at: String,
    pub message_id: String,
    pub request_id: String,
    pub client: String,
    pub service: String,
    pub method: String,
    pub path: String,
    pub user_id: Option<String>,
    pub issue: Option<String>,
    /// `X-Road-Request-Hash` as sent to the client.
    pub request_hash: String,
    /// SHA-256 of the request body and of the response body (hex).
    pub request_body_sha256: String,
    pub request_bytes: u64,
    pub status: u16,
    pub response_body_sha256: String,
    pub response_bytes: u64,
    pub duration_us: u64,
    /// The federation peer the call came from or went to; absent for a call within this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// What a call hands the log (the writer adds node and number).
pub type Entry = LogRecord;

/// The node's signing key and identity.
pub struct NodeKey {
    pub node: String,
    pair: Ed25519KeyPair,
}

impl NodeKey {
    /// Loads `<dir>/node.key` (PKCS#8) and `<dir>/node-id`, creating them on first start.
    pub fn load_or_create(dir: &Path, instance: &str, node_id: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key_path = dir.join("node.key");
        let pkcs8 = match std::fs::read(&key_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
                    .map_err(|_| std::io::Error::other("không tạo được khóa ký"))?;
                write_private(&key_path, doc.as_ref())?;
                doc.as_ref().to_vec()
            }
            Err(e) => return Err(e),
        };
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| std::io::Error::other("khóa ký của nút bị hỏng"))?;
        let id_path = dir.join("node-id");
        let node = if !node_id.is_empty() {
            node_id.to_owned()
        } else {
            match std::fs::read_to_string(&id_path) {
                Ok(s) if !s.trim().is_empty() => s.trim().to_owned(),
                _ => {
                    let id = format!("{instance}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
                    std::fs::write(&id_path, &id)?;
                    id
                }
            }
        };
        Ok(Self { node, pair })
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }

    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.pair.sign(bytes).as_ref().to_vec()
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A record to log, the bodies to keep with it (when kept), and who waits for its commit.
type Job = (Entry, Option<(Bytes, Bytes)>, oneshot::Sender<Result<(), ()>>);

/// The handle calls append through.
#[derive(Clone)]
pub struct MessageLog {
    tx: mpsc::Sender<Job>,
    pub node: String,
    pub key_hex: String,
    /// The keys bodies are sealed and opened with; `None` when bodies are not kept.
    pub bodies: Option<Arc<BodyKeys>>,
}

impl MessageLog {
    /// Starts the writer for `key`'s node on `store`.
    pub async fn start(
        store: Arc<dyn Store>,
        key: NodeKey,
        queue: usize,
        batch_max: usize,
        bodies: Option<Arc<BodyKeys>>,
    ) -> cqs_store::Result<Self> {
        let head = store.log_head(&key.node).await?;
        let (tx, rx) = mpsc::channel(queue.max(1));
        let handle = Self { tx, node: key.node.clone(), key_hex: key.public_hex(), bodies: bodies.clone() };
        tokio::spawn(run(store, rx, key, head, batch_max.max(1), bodies));
        Ok(handle)
    }

    /// Appends a record and waits until it is committed. `bodies` (request, response) are kept,
    /// sealed, only when this log keeps bodies.
    pub async fn append(&self, entry: Entry, bodies: Option<(Bytes, Bytes)>) -> Result<(), ()> {
        let (done, wait) = oneshot::channel();
        let bodies = bodies.filter(|_| self.bodies.is_some());
        self.tx.send((entry, bodies, done)).await.map_err(|_| ())?;
        wait.await.map_err(|_| ())?
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The head the chain continues from: (last seq, last batch, chain value).
type Head = (i64, i64, Hash);

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    key: NodeKey,
    head: Option<(i64, i64, Vec<u8>)>,
    max: usize,
    bodies: Option<Arc<BodyKeys>>,
) {
    let mut head: Head = match head {
        Some((seq, batch, h)) => (seq, batch, h.try_into().unwrap_or(GENESIS)),
        None => (0, 0, GENESIS),
    };
    let key_hex = key.public_hex();
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        drain(&mut rx, &mut jobs, max);
        // How many calls share a commit: under load, those that arrived during the last one.
        metrics::histogram!("cqs_exchange_log_batch_records").record(jobs.len() as f64);
        let mut result = Err(());
        for _attempt in 0..3 {
            let (batch, next) = seal(&key, &key_hex, head, &mut jobs, bodies.as_deref());
            match store.append_log_batch(&batch).await {
                Ok(()) => {
                    head = next;
                    result = Ok(());
                    break;
                }
                Err(cqs_store::StoreError::Conflict(_)) => {
                    // Another process logs under this node id: continue from the stored head.
                    tracing::warn!(node = %key.node, "message log head moved; re-chaining the batch");
                    if let Ok(Some((seq, b, h))) = store.log_head(&key.node).await {
                        head = (seq, b, h.try_into().unwrap_or(GENESIS));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, records = jobs.len(), "message log batch not written; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        for (_, _, done) in jobs {
            let _ = done.send(result);
        }
    }
}

/// Takes what is waiting, up to `max` jobs in all.
fn drain(rx: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>, max: usize) {
    while jobs.len() < max {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
}

/// Numbers, chains and signs a batch after `head`.
fn seal(key: &NodeKey, key_hex: &str, head: Head, jobs: &mut [Job], keys: Option<&BodyKeys>) -> (LogBatch, Head) {
    let (mut seq, batch, prev) = (head.0, head.1 + 1, head.2);
    let mut h = prev;
    let mut rows = Vec::with_capacity(jobs.len());
    for (record, kept, _) in jobs.iter_mut() {
        seq += 1;
        // Numbered in place: a batch sealed again after a conflict renumbers the same entries.
        record.v = 1;
        record.seq = seq;
        if record.node != key.node {
            record.node.clone_from(&key.node);
        }
        let bytes = serde_json::to_vec(&*record).expect("records serialize");
        let digest = chain::digest(&bytes);
        h = chain::link(&h, &digest);
        rows.push(LogRow {
            node: key.node.clone(),
            seq,
            batch,
            at: DateTime::parse_from_rfc3339(&record.at).map(|t| t.with_timezone(&Utc)).unwrap_or_else(|_| Utc::now()),
            message_id: record.message_id.clone(),
            client: record.client.clone(),
            service: record.service.clone(),
            status: i32::from(record.status),
            record: bytes,
            digest: digest.to_vec(),
            bodies: keys.zip(kept.as_ref()).map(|(k, (req, resp))| k.seal(&key.node, seq, req, resp)),
        });
    }
    let sealed_at = Utc::now();
    let statement = BatchStatement {
        v: 1,
        node: key.node.clone(),
        key: key_hex.to_owned(),
        batch,
        first_seq: head.0 + 1,
        last_seq: seq,
        prev: hex::encode(prev),
        head: hex::encode(h),
        sealed_at: rfc3339(sealed_at),
    };
    let statement = serde_json::to_string(&statement).expect("statements serialize");
    let signature = key.sign(statement.as_bytes());
    let b = LogBatch {
        node: key.node.clone(),
        batch,
        first_seq: head.0 + 1,
        last_seq: seq,
        head: h.to_vec(),
        statement,
        signature,
        sealed_at,
        records: rows,
    };
    (b, (seq, batch, h))
}

/// `at` as a record writes it.
pub fn record_time(at: DateTime<Utc>) -> String {
    rfc3339(at)
}
