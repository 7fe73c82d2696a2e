-- Migration: 006_x
\set ON_ERROR_STOP on
BEGIN;
CREATE TABLE IF NOT EXISTS f (id int);
COMMIT;

SELECT count(*) FROM f;

BEGIN;
ALTER TABLE f ADD COLUMN b int;
END;
INSERT INTO schema_migrations (id) VALUES ($$006_x$$) ON CONFLICT (id) DO NOTHING;
