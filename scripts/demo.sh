#!/usr/bin/env bash
# The main job, end to end: install, build, start a throwaway PostgreSQL on a free port,
# then run `migrate-init -- scripts/demo-service.sh` against migrations/ twice (the
# second start finds nothing to do), and show `migrate-init status`. Cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
binary="$PWD/${BUILD_DIR:-build}/migrate-init"

pg_bin=/usr/lib/postgresql/15/bin
workdir=$(mktemp -d /tmp/migrate-init-demo-XXXXXX)
as_postgres=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$workdir"
  as_postgres=(runuser -u postgres --)
fi
cleanup() {
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

port=0
for candidate in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[[ $port -ne 0 ]] || { echo "demo: no free port found" >&2; exit 1; }

password="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$password" >"$workdir/pwfile"
"${as_postgres[@]}" "$pg_bin/initdb" -D "$workdir/data" -U postgres --pwfile="$workdir/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 >/dev/null
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w \
  -o "-p $port -k $workdir -c listen_addresses=127.0.0.1" start >/dev/null
echo "== throwaway PostgreSQL on 127.0.0.1:$port"

export DATABASE_URL="postgresql://postgres:$password@127.0.0.1:$port/postgres"
export AUTO_MIGRATE_DIR="$PWD/migrations"
echo "== first start: migrate, then the service"
"$binary" -- sh scripts/demo-service.sh
echo "== second start: nothing to apply, no lock taken"
"$binary" -- sh scripts/demo-service.sh
echo "== migrate-init status"
"$binary" status
