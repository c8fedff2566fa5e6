-- Identity: citizen accounts, staff passwords, signed-in sessions, and the citizen account a
-- dossier belongs to.

CREATE TABLE citizen_accounts (
    id                BLOB PRIMARY KEY,
    identity_number   TEXT NOT NULL UNIQUE,
    full_name         TEXT NOT NULL,
    phone             TEXT UNIQUE,
    email             TEXT UNIQUE,
    -- Argon2id PHC string; NULL for an account that signs in only through an e-ID provider.
    password_hash     TEXT,
    phone_verified_at TEXT,
    email_verified_at TEXT,
    disabled          INTEGER NOT NULL,
    created_at        TEXT NOT NULL
);

ALTER TABLE users ADD COLUMN password_hash TEXT;

-- A session is found by the SHA-256 of its cookie token, never by the token itself, so a copy
-- of the database cannot be replayed as a browser.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    account_kind TEXT NOT NULL,
    account_id   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_account ON sessions(account_kind, account_id, created_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);

ALTER TABLE dossiers ADD COLUMN owner_account_id BLOB;
CREATE INDEX dossiers_owner ON dossiers(owner_account_id, received_at, id) WHERE owner_account_id IS NOT NULL;
