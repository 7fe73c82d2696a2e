#!/usr/bin/env bash
# Writes cmake/startup-symbols.txt: the functions of migrate-init that a no-op start with
# 1000 files runs (valgrind's callgrind on a throwaway PostgreSQL), in the order callgrind
# lists them. When lld is there, CMakeLists.txt hands the file to it as a symbol ordering
# file, so that the start-up code sits in a few pages of the binary instead of being spread
# over all of it: the kernel maps a binary's text 64 KiB around each page touched, so that
# scattered code made most of the 1.6 MB of text resident at every start. A stale list is
# harmless (lld ignores names that are gone), only less effective: rerun this after big
# changes to the start-up path.
#   bash bench/startup_symbols.sh [BINARY]     (default: build/migrate-init)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:-build/migrate-init}")
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
work=$(mktemp -d /tmp/migrate-init-symbols-XXXXXX)
source scripts/lib/throwaway-pg.sh
trap 'pg_stop; rm -rf "$work"' EXIT
pg_start
python3 bench/make_sets.py 1000 "$work" >/dev/null
pg_sql "CREATE DATABASE symbols" >/dev/null
export DATABASE_URL=$(pg_url symbols) AUTO_MIGRATE_DIR=$work/set1000
"$binary" migrate >/dev/null 2>&1 # apply, so that the profiled start is a no-op
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/profile" "$binary" migrate >/dev/null 2>&1
python3 - "$work/profile" "$binary" >cmake/startup-symbols.txt <<'PY'
import re, sys
objects, names, order, seen, current = {}, {}, [], set(), None
for line in open(sys.argv[1]):
    m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if m:
        if m.group(3): objects[m.group(2)] = m.group(3)
        if m.group(1) == "ob": current = objects[m.group(2)]
        continue
    m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if m:
        if m.group(3): names[m.group(2)] = re.sub(r"'\d+$", "", m.group(3))
        if m.group(1) == "fn" and current == sys.argv[2] and names[m.group(2)] not in seen:
            seen.add(names[m.group(2)]); order.append(names[m.group(2)])
print("\n".join(order))
PY
echo "cmake/startup-symbols.txt: $(wc -l <cmake/startup-symbols.txt) functions"
