#!/usr/bin/env bash
# Runs the release binaries of `bash scripts/build.sh --static` as a user's image would:
# each in a minimal root filesystem (chroot, no debootstrap), against a throwaway
# PostgreSQL on 127.0.0.1, with the host given by address, as `localhost`, by a name
# found only in the root's /etc/hosts, and by a name only DNS knows (tests/static/fake_dns.py,
# through the search list of the root's /etc/resolv.conf).
#   dist/migrate-init         in a root holding only the dynamic loader and the libc
#                             libraries it needs (copied from this host) and /etc/hosts
#   dist/migrate-init-static  in an empty root with /etc/hosts; and in one whose
#                             /etc/nsswitch.conf says `hosts: files myhostname dns`, with
#                             Debian's libnss_myhostname.so.2 installed (an NSS module that
#                             crashes a static program which reaches it)
#   both, as PID 1 of a PID namespace of their own (unshare), with Debian's busybox-static as
#                             the service: SIGTERM is forwarded and the exit is 143
#   dist/migrate-init         with Debian 13's libc6 (runs) and Debian 11's (the loader
#                             refuses it, naming GLIBC_2.36), each from the mirror's package
# Checks the exit codes, that no run dies by a signal, and the errors for a missing user
# name (one line) and an unknown host name. Needs root (chroot).
#   bash tests/static/run.sh [DIST_DIR]    # default: dist/
set -uo pipefail
cd "$(dirname "$0")/../.."
checkout=$PWD
dist=$(realpath "${1:-dist}")
for binary in migrate-init migrate-init-static; do
  [[ -x $dist/$binary ]] || { echo "missing $dist/$binary: run bash scripts/build.sh --static" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "tests/static/run.sh needs root (chroot)" >&2; exit 1; }

chroot=$(command -v chroot)
source scripts/lib/throwaway-pg.sh
work=$(mktemp -d /tmp/migrate-init-static-XXXXXX)
trap 'pg_stop; rm -rf "$work"' EXIT
pg_start

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# A root with the binary as /migrate-init, the project's migrations, and an /etc/hosts
# naming the server only as `pg-by-name` (Docker's own file would also name localhost:
# the static binary must know it without).
make_root() { # NAME BINARY
  local root=$work/$1
  mkdir -p "$root/etc" "$root/tmp"
  cp "$dist/$2" "$root/migrate-init"
  cp -r "$checkout/migrations" "$root/migrations"
  echo "127.0.0.1 pg-by-name" >"$root/etc/hosts"
  echo "$root"
}

glibc_root=$(make_root glibc migrate-init)
echo "127.0.0.1 localhost" >>"$glibc_root/etc/hosts"
# Whatever the binary asks the loader for (libc.so.6, and libm.so.6 if needed), and the loader.
while read -r library; do
  mkdir -p "$glibc_root$(dirname "$library")"
  cp -L "$library" "$glibc_root$library"
done < <(ldd "$dist/migrate-init" | grep -o '/[^ ]*')
echo "glibc root: $(cd "$glibc_root" && find . -type f -not -path './migrations/*' | sort | tr '\n' ' ')"

static_root=$(make_root static migrate-init-static)
nss_root=$(make_root static-nss migrate-init-static)
printf 'passwd: files\ngroup: files\nhosts: files myhostname dns\n' >"$nss_root/etc/nsswitch.conf"
nss_module=""
if [[ -e /lib/x86_64-linux-gnu/libnss_myhostname.so.2 ]]; then
  nss_module=/lib/x86_64-linux-gnu/libnss_myhostname.so.2
else
  # Debian's package, unpacked under build-static/ (never installed into the system).
  cache=$checkout/build-static/libnss-myhostname
  if [[ ! -e $cache/usr/lib/x86_64-linux-gnu/libnss_myhostname.so.2 ]]; then
    mkdir -p "$cache.deb" && (cd "$cache.deb" && apt-get download -qq libnss-myhostname >/dev/null 2>&1) &&
      dpkg-deb -x "$cache.deb"/libnss-myhostname_*.deb "$cache"
  fi
  [[ -e $cache/usr/lib/x86_64-linux-gnu/libnss_myhostname.so.2 ]] && nss_module=$cache/usr/lib/x86_64-linux-gnu/libnss_myhostname.so.2
fi
if [[ -n $nss_module ]]; then
  # The module and what it loads (libc.so.6, ...), as in a Debian image that installs it.
  mkdir -p "$nss_root/lib/x86_64-linux-gnu"
  cp -L "$nss_module" "$nss_root/lib/x86_64-linux-gnu/"
  while read -r library; do
    mkdir -p "$nss_root$(dirname "$library")"
    cp -L "$library" "$nss_root$library"
  done < <(ldd "$nss_module" | grep -o '/[^ ]*')
  echo "static-nss root: hosts: files myhostname dns, with $(cd "$nss_root" && find lib* -type f | sort | tr '\n' ' ')"
else
  echo "static-nss root: libnss_myhostname.so.2 not available; nsswitch.conf only"
fi

# Another Debian release's libc6 (its dynamic loader and libc.so.6), unpacked under
# build-static/ from the package the mirror serves (never installed): a root holding only
# that tests the glibc floor of dist/migrate-init, without debootstrapping the release.
other_libc() { # SUITE -> the directory it is unpacked in
  local dir=$checkout/build-static/libc6-$1
  if [[ ! -e $dir/unpacked ]]; then
    local mirror
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [[ -n $mirror ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    python3 - "$mirror" "$1" "$work/libc6-$1.deb" <<'PY' >/dev/null || return 1
import lzma, sys, urllib.request
mirror, suite, out = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
index = lzma.decompress(urllib.request.urlopen(f"{mirror}/dists/{suite}/main/binary-amd64/Packages.xz", timeout=120).read()).decode()
stanza = next(s for s in index.split("\n\n") if s.startswith("Package: libc6\n"))
filename = next(line.split(" ", 1)[1] for line in stanza.splitlines() if line.startswith("Filename: "))
open(out, "wb").write(urllib.request.urlopen(f"{mirror}/{filename}", timeout=120).read())
print(filename.rsplit("/", 1)[-1])
PY
    rm -rf "$dir" && dpkg-deb -x "$work/libc6-$1.deb" "$dir" &&
      dpkg-deb -f "$work/libc6-$1.deb" Version >"$dir/unpacked"
  fi
  echo "$dir"
}

# Busybox (Debian's busybox-static, unpacked under build-static/, never installed): the
# shell and the service for the PID 1 checks, in roots that have no libc.
busybox=$checkout/build-static/busybox-static/bin/busybox
if [[ ! -x $busybox ]]; then
  mkdir -p "$work/busybox" && (cd "$work/busybox" && apt-get download -qq busybox-static >/dev/null 2>&1) &&
    dpkg-deb -x "$work"/busybox/busybox-static_*.deb "$checkout/build-static/busybox-static"
fi

# Runs the binary in ROOT with only the given variables; sets code, out, err.
run_in() { # ROOT VAR=VALUE... -- ARGS...
  local root=$1
  shift
  local env=()
  while [[ $1 != -- ]]; do env+=("$1"); shift; done
  shift
  env -i HOME=/ "${env[@]}" "$chroot" "$root" /migrate-init "$@" >"$work/out" 2>"$work/err"
  code=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

check_run() { # LABEL EXPECTED_CODE (a code of 128+N: killed by signal N, unless expected)
  if ((code >= 128 && code != $2)); then
    fail "$1: killed by signal $((code - 128)); stderr: $(tail -3 <<<"$err")"
  elif ((code != $2)); then
    fail "$1: exit $code, expected $2; stderr: $(tail -3 <<<"$err")"
  else
    pass "$1: exit $code"
  fi
}

# DNS: a name only a name server knows, through the search list of the root's resolv.conf.
dns_address=127.53.0.1
python3 tests/static/fake_dns.py "$dns_address" pg-by-dns.example.test 127.0.0.1 >"$work/dns.log" 2>&1 &
dns_pid=$!
trap 'kill "$dns_pid" 2>/dev/null; pg_stop; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q ready "$work/dns.log" && break; sleep 0.1; done
for root in "$glibc_root" "$static_root" "$nss_root"; do
  printf 'nameserver %s\nsearch example.test\noptions timeout:1\n' "$dns_address" >"$root/etc/resolv.conf"
done

# SCRAM as the patched libpq computes it (scripts/lib/libpq-patches/scram-hmac-key-reuse.patch
# keeps the HMAC key between PBKDF2's iterations): a role whose password is longer than
# HMAC's 64-byte block (so hashed into the key) and whose verifier, computed here by
# Python's hashlib, has 10000 iterations and a 24-byte salt. The right password logs in;
# one character off is refused.
scram_password=$(head -c 60 /dev/urandom | od -An -tx1 | tr -d ' \n')
scram_verifier=$(/usr/bin/python3 - "$scram_password" <<'PY'
import base64, hashlib, hmac, os, sys
salt, iterations = os.urandom(24), 10000
salted = hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), salt, iterations)
client_key = hmac.new(salted, b"Client Key", "sha256").digest()
server_key = hmac.new(salted, b"Server Key", "sha256").digest()
b64 = lambda b: base64.b64encode(b).decode()
print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}")
PY
)
pg_sql "CREATE ROLE scram_check LOGIN PASSWORD '$scram_verifier'" >/dev/null

database=0
for root in "$glibc_root" "$static_root" "$nss_root"; do
  name=$(basename "$root")
  run_in "$root" -- --version
  check_run "$name --version ($out)" 0
  [[ $out == *"libpq patched: scram-hmac-key-reuse"* ]] && pass "$name --version names the libpq patch" ||
    fail "$name --version does not name the libpq patch: $out"
  database=$((database + 1))
  pg_sql "CREATE DATABASE static_$database OWNER scram_check" >/dev/null
  url="postgresql://scram_check:$scram_password@127.0.0.1:$PG_PORT/static_$database"
  run_in "$root" "DATABASE_URL=$url" AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=5 -- migrate
  check_run "$name SCRAM, ${#scram_password}-byte password, 10000 iterations, 24-byte salt" 0
  run_in "$root" "DATABASE_URL=${url/:$scram_password@/:${scram_password%?}x@}" AUTO_MIGRATE_DIR=/migrations \
    AUTO_MIGRATE_WAIT=1 -- migrate
  if ((code != 0 && code < 128)) && [[ $err == *"password authentication failed"* ]]; then
    pass "$name SCRAM, wrong password refused (exit $code)"
  else
    fail "$name SCRAM, wrong password: exit $code; stderr: $(tail -2 <<<"$err")"
  fi
  for host in 127.0.0.1 localhost pg-by-name pg-by-dns; do
    database=$((database + 1))
    pg_sql "CREATE DATABASE static_$database" >/dev/null
    url="postgresql://postgres:$PG_PASSWORD@$host:$PG_PORT/static_$database"
    run_in "$root" "DATABASE_URL=$url" AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=5 -- migrate
    check_run "$name migrate, host $host" 0
    applied=$(pg_sql "SELECT count(*) FROM schema_migrations" "static_$database" 2>/dev/null)
    [[ $applied == "$(ls "$checkout"/migrations/*.sql | wc -l)" ]] && pass "$name host $host: $applied migrations applied" ||
      fail "$name host $host: ${applied:-no} migrations applied"
    run_in "$root" "DATABASE_URL=$url" AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=5 -- status
    check_run "$name status, host $host" 0
  done

  # No user name anywhere, and no /etc/passwd: one line naming the URL and PGUSER, at once
  # (not libpq's "could not look up local user ID 0", retried for AUTO_MIGRATE_WAIT).
  run_in "$root" "DATABASE_URL=postgresql://127.0.0.1:$PG_PORT/postgres" "PGPASSWORD=$PG_PASSWORD" \
    AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=2 -- migrate
  check_run "$name no user" 2
  errors=$(grep ' error: ' <<<"$err")
  if [[ $(grep -c . <<<"$errors") == 1 && $errors == *DATABASE_URL*PGUSER* ]]; then
    pass "$name no user, one error line: $errors"
  else
    fail "$name no user: $err"
  fi

  # A name neither /etc/hosts nor DNS knows: unreachable after the wait, naming the host.
  run_in "$root" "DATABASE_URL=postgresql://postgres:x@nowhere.invalid:$PG_PORT/postgres" \
    AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=1 -- migrate
  check_run "$name unknown host" 4
  if [[ $(tail -1 <<<"$err") == *nowhere.invalid* ]]; then pass "$name unknown host named: $(tail -1 <<<"$err")"; else fail "$name unknown host: $err"; fi
done

# A name server that never answers (it reads and keeps quiet), with a 30 s timeout: SIGTERM
# still ends the fully static binary's own lookup at once, with 143, as it ends any other
# wait for the database (a PID 1 that waited out the lookup would be SIGKILLed by docker stop).
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    s.recvfrom(4096)
' 127.53.0.2 >"$work/silent-dns.log" 2>&1 &
silent_dns_pid=$!
trap 'kill "$dns_pid" "$silent_dns_pid" 2>/dev/null; pg_stop; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q ready "$work/silent-dns.log" && break; sleep 0.1; done
silent_root=$(make_root static-silent-dns migrate-init-static)
printf 'nameserver 127.53.0.2\noptions timeout:30\n' >"$silent_root/etc/resolv.conf"
env -i HOME=/ "DATABASE_URL=postgresql://postgres:x@pg-silent.example.test:$PG_PORT/postgres" AUTO_MIGRATE_DIR=/migrations \
  AUTO_MIGRATE_WAIT=120 "$chroot" "$silent_root" /migrate-init migrate >"$work/out" 2>"$work/err" &
lookup=$!
sleep 1
started=$(date +%s%N)
kill -TERM "$lookup"
wait "$lookup"
code=$?
err=$(cat "$work/err")
took_ms=$((($(date +%s%N) - started) / 1000000))
check_run "static, SIGTERM during a DNS lookup that gets no answer" 143
if ((took_ms < 3000)) && [[ $err == *"interrupted by SIGTERM while waiting for the database"* ]]; then
  pass "static, SIGTERM during the lookup: exit in $took_ms ms, saying so"
else
  fail "static, SIGTERM during the lookup: $took_ms ms; stderr: $(tail -2 <<<"$err")"
fi

# TLS: a server certificate for `pg-by-name` only, from a throwaway CA. verify-full and
# channel binding (SCRAM-SHA-256-PLUS) must see the name given in the URL although libpq
# connects to the address migrate-init found; the root certificate is found both from the
# URL and in $HOME/.postgresql/root.crt.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout "$work/ca.key" -out "$work/ca.crt" \
  -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=pg-by-name -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile <(echo subjectAltName=DNS:pg-by-name) -out "$work/server.crt" 2>/dev/null
cp "$work/server.crt" "$work/server.key" "$PG_DIR/data/"
[[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR/data/server.crt" "$PG_DIR/data/server.key"
chmod 600 "$PG_DIR/data/server.key"
pg_sql "ALTER SYSTEM SET ssl = on" >/dev/null && pg_sql "SELECT pg_reload_conf()" >/dev/null
# A new session sees the reloaded setting once the server has read it: wait for that, not a
# fixed second (under load a connection before it would fail with "does not support SSL").
for _ in $(seq 100); do [[ $(pg_sql "SHOW ssl" 2>/dev/null) == on ]] && break; sleep 0.1; done
for root in "$glibc_root" "$static_root" "$nss_root"; do
  name=$(basename "$root")
  cp "$work/ca.crt" "$root/ca.crt"
  mkdir -p "$root/home/.postgresql" && cp "$work/ca.crt" "$root/home/.postgresql/root.crt"
  tls="sslmode=verify-full&channel_binding=require"
  for how in url home; do
    database=$((database + 1))
    pg_sql "CREATE DATABASE static_$database" >/dev/null
    url="postgresql://postgres:$PG_PASSWORD@pg-by-name:$PG_PORT/static_$database?$tls"
    [[ $how == url ]] && url+="&sslrootcert=/ca.crt"
    run_in "$root" "DATABASE_URL=$url" HOME=/home AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=5 -- migrate
    check_run "$name TLS verify-full + channel binding, root certificate from $how" 0
  done
  # The same certificate under another name: refused, whatever the address.
  run_in "$root" "DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=verify-full&sslrootcert=/ca.crt" \
    AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=2 -- migrate
  check_run "$name TLS verify-full to 127.0.0.1 (not the certificate's name)" 4
  if [[ $err == *'does not match host name "127.0.0.1"'* ]]; then pass "$name TLS: refused for the name"; else fail "$name TLS: $err"; fi
done

# As PID 1 of a container (a PID namespace of its own): migrate, start the service
# (busybox sleep), forward SIGTERM to it and exit 143, its status, at once.
if [[ -x $busybox ]]; then
  for root in "$glibc_root" "$static_root"; do
    name=$(basename "$root")
    mkdir -p "$root/bin" && cp "$busybox" "$root/bin/busybox"
    database=$((database + 1))
    pg_sql "CREATE DATABASE static_$database" >/dev/null
    # python3 tells an exit with status 143 (printed as 143) from a death by SIGTERM (-15),
    # which unshare passes on by killing itself with the same signal.
    env -i HOME=/ "DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/static_$database" \
      AUTO_MIGRATE_DIR=/migrations python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' \
      unshare --pid --fork --kill-child "$chroot" "$root" \
      /migrate-init /bin/busybox sh -c 'echo started > /tmp/started; exec /bin/busybox sleep 60' >"$work/out" 2>"$work/err" &
    outer=$!
    for _ in $(seq 100); do [[ -e $root/tmp/started ]] && break; sleep 0.1; done
    pid1=$(pgrep -P "$(pgrep -P "$outer" | head -1)" | head -1)
    if [[ -z $pid1 || ! -e $root/tmp/started ]]; then
      fail "$name as PID 1: the service never started: $(tail -3 "$work/err")"
      kill -KILL "$outer" 2>/dev/null
      wait "$outer" 2>/dev/null
      continue
    fi
    kill -TERM "$pid1"
    wait "$outer"
    code=$(cat "$work/out")
    err=$(cat "$work/err")
    if ((code < 0)); then
      fail "$name as PID 1: killed by signal $((-code)); stderr: $(tail -3 <<<"$err")"
    else
      check_run "$name as PID 1, migrated, SIGTERM forwarded to the service" 143
    fi
    rm -f "$root/tmp/started"
  done
else
  fail "busybox-static could not be downloaded: no PID 1 checks"
fi

# Other releases' glibc for dist/migrate-init: Debian 13's (newer) runs it; Debian 11's
# (2.31, older than the 2.36 it needs) refuses it through the loader, with lines naming
# the versions it lacks (2.36 among them), and nothing dies by a signal. (dist/migrate-init-static needs no libc.)
for suite in trixie bullseye; do
  if ! libc=$(other_libc "$suite"); then
    fail "libc6 of $suite could not be downloaded from the mirror"
    continue
  fi
  root=$(make_root "glibc-$suite" migrate-init)
  cp -a "$libc/." "$root/"
  for dir in lib lib64; do [[ -e $root/$dir || ! -d $root/usr/$dir ]] || ln -s "usr/$dir" "$root/$dir"; done
  version=$(cat "$libc/unpacked")
  echo "127.0.0.1 localhost" >>"$root/etc/hosts"
  database=$((database + 1))
  pg_sql "CREATE DATABASE static_$database" >/dev/null
  run_in "$root" "DATABASE_URL=postgresql://postgres:$PG_PASSWORD@localhost:$PG_PORT/static_$database" \
    AUTO_MIGRATE_DIR=/migrations AUTO_MIGRATE_WAIT=5 -- migrate
  if [[ $suite == trixie ]]; then
    check_run "glibc binary on $suite's glibc ($version), migrate by localhost" 0
  elif ((code >= 128)); then
    fail "glibc binary on $suite's glibc: killed by signal $((code - 128))"
  elif ((code != 0)) && [[ $err == *"GLIBC_2.36' not found"* ]] && ! grep -qv "version \`GLIBC_2\.[0-9]*' not found" <<<"$err"; then
    pass "glibc binary on $suite's glibc ($version) refused by the loader (exit $code): $(tail -1 <<<"$err")"
  else
    fail "glibc binary on $suite's glibc: exit $code: $err"
  fi
done

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all static checks passed"
