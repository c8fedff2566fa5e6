-- Sign-in through an external e-ID provider (OpenID Connect).
--
-- A sign-in waiting for the provider's answer: kept in the store so the callback may reach any
-- node, taken once (deleted as it is read) and refused after expires_at. Only a SHA-256 of the
-- state parameter and of the browser's binding cookie is kept; the nonce and the PKCE verifier
-- are needed in clear to finish the sign-in and live only minutes.
CREATE TABLE eid_logins (
    state_hash    TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX eid_logins_expiry ON eid_logins(expires_at);

-- Which account a provider's subject (its stable `sub` for the person) signs in to.
CREATE TABLE eid_links (
    provider       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    account_kind   TEXT NOT NULL,
    account_id     BLOB NOT NULL,
    linked_at      TEXT NOT NULL,
    last_used_at   TEXT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX eid_links_account ON eid_links(account_kind, account_id);
