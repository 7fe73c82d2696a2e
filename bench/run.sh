#!/usr/bin/env bash
# Benchmarks migrate-init against the floor and the tools users would pick instead, on a
# throwaway PostgreSQL (loopback TCP, SCRAM password authentication), and writes
# bench/RESULTS.md. Figures are printed, never asserted: the machines are shared and noisy.
#   bash bench/run.sh [RUNS]
# RUNS: hyperfine repetitions per no-op measurement of the fast tools, default 30. Fewer
# than 10 is the quick mode: 1 run of each slow peer, fewer interleaved rounds.
# Environment (all optional):
#   BENCH_WORKLOADS  which workloads, default "a b c d e" (e: many waiters)
#   BENCH_PEERS      which peers, default "dbmate alembic sqitch seed"
#   BENCH_SIZES      file counts, default "1 100 1000" ((b) skips 1, (c) takes the largest)
#   BENCH_WAITERS    waiter counts for (e), default "50 100 200"
#   BENCH_ROUNDS     interleaved rounds for (a), default 50 (quick mode: RUNS, at least 5)
#   BENCH_APPLY_ROUNDS  interleaved rounds for (b), default 11
#   BENCH_REPLICA_TRIALS  trials per replica count for (d), default 7
#   BUILD_DIR        the build directory, default build
# Only a full run (every workload and peer, default RUNS) writes bench/RESULTS.md; any
# other writes /tmp/migrate-init-bench-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bench_started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
runs=${1:-30}
workloads=${BENCH_WORKLOADS:-a b c d e}
peers=${BENCH_PEERS:-dbmate alembic sqitch seed}
replica_trials=${BENCH_REPLICA_TRIALS:-7}
waiter_counts=${BENCH_WAITERS:-50 100 200}
sizes=${BENCH_SIZES:-1 100 1000}
largest=$(tr ' ' '\n' <<<"$sizes" | sort -n | tail -1)
if ((runs >= 10)); then
  rounds=${BENCH_ROUNDS:-50}
  slow_runs=10  # Alembic and sqitch no-op start-ups
  waiter_reps=3 # (e): each waiter count
  apply_runs=${BENCH_APPLY_ROUNDS:-11}  # applying: interleaved rounds of psql, migrate-init, dbmate and Alembic
  few_runs=3    # the seed-style script and sqitch at 100 files
else
  rounds=${BENCH_ROUNDS:-$((runs < 5 ? 5 : runs))}
  slow_runs=1 apply_runs=1 few_runs=1 waiter_reps=1
fi
one_run=1 # the seed-style script and sqitch at 1000 files: tens of seconds a run
full=false
[[ $runs == 30 && -z ${BENCH_WORKLOADS:-} && -z ${BENCH_PEERS:-} && -z ${BENCH_WAITERS:-} && -z ${BENCH_ROUNDS:-} && -z ${BENCH_SIZES:-} ]] && full=true
selected() { [[ " $workloads " == *" $1 "* ]]; }
peer() { [[ " $peers " == *" $1 "* ]]; }

bash scripts/install-deps.sh
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
# The peers from Debian: Alembic (with psycopg2) and sqitch (with DBD::Pg).
peer_packages=(python3-alembic python3-psycopg2 sqitch libdbd-pg-perl)
missing=()
for package in "${peer_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  { DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { "${sudo_cmd[@]}" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; } \
    >/dev/null 2>&1 || echo "apt-get install ${missing[*]} failed" >&2
fi
commit=$(git rev-parse --short HEAD)
tree_state=$(git diff --quiet HEAD -- src CMakeLists.txt 2>/dev/null && echo "src/ as committed" || echo "src/ with uncommitted changes")
bash scripts/build.sh >/dev/null
binary="$PWD/${BUILD_DIR:-build}/migrate-init"
work=$(mktemp -d /tmp/migrate-init-bench-XXXXXX)
source scripts/lib/throwaway-pg.sh
trap 'pg_stop; rm -rf "$work"' EXIT

# Tools: the libpq floor (bench/floor.c), psql, dbmate from the npm registry, Alembic (run
# by Debian's own python3, whose dist-packages hold it) and sqitch.
gcc -O2 -o "$work/floor" bench/floor.c -I/usr/include/postgresql -lpq -lcrypto
dbmate="$work/tools/node_modules/@dbmate/linux-x64/bin/dbmate"
if peer dbmate && [[ ! -x $dbmate ]]; then
  npm install --silent --prefix "$work/tools" @dbmate/linux-x64 >/dev/null 2>&1 || echo "dbmate: npm install failed" >&2
fi
have() { # have PEER: selected and installed
  peer "$1" || return 1
  case $1 in
    dbmate) [[ -x $dbmate ]] ;;
    alembic) /usr/bin/python3 -c "import alembic, psycopg2" 2>/dev/null ;;
    sqitch) command -v sqitch >/dev/null && perl -MDBD::Pg -e1 2>/dev/null ;;
    seed) command -v psql >/dev/null ;;
  esac
}
for p in dbmate alembic sqitch seed; do
  peer "$p" && ! have "$p" && echo "$p: not installed, skipped" >&2
done
versions="psql $(psql --version | awk '{print $3}')"
have dbmate && versions+=", dbmate $("$dbmate" --version | awk '{print $NF}')"
have alembic && versions+=", Alembic $(/usr/bin/python3 -c 'import alembic, sqlalchemy, psycopg2; print(alembic.__version__, "(SQLAlchemy", sqlalchemy.__version__ + ", psycopg2", psycopg2.__version__.split()[0] + ")")')"
have sqitch && versions+=", sqitch $(sqitch --version | awk '{print $3}')"
versions+=", hyperfine $(hyperfine --version | awk '{print $2}')"

pg_start
export PGPASSWORD=$PG_PASSWORD
url() { pg_url "$1"; }
alembic_url() { echo "postgresql+psycopg2://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/$1"; }

# N small migrations in each tool's layout (bench/make_sets.py): $work/setN (dbmate's,
# which migrate-init reads too), plainN (seed-style), alembicN, sqitchN.
make_sets() { [[ -d $work/set$1 ]] || python3 bench/make_sets.py "$1" "$work"; }
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
ensure_db() { [[ $(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$1'") == 1 ]] || pg_sql "CREATE DATABASE $1" >/dev/null; }
printf '#!/bin/sh\npsql -X -q "postgresql://postgres:%s@127.0.0.1:%s/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null 2>&1\n' \
  "$PG_PASSWORD" "$PG_PORT" >"$work/recreate"
chmod +x "$work/recreate"

# The command each tool runs to bring database DB up to date with N files (a shell string,
# as hyperfine takes it). Each tool has its own databases, named TOOL_N.
command_for() { # command_for TOOL N [DB]
  local tool=$1 n=$2 db=${3:-$1_$2}
  case $tool in
    mi) echo "DATABASE_URL='$(url "$db")' AUTO_MIGRATE_DIR=$work/set$n $binary migrate" ;;
    dbmate) echo "$dbmate --url '$(url "$db")?sslmode=disable' --migrations-dir $work/set$n --no-dump-schema up" ;;
    alembic) echo "ALEMBIC_URL='$(alembic_url "$db")' /usr/bin/python3 -m alembic -c $work/alembic$n/alembic.ini upgrade head" ;;
    sqitch) echo "sqitch -C $work/sqitch$n deploy 'db:pg://postgres@127.0.0.1:$PG_PORT/$db'" ;;
    seed) echo "sh $PWD/bench/seed.sh '$(url "$db")' $work/plain$n" ;;
    psql) echo "psql -X -q -v ON_ERROR_STOP=1 '$(url "$db")' -f $work/apply$n.sql" ;;
  esac
}
# Brings TOOL_N up to date (not measured): a no-op if (b) left it applied.
setup_db() { # setup_db TOOL N
  make_sets "$2"
  ensure_db "$1_$2"
  [[ $1 == psql ]] && { pg_sql "SELECT 1" >/dev/null; return; }
  sh -c "$(command_for "$1" "$2")" >/dev/null 2>"$work/setup.err" || { echo "  setup of $1 with $2 files failed:" >&2; tail -3 "$work/setup.err" >&2; return 1; }
}

median_ms() { # median_ms JSON_FILE COMMAND_INDEX
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print(f\"{r['median']*1000:.1f}\")" "$1" "$2"
}
# hf RUNS WARMUP PREPARE COMMAND: median ms of COMMAND over RUNS runs (PREPARE, if not
# empty, before each), or "failed".
hf() {
  local args=(--runs "$1" --warmup "$2" --export-json "$work/hf.json")
  [[ -n $3 ]] && args+=(--prepare "$3")
  if hyperfine "${args[@]}" "$4" >/dev/null 2>"$work/hf.err"; then
    median_ms "$work/hf.json" 0
  else
    echo "  failed: $4" >&2
    tail -5 "$work/hf.err" >&2
    echo failed
  fi
}
ratio() { python3 -c "import sys; a, b = sys.argv[1:]; print(f'{float(a)/float(b):.2f}x' if a.replace('.','').isdigit() and b.replace('.','').isdigit() else '-')" "$1" "$2"; }
rss_mib() { # rss_mib COMMAND...: peak RSS in MiB (of the largest single process, for a script)
  /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}
cell() { have "$1" && echo "$2" || echo "-"; }

# --- (b) applying, run first so that (a) and (c) find its databases already applied -----
if selected b; then
  echo "== (b) applying small migrations to an empty database"
  apply_rounds=$((apply_runs < 2 ? 2 : apply_runs))
  {
    echo "## (b) Applying N small migrations to an empty database (ms, median)"
    echo
    echo "psql, migrate-init, dbmate and Alembic run interleaved (\`bench/interleave.py\`, $apply_rounds rounds,"
    echo "each run on a freshly created database, in an order that rotates from round to round); the"
    echo "ratio is migrate-init's median over psql's, with the quartiles of the per-round ratios in"
    echo "brackets. sqitch and the seed-style script run under hyperfine, $few_runs times with 100 files"
    echo "and $one_run time with 1000 (tens of seconds a run)."
    echo
    echo "| files | psql, one session, a transaction per file | migrate-init | ratio | dbmate | Alembic | sqitch | seed-style |"
    echo "|---|---|---|---|---|---|---|---|"
  } >"$work/b.md"
  for n in $sizes; do
    ((n > 1)) || continue
    make_sets "$n"
    psql_script "$work/set$n" >"$work/apply$n.sql"
    large=$((n >= 1000))
    args=()
    for tool in psql mi dbmate alembic; do
      [[ $tool == psql || $tool == mi ]] || have "$tool" || continue
      args+=(--prepare "$tool=$work/recreate ${tool}_$n" "$tool=$(command_for "$tool" "$n")")
    done
    python3 bench/interleave.py --rounds "$apply_rounds" --warmup 0 --json "$work/apply$n.json" --ratio mi/psql \
      "${args[@]}" | sed 's/^/   /'
    declare -A m=()
    eval "$(python3 - "$work/apply$n.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); q = r["ratios"]["mi/psql"]
for name, c in r["commands"].items():
    print(f"m[{name}]={c['median_ms']:.1f}")
print(f"m[ratio]='{q['of_medians']:.2f}x ({q['per_round_q1']:.2f}-{q['per_round_q3']:.2f})'")
EOF
    )"
    for tool in dbmate alembic sqitch seed; do
      have "$tool" || { m[$tool]="-"; continue; }
      [[ -n ${m[$tool]:-} ]] && continue
      m[$tool]=$(hf $((large ? one_run : few_runs)) 0 "$work/recreate ${tool}_$n" "$(command_for "$tool" "$n")")
    done
    echo "| $n | ${m[psql]} | ${m[mi]} | ${m[ratio]} | ${m[dbmate]} | ${m[alembic]} | ${m[sqitch]} | ${m[seed]} |" >>"$work/b.md"
    echo "  $n files: psql ${m[psql]}, migrate-init ${m[mi]} (${m[ratio]}), dbmate ${m[dbmate]}, Alembic ${m[alembic]}, sqitch ${m[sqitch]}, seed-style ${m[seed]} ms"
    unset m
  done
fi

# --- (a) no-op start-up ------------------------------------------------------------------
if selected a; then
  echo "== (a) no-op start-up: everything applied"
  {
    echo "## (a) No-op start-up, everything already applied"
    echo
    echo "### Against the floor, interleaved (ms, median of $rounds rounds)"
    echo
    echo "\`bench/interleave.py\` runs the floor, the floor that also hashes every file, and"
    echo "migrate-init (which verifies every file's checksum) once each per round, in an order"
    echo "that rotates from round to round, so machine noise falls on all three alike. The"
    echo "ratios are of the medians; in brackets, the quartiles of the per-round ratios."
    echo
    echo "| files | libpq floor | floor + hash files | migrate-init | ratio to floor | ratio to floor+hash |"
    echo "|---|---|---|---|---|---|"
  } >"$work/a1.md"
  {
    echo
    echo "### Against the peers (ms, median; hyperfine, one command after the other)"
    echo
    echo "Runs: the floor, migrate-init and dbmate $runs; Alembic and sqitch $slow_runs; the seed-style"
    echo "script $few_runs with 1 and 100 files, $one_run with 1000 (one psql per file: tens of seconds)."
    echo "In brackets, the ratio to this table's floor."
    echo
    echo "| files | libpq floor | migrate-init | dbmate | Alembic | sqitch | seed-style |"
    echo "|---|---|---|---|---|---|---|"
  } >"$work/a2.md"
  for n in $sizes; do
    make_sets "$n"
    for tool in mi dbmate alembic sqitch seed; do
      [[ $tool == mi ]] || have "$tool" || continue
      setup_db "$tool" "$n"
    done
    floor="$work/floor '$(url "mi_$n")'"
    python3 bench/interleave.py --rounds "$rounds" --json "$work/inter$n.json" --ratio ours/floor --ratio ours/hashed \
      "floor=$floor" "hashed=$floor --hash $work/set$n" "ours=$(command_for mi "$n")" >"$work/inter$n.txt"
    python3 - "$work/inter$n.json" "$n" >>"$work/a1.md" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); c = r["commands"]; q = r["ratios"]
def ratio(k): return f"{q[k]['of_medians']:.2f}x ({q[k]['per_round_q1']:.2f}-{q[k]['per_round_q3']:.2f})"
print(f"| {sys.argv[2]} | {c['floor']['median_ms']:.1f} | {c['hashed']['median_ms']:.1f} | {c['ours']['median_ms']:.1f} | {ratio('ours/floor')} | {ratio('ours/hashed')} |")
EOF
    echo "  $n files, interleaved:"; sed 's/^/   /' "$work/inter$n.txt"
    declare -A m=()
    m[floor]=$(hf "$runs" 3 "" "$floor")
    m[mi]=$(hf "$runs" 3 "" "$(command_for mi "$n")")
    for tool in dbmate alembic sqitch seed; do
      have "$tool" || { m[$tool]="-"; continue; }
      case $tool in
        dbmate) r=$runs w=3 ;;
        alembic | sqitch) r=$slow_runs w=1 ;;
        seed) r=$((n >= 1000 ? one_run : few_runs)) w=0 ;;
      esac
      m[$tool]=$(hf "$r" "$w" "" "$(command_for "$tool" "$n")")
    done
    row="| $n | ${m[floor]}"
    for tool in mi dbmate alembic sqitch seed; do
      if [[ ${m[$tool]} == - || ${m[$tool]} == failed ]]; then row+=" | ${m[$tool]}"; else row+=" | ${m[$tool]} ($(ratio "${m[$tool]}" "${m[floor]}"))"; fi
    done
    echo "$row |" >>"$work/a2.md"
    echo "  $n files, hyperfine: floor ${m[floor]}, migrate-init ${m[mi]}, dbmate ${m[dbmate]}, Alembic ${m[alembic]}, sqitch ${m[sqitch]}, seed-style ${m[seed]} ms"
    unset m
  done
fi

# --- (c) peak memory ------------------------------------------------------------------
if selected c; then
  echo "== (c) peak memory"
  big=$largest
  make_sets "$big"
  setup_db mi "$big"
  {
    echo "## (c) Peak RSS (MiB), no-op start-up with $big files on disk"
    echo
    echo "\`/usr/bin/time -f %M\`: for a script, the largest single process (psql, for the seed-style"
    echo "script, whose processes do not grow with the file count)."
    echo
    echo "| tool | peak RSS (MiB) | ratio to the floor |"
    echo "|---|---|---|"
    floor_rss=$(rss_mib "$work/floor" "$(url "mi_$big")")
    echo "| libpq floor | $floor_rss | 1.00x |"
    r=$(rss_mib env DATABASE_URL="$(url "mi_$big")" AUTO_MIGRATE_DIR="$work/set$big" "$binary" migrate)
    echo "| migrate-init | $r | $(ratio "$r" "$floor_rss") |"
    r=$(rss_mib psql -X -q "$(url "mi_$big")" -c "SELECT count(*) FROM schema_migrations")
    echo "| psql (one SELECT) | $r | $(ratio "$r" "$floor_rss") |"
    for tool in dbmate alembic sqitch seed; do
      have "$tool" || continue
      n=$big; [[ $tool == seed ]] && ((n > 100)) && n=100
      make_sets "$n"
      setup_db "$tool" "$n"
      r=$(rss_mib sh -c "$(command_for "$tool" "$n")")
      case $tool in
        alembic) label=Alembic ;;
        seed) label="seed-style script (psql, $n files)" ;;
        *) label=$tool ;;
      esac
      echo "| $label | $r | $(ratio "$r" "$floor_rss") |"
    done
  } >"$work/c.md"
  sed 's/^/  /' "$work/c.md" | tail -n +8
fi

# --- (d) replicas at once ---------------------------------------------------------------
if selected d; then
  echo "== (d) replicas starting at the same moment on an empty database"
  make_sets 100
  {
    echo "## (d) N replicas started at once on an empty database, 100 migrations"
    echo
    echo "Time from the start of all replicas to the last one starting its service, and from the"
    echo "migrating replica's service start (just after it released the lock) to the last waiter's."
    echo "Each service is \`sh -c 'date +%s%N > FILE'\`, so the figures include starting 32 shells and"
    echo "32 \`date\` processes on these 2 cores. Median of $replica_trials trials on a fresh database each,"
    echo "the range in brackets."
    echo
    echo "| replicas | until the last service started (ms) | hand-off after the lock release (ms) |"
    echo "|---|---|---|"
  } >"$work/d.md"
  median_range() { sort -n | awk '{v[NR]=$1} END {printf "%d (%d-%d)", v[int((NR+1)/2)], v[1], v[NR]}'; }
  for n in 1 8 32; do
    : >"$work/d_total$n"; : >"$work/d_handoff$n"
    for trial in $(seq 1 "$replica_trials"); do
      pg_sql "DROP DATABASE IF EXISTS replicas$n" >/dev/null 2>&1; pg_sql "CREATE DATABASE replicas$n" >/dev/null
      marks="$work/marks$n-$trial"; mkdir -p "$marks"
      t0=$(date +%s%N)
      for i in $(seq 1 "$n"); do
        DATABASE_URL=$(url "replicas$n") AUTO_MIGRATE_DIR="$work/set100" AUTO_MIGRATE_FAIL_ON_ERROR=true \
          "$binary" -- sh -c "date +%s%N > $marks/$i" 2>"$marks/log$i" &
      done
      wait
      last=$(cat "$marks"/[0-9]* | sort -n | tail -1)
      first=$(cat "$marks"/[0-9]* | sort -n | head -1)
      echo $(( (last - t0) / 1000000 )) >>"$work/d_total$n"
      echo $(( (last - first) / 1000000 )) >>"$work/d_handoff$n"
    done
    total=$(median_range <"$work/d_total$n"); handoff=$(median_range <"$work/d_handoff$n")
    echo "| $n | $total | $handoff |" >>"$work/d.md"
    echo "  $n replicas: last started after $total ms, hand-off $handoff ms"
  done
fi

# --- (e) many waiters -------------------------------------------------------------------
if selected e; then
  echo "== (e) what many waiting replicas cost the server"
  # Room for 200 waiters: raise max_connections in this throwaway server's own
  # postgresql.auto.conf and restart it with the options it was started with.
  # Also load pg_stat_statements, to count the waiters' statements.
  pg_sql "ALTER SYSTEM SET max_connections = 300" >/dev/null
  pg_sql "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$PG_DIR/data" -w -m fast restart >/dev/null
  pg_sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  sleep_s=15
  mkdir -p "$work/sleepset"
  printf -- '-- migrate:up\nSELECT pg_sleep(%s);\n\n-- migrate:down\nSELECT 1;\n' "$sleep_s" >"$work/sleepset/00001_sleep.sql"
  {
    echo "## (e) What N waiting replicas cost the server"
    echo
    echo "One migrate-init holds the lock for ${sleep_s} s (a migration that runs \`SELECT pg_sleep($sleep_s)\`);"
    echo "N more start once it holds it. Measured by \`bench/waiters.py\` over a window of the wait"
    echo "that starts 1.5 s after the last waiter connected (their poll backoff is at its ceiling by"
    echo "then) and ends 1 s before the release. CPU is time on a CPU (/proc/PID/schedstat), as a"
    echo "percentage of one core: the server's is the postmaster and all its children. Lock polls"
    echo "(\`SELECT pg_try_advisory_lock(\$1)\`) and holder look-ups (the query on pg_locks and"
    echo "pg_stat_get_activity(pid) a waiter runs to log who holds the lock) are pg_stat_statements' calls in"
    echo "the window; the server's CPU per statement divides the one by the other. Memory per backend"
    echo "is a waiting backend's private memory (smaps_rollup). The hand-off runs from the holder's"
    echo "service start (just after its unlock and NOTIFY) to the last waiter's. max_connections is"
    echo "300 here, and pg_stat_statements is loaded."
    echo
    echo "Medians of $waiter_reps runs per row (the hand-off of each run in brackets)."
    echo
    echo "| waiters | connections held | server CPU (% of a core) | lock polls/s | holder look-ups/s | server CPU per statement (µs) | waiters' own CPU (% of a core) | private MiB per backend | window (s) | hand-off (ms) |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
  } >"$work/e.md"
  for n in $waiter_counts; do
    for rep in $(seq 1 "$waiter_reps"); do
      pg_sql "DROP DATABASE IF EXISTS waiters$n" >/dev/null 2>&1; pg_sql "CREATE DATABASE waiters$n" >/dev/null
      python3 bench/waiters.py --binary "$binary" --url "$(url "waiters$n")" --dir "$work/sleepset" \
        --marks "$work/wmarks$n-$rep" --data-dir "$PG_DIR/data" --sleep "$sleep_s" --waiters "$n" \
        --psql "psql -h $PG_DIR -p $PG_PORT -U postgres -d postgres" --json "$work/waiters$n-$rep.json" >/dev/null ||
        echo "  waiters.py failed with $n waiters" >&2
    done
    python3 - "$n" "$work"/waiters"$n"-*.json >>"$work/e.md" <<'EOF'
import json, statistics, sys
import os
runs = [json.load(open(path)) for path in sys.argv[2:] if os.path.exists(path)]
if not runs:
    print(f"| {sys.argv[1]} | failed | | | | | | | | |")
    sys.exit()
def m(key, fmt):
    values = [r[key] for r in runs if r[key] is not None]
    return format(statistics.median(values), fmt) if values else "-"
print(f"| {sys.argv[1]} | {m('connections', '.0f')} | {m('server_cpu_pct', '.1f')} | {m('polls_per_s', '.0f')} "
      f"| {m('lookups_per_s', '.0f')} | {m('server_us_per_query', '.0f')} "
      f"| {m('waiters_cpu_pct', '.1f')} | {m('backend_private_mib', '.1f')} "
      f"| {m('window_s', '.1f')} | {m('handoff_ms', '.0f')} ({', '.join(format(r['handoff_ms'], '.0f') for r in runs)}) |")
EOF
    echo "  $(tail -1 "$work/e.md")"
  done
  # What each kind of statement costs, apart from the rest: pgbench at the waiters' rates.
  {
    echo
    echo "### The cost of one statement (pgbench, \`bench/query_cost.py\`)"
    echo
    echo "pgbench sends one statement at a fixed total rate from C clients that sleep in between, as"
    echo "waiters do, while another session holds the lock; server CPU and statements are measured as"
    echo "above over 6 s in the middle of a 14 s run. One client at the same rate shows the statement"
    echo "on a backend that never goes idle."
    echo
    echo "| statement | clients | statements/s | server CPU (% of a core) | server CPU per statement (µs) |"
    echo "|---|---|---|---|---|"
  } >>"$work/e.md"
  pg_sql "DROP DATABASE IF EXISTS querycost" >/dev/null 2>&1; pg_sql "CREATE DATABASE querycost" >/dev/null
  if python3 bench/query_cost.py --url "$(url querycost)" --data-dir "$PG_DIR/data" \
    --psql "psql -h $PG_DIR -p $PG_PORT -U postgres -d postgres" --json "$work/querycost.json" \
    poll:1:400 poll:50:100 poll:200:400 lookup:50:10 lookup:200:40 >/dev/null; then
    python3 - "$work/querycost.json" >>"$work/e.md" <<'EOF'
import json, sys
labels = {"poll": "lock poll", "lookup": "holder look-up"}
for r in json.load(open(sys.argv[1])):
    print(f"| {labels[r['statement']]} | {r['clients']} | {r['statements_per_s']:.0f} | {r['server_cpu_pct']:.1f} | {r['server_us_per_statement']:.0f} |")
EOF
    tail -5 "$work/e.md" | sed 's/^/  /'
  else
    echo "| failed | | | | |" >>"$work/e.md"
  fi
fi

# --- RESULTS.md -------------------------------------------------------------------------
elapsed=$(( $(date +%s) - bench_started ))
results="$work/results.md"
{
  echo "# Benchmark results"
  echo
  echo "Run: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
  echo "$(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}')"
  echo "over TCP on 127.0.0.1 with SCRAM password authentication. $versions."
  echo "Produced by \`bash bench/run.sh${*:+ $*}\` in $((elapsed / 60)) min $((elapsed % 60)) s; \`migrate-init\` is the RelWithDebInfo build"
  echo "of commit $commit (working tree as built: $tree_state)."
  echo "Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) cores;"
  echo "other work shares this machine). Expect about 20% noise, more when the load exceeds the cores."
  for part in a1 a2 b c d e; do
    [[ -f $work/$part.md ]] || continue
    [[ $part == a2 ]] || echo
    cat "$work/$part.md"
  done
} >"$results"
# The hand-written analysis at the end of RESULTS.md (from its marker line on) is kept; it
# names the run it was written for, so check it against the new figures.
marker='<!-- analysis: written by hand; bench/run.sh keeps it -->'
if $full; then
  if grep -qF "$marker" bench/RESULTS.md 2>/dev/null; then
    { echo; awk -v m="$marker" 'index($0, m) == 1 { on = 1 } on' bench/RESULTS.md; } >>"$results"
  fi
  cp "$results" bench/RESULTS.md
  echo "== wrote bench/RESULTS.md ($((elapsed / 60)) min $((elapsed % 60)) s)"
else
  cp "$results" /tmp/migrate-init-bench-results.md
  echo "== partial run: wrote /tmp/migrate-init-bench-results.md ($((elapsed / 60)) min $((elapsed % 60)) s)"
fi
