-- Failed sign-ins, counted per key (an account, an unknown login, a client address) so that a
-- lockout holds on every node; and the security log, queried by administrators.

CREATE TABLE auth_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX auth_failures_key ON auth_failures(key, at);

CREATE TABLE security_events (
    id           BLOB PRIMARY KEY,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    account_kind TEXT,
    account_id   BLOB,
    ip           TEXT,
    route        TEXT,
    detail       TEXT
);
CREATE INDEX security_events_kind ON security_events(kind, id);
CREATE INDEX security_events_account ON security_events(account_id, id);
