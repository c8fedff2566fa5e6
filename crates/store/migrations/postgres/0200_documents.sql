-- The one-stop register (Mẫu 06) lists a unit's dossiers by the time they were received.
CREATE INDEX dossiers_unit_received ON dossiers(receiving_unit_id, received_at);

-- Documents the platform issued for a dossier, signed with the issuing agency's certificate
-- (the electronic result). The SHA-256 of the signed file finds its dossier when anyone
-- verifies a copy.
CREATE TABLE issued_documents (
    id                 UUID PRIMARY KEY,
    dossier_id         UUID NOT NULL REFERENCES dossiers(id),
    kind               TEXT NOT NULL,
    document_type      TEXT NOT NULL,
    title              TEXT NOT NULL,
    issuer_unit_id     UUID NOT NULL REFERENCES org_units(id),
    file_name          TEXT NOT NULL,
    size               BIGINT NOT NULL,
    sha256             TEXT NOT NULL,
    storage_key        TEXT NOT NULL UNIQUE,
    signer_subject     TEXT NOT NULL,
    signer_fingerprint TEXT NOT NULL,
    pades_level        TEXT NOT NULL,
    signed_at          TIMESTAMPTZ NOT NULL,
    timestamped_at     TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX issued_documents_dossier ON issued_documents(dossier_id, created_at);
CREATE INDEX issued_documents_sha256 ON issued_documents(sha256);
