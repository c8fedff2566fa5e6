-- RFC 3161 timestamps of the exchange message log, one row per round: the batches
-- first_batch..=last_batch of a node, in order, are the leaves of an RFC 6962 Merkle tree
-- (leaf value: SHA-256 of the batch's signed statement, all of them kept in `leaves`, 32 bytes
-- each), and the timestamp authority signed the tree's root.
CREATE TABLE exchange_log_stamps (
    node        TEXT NOT NULL,
    first_batch BIGINT NOT NULL,
    last_batch  BIGINT NOT NULL,
    leaves      BLOB NOT NULL,
    root        BLOB NOT NULL,
    token       BLOB NOT NULL,
    tsa         TEXT NOT NULL,
    stamped_at  TEXT NOT NULL,
    PRIMARY KEY (node, first_batch)
);
