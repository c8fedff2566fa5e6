-- Each person's electronic document store (kho dữ liệu điện tử): signed results issued to them
-- and components an officer verified, by the identity number they belong to. A row points at
-- the file of its source (the issued result or the attachment); source_id makes keeping the
-- same source twice a no-op.
CREATE TABLE personal_documents (
    id             BLOB PRIMARY KEY,
    owner_identity TEXT NOT NULL,
    document_type  TEXT NOT NULL,
    title          TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    issuer_unit_id BLOB REFERENCES org_units(id),
    source         TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_until    TEXT,
    sha256         TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    storage_key    TEXT NOT NULL,
    dossier_id     BLOB NOT NULL REFERENCES dossiers(id),
    source_id      BLOB NOT NULL UNIQUE,
    created_at     TEXT NOT NULL
);
CREATE INDEX personal_documents_owner ON personal_documents(owner_identity, created_at);

-- Which stored document a dossier used for a component instead of an upload (the QĐ 766
-- digitisation indicators count these).
CREATE TABLE dossier_reuses (
    dossier_id  BLOB NOT NULL REFERENCES dossiers(id),
    component   TEXT NOT NULL,
    document_id BLOB NOT NULL REFERENCES personal_documents(id),
    PRIMARY KEY (dossier_id, component)
);
