#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang into build-fuzz/ and runs each one for
# SECONDS (default 30), starting from a scratch copy of its seed corpus in fuzz/corpus/
# (the repository is never written to). Prints one line per target and exits non-zero if
# any target found a crash; the logs and crash inputs are then kept in the scratch
# directory it names. Naming targets runs only those, one after the other.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]
set -euo pipefail

seconds=${1:-30}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (a whole number of seconds, default 30)" >&2
  exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
targets=(fuzz_sql_splitter fuzz_file_name fuzz_settings fuzz_redact fuzz_log_redaction fuzz_log_escape
  fuzz_alembic_revision)
if (($# > 1)); then
  for target in "${@:2}"; do
    if [[ " ${targets[*]} " != *" $target "* ]]; then
      echo "fuzz.sh: no target $target (there are: ${targets[*]})" >&2
      exit 2
    fi
  done
  targets=("${@:2}")
fi

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DMIGRATE_INIT_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/migrate-init-fuzz.XXXXXX")
summary=()
failed=0
for target in "${targets[@]}"; do
  work="$scratch/$target"
  mkdir -p "$work/corpus"
  cp -R "fuzz/corpus/$target/." "$work/corpus/"
  dict=()
  [[ -f "fuzz/$target.dict" ]] && dict=(-dict="fuzz/$target.dict")
  echo "== $target: ${seconds}s (log: $work/fuzz.log)" >&2
  rc=0
  # Crash inputs land in $work (artifact_prefix); new corpus entries in $work/corpus.
  "build-fuzz/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 \
    -artifact_prefix="$work/" "${dict[@]}" "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?
  executions=$(awk '/stat::number_of_executed_units:/ {print $2}' "$work/fuzz.log" | tail -n 1)
  if ((rc == 0)); then
    result="ok (exit 0)"
  else
    failed=1
    artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
      -o -name 'oom-*' -o -name 'slow-unit-*' \) -printf '%f ' 2>/dev/null)
    result="CRASH (exit $rc) ${artifacts:+artifacts: $artifacts}log: $work/fuzz.log"
  fi
  summary+=("$(printf '%-18s executions=%-10s %s' "$target" "${executions:-?}" "$result")")
done

echo
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "at least one target crashed; logs and inputs are in $scratch" >&2
  exit 1
fi
rm -rf "$scratch"
