-- Workflow position of a dossier: the process step that holds it, the paused legal clock, and
-- the due date before any apology (kept for statistics).
ALTER TABLE dossiers ADD COLUMN current_step INTEGER;
ALTER TABLE dossiers ADD COLUMN original_due_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN paused_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN resume_state TEXT;
-- The step a history row left the dossier at, so the control sheet can be derived from history.
ALTER TABLE dossier_history ADD COLUMN step INTEGER;
-- Who must act next (the unit and role of the current step), and the due date as a sort key
-- (dossiers without a deadline sort last), so an officer's inbox is one index range. The inbox
-- indexes also carry the filter columns, so a search reads the index alone and stops after a
-- page of matches.
ALTER TABLE dossiers ADD COLUMN holder_unit_id UUID;
ALTER TABLE dossiers ADD COLUMN holder_role TEXT;
ALTER TABLE dossiers ADD COLUMN due_sort TIMESTAMPTZ;
CREATE INDEX dossiers_inbox ON dossiers(holder_unit_id, due_sort, id, state, applicant_search, code);
CREATE INDEX dossiers_inbox_role ON dossiers(holder_unit_id, holder_role, due_sort, id, state, applicant_search, code);
CREATE INDEX dossiers_inbox_received ON dossiers(holder_unit_id, received_at, holder_role, due_sort, id);
