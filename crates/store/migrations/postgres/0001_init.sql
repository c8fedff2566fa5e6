-- Foundation schema, PostgreSQL flavour: the same tables and columns as the SQLite
-- migration, with native types (uuid, timestamptz, date, jsonb).

CREATE TABLE org_units (
    id           UUID PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    short_name   TEXT,
    kind         TEXT NOT NULL,
    parent_id    UUID REFERENCES org_units(id),
    valid_from   DATE NOT NULL,
    valid_to     DATE,
    successor_id UUID REFERENCES org_units(id),
    address      TEXT,
    phone        TEXT
);
CREATE INDEX org_units_parent ON org_units(parent_id);

CREATE TABLE fields (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE procedure_versions (
    id             UUID PRIMARY KEY,
    code           TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    name           TEXT NOT NULL,
    field          TEXT NOT NULL,
    search_text    TEXT NOT NULL,
    spec           JSONB NOT NULL,
    effective_from DATE NOT NULL,
    effective_to   DATE,
    created_at     TIMESTAMPTZ NOT NULL,
    published_at   TIMESTAMPTZ,
    UNIQUE (code, version)
);
CREATE INDEX procedure_versions_status ON procedure_versions(status, code);

CREATE TABLE dossiers (
    id                   UUID PRIMARY KEY,
    code                 TEXT NOT NULL UNIQUE,
    procedure_version_id UUID NOT NULL REFERENCES procedure_versions(id),
    procedure_code       TEXT NOT NULL,
    procedure_version    INTEGER NOT NULL,
    procedure_name       TEXT NOT NULL,
    receiving_unit_id    UUID NOT NULL REFERENCES org_units(id),
    state                TEXT NOT NULL,
    channel              TEXT NOT NULL,
    applicant            JSONB NOT NULL,
    applicant_identity   TEXT NOT NULL,
    applicant_search     TEXT NOT NULL,
    form_data            JSONB NOT NULL,
    received_at          TIMESTAMPTZ NOT NULL,
    due_at               TIMESTAMPTZ,
    submitted_by_client  UUID,
    updated_at           TIMESTAMPTZ NOT NULL,
    version              INTEGER NOT NULL
);
CREATE INDEX dossiers_unit_state_due ON dossiers(receiving_unit_id, state, due_at);
CREATE INDEX dossiers_applicant ON dossiers(applicant_identity);

CREATE TABLE dossier_attachments (
    id           UUID PRIMARY KEY,
    dossier_id   UUID NOT NULL REFERENCES dossiers(id),
    component    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX dossier_attachments_dossier ON dossier_attachments(dossier_id);

CREATE TABLE dossier_history (
    dossier_id  UUID NOT NULL REFERENCES dossiers(id),
    seq         INTEGER NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    UUID,
    org_unit_id UUID,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT,
    PRIMARY KEY (dossier_id, seq)
);

CREATE TABLE dossier_counters (
    unit_code TEXT NOT NULL,
    day       DATE NOT NULL,
    last      BIGINT NOT NULL,
    PRIMARY KEY (unit_code, day)
);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     JSONB,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    event_id     UUID NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    aggregate_id UUID NOT NULL,
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox(published_at, id);

CREATE TABLE users (
    id         UUID PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,
    full_name  TEXT NOT NULL,
    email      TEXT,
    disabled   BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_roles (
    user_id     UUID NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL,
    org_unit_id UUID NOT NULL REFERENCES org_units(id),
    PRIMARY KEY (user_id, role, org_unit_id)
);

CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    prefix       TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    name         TEXT NOT NULL,
    user_id      UUID REFERENCES users(id),
    scopes       JSONB NOT NULL,
    org_unit_id  UUID REFERENCES org_units(id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
