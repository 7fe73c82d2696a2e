#!/bin/sh
# The stand-in's entrypoint: on first start (an empty PGDATA), initdb with POSTGRES_USER
# as the superuser and POSTGRES_PASSWORD as its password (SCRAM over TCP, trust on the
# local socket), then POSTGRES_DB (default: POSTGRES_USER). Then PostgreSQL replaces this
# shell as the container's PID 1, running as the postgres user.
# It listens on 127.0.0.1 only (POSTGRES_LISTEN_ADDRESSES to change that): the tests run it
# on the host network, where '*' would reach beyond loopback.
set -eu
if [ "${1:-}" != postgres ]; then exec "$@"; fi
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres stand-in: POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  install -d -o postgres -g postgres -m 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  $as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  rm -f "$pwfile"
  if [ "$POSTGRES_DB" != postgres ]; then
    # Single-user mode: no server, hence no socket for the healthcheck to find early.
    printf 'CREATE DATABASE "%s" OWNER "%s"\n' "$POSTGRES_DB" "$POSTGRES_USER" |
      $as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres stand-in: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi
exec $as_postgres "$@" -c listen_addresses="${POSTGRES_LISTEN_ADDRESSES:-127.0.0.1}" \
  -c unix_socket_directories=/var/run/postgresql
