-- Runs can wait for a time and jump the queue.
ALTER TABLE runs
    ADD COLUMN run_after timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN priority  smallint    NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
    ADD COLUMN attempts  integer     NOT NULL DEFAULT 0,
    ADD COLUMN max_attempts integer  NOT NULL DEFAULT 3 CHECK (max_attempts > 0);

COMMENT ON COLUMN runs.priority IS 'higher runs first; ties go to the oldest run_after';
