# Sourced by tests/containers/run.sh: both docker-compose patterns, run from the files in
# compose/ as a user runs them, plus an override that holds only what these machines need.

compose_app_containers() { docker-compose "$@" ps -q app; }
compose_db_healthy() { [[ "$(docker inspect -f '{{.State.Health.Status}}' compose_db_1 2>/dev/null)" == healthy ]]; }

started_after_exit_of() { # started_after_exit_of JOB CONTAINER
  local done started
  done=$(state_ms "$1" FinishedAt) && started=$(state_ms "$2" StartedAt) && ((started >= done))
}

compose_pattern_replicas() {
  local files=(-f compose/docker-compose.yml -f tests/containers/compose.override.yml)
  echo "== docker-compose, pattern 1 (compose/docker-compose.yml): every replica migrates at start-up"
  docker-compose "${files[@]}" up -d >"$logs/compose-replicas.log" 2>&1 ||
    die "docker-compose up failed" "$logs/compose-replicas.log"
  local apps
  apps=$(compose_app_containers "${files[@]}")
  check "the database's healthcheck from the file passes on the stand-in" compose_db_healthy
  check "three app replicas are up (deploy.replicas)" test "$(wc -w <<<"$apps")" = 3
  check "every replica serves" wait_until 60 all_logs_have "example service: serving" $apps
  check "every migration is in the ledger exactly once (psql)" \
    test "$(ledger_sql "SELECT count(*) || '/' || count(DISTINCT version) FROM schema_migrations")" = 5/5
  check "one replica applied each migration" test "$(count_in_logs 'applying 001_initial_schema.sql' $apps)" = 1
  check "the others found it done" \
    test "$(count_in_logs 'database is up to date (5 migrations' $apps)" = 2
  local before stop_started c
  before=$(ledger_sql "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations")

  stop_started=$(now_ms)
  docker-compose "${files[@]}" stop >>"$logs/compose-replicas.log" 2>&1
  echo "docker-compose stop took $(($(now_ms) - stop_started)) ms"
  for c in $apps; do
    check "$(docker inspect -f '{{.Name}}' "$c"): exit 143, the service ended by the forwarded SIGTERM" \
      test "$(exit_code "$c")" = 143
    check "... and it logged the SIGTERM" log_has "$c" "example service: stopping on SIGTERM"
    check "... inside the 10 s grace period of docker-compose stop (stop_grace_period)" finished_within 10000 "$stop_started" "$c"
  done

  local mark
  mark=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  docker-compose "${files[@]}" up -d >>"$logs/compose-replicas.log" 2>&1 ||
    die "the second docker-compose up failed" "$logs/compose-replicas.log"
  since_serving() { local c; for c in "$@"; do logs_of --since "$mark" "$c" | grep -q "example service: serving" || return 1; done; }
  check "up again: every replica serves" wait_until 60 since_serving $apps
  check "up again: every replica found the database up to date" \
    test "$(for c in $apps; do logs_of --since "$mark" "$c"; done | grep -c 'database is up to date (5 migrations)$')" = 3
  check "up again: nothing applied" \
    test "$(for c in $apps; do logs_of --since "$mark" "$c"; done | grep -c 'applying ')" = 0
  check "up again: the ledger is unchanged" \
    test "$(ledger_sql "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations")" = "$before"
  docker-compose "${files[@]}" down -v >>"$logs/compose-replicas.log" 2>&1
}

compose_pattern_job() {
  local files=(-f compose/docker-compose.migrate-job.yml -f tests/containers/compose.migrate-job.override.yml)
  echo "== docker-compose, pattern 2 (compose/docker-compose.migrate-job.yml): a one-shot migrate job"
  docker-compose "${files[@]}" up -d >"$logs/compose-job.log" 2>&1 || die "docker-compose up failed" "$logs/compose-job.log"
  local job apps c
  job=$(docker-compose "${files[@]}" ps -a -q migrate)
  apps=$(compose_app_containers "${files[@]}")
  check "the migrate job exited 0" test "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$job")" = "exited 0"
  check "three app replicas are up" test "$(wc -w <<<"$apps")" = 3
  for c in $apps; do
    check "$(docker inspect -f '{{.Name}}' "$c") started after the job had exited" started_after_exit_of "$job" "$c"
  done
  check "the job applied every migration" test "$(ledger)" = 001,002,003,004,005
  check "every app serves, having checked AUTO_MIGRATE_REQUIRED=all" \
    wait_until 60 all_logs_have "required migrations are applied" $apps
  check "no app applied anything" test "$(count_in_logs 'applying ' $apps)" = 0
  docker-compose "${files[@]}" down -v >>"$logs/compose-job.log" 2>&1

  echo "== pattern 2 without the job: up --no-deps app on an empty database"
  docker-compose "${files[@]}" up -d db >>"$logs/compose-job.log" 2>&1 || die "docker-compose up -d db failed" "$logs/compose-job.log"
  check "the database is healthy" wait_until 90 compose_db_healthy
  timeout 120 docker-compose "${files[@]}" up --no-deps app >"$logs/compose-nojob.log" 2>&1
  apps=$(docker-compose "${files[@]}" ps -a -q app)
  check "three app replicas were started" test "$(wc -w <<<"$apps")" = 3
  for c in $apps; do
    check "$(docker inspect -f '{{.Name}}' "$c") refused to start: exit 5" test "$(exit_code "$c")" = 5
  done
  check "and said which migrations are missing" \
    test "$(count_in_logs 'database migrations missing: 001_initial_schema' $apps)" -ge 3
  check "no service was started" test "$(count_in_logs 'example service: serving' $apps)" = 0
  check "nothing was migrated" test "$(ledger_sql "SELECT to_regclass('schema_migrations') IS NULL")" = t
  docker-compose "${files[@]}" down -v >>"$logs/compose-job.log" 2>&1
}
