-- Additive, as a rolling update needs: the replicas still on the previous image never
-- read or write this column, so they keep working while the update goes on.
ALTER TABLE runs ADD COLUMN labels text[] NOT NULL DEFAULT '{}';
CREATE INDEX runs_labels_idx ON runs USING gin (labels);
