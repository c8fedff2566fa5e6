//! RFC 3161 timestamps of the message log, in rounds. A node signs each batch itself; a
//! timestamp authority (TSA) adds a date nobody at the node can move. Asking the authority once
//! per batch would tie the log's pace to it, so every `timestamp_interval_secs` the batches
//! sealed since the last round become the leaves of an RFC 6962 Merkle tree (leaf value: the
//! SHA-256 of the batch's signed statement) and the authority signs the round's imprint once:
//! SHA-256 of a label, the leaf count and the tree's root, so that the count is bound too (an
//! RFC 6962 audit path alone fits more than one tree size). The evidence of one exchange then
//! carries its batch's audit path (a few hashes), the root, the count and the token, and proves
//! the batch existed at the token's time without the rest of the round.
//!
//! A round that fails (authority unreachable, bad answer) is retried whole at the next tick;
//! batches wait unstamped meanwhile, and nothing else waits for them.

use std::sync::Arc;
use std::time::Duration;

use cqs_domain::exchange::chain::{self, Hash};
use cqs_pki::tsp::{TimeStampToken, TsaClient};
use cqs_store::Store;
use cqs_store::exchange::LogStamp;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{InclusionProof, RootHash};

/// The tree's hash: SHA-256, as the statements' own digests.
type TreeHash = sha2_next::Sha256;

/// Most batches in one round (one authority call); a backlog takes several rounds.
pub const ROUND_MAX: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error(transparent)]
    Store(#[from] cqs_store::StoreError),
    #[error(transparent)]
    Tsa(#[from] cqs_pki::PkiError),
    #[error("dữ liệu dấu thời gian của nhật ký bị hỏng: {0}")]
    Corrupt(&'static str),
}

/// The leaf value of a batch.
pub fn leaf(statement: &str) -> Hash {
    chain::digest(statement.as_bytes())
}

fn tree(leaves: &[Hash]) -> MemoryBackedTree<TreeHash, Hash> {
    let mut t = MemoryBackedTree::new();
    for l in leaves {
        t.push(*l);
    }
    t
}

/// The root of the tree over `leaves` (not empty).
pub fn root(leaves: &[Hash]) -> Hash {
    tree(leaves).root().as_bytes().as_slice().try_into().expect("SHA-256 roots are 32 bytes")
}

/// The audit path of leaf `index` among `leaves`, sibling hashes from the leaf up.
pub fn audit_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let proof = tree(leaves).prove_inclusion(index);
    proof.as_bytes().chunks(32).map(|c| c.try_into().expect("32-byte hashes")).collect()
}

/// What the authority signs for a round: the tree's root with its leaf count.
pub fn imprint(root: &Hash, size: u64) -> Hash {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(b"cqs-exchange-log-round/1\0");
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(root);
    chain::digest(&bytes)
}

/// Whether `leaf` is leaf `index` of the tree of `size` leaves with this root, by `path`. Sizes
/// no round can have are refused before the tree arithmetic sees them (they come from files).
pub fn included(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if size == 0 || size > ROUND_MAX as u64 || index >= size {
        return false;
    }
    let proof = InclusionProof::<TreeHash>::from_bytes(path.concat());
    RootHash::<TreeHash>::new((*root).into(), size).verify_inclusion(leaf, index, &proof).is_ok()
}

fn split(leaves: &[u8]) -> Result<Vec<Hash>, StampError> {
    if leaves.is_empty() || !leaves.len().is_multiple_of(32) {
        return Err(StampError::Corrupt("danh sách lá"));
    }
    Ok(leaves.chunks(32).map(|c| c.try_into().expect("32-byte chunks")).collect())
}

/// What the evidence of a batch needs from its round.
pub struct Proof {
    pub stamp: LogStamp,
    pub index: u64,
    pub size: u64,
    pub path: Vec<Hash>,
}

/// The proof that `batch` of `node` was stamped, if its round exists.
pub async fn proof(store: &dyn Store, node: &str, batch: i64) -> Result<Option<Proof>, StampError> {
    let Some(stamp) = store.log_stamp(node, batch).await? else { return Ok(None) };
    let leaves = split(&stamp.leaves)?;
    let index = usize::try_from(batch - stamp.first_batch).map_err(|_| StampError::Corrupt("số lô"))?;
    if leaves.len() as i64 != stamp.last_batch - stamp.first_batch + 1 || index >= leaves.len() {
        return Err(StampError::Corrupt("số lá không khớp số lô"));
    }
    let path = audit_path(&leaves, index);
    Ok(Some(Proof { index: index as u64, size: leaves.len() as u64, path, stamp }))
}

/// Stamps one round: the batches of `node` sealed since its last round (at most
/// [`ROUND_MAX`]). Returns the round, or none when nothing was waiting.
pub async fn stamp_round(store: &dyn Store, tsa: &TsaClient, node: &str) -> Result<Option<LogStamp>, StampError> {
    let mut batches = store.log_unstamped(node, ROUND_MAX).await?;
    // A round is a run of consecutive batches (its leaves are found by batch number); a gap
    // (never expected: batch numbers are dense) ends the round and the rest waits.
    if let Some(gap) = batches.windows(2).position(|w| w[1].0 != w[0].0 + 1) {
        batches.truncate(gap + 1);
    }
    let (Some(first), Some(last)) = (batches.first(), batches.last()) else { return Ok(None) };
    let leaves: Vec<Hash> = batches.iter().map(|(_, s)| leaf(s)).collect();
    let root = root(&leaves);
    let token: TimeStampToken = tsa.timestamp_digest(&imprint(&root, leaves.len() as u64)).await?;
    let stamp = LogStamp {
        node: node.to_owned(),
        first_batch: first.0,
        last_batch: last.0,
        leaves: leaves.concat(),
        root: root.to_vec(),
        token: token.der,
        tsa: tsa.url().to_owned(),
        stamped_at: token.gen_time,
    };
    store.add_log_stamp(&stamp).await?;
    Ok(Some(stamp))
}

/// Stamps `node`'s log every `every` until the process ends: all waiting batches each tick,
/// in rounds of at most [`ROUND_MAX`].
pub fn spawn(store: Arc<dyn Store>, tsa: TsaClient, node: String, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            loop {
                match stamp_round(store.as_ref(), &tsa, &node).await {
                    Ok(Some(s)) => {
                        metrics::counter!("cqs_exchange_log_stamps_total").increment(1);
                        tracing::debug!(first = s.first_batch, last = s.last_batch, "message log batches timestamped");
                        if s.last_batch - s.first_batch + 1 < ROUND_MAX {
                            break;
                        }
                    }
                    Ok(None) => break,
                    // Another process under this node id stamped the same batches first.
                    Err(StampError::Store(cqs_store::StoreError::Conflict(_))) => break,
                    Err(e) => {
                        metrics::counter!("cqs_exchange_log_stamp_failures_total").increment(1);
                        tracing::warn!(error = %e, tsa = tsa.url(), "timestamping the message log failed; retrying next round");
                        break;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf(&format!("{{\"batch\":{i}}}"))).collect()
    }

    #[test]
    fn every_leaf_of_every_tree_size_proves_its_place_and_nothing_else_does() {
        for n in 1..=17 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let path = audit_path(&l, i);
                assert!(included(&l[i], i as u64, n as u64, &path, &r), "leaf {i} of {n}");
                // Another leaf, another place or another root fail.
                assert!(!included(&leaf("{}"), i as u64, n as u64, &path, &r));
                if n > 1 {
                    assert!(!included(&l[i], ((i + 1) % n) as u64, n as u64, &path, &r), "leaf {i} of {n} moved");
                }
                let mut other = r;
                other[0] ^= 1;
                assert!(!included(&l[i], i as u64, n as u64, &path, &other));
            }
        }
    }

    #[test]
    fn paths_and_sizes_from_a_hostile_file_are_refused_without_panicking() {
        let l = leaves(8);
        let r = root(&l);
        let mut path = audit_path(&l, 3);
        path.pop();
        assert!(!included(&l[3], 3, 8, &path, &r));
        let path = audit_path(&l, 3);
        assert!(!included(&l[3], 9, 8, &path, &r), "index past the end");
        assert!(!included(&l[3], 3, 0, &path, &r), "no leaves");
        assert!(!included(&l[3], u64::MAX / 2 + 1, u64::MAX, &path, &r), "sizes no round has");
        assert!(!included(&l[3], 3, u64::MAX, &path, &r));
    }

    #[test]
    fn the_imprint_binds_the_leaf_count() {
        let r = root(&leaves(6));
        assert_ne!(imprint(&r, 6), imprint(&r, 7));
        assert_ne!(imprint(&r, 6), r);
        assert_eq!(imprint(&r, 6), imprint(&r, 6));
    }

    #[test]
    fn stored_leaves_must_be_whole_hashes() {
        assert!(split(&[0u8; 64]).is_ok());
        assert!(split(&[0u8; 33]).is_err());
        assert!(split(&[]).is_err());
    }
}
