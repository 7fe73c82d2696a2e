#!/usr/bin/env bash
# The main job, end to end: install what building and the demo need (not the test tools),
# build the binary, start a throwaway PostgreSQL on a free port, then run
# `migrate-init -- scripts/demo-service.sh` against migrations/ twice (the second start
# finds nothing to do), and show `migrate-init status`. Cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only the binary; scripts/test.sh builds the test programs.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target migrate-init -j"$(nproc)" >/dev/null
binary="$PWD/$build_dir/migrate-init"
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
