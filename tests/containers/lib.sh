# Sourced by tests/containers/run.sh: assertions, and a private Docker Engine that the test
# starts and always stops (see ../../../shared/containers.md for the recipe): its data
# root, exec root and socket live in a temporary directory, with no bridge network and no
# iptables rules; only the host network exists.

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...: one assertion
  if "${@:2}"; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAILED: $1" >&2; fi
}
die() { # die MESSAGE [LOG]: a step that the rest depends on failed
  echo "FATAL: $1" >&2
  [[ -n "${2:-}" && -f "$2" ]] && { echo "--- last lines of $2:" >&2; tail -n 30 "$2" >&2; }
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_until() { # wait_until SECONDS COMMAND...: true once COMMAND succeeds
  local deadline=$(($(date +%s) + $1))
  until "${@:2}"; do (($(date +%s) < deadline)) || return 1; sleep 0.2; done
}
# docker logs, both streams; grep reads all of it (an early exit under pipefail could fail
# the pipeline with SIGPIPE).
logs_of() { docker logs "$@" 2>&1; }
log_has() { logs_of "$1" | grep -- "$2" >/dev/null; }          # log_has CONTAINER TEXT
logs_of_all() { local c; for c in "$@"; do logs_of "$c"; done; }
count_in_logs() { logs_of_all "${@:2}" | grep -c -- "$1"; }                  # count_in_logs TEXT CONTAINER...
any_log_has() { logs_of_all "${@:2}" | grep -E -- "$1" >/dev/null; }          # any_log_has REGEX CONTAINER...
all_logs_have() { # all_logs_have TEXT CONTAINER...: every container logged TEXT
  local c
  for c in "${@:2}"; do log_has "$c" "$1" || return 1; done
}
exit_code() { docker inspect -f '{{.State.ExitCode}}' "$1"; }
state_ms() { # state_ms CONTAINER StartedAt|FinishedAt: that moment in ms since the epoch
  local moment
  moment=$(docker inspect -f "{{.State.$2}}" "$1") && [[ "$moment" != 0001-* ]] || return 1
  echo $(($(date -d "$moment" +%s%N) / 1000000))
}
finished_within() { # finished_within MS SINCE_MS CONTAINER: it stopped less than MS after SINCE_MS
  local finished
  finished=$(state_ms "$3" FinishedAt) && ((finished >= $2 && finished - $2 < $1))
}
# Swarm removes the containers of a service scaled to 0 soon after they stop: watch_exits
# records, as each one stops, its exit code and when (docker wait), in DIR/CONTAINER.
# Wait for them with: wait "${exit_watchers[@]}" (each gives up after 60 s).
watch_exits() { # watch_exits DIR CONTAINER...
  local c
  exit_watchers=()
  for c in "${@:2}"; do
    (code=$(timeout 60 docker wait "$c") && echo "$code $(now_ms)" >"$1/$c") &
    exit_watchers+=($!)
  done
}
exited_with_within() { # exited_with_within CODE MS SINCE_MS DIR CONTAINER: as recorded by watch_exits
  local code at
  read -r code at 2>/dev/null <"$4/$5" && [[ "$code" == "$1" ]] && ((at >= $3 && at - $3 < $2))
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The compose and stack files' database, reached from the host over loopback.
ledger_sql() { PGPASSWORD=app-password psql -h 127.0.0.1 -p 5432 -U app -d app -X -q -At -c "$1"; }
ledger() { ledger_sql "SELECT version FROM schema_migrations ORDER BY version" 2>/dev/null | paste -sd, -; }

# Engines left by an earlier run that was killed (SIGKILL skips the trap): stop them, by
# the pid in their own pid file, only when the run that started them is gone.
engine_reap_stale() {
  local dir owner pid
  for dir in /tmp/migrate-init-docker-*; do
    [[ -d "$dir" ]] || continue
    owner=$(cat "$dir/owner" 2>/dev/null)
    [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null && continue
    pid=$(cat "$dir/docker.pid" 2>/dev/null)
    if [[ -n "$pid" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "--data-root $dir/data"; then
      echo "stopping dockerd $pid left by an earlier run ($dir)"
      engine_dir=$dir dockerd_pid=$pid engine_stop
    else
      engine_dir=$dir engine_unmount_and_remove
    fi
  done
}

# For development only: MIGRATE_INIT_TEST_ENGINE=DIR keeps the engine (and its build cache)
# in DIR between runs; the run then removes its containers and swarm but leaves dockerd up.
engine_start() {
  engine_keep=
  if [[ -n "${MIGRATE_INIT_TEST_ENGINE:-}" ]]; then
    engine_dir=$MIGRATE_INIT_TEST_ENGINE engine_keep=1
    mkdir -p "$engine_dir"
  else
    engine_dir=$(mktemp -d /tmp/migrate-init-docker-XXXXXX)
    echo $$ >"$engine_dir/owner"
  fi
  engine_log=$engine_dir/dockerd.log
  mkdir -p "$engine_dir/bin" "$engine_dir/client"
  # Debian's client, whatever else is on PATH; no client configuration but our own.
  ln -sf /usr/bin/docker "$engine_dir/bin/docker"
  export PATH="$engine_dir/bin:$PATH" DOCKER_CONFIG="$engine_dir/client" DOCKER_HOST="unix://$engine_dir/docker.sock"
  if [[ -n "$engine_keep" ]] && docker info >/dev/null 2>&1; then
    dockerd_pid=$(cat "$engine_dir/docker.pid")
    return 0
  fi
  # No /etc/docker/daemon.json, and the engine's key under the temporary directory too.
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$engine_dir" >"$engine_dir/daemon.json"
  dockerd --config-file "$engine_dir/daemon.json" --data-root "$engine_dir/data" --exec-root "$engine_dir/exec" \
    --pidfile "$engine_dir/docker.pid" -H "$DOCKER_HOST" --bridge=none --iptables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false --storage-driver=overlay2 >>"$engine_log" 2>&1 9>&- &
  dockerd_pid=$!
  wait_until 60 docker info >/dev/null 2>&1 || die "dockerd did not start" "$engine_log"
}

engine_stop() {
  [[ -n "${dockerd_pid:-}" ]] || return 0
  if [[ -S "$engine_dir/docker.sock" ]]; then
    local client=(/usr/bin/docker -H "unix://$engine_dir/docker.sock")
    [[ "$("${client[@]}" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)" == active ]] &&
      "${client[@]}" swarm leave --force >/dev/null 2>&1
    # Every container of this private engine is one the test started.
    local containers
    containers=$("${client[@]}" ps -aq 2>/dev/null)
    [[ -n "$containers" ]] && "${client[@]}" rm -f -v $containers >/dev/null 2>&1
    "${client[@]}" volume prune -f >/dev/null 2>&1
  fi
  [[ -n "${engine_keep:-}" ]] && return 0
  [[ -f "${engine_log:-}" && -d "${logs:-}" ]] && cp "$engine_log" "$logs/dockerd.log"
  kill -TERM "$dockerd_pid" 2>/dev/null
  local i
  for i in $(seq 1 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$dockerd_pid" 2>/dev/null
  # containerd and its shims were started by this engine: their command lines name its
  # exec root. Normally they are gone with it.
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | grep -q -- "$engine_dir/exec" && kill -KILL "$pid" 2>/dev/null
  done
  dockerd_pid=
  engine_unmount_and_remove
}

engine_unmount_and_remove() {
  local target
  # Deepest first: overlay mounts, network namespaces, the shm of each container.
  for target in $(findmnt -rn -o TARGET | grep "^$engine_dir/" | sort -r); do umount -l "$target" 2>/dev/null; done
  rm -rf "$engine_dir"
}

# The base image, debootstrapped from Debian's packages (no registry is reachable) and named
# as docker/Dockerfile expects it. The root file system is kept for a week in
# /var/cache/migrate-init-tests: debootstrap takes about a minute.
base_image_load() {
  local cache=/var/cache/migrate-init-tests/bookworm-minbase.tar
  if [[ ! -s "$cache" || -n "$(find "$cache" -mtime +7 2>/dev/null)" ]]; then
    local rootfs mirror
    rootfs=$(mktemp -d /var/tmp/migrate-init-bookworm-XXXXXX)
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [[ -n "$mirror" ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
      { rm -rf "$rootfs"; die "debootstrap failed" "$logs/debootstrap.log"; }
    mkdir -p "${cache%/*}"
    tar -C "$rootfs" -c . >"$cache.new" && mv "$cache.new" "$cache"
    rm -rf "$rootfs"
  fi
  # (A kept engine has it already: importing again would make a new image and miss the
  # build cache.)
  docker image inspect debian:bookworm-slim >/dev/null 2>&1 ||
    docker import - debian:bookworm-slim <"$cache" >/dev/null || die "docker import of the base image failed"
}
