-- migrate-init: no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_claim_idx ON ONLY public.runs (priority DESC, run_after)
    WHERE status = 'queued';
CREATE UNIQUE INDEX CONCURRENTLY "Users_Email" ON "app"."users" (lower(email));
CREATE INDEX CONCURRENTLY ON steps (run_id);
REINDEX (VERBOSE) INDEX CONCURRENTLY app.runs_claim_idx;
REINDEX TABLE CONCURRENTLY runs;
DROP INDEX CONCURRENTLY IF EXISTS old_idx;
ALTER TABLE measurements DETACH PARTITION m2020 CONCURRENTLY;
VACUUM ANALYZE runs;
