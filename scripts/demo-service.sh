#!/bin/sh
# A stand-in for a real service: it shows that it runs with migrate-init's environment
# and sees the migrated schema, then exits.
echo "demo service: running as pid $$ (migrate-init exec'd into it)"
psql "$DATABASE_URL" -X -q -c "SELECT version, name, applied_at FROM schema_migrations ORDER BY version" \
     -c "SELECT count(*) AS tables_in_public FROM pg_tables WHERE schemaname = 'public'"
echo "demo service: done"
