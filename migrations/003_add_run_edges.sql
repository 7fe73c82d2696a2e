-- Runs form a DAG: a child run starts only after all of its parents succeeded.
CREATE TABLE run_edges (
    parent_run_id bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    child_run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    PRIMARY KEY (parent_run_id, child_run_id),
    CHECK (parent_run_id <> child_run_id)
);

CREATE INDEX run_edges_child_idx ON run_edges (child_run_id);
