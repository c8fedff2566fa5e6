-- Identity: citizen accounts, staff passwords, signed-in sessions, and the citizen account a
-- dossier belongs to.

CREATE TABLE citizen_accounts (
    id                UUID PRIMARY KEY,
    identity_number   TEXT NOT NULL UNIQUE,
    full_name         TEXT NOT NULL,
    phone             TEXT UNIQUE,
    email             TEXT UNIQUE,
    -- Argon2id PHC string; NULL for an account that signs in only through an e-ID provider.
    password_hash     TEXT,
    phone_verified_at TIMESTAMPTZ,
    email_verified_at TIMESTAMPTZ,
    disabled          BOOLEAN NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

ALTER TABLE users ADD COLUMN password_hash TEXT;

-- A session is found by the SHA-256 of its cookie token, never by the token itself, so a copy
-- of the database cannot be replayed as a browser.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    account_kind TEXT NOT NULL,
    account_id   UUID NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_account ON sessions(account_kind, account_id, created_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);

ALTER TABLE dossiers ADD COLUMN owner_account_id UUID;
CREATE INDEX dossiers_owner ON dossiers(owner_account_id, received_at, id) WHERE owner_account_id IS NOT NULL;
