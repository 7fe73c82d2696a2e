#!/usr/bin/env bash
# Container tests with a real Docker Engine (Debian's docker.io, docker-compose and Swarm),
# offline and on the host network only. The test starts a private dockerd, loads a base
# image it debootstraps from Debian's packages, builds docker/Dockerfile (with BuildKit: a
# FROM scratch image of the two static binaries) and the example image (bookworm-slim with
# /migrate-init copied in), then runs: the images themselves, the binaries copied out of
# the scratch image (in it, and in Debian without libpq5), the .deb in a clean Debian container, both
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
binaries=
cleanup() {
  pg_stop
  engine_stop
  [[ -n "$package_dir" ]] && rm -rf "$package_dir"
  [[ -n "$binaries" ]] && rm -rf "$binaries"
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

echo "== building the images (docker build --network host, BuildKit)"
# docker/Dockerfile's cache mounts need BuildKit (the default from Docker 23; 20.10 needs this).
export DOCKER_BUILDKIT=1
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
check "the builds left no dangling image behind (BuildKit has no intermediate images)" \
  test -z "$(docker images -q -f dangling=true)"

if wants deb; then
  echo "== the .deb installs on a clean Debian with dpkg -i and apt-get -f install"
  check "the .deb declares its runtime dependencies" bash -c "dpkg-deb -f '$deb' Depends | grep -q libpq5"
  wait "$deb_install"
  deb_status=$?
  check "the .deb installs in a clean Debian container and the installed binary runs" \
    bash -c "test $deb_status = 0 && grep -q '^migrate-init ' '$logs/deb.log'"
fi

if wants images; then
  echo "== the migrate-init image: FROM scratch, the two binaries to copy out"
  scratch_image=127.0.0.1:5999/migrate-init:test   # (swarm.sh has its own $image)
  binaries=$(mktemp -d /tmp/migrate-init-binaries-XXXXXX)
  docker create --name mi-files "$scratch_image" >/dev/null 2>>"$logs/run.log"
  copy_out() { docker cp mi-files:/migrate-init "$binaries/" && docker cp mi-files:/migrate-init-static "$binaries/" &&
    docker cp mi-files:/usr/share/doc "$binaries/doc"; } 2>>"$logs/run.log"
  check "/migrate-init and /migrate-init-static copy out of the image (COPY --from's source)" copy_out
  check "... with the copyright files of libpq, OpenSSL, Boost, spdlog, fmt, glibc and the GCC runtime" \
    bash -c "cd '$binaries/doc' && ls libpq-dev/copyright libssl-dev/copyright libboost-program-options1.81-dev/copyright \
      libspdlog-dev/copyright libfmt-dev/copyright libc6-dev/copyright libstdc++-12-dev/copyright libgcc-s1/copyright >/dev/null"
  only_binaries_and_doc() { # the image's one layer holds nothing else: no shell, no libc, no libpq5
    docker save "$scratch_image" | tar -xO --wildcards '*/layer.tar' | tar -t >"$logs/scratch-files.log" &&
      grep -qx migrate-init "$logs/scratch-files.log" && ! grep -vE '^(migrate-init|migrate-init-static|usr/|usr/share/|usr/share/doc/.*)$' "$logs/scratch-files.log"
  }
  check "... and nothing else (no shell, no libc, no libpq5)" only_binaries_and_doc
  docker rm mi-files >/dev/null
  check "/migrate-init links nothing but glibc (no libpq5, OpenSSL, libstdc++, Boost, spdlog, fmt)" \
    bash -c "ldd '$binaries/migrate-init' >'$logs/ldd.log' 2>&1 && grep -q libc.so.6 '$logs/ldd.log' && ! grep -vE 'linux-vdso|libc\.so\.6|ld-linux' '$logs/ldd.log'"
  check "/migrate-init-static is fully static" bash -c "! ldd '$binaries/migrate-init-static' >>'$logs/ldd.log' 2>&1"
  check "the image runs /migrate-init-static: --version names the libpq and OpenSSL compiled in" \
    bash -c "docker run --rm --network host $scratch_image --version 2>>'$logs/run.log' | grep -qE '^migrate-init .*\(libpq [0-9.]+, OpenSSL [0-9.]+'"
  pg_start
  pg_sql "CREATE DATABASE scratch"
  pg_sql "CREATE DATABASE static_in_debian"
  pg_sql "CREATE DATABASE single"
  check "FROM scratch: /migrate-init-static, with only the migrations mounted, migrates" \
    bash -c "docker run --rm --network host -v '$root/migrations:/migrations:ro' -e AUTO_MIGRATE_DIR=/migrations \
      -e DATABASE_URL='$(pg_url scratch)' $scratch_image migrate >>'$logs/run.log' 2>&1"
  check "... every migration is recorded" test "$(pg_sql 'SELECT count(*) FROM schema_migrations' scratch)" = 5
  check "the example image (bookworm-slim, COPY --from=migrate-init /migrate-init) has no libpq5" \
    docker run --rm --network host --entrypoint sh 127.0.0.1:5999/migrate-init-example:test -c \
      '! dpkg -s libpq5 >/dev/null 2>&1 && ! ls /usr/lib/*/libpq.so* /lib/*/libpq.so* >/dev/null 2>&1'
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
  serves_then_stops() { # serves_then_stops CONTAINER DATABASE [DOCKER_RUN_OPTION...]: the example as PID 1
    local container=$1 started
    docker run -d --name "$container" --network host -e "DATABASE_URL=$(pg_url "$2")" "${@:3}" \
      127.0.0.1:5999/migrate-init-example:test >/dev/null 2>>"$logs/run.log"
    check "docker run: the example migrates, then serves" wait_until 60 log_has "$container" "example service: serving"
    check "... as PID 1's child: migrate-init is PID 1" \
      test "$(docker exec "$container" cat /proc/1/cmdline | tr '\0' ' ')" = "migrate-init /app/service.sh "
    check "every migration is recorded" test "$(pg_sql 'SELECT count(*) FROM schema_migrations' "$2")" = 5
    started=$(now_ms)
    docker stop "$container" >/dev/null
    echo "docker stop took $(($(now_ms) - started)) ms"
    check "docker stop returns inside its 10 s timeout (no SIGKILL needed)" test $(($(now_ms) - started)) -lt 10000
    check "the service saw the forwarded SIGTERM" log_has "$container" "example service: stopping on SIGTERM"
    check "the container exits 143, as the service did" test "$(exit_code "$container")" = 143
    docker rm "$container" >/dev/null
  }
  echo "== /migrate-init as the example's PID 1 (Debian 12 without libpq5)"
  serves_then_stops ex-single single
  check "docker run IMAGE COMMAND migrates, then runs that command instead of CMD" \
    bash -c "docker run --rm --network host -e DATABASE_URL='$(pg_url single)' 127.0.0.1:5999/migrate-init-example:test echo other-command 2>/dev/null | grep -qx other-command"
  echo "== /migrate-init-static, copied out of the image, as the example's PID 1 (Debian 12 without libpq5)"
  serves_then_stops ex-static static_in_debian -v "$binaries/migrate-init-static:/usr/local/bin/migrate-init:ro"
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
