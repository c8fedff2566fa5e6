-- Running as a cluster: leases on background jobs, the events each consumer has handled, and
-- dossier counts by state kept by a consumer of the outbox.

-- One row per background job (deadline sweep, outbox relay ...): the node holding it until
-- `lease_until`. A node takes a job whose lease has run out; `generation` counts the takeovers.
CREATE TABLE job_leases (
    job             TEXT PRIMARY KEY,
    holder          TEXT NOT NULL,
    generation      INTEGER NOT NULL,
    acquired_at     TEXT NOT NULL,
    lease_until     TEXT NOT NULL,
    last_run_at     TEXT,
    last_success_at TEXT,
    last_error      TEXT
);

-- Events a consumer has handled: delivery is at least once, so a consumer claims each event
-- here in the transaction that applies it, and a redelivery finds the claim and does nothing.
CREATE TABLE consumed_events (
    consumer    TEXT NOT NULL,
    event_id    BLOB NOT NULL,
    consumed_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX consumed_events_at ON consumed_events(consumed_at);

-- Dossiers by state, kept from the outbox's dossier events (for metrics and statistics), and
-- started here from the dossiers that exist.
CREATE TABLE dossier_state_counts (
    state TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
INSERT INTO dossier_state_counts (state, count) SELECT state, COUNT(*) FROM dossiers GROUP BY state;

-- Events written before there was a relay had no subscriber; the counts above include them.
UPDATE outbox SET published_at = created_at WHERE published_at IS NULL;
