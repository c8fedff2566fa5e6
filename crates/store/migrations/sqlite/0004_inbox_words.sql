-- The words of the folded applicant name of every dossier someone must act on, under the unit
-- that holds it, so an inbox name search starts from the query's rarest word instead of reading
-- every dossier the unit holds. A derived index: the store keeps it on intake and on every
-- transition, rebuilds it when the `inbox_words` setting is missing, and re-checks every hit
-- against the dossier row, so a stale row costs time, never a wrong answer.
CREATE TABLE inbox_words (
    holder_unit_id BLOB NOT NULL,
    word           TEXT NOT NULL,
    dossier_id     BLOB NOT NULL,
    holder_role    TEXT NOT NULL,
    PRIMARY KEY (holder_unit_id, word, dossier_id)
) WITHOUT ROWID;
CREATE INDEX inbox_words_dossier ON inbox_words(dossier_id);
