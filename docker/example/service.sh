#!/bin/sh
# A stand-in service: it serves until it is told to stop. migrate-init (PID 1) forwards
# `docker stop`'s SIGTERM to it, and its exit code becomes the container's.
trap 'echo "example service: stopping on SIGTERM"; exit 0' TERM INT
echo "example service: serving (pid $$)"
while :; do
  sleep 1 &
  wait $!
done
