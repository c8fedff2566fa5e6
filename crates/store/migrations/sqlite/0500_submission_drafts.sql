-- A citizen's online submission in progress (bản nháp): the answers so far and the files
-- uploaded for its components, one draft per account and procedure. Drafts not touched for the
-- configured time are purged with their files.
CREATE TABLE submission_drafts (
    id             BLOB PRIMARY KEY,
    account_id     BLOB NOT NULL REFERENCES citizen_accounts(id),
    procedure_code TEXT NOT NULL,
    answers        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (account_id, procedure_code)
);
CREATE INDEX submission_drafts_updated ON submission_drafts(updated_at);

CREATE TABLE submission_draft_files (
    id           BLOB PRIMARY KEY,
    draft_id     BLOB NOT NULL REFERENCES submission_drafts(id),
    component    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);
CREATE INDEX submission_draft_files_draft ON submission_draft_files(draft_id);
