# Sourced by tests/containers/run.sh: a one-node swarm on loopback and a real stack of the
# replicas pattern (compose/docker-stack.yml), with rolling updates, a failing update and
# a scale to zero.

stack_files=(-c compose/docker-stack.yml -c tests/containers/stack.override.yml)
service=example_app
image=127.0.0.1:5999/migrate-init-example

task_containers() { docker ps -q --filter "label=com.docker.swarm.service.name=$service" | sort; }
# The running tasks not on IMAGE: during a paused update, swarm keeps restarting the failed
# new task, which runs for a moment each time.
task_containers_not_on() {
  docker ps --filter "label=com.docker.swarm.service.name=$service" --format '{{.ID}} {{.Image}}' |
    awk -v image="$1" '$2 != image {print $1}' | sort
}
tasks_running_on() { # tasks_running_on IMAGE COUNT: exactly COUNT tasks run, all of IMAGE
  local states
  states=$(docker service ps "$service" --filter desired-state=running --format '{{.Image}} {{.CurrentState}}')
  [[ "$(grep -c "^$1 Running" <<<"$states")" == "$2" && "$(grep -c . <<<"$states")" == "$2" ]]
}
no_containers_running() { [[ -z "$(docker ps -q)" ]]; }
no_tasks_running() { [[ -z "$(task_containers)" ]]; }
update_state() { docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$service"; }
update_state_is() { [[ "$(update_state)" == "$1" ]]; }
no_errors_in() { ! logs_of "$1" | grep -E 'migrate-init (error|critical):' >/dev/null; }
networks_are_host_only() { [[ "$(docker network ls --format '{{.Driver}}' | sort -u | paste -sd, -)" == host,null ]]; }
serves_without_errors() { log_has "$1" 'example service: serving' && no_errors_in "$1"; }
service_env_has() { docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' "$service" | grep -F "\"$1\"" >/dev/null; }
ledger_rows() { ledger_sql "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations"; }

swarm_init() {
  docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >"$logs/swarm.log" 2>&1 ||
    die "docker swarm init failed" "$logs/swarm.log"
  # The swarm creates an ingress overlay network (for published ports, which the tests never
  # use) and then a docker_gwbridge bridge for it: remove both, so that only the host network
  # is left.
  wait_until 20 docker network inspect ingress >/dev/null 2>&1
  local _
  for _ in $(seq 1 50); do
    docker network inspect ingress >/dev/null 2>&1 && { echo y | docker network rm ingress >/dev/null 2>&1; }
    docker network inspect docker_gwbridge >/dev/null 2>&1 && docker network rm docker_gwbridge >/dev/null 2>&1
    networks_are_host_only && break
    sleep 0.2
  done
}

swarm_test() {
  echo "== Docker Swarm: docker stack deploy of compose/docker-stack.yml on a one-node swarm on loopback"
  swarm_init
  check "the swarm has no overlay or bridge network, only the host network" networks_are_host_only
  docker stack deploy --resolve-image never "${stack_files[@]}" example >>"$logs/swarm.log" 2>&1 ||
    die "docker stack deploy failed" "$logs/swarm.log"
  check "the stack file's update_config reached the service (pause, start-first)" \
    test "$(docker service inspect -f '{{.Spec.UpdateConfig.FailureAction}} {{.Spec.UpdateConfig.Order}}' "$service")" = "pause start-first"
  check "5 tasks running (deploy.replicas)" wait_until 120 tasks_running_on "$image:test" 5
  local tasks c
  tasks=$(task_containers)
  check "every migration applied once" test "$(ledger_sql "SELECT count(*) || '/' || count(DISTINCT version) FROM schema_migrations")" = 5/5
  check "by one task" test "$(count_in_logs 'applying 001_initial_schema.sql' $tasks)" = 1
  for c in $tasks; do
    check "task container ${c:0:12}: migrate-init is PID 1" \
      test "$(docker exec "$c" cat /proc/1/cmdline | tr '\0' ' ')" = "migrate-init /app/service.sh "
  done

  echo "== rolling update to an image with one more migration (006)"
  local old started
  old=$tasks
  started=$(now_ms)
  docker service update --detach --no-resolve-image --image "$image:next" "$service" >>"$logs/swarm.log" 2>&1
  check "the update completes" wait_until 180 update_state_is completed
  echo "the rolling update took $(($(now_ms) - started)) ms"
  check "5 tasks running on the new image" wait_until 30 tasks_running_on "$image:next" 5
  check "the new migration is in the ledger once, after the others" test "$(ledger)" = 001,002,003,004,005,006
  local everyone
  everyone=$(docker ps -aq --filter "label=com.docker.swarm.service.name=$service")
  check "one task applied it" test "$(count_in_logs 'applying 006_add_run_labels.sql' $everyone)" = 1
  local applied_ms
  applied_ms=$(ledger_sql "SELECT (extract(epoch FROM applied_at) * 1000)::bigint FROM schema_migrations WHERE version = '006'")
  for c in $old; do
    check "old task ${c:0:12} kept serving after 006 was applied, until the update stopped it" \
      finished_within 600000 "$applied_ms" "$c"
    check "... with no error in its log" no_errors_in "$c"
    check "... and ended by SIGTERM (143)" test "$(exit_code "$c")" = 143
  done

  echo "== rollback: the previous image's tasks start on a database that is ahead of them"
  docker service rollback --detach "$service" >>"$logs/swarm.log" 2>&1
  check "the rollback completes" wait_until 180 update_state_is rollback_completed
  check "5 tasks running on the previous image" wait_until 30 tasks_running_on "$image:test" 5
  tasks=$(task_containers)
  for c in $tasks; do
    check "task ${c:0:12} warns that the database is ahead of its image" \
      log_has "$c" "which has no file here (the database is ahead of this image)"
    check "... serves, with no error in its log" serves_without_errors "$c"
  done
  check "start-up never rolls back: the ledger still has 006" test "$(ledger)" = 001,002,003,004,005,006

  echo "== update to an image whose new migration (007) fails, with AUTO_MIGRATE_FAIL_ON_ERROR=true"
  check "the service runs with AUTO_MIGRATE_FAIL_ON_ERROR=true" service_env_has AUTO_MIGRATE_FAIL_ON_ERROR=true
  local before
  old=$tasks
  before=$(ledger_rows)
  docker service update --detach --no-resolve-image --image "$image:broken" "$service" >>"$logs/swarm.log" 2>&1
  check "the update pauses (UpdateStatus.State)" wait_until 120 update_state_is paused
  docker service inspect -f '{{.UpdateStatus.Message}}' "$service"
  local failed_tasks
  failed_tasks=$(docker ps -aq --filter "label=com.docker.swarm.service.name=$service" --filter "ancestor=$image:broken")
  check "the new task failed its migration and did not start the service" \
    any_log_has 'migration 007_add_label_search failed: .*not starting the service' $failed_tasks
  check "the old tasks keep running: the same 5 containers" test "$(task_containers_not_on "$image:broken")" = "$old"
  check "the ledger is unchanged" test "$(ledger_rows)" = "$before"
  check "nothing of 007 was left behind (its first statement was rolled back)" \
    test "$(ledger_sql "SELECT to_regclass('runs_job_name_labels_idx') IS NULL")" = t
  docker service rollback --detach "$service" >>"$logs/swarm.log" 2>&1
  check "rolling the paused update back completes" wait_until 120 update_state_is rollback_completed
  check "with the same 5 tasks" test "$(task_containers)" = "$old"

  echo "== docker service scale $service=0"
  tasks=$(task_containers)
  local exits
  exits=$(mktemp -d "$logs/exits-XXXXXX")
  watch_exits "$exits" $tasks
  started=$(now_ms)
  docker service scale --detach "$service=0" >>"$logs/swarm.log" 2>&1
  check "every task stops" wait_until 30 no_tasks_running
  wait "${exit_watchers[@]}"
  for c in $tasks; do
    # 143, not 137: not SIGKILLed after the grace period. The bound is that period, not a
    # speed target: under CI's load (the reliability suite beside it) a stop took 5-6 s.
    check "task ${c:0:12} exits 143 (SIGTERM forwarded, the service ended by it) inside the 10 s grace period (stop_grace_period)" \
      exited_with_within 143 10000 "$started" "$exits" "$c"
  done

  docker stack rm example >>"$logs/swarm.log" 2>&1
  wait_until 30 no_containers_running
  check "still no overlay or bridge network" networks_are_host_only
  docker swarm leave --force >>"$logs/swarm.log" 2>&1
  check "the node left the swarm" test "$(docker info -f '{{.Swarm.LocalNodeState}}')" = inactive
}
