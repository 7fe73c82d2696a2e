#!/bin/sh
# A stand-in service: it serves until it is told to stop. migrate-init (PID 1) forwards
# `docker stop`'s SIGTERM to it; it then ends the way most services do, by that signal
# (its default action), so the container's exit code is 143 (128 + SIGTERM). A 137 would
# mean the engine had to SIGKILL it after the grace period.
# /tmp/serving exists while it serves: compose/docker-stack.yml's healthcheck looks for it.
trap 'rm -f /tmp/serving; echo "example service: stopping on SIGTERM"; trap - TERM; kill -TERM $$' TERM
trap 'rm -f /tmp/serving; echo "example service: stopping on SIGINT"; trap - INT; kill -INT $$' INT
echo "example service: serving (pid $$)"
touch /tmp/serving
while :; do
  sleep 1 &
  wait $!
done
