-- The due date each history row left the dossier with, so due dates can be replayed on a new
-- working calendar (an apology's new date is a promise, recorded here and nowhere else).
ALTER TABLE dossier_history ADD COLUMN due_at TEXT;

-- One row per deadline notice ever sent: its key makes the sweeper idempotent when several
-- nodes run it at once (a notice is claimed by inserting it, in the transaction that writes its
-- outbox event). A new due date (apology, supplement) gets notices of its own.
CREATE TABLE deadline_notices (
    dossier_id BLOB NOT NULL REFERENCES dossiers(id),
    kind       TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    unit_id    BLOB,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (dossier_id, kind, due_at)
);

-- Xin lỗi và hẹn lại: opened when a dossier goes past due, closed by the apology action or by
-- the dossier's result (or its end).
CREATE TABLE apology_tasks (
    dossier_id       BLOB NOT NULL REFERENCES dossiers(id),
    due_at           TEXT NOT NULL,
    unit_id          BLOB,
    opened_at        TEXT NOT NULL,
    closed_at        TEXT,
    closed_by_action TEXT,
    PRIMARY KEY (dossier_id, due_at)
);
CREATE INDEX apology_tasks_unit ON apology_tasks(unit_id, closed_at, opened_at);
CREATE INDEX apology_tasks_open ON apology_tasks(dossier_id, closed_at);

-- Open dossiers by due date, for the sweeper (closed dossiers have no holder).
CREATE INDEX dossiers_sweep ON dossiers(due_sort, id) WHERE holder_unit_id IS NOT NULL;

-- Small facts the platform keeps about itself (the fingerprint of the calendar the due dates
-- were computed on).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
