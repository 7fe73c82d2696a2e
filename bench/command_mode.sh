#!/usr/bin/env bash
# Command mode (AUTO_MIGRATE_COMMAND) against Alembic itself, on a throwaway PostgreSQL
# (loopback TCP, SCRAM password authentication). Prints Markdown for bench/RESULTS.md.
#   BUILD_DIR=build bash bench/command_mode.sh [ROUNDS] [TRIALS]
# 1. No-op start of an up-to-date Alembic project (N revisions, BENCH_REVISIONS, default
#    100): `/usr/bin/python3 -m alembic upgrade head` alone, migrate-init in command mode
#    (its fast path reads the revisions and alembic_version: no Python when at head), and
#    the libpq floor, interleaved (bench/interleave.py, ROUNDS rounds, default 30).
# 2. 32 replicas at once on a fresh database in command mode (TRIALS trials, default 5):
#    how many times the migrator ran (each run appends to a file), and the time from the
#    migrator's exit to the last replica's service start. With BASELINE_BINARY=<another
#    migrate-init>, its trials interleave with this build's and the ratio is printed.
# Figures are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
trials=${2:-5}
revisions=${BENCH_REVISIONS:-100}
replicas=32
binary="$PWD/${BUILD_DIR:-build}/migrate-init"
[[ -x $binary ]] || { echo "no $binary: build it first (scripts/build.sh)" >&2; exit 1; }
/usr/bin/python3 -c "import alembic, psycopg2" 2>/dev/null || { echo "needs python3-alembic and python3-psycopg2" >&2; exit 1; }
work=$(mktemp -d /tmp/migrate-init-command-bench-XXXXXX)
source scripts/lib/throwaway-pg.sh
trap 'pg_stop; rm -rf "$work"' EXIT
gcc -O2 -o "$work/floor" bench/floor.c -I/usr/include/postgresql -lpq -lcrypto
pg_start
python3 bench/make_sets.py "$revisions" "$work" >/dev/null
project="$work/alembic$revisions"
alembic_url() { echo "postgresql+psycopg2://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/$1"; }
# The migrator as the project's entrypoint would run it; env.py reads ALEMBIC_URL.
migrator_json="[\"/usr/bin/python3\", \"-m\", \"alembic\", \"-c\", \"$project/alembic.ini\", \"upgrade\", \"head\"]"

# --- 1. no-op start ------------------------------------------------------------------------
pg_sql "CREATE DATABASE noop" >/dev/null
# The floor reads migrate-init's ledger: an empty one here.
pg_sql "CREATE TABLE schema_migrations (version text, checksum text)" noop >/dev/null
ALEMBIC_URL=$(alembic_url noop) /usr/bin/python3 -m alembic -c "$project/alembic.ini" upgrade head >/dev/null 2>&1
alembic_cmd="ALEMBIC_URL=$(alembic_url noop) /usr/bin/python3 -m alembic -c $project/alembic.ini upgrade head"
mi_cmd="DATABASE_URL=$(alembic_url noop) ALEMBIC_URL=$(alembic_url noop) AUTO_MIGRATE_DIR=$project AUTO_MIGRATE_ALEMBIC_INI=$project/alembic.ini AUTO_MIGRATE_COMMAND='$migrator_json' $binary migrate"
sh -c "$mi_cmd" 2>"$work/noop.log" >/dev/null || { cat "$work/noop.log" >&2; exit 1; }
grep -q "up to date" "$work/noop.log" || echo "warning: migrate-init did not take the fast path: $(tail -1 "$work/noop.log")" >&2
python3 bench/interleave.py --rounds "$rounds" --json "$work/noop.json" --ratio mi/floor --ratio alembic/mi --ratio alembic/floor \
  "floor=$work/floor '$(pg_url noop)'" "mi=$mi_cmd" "alembic=$alembic_cmd" >"$work/noop.txt"
sed 's/^/  /' "$work/noop.txt" >&2

# --- 2. 32 replicas on a fresh database ----------------------------------------------------
# The migrator, wrapped: one line in runs per start, its exit time in exits.
cat >"$work/migrator.sh" <<EOF
#!/bin/sh
echo start >>"$work/runs"
/usr/bin/python3 -m alembic -c "$project/alembic.ini" upgrade head
status=\$?
date +%s%N >>"$work/exits"
exit \$status
EOF
chmod +x "$work/migrator.sh"
: >"$work/trials"
# One trial of 32 replicas of `binary`: appends "label runs started gap_ms" to trials.
fleet_trial() {
  local label=$1 bin=$2 trial=$3
  pg_sql "DROP DATABASE IF EXISTS fleet" >/dev/null 2>&1; pg_sql "CREATE DATABASE fleet" >/dev/null
  local marks="$work/marks-$label-$trial"; mkdir -p "$marks"; : >"$work/runs"; : >"$work/exits"
  for i in $(seq 1 "$replicas"); do
    DATABASE_URL=$(alembic_url fleet) ALEMBIC_URL=$(alembic_url fleet) AUTO_MIGRATE_DIR="$project" AUTO_MIGRATE_ALEMBIC_INI="$project/alembic.ini" \
      AUTO_MIGRATE_COMMAND="[\"$work/migrator.sh\"]" AUTO_MIGRATE_FAIL_ON_ERROR=true \
      "$bin" -- sh -c "date +%s%N > $marks/$i" 2>"$marks/log$i" &
  done
  wait
  local started runs last exit_ns
  started=$(ls "$marks" | grep -c '^[0-9]*$' || true)
  runs=$(wc -l <"$work/runs")
  last=$(cat "$marks"/[0-9]* | sort -n | tail -1)
  exit_ns=$(sort -n "$work/exits" | tail -1)
  echo "$label $runs $started $(( (last - exit_ns) / 1000000 ))" >>"$work/trials"
  echo "  trial $trial ($label): migrator ran $runs time(s), $started of $replicas services started, last $(( (last - exit_ns) / 1000000 )) ms after the migrator exited" >&2
}
# BASELINE_BINARY (another build, e.g. the previous commit's): its trials interleave with
# this build's, the order alternating, so that both see the same machine.
baseline=${BASELINE_BINARY:-}
for trial in $(seq 1 "$trials"); do
  if [[ -z $baseline ]]; then
    fleet_trial this "$binary" "$trial"
  elif (( trial % 2 )); then
    fleet_trial baseline "$baseline" "$trial"; fleet_trial this "$binary" "$trial"
  else
    fleet_trial this "$binary" "$trial"; fleet_trial baseline "$baseline" "$trial"
  fi
done

python3 - "$work/noop.json" "$work/trials" "$revisions" "$rounds" "$replicas" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1])); c = r["commands"]; q = r["ratios"]
revisions, rounds, replicas = sys.argv[3], sys.argv[4], sys.argv[5]
def ratio(k): return f"{q[k]['of_medians']:.2f}x (per round {q[k]['per_round_q1']:.2f}-{q[k]['per_round_q3']:.2f})"
print(f"### Command mode: no-op start of an up-to-date Alembic project ({revisions} revisions; ms, median of {rounds} interleaved rounds)")
print()
print("| libpq floor | migrate-init, command mode | `python3 -m alembic upgrade head` alone | migrate-init / floor | Alembic / migrate-init |")
print("|---|---|---|---|---|")
print(f"| {c['floor']['median_ms']:.1f} | {c['mi']['median_ms']:.1f} | {c['alembic']['median_ms']:.1f} | {ratio('mi/floor')} | {ratio('alembic/mi')} |")
print()
trials = [line.split() for line in open(sys.argv[2]) if line.strip()]
labels = sorted({t[0] for t in trials}, key=lambda l: l != "this")
print(f"### Command mode: {replicas} replicas at once on a fresh database ({sum(t[0] == 'this' for t in trials)} trials)")
print()
print("| trial | build | migrator runs | services started | last service start after the migrator's exit (ms) |")
print("|---|---|---|---|---|")
counter = {}
for label, runs, started, gap in trials:
    counter[label] = counter.get(label, 0) + 1
    print(f"| {counter[label]} | {label} | {runs} | {started} of {replicas} | {gap} |")
print()
medians = {}
for label in labels:
    gaps = sorted(int(t[3]) for t in trials if t[0] == label)
    medians[label] = statistics.median(gaps)
    print(f"{label}: median {medians[label]:.0f} ms, range {gaps[0]}-{gaps[-1]} ms.  ")
if "baseline" in medians:
    print(f"this / baseline: {medians['this'] / medians['baseline']:.2f}x of medians.")
EOF
