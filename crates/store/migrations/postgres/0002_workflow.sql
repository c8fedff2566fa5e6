-- Workflow position of a dossier: the process step that holds it, the paused legal clock, and
-- the due date before any apology (kept for statistics).
ALTER TABLE dossiers ADD COLUMN current_step INTEGER;
ALTER TABLE dossiers ADD COLUMN original_due_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN paused_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN resume_state TEXT;
-- The step a history row left the dossier at, so the control sheet can be derived from history.
ALTER TABLE dossier_history ADD COLUMN step INTEGER;
