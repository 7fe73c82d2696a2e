#!/usr/bin/env bash
# Container tests with a real Docker Engine (Debian's docker.io, docker-compose and Swarm),
# offline and on the host network only. The test starts a private dockerd, loads a base
# image it debootstraps from Debian's packages, builds docker/Dockerfile and the example
# image, then runs: the images themselves, the .deb in a clean Debian container, both
# docker-compose patterns from compose/ (compose.sh) and a Swarm stack (swarm.sh). Images
# that run are tagged under a loopback registry prefix (127.0.0.1:5999), so that no pull
# ever leaves the machine. Everything it starts, it stops (trap on EXIT).
# Usage: tests/containers/run.sh BUILD_DIR [PART...]
#   BUILD_DIR holds CPackConfig.cmake; PART: images deb compose swarm (default: all).
# Logs: /tmp/migrate-init-containers/.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "${1:?usage: run.sh BUILD_DIR [PART...]}" && pwd)
parts=("${@:2}")
((${#parts[@]})) || parts=(images deb compose swarm)
wants() { [[ " ${parts[*]} " == *" $1 "* ]]; }
cd "$root"
logs=/tmp/migrate-init-containers
source tests/containers/lib.sh
source tests/containers/compose.sh
source tests/containers/swarm.sh
source scripts/lib/throwaway-pg.sh

# One run at a time on a machine: port 5432 (the compose files' database, on the host
# network) and the swarm's ports are the host's.
exec 9>/tmp/migrate-init-containers.lock
flock -w 1800 9 || die "another run of tests/containers/run.sh holds /tmp/migrate-init-containers.lock"
rm -rf "$logs" && mkdir -p "$logs"

# The engine must really work here; if it cannot, say so and fail (never skip silently).
for tool in dockerd /usr/bin/docker docker-compose debootstrap psql; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh --tests installs it)"
done
package_dir=
cleanup() {
  pg_stop
  engine_stop
  [[ -n "$package_dir" ]] && rm -rf "$package_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
engine_reap_stale
for port in 5432 2377 7946 5999; do
  port_free "$port" || die "port $port on 127.0.0.1 is in use; the compose files' database, the swarm and the loopback registry prefix need it free"
done
engine_start
echo "== Docker Engine $(docker version -f '{{.Server.Version}}'), $(docker version -f '{{range .Server.Components}}{{.Name}} {{.Version}}, {{end}}')docker-compose $(docker-compose version --short)"
base_image_load

echo "== building the images (docker build --network host)"
started=$(now_ms)
docker build --network host -t 127.0.0.1:5999/migrate-init-test/postgres:15 tests/containers/postgres \
  >"$logs/build-postgres.log" 2>&1 &
postgres_build=$!
if wants deb; then
  package_dir=$(mktemp -d /tmp/migrate-init-deb-XXXXXX)
  (cd "$build_dir" && cpack -G DEB -B "$package_dir" >"$logs/cpack.log" 2>&1) || die "cpack failed" "$logs/cpack.log"
  deb=$(ls "$package_dir"/*.deb | head -1)
  # In a clean Debian container, while the images build.
  docker run --rm --network host -v "$package_dir":/deb debian:bookworm-slim sh -c \
    'apt-get update -qq && (dpkg -i /deb/*.deb || apt-get -f install -y -qq) && migrate-init --version' \
    >"$logs/deb.log" 2>&1 &
  deb_install=$!
fi
docker build --network host -f docker/Dockerfile -t migrate-init . >"$logs/build.log" 2>&1 ||
  die "docker build -f docker/Dockerfile failed" "$logs/build.log"
docker build --network host -f docker/example/Dockerfile -t migrate-init-example . >>"$logs/build.log" 2>&1 ||
  die "docker build -f docker/example/Dockerfile failed" "$logs/build.log"
docker tag migrate-init 127.0.0.1:5999/migrate-init:test
docker tag migrate-init-example 127.0.0.1:5999/migrate-init-example:test
# The next releases of the example, for the swarm's rolling updates: one more migration
# that succeeds (next), and on top of it one that fails (broken).
docker build --network host --build-arg BASE=127.0.0.1:5999/migrate-init-example:test -f tests/containers/update/Dockerfile \
  -t 127.0.0.1:5999/migrate-init-example:next tests/containers/update/next >>"$logs/build.log" 2>&1 ||
  die "docker build of the next release failed" "$logs/build.log"
docker build --network host --build-arg BASE=127.0.0.1:5999/migrate-init-example:next -f tests/containers/update/Dockerfile \
  -t 127.0.0.1:5999/migrate-init-example:broken tests/containers/update/broken >>"$logs/build.log" 2>&1 ||
  die "docker build of the broken release failed" "$logs/build.log"
wait "$postgres_build" || die "docker build of the postgres stand-in failed" "$logs/build-postgres.log"
echo "images built in $(($(now_ms) - started)) ms"

if wants deb; then
  echo "== the .deb installs on a clean Debian with dpkg -i and apt-get -f install"
  check "the .deb declares its runtime dependencies" bash -c "dpkg-deb -f '$deb' Depends | grep -q libpq5"
  wait "$deb_install"
  deb_status=$?
  check "the .deb installs in a clean Debian container and the installed binary runs" \
    bash -c "test $deb_status = 0 && grep -q '^migrate-init ' '$logs/deb.log'"
fi

if wants images; then
  echo "== the images: ENTRYPOINT, CMD, docker stop"
  check "the runtime image has migrate-init at /usr/local/bin and it runs" \
    bash -c "docker run --rm --network host 127.0.0.1:5999/migrate-init:test --version 2>>'$logs/run.log' | grep -q '^migrate-init '"
  check "the runtime image needs only libpq5 besides the base (no libstdc++, spdlog, fmt, Boost)" \
    bash -c "docker run --rm --network host --entrypoint ldd 127.0.0.1:5999/migrate-init:test /usr/local/bin/migrate-init >'$logs/ldd.log' 2>&1 && grep -q libpq.so.5 '$logs/ldd.log' && ! grep -E 'libstdc|spdlog|fmt|boost' '$logs/ldd.log'"
  pg_start
  pg_sql "CREATE DATABASE single"
  # Issue 20, item 1: the subcommands through the image's ENTRYPOINT, on a fresh database
  # first: status, plan and verify change nothing (with "--" in the ENTRYPOINT, status
  # migrated and then failed "command not found").
  example() { docker run --rm --network host -e "DATABASE_URL=$(pg_url single)" 127.0.0.1:5999/migrate-init-example:test "$@"; }
  status_lists_pending() { test "$(example status 2>>"$logs/run.log" | grep -c pending)" = 5; }
  exits() { # exits CODE SUBCOMMAND: the subcommand through the image exits CODE
    local code=0
    example "${@:2}" >>"$logs/run.log" 2>&1 || code=$?
    test "$code" = "$1"
  }
  check "docker run IMAGE status: lists the 5 migrations as pending" status_lists_pending
  check "docker run IMAGE plan: exit 0" exits 0 plan
  check "docker run IMAGE verify: exit 5 (pending files)" exits 5 verify
  check "docker run IMAGE check: reads the files offline, exit 0" exits 0 check
  check "... and none of them migrated" test "$(pg_sql "SELECT to_regclass('schema_migrations') IS NULL" single)" = t
  docker run -d --name ex-single --network host -e "DATABASE_URL=$(pg_url single)" 127.0.0.1:5999/migrate-init-example:test >/dev/null 2>>"$logs/run.log"
  check "docker run: the example migrates, then serves" wait_until 60 log_has ex-single "example service: serving"
  check "... as PID 1's child: migrate-init is PID 1" \
    test "$(docker exec ex-single cat /proc/1/cmdline | tr '\0' ' ')" = "migrate-init /app/service.sh "
  check "every migration is recorded" test "$(pg_sql 'SELECT count(*) FROM schema_migrations' single)" = 5
  started=$(now_ms)
  docker stop ex-single >/dev/null
  echo "docker stop took $(($(now_ms) - started)) ms"
  check "docker stop returns well inside its 10 s timeout" test $(($(now_ms) - started)) -lt 5000
  check "the service saw the forwarded SIGTERM" log_has ex-single "example service: stopping on SIGTERM"
  check "the container exits 143, as the service did" test "$(exit_code ex-single)" = 143
  docker rm ex-single >/dev/null
  check "docker run IMAGE COMMAND migrates, then runs that command instead of CMD" \
    bash -c "docker run --rm --network host -e DATABASE_URL='$(pg_url single)' 127.0.0.1:5999/migrate-init-example:test echo other-command 2>/dev/null | grep -qx other-command"
  pg_stop
fi

if wants compose; then
  compose_pattern_replicas
  compose_pattern_job
fi
if wants swarm; then
  swarm_test
fi

# Nothing may have been pulled from anywhere but the loopback prefix (the swarm agent tries
# a pull for every task).
pulls_stayed_on_loopback() { ! grep -oE 'Get \\"https?://[^/"]+' "$engine_log" | grep -v '//127\.0\.0\.1:5999$' >/dev/null; }
check "no pull went beyond 127.0.0.1 (dockerd's log)" pulls_stayed_on_loopback
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
