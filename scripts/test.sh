#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test with ctest
# (unit, integration against throwaway PostgreSQL servers on free loopback ports, and the
# container tests on a private Docker Engine); then the same tests under ASan+UBSan, and a
# short fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Paths relative to the checkout in ccache's keys (every build below): a fresh clone
# elsewhere still hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
bash scripts/install-deps.sh --tests # what building and the demo need, and the test tools
bash scripts/build.sh
bash scripts/test-sanitized.sh
bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
# Last, so that its summary is the run's closing line.
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j2
