-- The applicant's satisfaction rating of a dossier after its result (the nine criteria of the
-- questionnaire and an overall rating), given once per dossier and account.
CREATE TABLE dossier_ratings (
    dossier_id UUID NOT NULL REFERENCES dossiers(id),
    account_id UUID NOT NULL REFERENCES citizen_accounts(id),
    overall    TEXT NOT NULL,
    criteria   JSONB NOT NULL,
    comment    TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dossier_id, account_id)
);
