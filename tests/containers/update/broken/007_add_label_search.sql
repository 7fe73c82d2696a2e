-- Fails on its second statement: the first one (the index) must be rolled back with it,
-- and no ledger row written.
CREATE INDEX runs_job_name_labels_idx ON runs (job_name, created_at);
ALTER TABLE runs ALTER COLUMN label_text SET NOT NULL;
