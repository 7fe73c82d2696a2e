#!/usr/bin/env bash
# Benchmarks migrate-init against the floor and the tools users would pick instead, on a
# throwaway PostgreSQL (loopback TCP, SCRAM password authentication), and writes
# bench/RESULTS.md. Figures are printed, never asserted: the machines are shared and noisy.
#   bash bench/run.sh [RUNS]        (RUNS: repetitions per no-op measurement, default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
bash scripts/install-deps.sh
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
bash scripts/build.sh >/dev/null
binary="$PWD/${BUILD_DIR:-build}/migrate-init"
work=$(mktemp -d /tmp/migrate-init-bench-XXXXXX)
source scripts/lib/throwaway-pg.sh
trap 'pg_stop; rm -rf "$work"' EXIT

# Tools: the libpq floor (bench/floor.c), psql, and dbmate from the npm registry.
gcc -O2 -o "$work/floor" bench/floor.c -I/usr/include/postgresql -lpq -lcrypto
if [[ ! -x "$work/tools/node_modules/@dbmate/linux-x64/bin/dbmate" ]]; then
  npm install --silent --prefix "$work/tools" @dbmate/linux-x64 >/dev/null 2>&1 || echo "dbmate: npm install failed" >&2
fi
dbmate="$work/tools/node_modules/@dbmate/linux-x64/bin/dbmate"
have_dbmate=false
[[ -x "$dbmate" ]] && have_dbmate=true

pg_start
url() { pg_url "$1"; }
export PGPASSWORD=$PG_PASSWORD

# N small migrations in dbmate's layout (which migrate-init reads too).
make_set() { # make_set N DIR
  mkdir -p "$2"
  for i in $(seq 1 "$1"); do
    printf -- '-- migrate:up\nCREATE TABLE t_%05d (id bigint PRIMARY KEY, note text);\n\n-- migrate:down\nDROP TABLE t_%05d;\n' \
      "$i" "$i" >"$2/$(printf %05d "$i")_table_$i.sql"
  done
}
# psql in one session, a transaction per file, each with its ledger row (the fair floor
# for applying: every file still commits atomically with its row).
psql_script() { # psql_script DIR > script
  echo "CREATE TABLE IF NOT EXISTS psql_ledger (version text PRIMARY KEY, applied_at timestamptz DEFAULT now());"
  for f in "$1"/*.sql; do
    v=$(basename "$f" | cut -d_ -f1)
    echo "BEGIN;"
    sed '/^-- migrate:down/,$d; /^-- migrate:up/d' "$f"
    echo "INSERT INTO psql_ledger (version) VALUES ('$v');"
    echo "COMMIT;"
  done
}
fresh_db() { pg_sql "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1; pg_sql "CREATE DATABASE $1" >/dev/null; }
# Set-up helpers (not measured): migrate a database, recreate one.
printf '#!/bin/sh\nexport DATABASE_URL="postgresql://postgres:%s@127.0.0.1:%s/$1" AUTO_MIGRATE_DIR="$2"\nexec "%s" migrate 2>/dev/null\n' \
  "$PG_PASSWORD" "$PG_PORT" "$binary" >"$work/mi"
printf '#!/bin/sh\npsql -X -q "postgresql://postgres:%s@127.0.0.1:%s/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null 2>\&1\n' \
  "$PG_PASSWORD" "$PG_PORT" >"$work/recreate"
chmod +x "$work/mi" "$work/recreate"
mi() { "$work/mi" "$@"; }

median_ms() { # median_ms JSON_FILE COMMAND_INDEX
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print(f\"{r['median']*1000:.1f}\")" "$1" "$2"
}
rss_mib() { # rss_mib COMMAND...: peak RSS in MiB
  /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}

results="$work/results.md"
{
  echo "# Benchmark results"
  echo
  echo "Run: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
  echo "$(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}')"
  echo "over TCP on 127.0.0.1 with SCRAM password authentication. Medians of $runs runs unless said; expect about 20% noise."
  echo "Produced by \`bash bench/run.sh\`; \`migrate-init\` is the RelWithDebInfo build."
  echo
} >"$results"

echo "== (a) no-op start-up: everything applied"
{
  echo "## (a) No-op start-up, everything already applied (ms, median)"
  echo
  echo "| files | libpq floor | floor + hash files | migrate-init | ratio to floor+hash | dbmate |"
  echo "|---|---|---|---|---|---|"
} >>"$results"
for n in 1 100 1000; do
  dir="$work/set$n"; make_set "$n" "$dir"
  fresh_db "noop$n"; mi "noop$n" "$dir"
  fresh_db "dbm$n"
  $have_dbmate && "$dbmate" --url "$(url dbm$n)?sslmode=disable" --migrations-dir "$dir" --no-dump-schema up >/dev/null
  commands=("$work/floor '$(url noop$n)'" "$work/floor '$(url noop$n)' --hash $dir" "DATABASE_URL='$(url noop$n)' AUTO_MIGRATE_DIR=$dir $binary migrate")
  $have_dbmate && commands+=("$dbmate --url '$(url dbm$n)?sslmode=disable' --migrations-dir $dir --no-dump-schema up")
  hyperfine --warmup 3 --runs "$runs" --export-json "$work/noop$n.json" "${commands[@]}" >/dev/null
  floor=$(median_ms "$work/noop$n.json" 0); hashed=$(median_ms "$work/noop$n.json" 1); ours=$(median_ms "$work/noop$n.json" 2)
  dbm="-"; $have_dbmate && dbm=$(median_ms "$work/noop$n.json" 3)
  ratio=$(python3 -c "print(f'{$ours/$hashed:.2f}x')")
  echo "| $n | $floor | $hashed | $ours | $ratio | $dbm |" >>"$results"
  echo "  $n files: floor $floor ms, floor+hash $hashed ms, migrate-init $ours ms ($ratio), dbmate $dbm ms"
done

echo "== (b) applying small migrations to an empty database"
{
  echo
  echo "## (b) Applying N small migrations to an empty database (ms, median of 5)"
  echo
  echo "| files | psql, one session, a transaction per file | migrate-init | ratio | dbmate |"
  echo "|---|---|---|---|---|"
} >>"$results"
for n in 100 1000; do
  dir="$work/set$n"
  psql_script "$dir" >"$work/apply$n.sql"
  args=(--prepare "$work/recreate applypsql" "psql -X -q -v ON_ERROR_STOP=1 '$(url applypsql)' -f $work/apply$n.sql"
        --prepare "$work/recreate applymi" "DATABASE_URL='$(url applymi)' AUTO_MIGRATE_DIR=$dir $binary migrate")
  if $have_dbmate; then
    args+=(--prepare "$work/recreate applydbm"
           "$dbmate --url '$(url applydbm)?sslmode=disable' --migrations-dir $dir --no-dump-schema up")
  fi
  hyperfine --runs 5 --export-json "$work/apply$n.json" "${args[@]}" >/dev/null
  psql_ms=$(median_ms "$work/apply$n.json" 0); ours=$(median_ms "$work/apply$n.json" 1)
  dbm="-"; $have_dbmate && dbm=$(median_ms "$work/apply$n.json" 2)
  ratio=$(python3 -c "print(f'{$ours/$psql_ms:.2f}x')")
  echo "| $n | $psql_ms | $ours | $ratio | $dbm |" >>"$results"
  echo "  $n files: psql $psql_ms ms, migrate-init $ours ms ($ratio), dbmate $dbm ms"
done

echo "== (c) peak memory"
fresh_db rss; mi rss "$work/set1000"
{
  echo
  echo "## (c) Peak RSS (MiB), no-op start-up with 1000 files on disk"
  echo
  echo "| libpq floor | migrate-init | dbmate | psql (one SELECT) |"
  echo "|---|---|---|---|"
  floor_rss=$(rss_mib "$work/floor" "$(url rss)")
  ours_rss=$(rss_mib env DATABASE_URL="$(url rss)" AUTO_MIGRATE_DIR="$work/set1000" "$binary" migrate)
  dbm_rss="-"; $have_dbmate && dbm_rss=$(rss_mib "$dbmate" --url "$(url noop1000)?sslmode=disable" --migrations-dir "$work/set1000" --no-dump-schema up)
  psql_rss=$(rss_mib psql -X -q "$(url rss)" -c "SELECT count(*) FROM schema_migrations")
  echo "| $floor_rss | $ours_rss | $dbm_rss | $psql_rss |"
} >>"$results"
tail -1 "$results"

echo "== (d) replicas starting at the same moment on an empty database"
{
  echo
  echo "## (d) N replicas started at once on an empty database, 100 migrations"
  echo
  echo "Time from the start of all replicas to the last one starting its service, and from the"
  echo "migrating replica's service start (just after it released the lock) to the last waiter's."
  echo
  echo "| replicas | until the last service started (ms) | hand-off after the lock release (ms) |"
  echo "|---|---|---|"
} >>"$results"
for n in 1 8 32; do
  fresh_db "replicas$n"
  marks="$work/marks$n"; mkdir -p "$marks"
  t0=$(date +%s%N)
  for i in $(seq 1 "$n"); do
    DATABASE_URL=$(url "replicas$n") AUTO_MIGRATE_DIR="$work/set100" AUTO_MIGRATE_FAIL_ON_ERROR=true \
      "$binary" -- sh -c "date +%s%N > $marks/$i" 2>"$marks/log$i" &
  done
  wait
  last=$(cat "$marks"/[0-9]* | sort -n | tail -1)
  first=$(cat "$marks"/[0-9]* | sort -n | head -1)
  echo "| $n | $(( (last - t0) / 1000000 )) | $(( (last - first) / 1000000 )) |" >>"$results"
  echo "  $n replicas: last started after $(( (last - t0) / 1000000 )) ms, hand-off $(( (last - first) / 1000000 )) ms"
done

cp "$results" bench/RESULTS.md
echo "== wrote bench/RESULTS.md"
