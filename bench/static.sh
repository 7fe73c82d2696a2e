#!/usr/bin/env bash
# The static release binaries (issue 21, "Performance") against the libpq floor linked the
# same way, on a throwaway PostgreSQL (loopback TCP, SCRAM password authentication).
# Prints Markdown on stdout (progress on stderr). Figures are printed, never asserted.
#   bash bench/static.sh [ROUNDS] [TRIALS]
#   ROUNDS  interleaved rounds for (a)-(d), default 30 (RSS: the same number of rounds)
#   TRIALS  trials per binary for (e), default 7
# Environment (all optional):
#   DYNAMIC_BINARY  the dynamic build, default build/migrate-init
#   DIST_DIR        holds migrate-init (static but glibc) and migrate-init-static, default dist
#   STATIC_LIBPQ    include/ and lib/ of the static libpq, default `bash scripts/lib/static-libpq.sh`
#   BENCH_REVISIONS revisions of the Alembic project in (d), default 100
#   BENCH_FILES     files of the fresh database in (e), default 10
#   BENCH_NOTE      a line printed under the load averages (what else the machine runs)
# The three binaries are copied into the work directory first, so that a rebuild during
# the run cannot swap one under the measurement. Two floors are built from bench/floor.c:
# dynamic (gcc -O2 ... -lpq -lcrypto) and static, linked as CMakeLists.txt links
# MIGRATE_INIT_STATIC=full (-static -s; libpq.a, libpgcommon.a, libpgport.a, then Debian's
# static -lssl -lcrypto -lpthread). Every URL names host 127.0.0.1 and a user, so that
# nothing needs glibc's NSS (which a static program cannot load).
#   (a) .sql no-op, 1 file        (b) .sql no-op, 1000 files (floors with --hash)
#   (c) peak RSS of (a)           (d) command mode, an up-to-date Alembic project (fast path)
#   (e) 32 replicas at once on a fresh database: first to last service start, static vs dynamic
#   and, before (e), the whole machine's CPU per 1-file no-op start (what a fleet is bound by)
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s)
rounds=${1:-30}
trials=${2:-7}
revisions=${BENCH_REVISIONS:-100}
fleet_files=${BENCH_FILES:-10}
replicas=32
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

dynamic_src=$(realpath -m "${DYNAMIC_BINARY:-build/migrate-init}")
dist_src=$(realpath -m "${DIST_DIR:-dist}")
libpq=${STATIC_LIBPQ:-$(bash scripts/lib/static-libpq.sh)}
for f in "$dynamic_src" "$dist_src/migrate-init" "$dist_src/migrate-init-static"; do
  [[ -x $f ]] || { echo "static.sh: no $f (scripts/build.sh, scripts/build.sh --static)" >&2; exit 1; }
done
for f in libpq.a libpgcommon.a libpgport.a; do
  [[ -f $libpq/lib/$f ]] || { echo "static.sh: no $libpq/lib/$f" >&2; exit 1; }
done
command -v /usr/bin/time >/dev/null || { echo "static.sh: needs /usr/bin/time (Debian time)" >&2; exit 1; }

work=$(mktemp -d /tmp/migrate-init-static-bench-XXXXXX)
source scripts/lib/throwaway-pg.sh
trap 'pg_stop; rm -rf "$work"' EXIT
say() { echo "== $*" >&2; }

# --- binaries and floors -------------------------------------------------------------------
mkdir -p "$work/bin"
cp "$dynamic_src" "$work/bin/mi-dynamic"
cp "$dist_src/migrate-init" "$work/bin/mi-glibc"
cp "$dist_src/migrate-init-static" "$work/bin/mi-static"
mi_dyn=$work/bin/mi-dynamic mi_glibc=$work/bin/mi-glibc mi_static=$work/bin/mi-static
gcc -O2 -o "$work/bin/floor-dynamic" bench/floor.c -I/usr/include/postgresql -lpq -lcrypto
gcc -O2 -static -s -o "$work/bin/floor-static" bench/floor.c -I"$libpq/include" \
  "$libpq/lib/libpq.a" "$libpq/lib/libpgcommon.a" "$libpq/lib/libpgport.a" -lssl -lcrypto -lpthread 2>"$work/floor-static.log" ||
  { cat "$work/floor-static.log" >&2; exit 1; }
floor_dyn=$work/bin/floor-dynamic floor_static=$work/bin/floor-static
file "$floor_static" | grep -q "statically linked" || { echo "static.sh: the static floor is not static" >&2; exit 1; }
binary_line() { # binary_line LABEL SOURCE COPY
  local size linkage
  size=$(stat -c %s "$3")
  linkage=$(file -b "$3" | grep -o 'statically linked\|dynamically linked' | head -1)
  echo "| $1 | \`$2\` | $((size / 1024)) KiB | $linkage | \`$(sha256sum "$3" | cut -c1-12)\` |"
}

pg_start
mi_url() { pg_url "$1"; }   # postgresql://postgres:PASSWORD@127.0.0.1:PORT/DB
alembic_url() { echo "postgresql+psycopg2://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/$1"; }
python3 bench/make_sets.py 1 "$work" >/dev/null
python3 bench/make_sets.py 1000 "$work" >/dev/null
python3 bench/make_sets.py "$fleet_files" "$work" >/dev/null
for n in 1 1000; do
  pg_sql "CREATE DATABASE noop$n" >/dev/null
  DATABASE_URL=$(mi_url "noop$n") AUTO_MIGRATE_DIR=$work/set$n "$mi_dyn" migrate 2>"$work/setup$n.log" >/dev/null ||
    { cat "$work/setup$n.log" >&2; exit 1; }
done
mi_cmd() { echo "DATABASE_URL=$(mi_url "noop$2") AUTO_MIGRATE_DIR=$work/set$2 $1 migrate"; }
# Each binary once before timing: every one must take the no-op path.
for bin in "$mi_dyn" "$mi_glibc" "$mi_static"; do
  for n in 1 1000; do
    env DATABASE_URL="$(mi_url "noop$n")" AUTO_MIGRATE_DIR="$work/set$n" "$bin" migrate 2>"$work/check.log" >/dev/null ||
      { cat "$work/check.log" >&2; exit 1; }
    grep -q "up to date" "$work/check.log" || { echo "static.sh: $bin did not find noop$n up to date:" >&2; cat "$work/check.log" >&2; exit 1; }
  done
done

# --- (a) .sql no-op, 1 file ----------------------------------------------------------------
say "(a) .sql no-op, 1 file, $rounds interleaved rounds"
python3 bench/interleave.py --rounds "$rounds" --json "$work/a.json" \
  --ratio mi_static/floor_static --ratio mi_static/floor_dyn --ratio mi_glibc/floor_dyn --ratio mi_dyn/floor_dyn \
  --ratio floor_static/floor_dyn --ratio mi_static/mi_dyn \
  "mi_static=$(mi_cmd "$mi_static" 1)" "mi_glibc=$(mi_cmd "$mi_glibc" 1)" "mi_dyn=$(mi_cmd "$mi_dyn" 1)" \
  "floor_static=$floor_static $(mi_url noop1)" "floor_dyn=$floor_dyn $(mi_url noop1)" >"$work/a.txt"
sed 's/^/   /' "$work/a.txt" >&2
load_a=$(cut -d' ' -f1 /proc/loadavg)

# --- (b) .sql no-op, 1000 files ------------------------------------------------------------
say "(b) .sql no-op, 1000 files, $rounds interleaved rounds"
python3 bench/interleave.py --rounds "$rounds" --json "$work/b.json" \
  --ratio mi_static/hash_static --ratio mi_glibc/hash_static --ratio mi_dyn/hash_dyn --ratio mi_static/mi_dyn \
  --ratio hash_static/hash_dyn \
  "mi_static=$(mi_cmd "$mi_static" 1000)" "mi_glibc=$(mi_cmd "$mi_glibc" 1000)" "mi_dyn=$(mi_cmd "$mi_dyn" 1000)" \
  "hash_static=$floor_static $(mi_url noop1000) --hash $work/set1000" \
  "hash_dyn=$floor_dyn $(mi_url noop1000) --hash $work/set1000" >"$work/b.txt"
sed 's/^/   /' "$work/b.txt" >&2
load_b=$(cut -d' ' -f1 /proc/loadavg)

# --- (c) peak RSS of the 1-file no-op --------------------------------------------------------
say "(c) peak RSS, 1-file no-op, $rounds interleaved rounds"
python3 - "$rounds" "$work/c.json" \
  "mi_static=$(mi_cmd "$mi_static" 1)" "mi_glibc=$(mi_cmd "$mi_glibc" 1)" "mi_dyn=$(mi_cmd "$mi_dyn" 1)" \
  "floor_static=$floor_static $(mi_url noop1)" "floor_dyn=$floor_dyn $(mi_url noop1)" >"$work/c.txt" <<'EOF'
# Interleaved as bench/interleave.py does (the order rotates from round to round); each
# run under /usr/bin/time -f %M: peak RSS in KiB.
import json, os, subprocess, sys, tempfile
sys.path.insert(0, "bench")
from interleave import parse_command, quartiles
rounds, out = int(sys.argv[1]), sys.argv[2]
names, commands = [], []
for spec in sys.argv[3:]:
    name, _, text = spec.partition("=")
    names.append(name); commands.append(parse_command(text))
samples = {name: [] for name in names}
fd, rss_file = tempfile.mkstemp(); os.close(fd)
for r in range(-1, rounds):
    for offset in range(len(names)):
        i = (r + offset) % len(names)
        argv, env = commands[i]
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise SystemExit(f"rss: {names[i]} exited with {done.returncode}: {done.stderr.decode()[-300:]}")
        if r >= 0:
            samples[names[i]].append(int(open(rss_file).read().split()[-1]))
os.unlink(rss_file)
report = {"rounds": rounds, "commands": {}, "ratios": {}}
for name in names:
    q1, median, q3 = quartiles(samples[name])
    report["commands"][name] = {"median_kib": median, "q1_kib": q1, "q3_kib": q3, "samples_kib": samples[name]}
    print(f"{name:>12}: median {median / 1024:6.2f} MiB  (quartiles {q1 / 1024:.2f} - {q3 / 1024:.2f})")
for a, b in [("mi_static", "floor_dyn"), ("mi_static", "floor_static"), ("mi_glibc", "floor_dyn"),
             ("mi_dyn", "floor_dyn"), ("floor_static", "floor_dyn")]:
    per_round = [x / y for x, y in zip(samples[a], samples[b])]
    q1, median, q3 = quartiles(per_round)
    of_medians = report["commands"][a]["median_kib"] / report["commands"][b]["median_kib"]
    report["ratios"][f"{a}/{b}"] = {"of_medians": of_medians, "per_round_q1": q1, "per_round_median": median, "per_round_q3": q3}
    print(f"{a + '/' + b:>12}: {of_medians:.2f}x of the medians; per round {median:.2f}x (quartiles {q1:.2f} - {q3:.2f})")
json.dump(report, open(out, "w"), indent=1)
EOF
sed 's/^/   /' "$work/c.txt" >&2
load_c=$(cut -d' ' -f1 /proc/loadavg)

# --- (d) command mode, an up-to-date Alembic project -----------------------------------------
d_done=false
if /usr/bin/python3 -c "import alembic, psycopg2" 2>/dev/null; then
  say "(d) command mode, up-to-date Alembic project ($revisions revisions), $rounds interleaved rounds"
  python3 bench/make_sets.py "$revisions" "$work" >/dev/null
  project="$work/alembic$revisions"
  migrator_json="[\"/usr/bin/python3\", \"-m\", \"alembic\", \"-c\", \"$project/alembic.ini\", \"upgrade\", \"head\"]"
  pg_sql "CREATE DATABASE alembic" >/dev/null
  # The floors read migrate-init's ledger: an empty one here (as in bench/command_mode.sh).
  pg_sql "CREATE TABLE schema_migrations (version text, checksum text)" alembic >/dev/null
  ALEMBIC_URL=$(alembic_url alembic) /usr/bin/python3 -m alembic -c "$project/alembic.ini" upgrade head >/dev/null 2>&1
  cm_cmd() { echo "DATABASE_URL=$(mi_url alembic) ALEMBIC_URL=$(alembic_url alembic) AUTO_MIGRATE_DIR=$project AUTO_MIGRATE_ALEMBIC_INI=$project/alembic.ini AUTO_MIGRATE_COMMAND='$migrator_json' $1 migrate"; }
  for bin in "$mi_dyn" "$mi_glibc" "$mi_static"; do
    sh -c "$(cm_cmd "$bin")" 2>"$work/d-check.log" >/dev/null || { cat "$work/d-check.log" >&2; exit 1; }
    grep -q "up to date" "$work/d-check.log" || echo "warning: $bin did not take the fast path: $(tail -1 "$work/d-check.log")" >&2
  done
  python3 bench/interleave.py --rounds "$rounds" --json "$work/d.json" \
    --ratio mi_static/floor_static --ratio mi_glibc/floor_dyn --ratio mi_dyn/floor_dyn --ratio mi_static/mi_dyn \
    "mi_static=$(cm_cmd "$mi_static")" "mi_glibc=$(cm_cmd "$mi_glibc")" "mi_dyn=$(cm_cmd "$mi_dyn")" \
    "floor_static=$floor_static $(mi_url alembic)" "floor_dyn=$floor_dyn $(mi_url alembic)" >"$work/d.txt"
  sed 's/^/   /' "$work/d.txt" >&2
  d_done=true
else
  echo "(d) skipped: needs python3-alembic and python3-psycopg2" >&2
fi
load_d=$(cut -d' ' -f1 /proc/loadavg)

# --- the machine's CPU per 1-file no-op start (what (e) is made of) ----------------------------
# A fleet on this machine's cores is bound by the CPU the whole machine spends per replica:
# the client, the kernel's work for it, and the server's backend. Busy time from /proc/stat
# (all CPUs, summed over the rounds), read with bash's own `read`: no process is forked
# inside the interval. Each interval starts after a 50 ms pause and ends 50 ms after the
# start exits, so that the server's side of one start (its backend ends after the client)
# is counted with it, not with the next. One run of each per round, the order rotating,
# and reversed every other round.
say "machine CPU per 1-file no-op start, $rounds interleaved rounds"
machine_busy() { # sets busy_ticks: the busy ticks of all CPUs (user nice system irq softirq steal)
  local _cpu user nice system _idle _iowait irq softirq steal _rest
  read -r _cpu user nice system _idle _iowait irq softirq steal _rest </proc/stat
  busy_ticks=$((user + nice + system + irq + softirq + steal))
}
mkfifo "$work/quiet"
exec {quiet_fd}<>"$work/quiet" # nothing is ever written: a read on it is a builtin sleep
pause() { read -r -t 0.05 -u "$quiet_fd" _ || true; }
# `idle`: the same interval with no start in it (bash's builtin `:`), taken off the others.
cpu_names=(mi_static mi_dyn floor_static floor_dyn idle)
declare -A cpu_cmd=([mi_static]="$mi_static migrate" [mi_dyn]="$mi_dyn migrate"
  [floor_static]="$floor_static $(mi_url noop1)" [floor_dyn]="$floor_dyn $(mi_url noop1)" [idle]=":")
declare -A cpu_ticks=([mi_static]=0 [mi_dyn]=0 [floor_static]=0 [floor_dyn]=0 [idle]=0)
# migrate-init reads these; the floors take the URL as their argument and ignore them.
export DATABASE_URL AUTO_MIGRATE_DIR
DATABASE_URL=$(mi_url noop1) AUTO_MIGRATE_DIR=$work/set1
count=${#cpu_names[@]}
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < count; k++)); do
    if ((r % 2)); then index=$(((count - 1 - k + r) % count)); else index=$(((k + r) % count)); fi
    name=${cpu_names[$index]}
    read -ra words <<<"${cpu_cmd[$name]}"
    pause
    machine_busy
    before=$busy_ticks
    "${words[@]}" >/dev/null 2>&1
    pause
    machine_busy
    cpu_ticks[$name]=$((cpu_ticks[$name] + busy_ticks - before))
  done
done
unset DATABASE_URL AUTO_MIGRATE_DIR
exec {quiet_fd}>&-
ticks_per_second=$(getconf CLK_TCK)
for name in "${cpu_names[@]}"; do
  echo "$name $(awk -v t="${cpu_ticks[$name]}" -v r="$rounds" -v hz="$ticks_per_second" 'BEGIN { printf "%.1f", t * 1000 / hz / r }')"
done >"$work/cpu.txt"
sed 's/^/   /' "$work/cpu.txt" >&2

# --- (e) 32 replicas at once on a fresh database ---------------------------------------------
say "(e) $replicas replicas at once on a fresh database ($fleet_files files), $trials trials per binary, interleaved"
: >"$work/e.trials"
fleet_trial() { # fleet_trial LABEL BINARY TRIAL: appends "label trial started failed gap_ms" to e.trials
  local label=$1 bin=$2 trial=$3 marks="$work/e-$1-$3" pids=() failed=0 pid
  pg_sql "DROP DATABASE IF EXISTS fleet" >/dev/null 2>&1; pg_sql "CREATE DATABASE fleet" >/dev/null
  mkdir -p "$marks"; : >"$marks/starts"
  # Everything computed before the loop: a command substitution per replica forked a
  # subshell each, which the replicas already running slowed down (the loop took over a
  # second for 32 on 2 cores, and its spread is in the gap).
  local url set_dir="$work/set$fleet_files" service="date +%s%N >> $marks/starts"
  url=$(mi_url fleet)
  for ((i = 1; i <= replicas; i++)); do
    DATABASE_URL=$url AUTO_MIGRATE_DIR=$set_dir AUTO_MIGRATE_FAIL_ON_ERROR=true \
      "$bin" -- sh -c "$service" 2>"$marks/log$i" >/dev/null &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
  local count first last gap
  count=$(wc -l <"$marks/starts")
  first=$(sort -n "$marks/starts" | head -1); last=$(sort -n "$marks/starts" | tail -1)
  gap=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
  echo "$label $trial $count $failed $gap" >>"$work/e.trials"
  echo "   trial $trial ($label): $count of $replicas services started, $failed failed, first to last start $gap ms" >&2
}
# The same fleet released together (bench/fleet.py: forked first, held at a barrier): the
# shell loop above takes over a second to launch 32 here, and its spread is in that gap.
# Appends "label trial started failed first_ms last_ms" (from the release) to e-barrier.trials.
fleet_barrier_trial() {
  local label=$1 bin=$2 trial=$3 marks="$work/eb-$1-$3"
  pg_sql "DROP DATABASE IF EXISTS fleet" >/dev/null 2>&1; pg_sql "CREATE DATABASE fleet" >/dev/null
  mkdir -p "$marks"; : >"$marks/starts"
  DATABASE_URL=$(mi_url fleet) AUTO_MIGRATE_DIR="$work/set$fleet_files" AUTO_MIGRATE_FAIL_ON_ERROR=true \
    python3 bench/fleet.py --replicas "$replicas" --marks "$marks/starts" --log-dir "$marks" -- \
    "$bin" -- sh -c "date +%s%N >> $marks/starts" >"$marks/fleet.json"
  local line
  line=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
s = r["starts"] or [r["released"]]
print(len(r["starts"]), r["failed"], "%.1f" % ((s[0] - r["released"]) / 1e6), "%.1f" % ((s[-1] - r["released"]) / 1e6))' \
    "$marks/fleet.json")
  echo "$label $trial $line" >>"$work/e-barrier.trials"
  echo "   trial $trial ($label, released together): $line (started, failed, first and last start in ms)" >&2
}
: >"$work/e-barrier.trials"
for trial in $(seq 1 "$trials"); do
  if ((trial % 2)); then
    fleet_trial static "$mi_static" "$trial"; fleet_trial dynamic "$mi_dyn" "$trial"
    fleet_barrier_trial static "$mi_static" "$trial"; fleet_barrier_trial dynamic "$mi_dyn" "$trial"
  else
    fleet_trial dynamic "$mi_dyn" "$trial"; fleet_trial static "$mi_static" "$trial"
    fleet_barrier_trial dynamic "$mi_dyn" "$trial"; fleet_barrier_trial static "$mi_static" "$trial"
  fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - started_at))

# --- the report ------------------------------------------------------------------------------
echo "## Static release binaries against the libpq floor (bench/static.sh)"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores. Load average (1, 5, 15 min) at the start: $load_start;"
echo "after (a) $load_a, (b) $load_b, (c) $load_c, (d) $load_d; at the end: $load_end."
[[ -n ${BENCH_NOTE:-} ]] && { echo; echo "$BENCH_NOTE"; }
echo
echo "Every part interleaves its commands (\`bench/interleave.py\`: one run of each per round, the"
echo "order rotating, 3 warm-up rounds), $rounds rounds; (e) alternates the binaries' trials, $trials each."
echo "Ratios are taken within one run, between medians; in brackets the quartiles of the per-round"
echo "ratios. A target is a pass when the ratio of the medians is at or under it. Run time: $((elapsed / 60)) min $((elapsed % 60)) s."
echo
echo "| name | from | size | linkage | sha256 |"
echo "|---|---|---|---|---|"
binary_line mi_static "$dist_src/migrate-init-static" "$mi_static"
binary_line mi_glibc "$dist_src/migrate-init" "$mi_glibc"
binary_line mi_dyn "$dynamic_src" "$mi_dyn"
binary_line floor_static "gcc -O2 -static -s bench/floor.c libpq.a libpgcommon.a libpgport.a -lssl -lcrypto -lpthread" "$floor_static"
binary_line floor_dyn "gcc -O2 bench/floor.c -lpq -lcrypto" "$floor_dyn"
echo
echo "Static libpq (the release binaries' and the static floor's): \`$libpq\`, with our patches: $(p=$(paste -sd, "$libpq/patches.txt" 2>/dev/null); echo "${p:-none}")."
echo
python3 - "$work" "$rounds" "$d_done" "$revisions" "$fleet_files" "$replicas" <<'EOF'
import json, os, statistics, sys
work, rounds, d_done, revisions, fleet_files, replicas = sys.argv[1:]
load = lambda part: json.load(open(os.path.join(work, part + ".json")))

def verdict(value, target):
    return "pass" if value <= target else "miss"

def fmt(value, target=None):
    # Two decimals, three where two would round a miss onto its target.
    if target is not None and value > target and round(value, 2) <= target:
        return f"{value:.3f}x"
    return f"{value:.2f}x"

def ratio_row(report, spec, target=None, label=None):
    q = report["ratios"][spec]
    text = f"{fmt(q['of_medians'], target)} ({q['per_round_q1']:.2f}-{q['per_round_q3']:.2f})"
    if target is None:
        return f"| {label or spec} | - | {text} | - |"
    v = verdict(q["of_medians"], target)
    if v == "pass" and q["per_round_q3"] > target:
        v += " (per-round upper quartile over it)"
    return f"| {label or spec} | <= {target:.2f}x | {text} | {v} |"

def medians(report, unit="ms", scale=1.0, key="median_ms", q=("q1_ms", "q3_ms")):
    c = report["commands"]
    print("| " + " | ".join(c) + " |")
    print("|" + "---|" * len(c))
    print("| " + " | ".join(f"{c[n][key] / scale:.2f} ({c[n][q[0]] / scale:.2f}-{c[n][q[1]] / scale:.2f})" for n in c) + " |")
    print()

def header():
    print("| ratio | target | measured | verdict |")
    print("|---|---|---|---|")

print(f"### (a) `.sql` no-op start, 1 file, the database up to date (ms, median and quartiles of {rounds} rounds)")
print()
a = load("a"); medians(a)
header()
print(ratio_row(a, "mi_static/floor_static", 1.05))
print(ratio_row(a, "mi_static/floor_dyn", 0.85))
for spec in ("mi_glibc/floor_dyn", "mi_dyn/floor_dyn", "floor_static/floor_dyn", "mi_static/mi_dyn"):
    print(ratio_row(a, spec))
print()
print(f"### (b) `.sql` no-op start, 1000 files; the floors with `--hash` (ms, {rounds} rounds)")
print()
b = load("b"); medians(b)
header()
print(ratio_row(b, "mi_static/hash_static", 1.05))
for spec in ("mi_glibc/hash_static", "mi_dyn/hash_dyn", "mi_static/mi_dyn", "hash_static/hash_dyn"):
    print(ratio_row(b, spec))
print()
print(f"### (c) Peak RSS of the 1-file no-op start (`/usr/bin/time -f %M`, MiB, {rounds} rounds)")
print()
c = load("c"); medians(c, scale=1024, key="median_kib", q=("q1_kib", "q3_kib"))
header()
print(ratio_row(c, "mi_static/floor_dyn", 0.60))
for spec in ("mi_static/floor_static", "mi_glibc/floor_dyn", "mi_dyn/floor_dyn", "floor_static/floor_dyn"):
    print(ratio_row(c, spec))
print()
print(f"### (d) Command mode: no-op start of an up-to-date Alembic project ({revisions} revisions; the fast path, no Python; ms, {rounds} rounds)")
print()
if d_done == "true":
    d = load("d"); medians(d)
    header()
    print(ratio_row(d, "mi_static/floor_static", 1.10))
    for spec in ("mi_glibc/floor_dyn", "mi_dyn/floor_dyn", "mi_static/mi_dyn"):
        print(ratio_row(d, spec))
else:
    print("Skipped: python3-alembic and python3-psycopg2 are not installed.")
print()
cpu = dict((name, float(ms)) for name, ms in (line.split() for line in open(os.path.join(work, "cpu.txt"))))
idle = cpu.pop("idle")
cpu = {name: ms - idle for name, ms in cpu.items()}
print(f"### The machine's CPU per 1-file no-op start (ms, all CPUs, mean of {rounds} interleaved rounds; no target)")
print()
print("Busy time of the whole machine (/proc/stat, in ticks of 10 ms: about 1 ms of noise in each mean)")
print("from 50 ms before one start to 50 ms after it: the client, the kernel's work for it, and the server's")
print(f"backend; less the same interval without a start ({idle:.1f} ms). A fleet started at once on")
print(f"{os.cpu_count()} cores spends about this much per replica, the server's share alike for both builds;")
print("(e)'s first-to-last gap follows it loosely, as the scheduling of each trial allows.")
print()
print("| mi_static | mi_dyn | floor_static | floor_dyn | mi_static / mi_dyn | floor_static / floor_dyn |")
print("|---|---|---|---|---|---|")
print(f"| {cpu['mi_static']:.1f} | {cpu['mi_dyn']:.1f} | {cpu['floor_static']:.1f} | {cpu['floor_dyn']:.1f} | "
      f"{cpu['mi_static'] / cpu['mi_dyn']:.2f}x | {cpu['floor_static'] / cpu['floor_dyn']:.2f}x |")
print()
trials = [line.split() for line in open(os.path.join(work, "e.trials")) if line.strip()]
print(f"### (e) {replicas} replicas at once on a fresh database ({fleet_files} files): first to last service start (ms)")
print()
print("Each replica: `migrate-init -- sh -c 'date +%s%N >> FILE'`, all launched together from one shell loop;")
print("one migrates, the others wait on the lock. The trials of the two binaries alternate, a fresh database each.")
print()
print("| trial | binary | services started | failed | first to last start (ms) |")
print("|---|---|---|---|---|")
for label, trial, count, failed, gap in trials:
    print(f"| {trial} | {label} | {count} of {replicas} | {failed} | {gap} |")
print()
gaps = {}
for label in ("static", "dynamic"):
    values = sorted(float(t[4]) for t in trials if t[0] == label)
    gaps[label] = values
    print(f"{label}: median {statistics.median(values):.1f} ms, range {values[0]:.1f}-{values[-1]:.1f} ms.  ")
print()
ratio = statistics.median(gaps["static"]) / statistics.median(gaps["dynamic"])
per_trial = sorted(float(s[4]) / float(d[4]) for s, d in zip([t for t in trials if t[0] == "static"], [t for t in trials if t[0] == "dynamic"]))
header()
print(f"| static / dynamic, medians of the gap | <= 0.70x | {fmt(ratio, 0.70)} (per trial pair {per_trial[0]:.2f}-{per_trial[-1]:.2f}) | {verdict(ratio, 0.70)} |")
print()
barrier = [line.split() for line in open(os.path.join(work, "e-barrier.trials")) if line.strip()]
if barrier:
    print(f"Released together instead (`bench/fleet.py`: all {replicas} forked first and held at a barrier; no target):")
    print("milliseconds from the release to the first and to the last service start, and between them;")
    print("medians of the same trials, alternating as above.")
    print()
    print("| binary | services started | failed | release to first start | release to last start | first to last |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for label in ("static", "dynamic"):
        rows_of = [t for t in barrier if t[0] == label]
        first = statistics.median(float(t[4]) for t in rows_of)
        last = statistics.median(float(t[5]) for t in rows_of)
        spread = statistics.median(float(t[5]) - float(t[4]) for t in rows_of)
        started = sum(int(t[2]) for t in rows_of)
        failed = sum(int(t[3]) for t in rows_of)
        medians[label] = (first, last, spread)
        print(f"| {label} | {started} of {int(replicas) * len(rows_of)} | {failed} | {first:.1f} | {last:.1f} | {spread:.1f} |")
    print()
    s_, d_ = medians["static"], medians["dynamic"]
    print(f"static / dynamic: release to last start {s_[1] / d_[1]:.2f}x, first to last {s_[2] / d_[2]:.2f}x.")
    print()
print("### Targets")
print()
print("| target | measured | verdict |")
print("|---|---|---|")
rows = [("(a) migrate-init-static / static floor, 1 file, <= 1.05x", a, "mi_static/floor_static", 1.05),
        ("(a) migrate-init-static / dynamic floor, 1 file, <= 0.85x", a, "mi_static/floor_dyn", 0.85),
        ("(b) migrate-init-static / static floor --hash, 1000 files, <= 1.05x", b, "mi_static/hash_static", 1.05),
        ("(c) peak RSS, migrate-init-static / dynamic floor, <= 0.6x", c, "mi_static/floor_dyn", 0.60)]
if d_done == "true":
    rows.append(("(d) command mode, migrate-init-static / static floor, <= 1.1x", d, "mi_static/floor_static", 1.10))
for text, report, spec, target in rows:
    q = report["ratios"][spec]
    print(f"| {text} | {fmt(q['of_medians'], target)} ({q['per_round_q1']:.2f}-{q['per_round_q3']:.2f}) | {verdict(q['of_medians'], target)} |")
if d_done != "true":
    print("| (d) command mode, migrate-init-static / static floor, <= 1.1x | not run | - |")
print(f"| (e) 32 replicas, gap static / dynamic, <= 0.7x | {fmt(ratio, 0.70)} | {verdict(ratio, 0.70)} |")
EOF
