-- Two-step sign-in for staff: how far each session has come (only 'active' stands for its
-- account), each staff member's authenticator secret (sealed with the node's key, which is not
-- in the database) with the last step accepted, and their recovery codes (keyed hashes only).

ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'active';

CREATE TABLE staff_mfa (
    user_id      BLOB PRIMARY KEY REFERENCES users(id),
    secret       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    confirmed_at TEXT,
    -- The newest TOTP step accepted: a code of this step or an older one is never taken again.
    last_step    INTEGER NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    user_id   BLOB NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
);
