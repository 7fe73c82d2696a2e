#!/bin/sh
# A hand-rolled migration runner of the kind many teams keep in their image as the
# entrypoint's first step: numbered plain .sql files, a schema_migrations ledger, one psql
# per step. For each file in name order: ask the ledger whether its version is there (one
# psql), apply it in a transaction (one psql), record its version (one psql). No lock, and
# the file and its ledger row are not atomic: this is the peer, not a recommendation.
#   seed.sh DATABASE_URL DIR
set -eu
url=$1
dir=$2
psql -X -q -v ON_ERROR_STOP=1 "$url" \
  -c "SET client_min_messages = warning" -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
for file in "$dir"/*.sql; do
  version=$(basename "$file" | cut -d_ -f1)
  if [ -n "$(psql -X -A -t "$url" -c "SELECT 1 FROM schema_migrations WHERE version = '$version'")" ]; then
    continue
  fi
  psql -X -q -v ON_ERROR_STOP=1 --single-transaction "$url" -f "$file"
  psql -X -q -v ON_ERROR_STOP=1 "$url" -c "INSERT INTO schema_migrations (version) VALUES ('$version')"
done
