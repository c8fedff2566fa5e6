-- One-time codes sent to people (e-mail and phone verification, password reset). Only a keyed
-- hash of each code is kept. `slot` is the minute the code was made in: the unique index lets
-- one code per account and purpose be made in any minute, whichever node makes it.

CREATE TABLE one_time_codes (
    id           UUID PRIMARY KEY,
    purpose      TEXT NOT NULL,
    account_kind TEXT NOT NULL,
    account_id   UUID NOT NULL,
    -- Where it was sent (an e-mail address or an E.164 phone): verifying proves this one.
    destination  TEXT NOT NULL,
    code_hash    TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL,
    consumed_at  TIMESTAMPTZ,
    slot         BIGINT NOT NULL
);
CREATE UNIQUE INDEX one_time_codes_slot ON one_time_codes(purpose, account_id, slot);
CREATE INDEX one_time_codes_recent ON one_time_codes(purpose, account_id, created_at);
