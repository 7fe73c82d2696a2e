-- Steps run in a fixed order within their run, and finish after they start.
ALTER TABLE steps ADD COLUMN position integer;

UPDATE steps s
   SET position = numbered.position
  FROM (SELECT id, row_number() OVER (PARTITION BY run_id ORDER BY id) AS position FROM steps) AS numbered
 WHERE numbered.id = s.id;

ALTER TABLE steps
    ALTER COLUMN position SET NOT NULL,
    ADD CONSTRAINT steps_position_positive CHECK (position > 0),
    ADD CONSTRAINT steps_run_position_unique UNIQUE (run_id, position),
    ADD CONSTRAINT steps_finish_after_start CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at);
