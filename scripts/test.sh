#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test with ctest.
# Integration tests start their own throwaway PostgreSQL servers on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j2
