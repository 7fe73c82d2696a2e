-- Workers claim work with
--   SELECT ... FROM runs WHERE status = 'queued' AND run_after <= now()
--   ORDER BY priority DESC, run_after LIMIT 1 FOR UPDATE SKIP LOCKED;
-- a partial index keeps that query on the small queued set.
CREATE INDEX runs_claim_idx ON runs (priority DESC, run_after)
    WHERE status = 'queued';

CREATE INDEX steps_run_status_idx ON steps (run_id, status);
