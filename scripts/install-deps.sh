#!/usr/bin/env bash
# Installs from Debian 12's packages what building migrate-init and the demo need
# (scripts/demo.sh); with --tests, also what the test suite adds (scripts/test.sh).
# Runs apt-get only when something is missing, so repeated runs cost nothing.
#   bash scripts/install-deps.sh            # compiler, CMake, libraries, PostgreSQL
#   bash scripts/install-deps.sh --tests    # and clang, Docker Engine, pgbouncer, ...
set -euo pipefail

build_and_demo=(
  g++ cmake make pkg-config ccache
  libpq-dev libssl-dev
  libboost1.81-dev libboost-program-options1.81-dev
  libspdlog-dev
  doctest-dev # configuring the build looks for it (tests/CMakeLists.txt), even when only the binary is built
  postgresql postgresql-client
)
tests=(
  pgbouncer python3 iproute2 util-linux # integration and reliability tests
  dpkg-dev                              # cpack's .deb (dpkg-shlibdeps)
  clang libclang-rt-14-dev              # scripts/fuzz.sh (libFuzzer) and the sanitizers' LeakSanitizer
  lld                                   # links migrate-init with its start-up symbol order (CMakeLists.txt): the RSS the benchmarks measure
  hyperfine
  docker.io docker-compose debootstrap # tests/containers: Docker Engine, docker-compose, Swarm
  python3-alembic python3-psycopg2 python3-flask-migrate # command mode: tests/fixtures/alembic_project, flask_app
  python3-django                        # command mode: tests/fixtures/django_project
)

packages=("${build_and_demo[@]}")
case "${1:-}" in
  "") ;;
  --tests)
    packages+=("${tests[@]}")
    # tests/fixtures/knex_project needs node and npm. An npm already on PATH (nodesource's
    # nodejs ships its own) is used as it is: Debian's npm package would conflict with it.
    command -v npm >/dev/null || packages+=(nodejs npm)
    ;;
  *) echo "usage: bash scripts/install-deps.sh [--tests]" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Knex and pg for tests/fixtures/knex_project, from npm's registry exactly as package-lock.json
# pins them; again only when node_modules is missing or was installed from another lock file.
if [[ ${1:-} == --tests ]]; then
  knex_project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fixtures/knex_project"
  stamp="$knex_project/node_modules/.installed-from-lock.sha256"
  wanted="$(sha256sum "$knex_project/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
    echo "installing: tests/fixtures/knex_project/node_modules (npm ci)" >&2
    (cd "$knex_project" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$wanted" >"$stamp"
  fi
fi
