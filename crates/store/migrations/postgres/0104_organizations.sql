-- Organization (business) accounts: an enterprise code and the citizen accounts that act for it.
-- Its dossiers are those submitted online through a member's account naming the enterprise code
-- as applicant (dossiers.applicant_identity, already indexed), so no column is added to dossiers.

CREATE TABLE organizations (
    id              UUID PRIMARY KEY,
    enterprise_code TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE organization_members (
    organization_id UUID NOT NULL REFERENCES organizations(id),
    account_id      UUID NOT NULL REFERENCES citizen_accounts(id),
    role            TEXT NOT NULL,
    added_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, account_id)
);
CREATE INDEX organization_members_account ON organization_members(account_id);
