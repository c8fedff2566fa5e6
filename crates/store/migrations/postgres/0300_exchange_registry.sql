-- Exchange (LGSP) registry: members by X-Road id (INSTANCE/CLASS/CODE; GOV members carry their
-- agency code), their subsystems (information systems) and services, grants, access requests
-- with the provider's written answer, and client limits. Ids are the X-Road strings, so grants to
-- clients of another instance need no local row.
CREATE TABLE exchange_members (
    id          TEXT PRIMARY KEY,
    instance    TEXT NOT NULL,
    class       TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    org_unit_id UUID REFERENCES org_units(id),
    status      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE exchange_subsystems (
    id                 TEXT PRIMARY KEY,
    member_id          TEXT NOT NULL REFERENCES exchange_members(id),
    code               TEXT NOT NULL,
    name               TEXT NOT NULL,
    system_id          TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL,
    secret_hash        TEXT,
    credential_version INTEGER NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE exchange_services (
    id           TEXT PRIMARY KEY,
    subsystem_id TEXT NOT NULL REFERENCES exchange_subsystems(id),
    code         TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT,
    version      TEXT NOT NULL,
    owner        TEXT NOT NULL,
    status       TEXT NOT NULL,
    base_url     TEXT NOT NULL,
    timeout_ms   BIGINT NOT NULL,
    openapi      JSONB,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- A grant to the whole service (method and path null) or to one endpoint. Revoked grants stay.
CREATE TABLE exchange_grants (
    id                UUID PRIMARY KEY,
    service_id        TEXT NOT NULL REFERENCES exchange_services(id),
    client_id         TEXT NOT NULL,
    method            TEXT,
    path              TEXT,
    granted_at        TIMESTAMPTZ NOT NULL,
    granted_by        UUID,
    access_request_id UUID,
    revoked_at        TIMESTAMPTZ,
    revoked_by        UUID,
    revoke_reason     TEXT
);
CREATE INDEX exchange_grants_service ON exchange_grants(service_id, client_id);

CREATE TABLE exchange_access_requests (
    id                  UUID PRIMARY KEY,
    client_id           TEXT NOT NULL,
    service_id          TEXT NOT NULL REFERENCES exchange_services(id),
    endpoints           JSONB NOT NULL,
    purpose             TEXT NOT NULL,
    legal_basis         TEXT NOT NULL,
    requested_by        UUID NOT NULL,
    requested_at        TIMESTAMPTZ NOT NULL,
    answer_due_at       TIMESTAMPTZ NOT NULL,
    answer_rule         TEXT NOT NULL,
    state               TEXT NOT NULL,
    decided_at          TIMESTAMPTZ,
    decided_by          UUID,
    decision_note       TEXT,
    refusal_legal_basis TEXT,
    answered_late       BOOLEAN
);
CREATE INDEX exchange_access_requests_state ON exchange_access_requests(state, answer_due_at);
CREATE INDEX exchange_access_requests_service ON exchange_access_requests(service_id, requested_at);

-- Calls a client may make per window, to one service or (service_id '') to all.
CREATE TABLE exchange_limits (
    client_id    TEXT NOT NULL,
    service_id   TEXT NOT NULL,
    window_kind  TEXT NOT NULL,
    max_requests BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (client_id, service_id, window_kind)
);

-- Shared counters of the limits, one row per limit and window; nodes claim calls in leases.
CREATE TABLE exchange_quota_counters (
    limit_key    TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    used         BIGINT NOT NULL,
    PRIMARY KEY (limit_key, window_start)
);

-- Bumped by every registry change, so each node's cached copy knows when to reload.
CREATE TABLE exchange_registry_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO exchange_registry_version (id, version) VALUES (1, 0);
