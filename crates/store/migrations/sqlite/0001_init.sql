-- Foundation schema, SQLite flavour. Ids are 16-byte BLOBs (sqlx's Uuid encoding), instants are
-- sqlx's UTC text form, dates are YYYY-MM-DD text, JSON is text.

CREATE TABLE org_units (
    id           BLOB PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    short_name   TEXT,
    kind         TEXT NOT NULL,
    parent_id    BLOB REFERENCES org_units(id),
    valid_from   TEXT NOT NULL,
    valid_to     TEXT,
    successor_id BLOB REFERENCES org_units(id),
    address      TEXT,
    phone        TEXT
);
CREATE INDEX org_units_parent ON org_units(parent_id);

CREATE TABLE fields (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE procedure_versions (
    id             BLOB PRIMARY KEY,
    code           TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    name           TEXT NOT NULL,
    field          TEXT NOT NULL,
    search_text    TEXT NOT NULL,
    spec           TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    created_at     TEXT NOT NULL,
    published_at   TEXT,
    UNIQUE (code, version)
);
CREATE INDEX procedure_versions_status ON procedure_versions(status, code);

CREATE TABLE dossiers (
    id                   BLOB PRIMARY KEY,
    code                 TEXT NOT NULL UNIQUE,
    procedure_version_id BLOB NOT NULL REFERENCES procedure_versions(id),
    procedure_code       TEXT NOT NULL,
    procedure_version    INTEGER NOT NULL,
    procedure_name       TEXT NOT NULL,
    receiving_unit_id    BLOB NOT NULL REFERENCES org_units(id),
    state                TEXT NOT NULL,
    channel              TEXT NOT NULL,
    applicant            TEXT NOT NULL,
    applicant_identity   TEXT NOT NULL,
    applicant_search     TEXT NOT NULL,
    form_data            TEXT NOT NULL,
    received_at          TEXT NOT NULL,
    due_at               TEXT,
    submitted_by_client  BLOB,
    updated_at           TEXT NOT NULL,
    version              INTEGER NOT NULL
);
CREATE INDEX dossiers_unit_state_due ON dossiers(receiving_unit_id, state, due_at);
CREATE INDEX dossiers_applicant ON dossiers(applicant_identity);

CREATE TABLE dossier_attachments (
    id           BLOB PRIMARY KEY,
    dossier_id   BLOB NOT NULL REFERENCES dossiers(id),
    component    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);
CREATE INDEX dossier_attachments_dossier ON dossier_attachments(dossier_id);

CREATE TABLE dossier_history (
    dossier_id  BLOB NOT NULL REFERENCES dossiers(id),
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    BLOB,
    org_unit_id BLOB,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT,
    PRIMARY KEY (dossier_id, seq)
);

CREATE TABLE dossier_counters (
    unit_code TEXT NOT NULL,
    day       TEXT NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (unit_code, day)
);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     BLOB NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    aggregate_id BLOB NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX outbox_pending ON outbox(published_at, id);

CREATE TABLE users (
    id         BLOB PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,
    full_name  TEXT NOT NULL,
    email      TEXT,
    disabled   INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id     BLOB NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL,
    org_unit_id BLOB NOT NULL REFERENCES org_units(id),
    PRIMARY KEY (user_id, role, org_unit_id)
);

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    prefix       TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    name         TEXT NOT NULL,
    user_id      BLOB REFERENCES users(id),
    scopes       TEXT NOT NULL,
    org_unit_id  BLOB REFERENCES org_units(id),
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
