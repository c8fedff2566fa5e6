-- The exchange message log: every mediated exchange as the exact bytes of its record (metadata
-- and body hashes), its digest, and the batch that sealed it. Each node keeps one hash chain;
-- a batch row holds the statement the node signed (first and last record, chain values before
-- and after) and its signature.
CREATE TABLE exchange_log (
    node       TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    batch      BIGINT NOT NULL,
    at         TEXT NOT NULL,
    message_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    service_id TEXT NOT NULL,
    status     INTEGER NOT NULL,
    record     BLOB NOT NULL,
    digest     BLOB NOT NULL,
    PRIMARY KEY (node, seq)
);
CREATE INDEX exchange_log_message ON exchange_log(message_id);
CREATE INDEX exchange_log_at ON exchange_log(at);

CREATE TABLE exchange_log_batches (
    node      TEXT NOT NULL,
    batch     BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL,
    head      BLOB NOT NULL,
    statement TEXT NOT NULL,
    signature BLOB NOT NULL,
    sealed_at TEXT NOT NULL,
    PRIMARY KEY (node, batch)
);
