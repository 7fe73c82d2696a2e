# Sourced by scripts that need a throwaway PostgreSQL: Debian's postgresql 15 on a free
# loopback port, SCRAM password authentication over TCP, run as the postgres user when
# the caller is root. After pg_start: PG_PORT, PG_PASSWORD, PG_DIR, pg_url DB.
pg_bin=/usr/lib/postgresql/15/bin
as_postgres=()
[[ $(id -u) -eq 0 ]] && as_postgres=(runuser -u postgres --)

# Below the kernel's ephemeral range (ip_local_port_range, 32768-60999 by default): a port
# there may be the local end of some outgoing connection, which the probe below cannot see
# and which makes the server's bind fail (a containers run lost its server that way while
# the reliability tests' storms ran beside it).
free_port() {
  local candidate
  for candidate in $(shuf -i 20000-32000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

pg_start() {
  PG_DIR=$(mktemp -d /tmp/migrate-init-pg-XXXXXX)
  [[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR"
  PG_PASSWORD="pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  echo "$PG_PASSWORD" >"$PG_DIR/pwfile"
  "${as_postgres[@]}" "$pg_bin/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  # Another port if the server cannot start on one (taken since it was probed); the
  # server's log is shown when the last try fails.
  local try
  for try in 1 2 3; do
    PG_PORT=$(free_port)
    if "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
      return 0
    fi
    echo "pg_start: the server did not start on port $PG_PORT (try $try of 3)" >&2
  done
  tail -20 "$PG_DIR/server.log" >&2
  return 1
}

pg_stop() {
  [[ -n "${PG_DIR:-}" ]] || return 0
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

pg_url() { echo "postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/${1:-postgres}"; }

# Runs SQL as the superuser over the local socket; prints unaligned rows.
pg_sql() { psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "${2:-postgres}" -X -q -At -c "$1"; }
