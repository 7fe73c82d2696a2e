#!/usr/bin/env bash
# Peak RSS of migrate-init with one big migration file (issue 14, item 16): applying it to
# an empty database, then a no-op start with it applied. Three shapes of file, each about
# 200 MiB: one INSERT a line (many small statements), INSERTs of 1000 rows each (many
# tokens per statement) and 1 MiB literals (few tokens). Then `plan` (read and split, not
# applied) of the first shape marked no-transaction.
#
#   bash bench/big_file.sh [BINARY] [MiB]     # default: build/migrate-init, 200
#
# Prints one line per shape and run: "shape run max-RSS-MiB seconds exit".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-$here/../build/migrate-init}
mib=${2:-200}
source "$here/../scripts/lib/throwaway-pg.sh"
work=$(mktemp -d /tmp/migrate-init-big-XXXXXX)
trap 'pg_stop; rm -rf "$work"' EXIT
pg_start

python3 - "$work" "$mib" <<'EOF'
import os, sys
work, target = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
head = "CREATE TABLE big (id bigint PRIMARY KEY, note text);\n"
def write(shape, piece):
    os.makedirs(f"{work}/{shape}")
    with open(f"{work}/{shape}/001_big.sql", "w") as f:
        f.write(head)
        size, i = len(head), 0
        while size < target:
            text, i = piece(i)
            f.write(text)
            size += len(text)
pad = "x" * 60
write("rows", lambda i: (f"INSERT INTO big VALUES ({i}, '{pad}');\n", i + 1))
write("multirow", lambda i: ("INSERT INTO big VALUES\n" + ",\n".join(f"({i + k}, '{pad}')" for k in range(1000)) + ";\n", i + 1000))
big = "y" * (1024 * 1024 - 60)
write("literals", lambda i: (f"INSERT INTO big VALUES ({i}, '{big}');\n", i + 1))
EOF

measure() { # measure SHAPE RUN [COMMAND]: one run of migrate-init under /usr/bin/time -v
  local shape=$1 run=$2 command=${3:-migrate} rc=0
  env -i PATH="$PATH" DATABASE_URL="$(pg_url "$shape")" AUTO_MIGRATE_DIR="$work/$shape" \
    /usr/bin/time -v "$binary" "$command" >/dev/null 2>"$work/time.txt" || rc=$?
  local rss seconds
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/time.txt")
  seconds=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  echo "$shape $run ${rss} MiB $seconds exit $rc"
  [[ $rc -eq 0 ]] || grep -E 'error' "$work/time.txt" | head -3 >&2
}

for shape in rows multirow literals; do
  pg_sql "CREATE DATABASE $shape"
  measure "$shape" apply
  measure "$shape" no-op
  pg_sql "DROP DATABASE $shape"
done

mkdir "$work/rows_notx"
{ echo "-- migrate-init: no-transaction"; cat "$work/rows/001_big.sql"; } >"$work/rows_notx/001_big.sql"
pg_sql "CREATE DATABASE rows_notx"
measure rows_notx plan plan
