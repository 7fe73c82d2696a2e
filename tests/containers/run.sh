#!/usr/bin/env bash
# Container tests with a real OCI runtime (podman + runc), offline: build docker/Dockerfile
# and the example image from scratch, run them against a throwaway PostgreSQL on
# 127.0.0.1 (host network), and install the .deb in a clean Debian container.
# Usage: tests/containers/run.sh BUILD_DIR   (BUILD_DIR holds CPackConfig.cmake)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${1:?usage: run.sh BUILD_DIR}
cd "$root"
export CONTAINERS_CONF="$root/tests/containers/containers.conf"
source scripts/lib/throwaway-pg.sh

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...: one assertion
  if "${@:2}"; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAILED: $1" >&2; fi
}
die() { echo "FATAL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

containers=()
cleanup() {
  ((${#containers[@]})) && podman rm -f "${containers[@]}" >/dev/null 2>&1
  pg_stop
}
trap cleanup EXIT

# Podman must really work here; if it cannot, say so and fail (never skip silently).
command -v podman >/dev/null || die "podman is not installed (scripts/install-deps.sh installs it)"
podman info >/dev/null 2>&1 || die "podman cannot run on this machine: $(podman info 2>&1 | tail -1)"

# The base image, made from Debian's packages: no registry is reachable.
base=docker.io/library/debian:bookworm-slim
if ! podman image exists "$base"; then
  rootfs=$(mktemp -d /var/tmp/bookworm-XXXXXX)
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [[ -n "$mirror" ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/migrate-init-debootstrap.log 2>&1 ||
    die "debootstrap failed (see /tmp/migrate-init-debootstrap.log)"
  tar -C "$rootfs" -c . | podman import - "$base" >/dev/null 2>&1 || die "podman import failed"
  rm -rf "$rootfs"
fi

echo "== building docker/Dockerfile and docker/example/Dockerfile"
podman build --pull=never --network host -f docker/Dockerfile -t migrate-init . >/tmp/migrate-init-build.log 2>&1 ||
  die "podman build -f docker/Dockerfile failed (see /tmp/migrate-init-build.log)"
podman build --pull=never --network host -f docker/example/Dockerfile -t migrate-init-example . \
  >>/tmp/migrate-init-build.log 2>&1 || die "podman build -f docker/example/Dockerfile failed"
check "the runtime image has migrate-init at /usr/local/bin and it runs" \
  bash -c 'podman run --rm --network host migrate-init --version | grep -q "^migrate-init "'

# Containers left by an interrupted earlier run would make the names clash.
podman rm -f ex-single ex-replica-1 ex-replica-2 ex-replica-3 ex-after-job >/dev/null 2>&1
pg_start
run_app() { # run_app NAME DB [podman run options...]: the example image, detached
  local name=$1 db=$2
  podman run -d --name "$name" --network host -e "DATABASE_URL=$(pg_url "$db")" "${@:3}" migrate-init-example >/dev/null
  containers+=("$name")
}
wait_for_log() { # wait_for_log NAME TEXT
  # grep reads all the logs: under pipefail, grep -q's early exit could fail podman logs with SIGPIPE.
  for _ in $(seq 1 600); do podman logs "$1" 2>&1 | grep -- "$2" >/dev/null && return 0; sleep 0.1; done
  return 1
}

echo "== the example image migrates and serves; podman stop ends it through PID 1"
pg_sql "CREATE DATABASE single"
run_app ex-single single
check "the example container serves" wait_for_log ex-single "example service: serving"
check "every migration is recorded" test "$(pg_sql 'SELECT count(*) FROM schema_migrations' single)" = 5
started=$(date +%s%N)
podman stop -t 10 ex-single >/dev/null
stop_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "podman stop took ${stop_ms} ms"
check "podman stop returns well inside the 10 s stop timeout" test "$stop_ms" -lt 5000
check "the service saw SIGTERM" wait_for_log ex-single "example service: stopping on SIGTERM"
check "the container exits with the service's status (0)" \
  test "$(podman inspect ex-single --format '{{.State.ExitCode}}')" = 0
check "docker run IMAGE COMMAND migrates, then runs that command instead" \
  bash -c "podman run --rm --network host -e DATABASE_URL='$(pg_url single)' migrate-init-example echo other-command 2>/dev/null | grep -qx other-command"

echo "== three replicas at the same moment on an empty database"
pg_sql "CREATE DATABASE replicas"
containers+=(ex-replica-1 ex-replica-2 ex-replica-3) # started in subshells below
for i in 1 2 3; do run_app "ex-replica-$i" replicas & done
wait
for i in 1 2 3; do check "replica $i serves" wait_for_log "ex-replica-$i" "example service: serving"; done
logs=$(for i in 1 2 3; do podman logs "ex-replica-$i" 2>&1; done)
check "each migration was applied exactly once" test "$(grep -c 'applying 001_initial_schema.sql' <<<"$logs")" = 1
check "exactly one replica migrated" test "$(grep -c 'applied 5 migrations' <<<"$logs")" = 1
check "the ledger has every migration once" \
  test "$(pg_sql "SELECT count(DISTINCT version)::text || '/' || count(*)::text FROM schema_migrations" replicas)" = 5/5

echo "== the one-shot pattern: migrate job, then AUTO_MIGRATE=false apps with AUTO_MIGRATE_REQUIRED=all"
pg_sql "CREATE DATABASE jobs"
check "the migrate job exits 0" bash -c "podman run --rm --network host -e 'AUTO_MIGRATE_DATABASE_URL=$(pg_url jobs)' \
  --entrypoint migrate-init migrate-init-example migrate >/tmp/migrate-init-job.log 2>&1"
run_app ex-after-job jobs -e AUTO_MIGRATE=false -e AUTO_MIGRATE_REQUIRED=all
check "the application starts after the job" wait_for_log ex-after-job "example service: serving"
pg_sql "CREATE DATABASE nojob"
podman run --rm --network host -e "DATABASE_URL=$(pg_url nojob)" -e AUTO_MIGRATE=false -e AUTO_MIGRATE_REQUIRED=all \
  migrate-init-example >/tmp/migrate-init-nojob.log 2>&1
check "without the job the application refuses to start with exit 5" test $? = 5
check "and says which migrations are missing" grep -q "database migrations missing: 001_initial_schema" /tmp/migrate-init-nojob.log

echo "== the compose files describe what was just run"
check "compose files parse and match the tested patterns" python3 - "$root/compose" <<'PY'
import sys, yaml
d = sys.argv[1]
every = yaml.safe_load(open(f"{d}/docker-compose.yml"))["services"]
assert every["db"]["healthcheck"]["test"], "db needs a healthcheck"
assert every["app"]["image"] == "migrate-init-example"
assert every["app"]["deploy"]["replicas"] == 3
assert every["app"]["depends_on"]["db"]["condition"] == "service_healthy"
job = yaml.safe_load(open(f"{d}/docker-compose.migrate-job.yml"))["services"]
assert job["migrate"]["entrypoint"] == ["migrate-init", "migrate"]
assert job["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
assert job["app"]["environment"]["AUTO_MIGRATE"] == "false"
assert job["app"]["environment"]["AUTO_MIGRATE_REQUIRED"] == "all"
PY

echo "== the .deb installs on a clean Debian with dpkg -i and apt-get -f install"
package_dir=$(mktemp -d /tmp/migrate-init-deb-XXXXXX)
(cd "$build_dir" && cpack -G DEB -B "$package_dir" >/tmp/migrate-init-cpack.log 2>&1) || die "cpack failed"
deb=$(ls "$package_dir"/*.deb | head -1)
check "the .deb declares its runtime dependencies" bash -c "dpkg-deb -f '$deb' Depends | grep -q libpq5"
check "the .deb installs and the installed binary runs --version" \
  bash -c "podman run --rm --network host -v '$package_dir':/deb '$base' sh -c \
    'apt-get update -qq >/dev/null && (dpkg -i /deb/*.deb >/dev/null 2>&1; apt-get -f install -y -qq >/dev/null) && migrate-init --version' | grep -q '^migrate-init '"
rm -rf "$package_dir"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
