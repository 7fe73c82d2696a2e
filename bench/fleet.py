#!/usr/bin/env python3
"""Starts N copies of one command at the same moment and reports when each one's service
started. Each copy is forked first and held at a barrier (a pipe it reads); when all N are
ready, closing the pipe releases them together, and each execs the command. A shell loop
that launches them one by one takes longer than the whole fleet's work on 2 cores (over a
second for 32, while the replicas already running slow it down), so the spread it measures
is mostly the loop's.

  fleet.py --replicas N --marks FILE [--log-dir DIR] -- COMMAND [ARG...]

The command's service must append a nanosecond timestamp line to FILE when it starts (as
`sh -c 'date +%s%N >> FILE'` does). Prints one JSON object: released (ns), failed
(copies that exited non-zero), starts (the timestamps, sorted)."""
import argparse
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, required=True)
    parser.add_argument("--marks", required=True)
    parser.add_argument("--log-dir")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    gate_read, gate_write = os.pipe()
    children = []
    for i in range(args.replicas):
        pid = os.fork()
        if pid == 0:
            os.close(gate_write)
            os.read(gate_read, 1)  # returns b"" when the parent closes its end
            os.close(gate_read)
            out = os.open(os.devnull, os.O_WRONLY)
            os.dup2(out, 1)
            if args.log_dir:
                err = os.open(os.path.join(args.log_dir, f"log{i + 1}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(err, 2)
            try:
                os.execvp(command[0], command)
            finally:
                os._exit(127)
        children.append(pid)
    os.close(gate_read)
    released = time.time_ns()
    os.close(gate_write)
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            failed += 1
    with open(args.marks) as f:
        starts = sorted(int(line) for line in f if line.strip())
    json.dump({"released": released, "failed": failed, "starts": starts}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
