#!/usr/bin/env bash
# The main job, end to end: install, build, start a throwaway PostgreSQL on a free port,
# then run `migrate-init -- scripts/demo-service.sh` against migrations/ twice (the
# second start finds nothing to do), and show `migrate-init status`. Cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
binary="$PWD/${BUILD_DIR:-build}/migrate-init"
source scripts/lib/throwaway-pg.sh
trap pg_stop EXIT
pg_start
echo "== throwaway PostgreSQL on 127.0.0.1:$PG_PORT"

export DATABASE_URL
DATABASE_URL=$(pg_url postgres)
export AUTO_MIGRATE_DIR="$PWD/migrations"
echo "== first start: migrate, then the service"
"$binary" -- sh scripts/demo-service.sh
echo "== second start: nothing to apply, no lock taken"
"$binary" -- sh scripts/demo-service.sh
echo "== migrate-init status"
"$binary" status
