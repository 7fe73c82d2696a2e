#!/usr/bin/env bash
# Writes cmake/startup-symbols.txt: the functions of migrate-init that a no-op start with
# 1000 files runs, then those that a 1-file no-op adds, then those that command mode's
# no-op on an Alembic project adds
# (valgrind's callgrind on a throwaway PostgreSQL), in the order callgrind lists them. When lld is there, CMakeLists.txt hands the file to it as a symbol ordering
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
# A 1-file no-op takes another path for the files (checksummed before connecting, no
# thread: pipeline/files_while_connecting.cpp): its functions follow.
python3 bench/make_sets.py 1 "$work" >/dev/null
pg_sql "CREATE DATABASE symbols1" >/dev/null
DATABASE_URL=$(pg_url symbols1) AUTO_MIGRATE_DIR=$work/set1 "$binary" migrate >/dev/null 2>&1
DATABASE_URL=$(pg_url symbols1) AUTO_MIGRATE_DIR=$work/set1 \
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/profile-one" "$binary" migrate >/dev/null 2>&1
# Command mode's no-op too (its fast path: an Alembic project of 100 revisions, the database
# at its head; the migrator is never run, so no Python is needed): its functions follow.
python3 bench/make_sets.py 100 "$work" >/dev/null
pg_sql "CREATE DATABASE symbols_alembic" >/dev/null
pg_sql "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('00100')" \
  symbols_alembic >/dev/null
DATABASE_URL=$(pg_url symbols_alembic) AUTO_MIGRATE_DIR=$work/alembic100 AUTO_MIGRATE_ALEMBIC_INI=$work/alembic100/alembic.ini \
  AUTO_MIGRATE_COMMAND='["/bin/false", "alembic", "upgrade", "head"]' \
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/profile-command" "$binary" migrate \
  >/dev/null 2>"$work/command.log"
grep -q "up to date" "$work/command.log" || { echo "the command-mode start was not a no-op:" >&2; cat "$work/command.log" >&2; exit 1; }
python3 - "$binary" "$work/profile" "$work/profile-one" "$work/profile-command" >cmake/startup-symbols.txt <<'PY'
import re, sys
order, seen = [], set()
for profile in sys.argv[2:]:
    objects, names, current = {}, {}, None
    for line in open(profile):
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3): objects[m.group(2)] = m.group(3)
            if m.group(1) == "ob": current = objects[m.group(2)]
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3): names[m.group(2)] = re.sub(r"'\d+$", "", m.group(3))
            if m.group(1) == "fn" and current == sys.argv[1] and names[m.group(2)] not in seen:
                seen.add(names[m.group(2)]); order.append(names[m.group(2)])
print("\n".join(order))
PY
echo "cmake/startup-symbols.txt: $(wc -l <cmake/startup-symbols.txt) functions"
