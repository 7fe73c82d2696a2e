#!/usr/bin/env python3
"""What N waiting replicas cost the server. One migrate-init (the holder) takes the lock and
applies a migration that sleeps; once it holds the lock, N more start and wait for it. In a
window during the wait (after every waiter has connected and its poll backoff has reached
its ceiling) this measures:

  - connections held: pg_stat_activity rows for the database;
  - server CPU: time on a CPU of the postmaster and all its children (the scheduler's
    count in /proc/PID/schedstat), after minus before, over the window, as a percentage
    of one core;
  - waiters' own CPU the same way (the migrate-init processes);
  - lock polls and holder look-ups per second, from pg_stat_statements' calls (when the
    extension exists in the monitoring database): the waiters' pg_try_advisory_lock
    statements, and the query on pg_locks and pg_stat_get_activity(pid) a waiter runs to log who
    holds the lock;
  - private memory per waiting backend (Private_Clean + Private_Dirty of smaps_rollup);

and after the holder releases the lock: the hand-off, from the holder's service start
(just after its unlock and NOTIFY) to the last waiter's service start.

  waiters.py --binary B --url URL --dir DIR --marks DIR --data-dir PGDATA --sleep S
             --psql 'psql -h SOCKETDIR -p PORT -U postgres -d postgres' --waiters N [--json FILE]

DIR must hold one migration that sleeps S seconds. Prints one JSON object.
"""
import argparse
import glob
import json
import os
import shlex
import subprocess
import sys
import time


def ticks(pid):
    """(parent pid, nanoseconds on a CPU so far). The time is the scheduler's own count
    (/proc/PID/schedstat), not utime+stime, which are sampled at clock ticks and miss
    most of a process that runs for 50 us every half second."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/schedstat") as f:
            on_cpu_ns = int(f.read().split()[0])
        # After the command name: state is field 3, ppid field 4.
        return int(fields[1]), on_cpu_ns
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def server_ticks(postmaster):
    result = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        pid = int(path.split("/")[2])
        sample = ticks(pid)
        if sample and (pid == postmaster or sample[0] == postmaster):
            result[pid] = sample[1]
    return result


def client_ticks(pids):
    result = {}
    for pid in pids:
        sample = ticks(pid)
        if sample:
            result[pid] = sample[1]
    return result


def delta(before, after):
    return sum(after[pid] - before[pid] for pid in after if pid in before)


def private_kib(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except FileNotFoundError:
        return None
    return total


def main():
    parser = argparse.ArgumentParser()
    for name in ("--binary", "--url", "--dir", "--marks", "--data-dir", "--psql"):
        parser.add_argument(name, required=True)
    parser.add_argument("--sleep", type=float, required=True)
    parser.add_argument("--waiters", type=int, required=True)
    parser.add_argument("--json")
    options = parser.parse_args()
    database = options.url.rsplit("/", 1)[1].split("?")[0]
    psql = shlex.split(options.psql) + ["-X", "-q", "-A", "-t", "-F", " "]

    def sql(query):
        return subprocess.run(psql + ["-c", query], check=True, capture_output=True, text=True).stdout.strip()

    with open(os.path.join(options.data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    os.makedirs(options.marks, exist_ok=True)
    env = dict(os.environ, DATABASE_URL=options.url, AUTO_MIGRATE_DIR=options.dir, AUTO_MIGRATE_FAIL_ON_ERROR="true")

    def start(name):
        with open(os.path.join(options.marks, f"{name}.log"), "w") as log:
            return subprocess.Popen([options.binary, "--", "sh", "-c", f"date +%s%N > {options.marks}/{name}"],
                                    env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    statements = sql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == "1"
    holder = start("holder")
    deadline = time.monotonic() + 30
    while sql(f"SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
              f"WHERE l.locktype = 'advisory' AND l.granted AND d.datname = '{database}'") != "1":
        if time.monotonic() > deadline or holder.poll() is not None:
            sys.exit("waiters: the holder never took the lock")
        time.sleep(0.02)
    locked_at = time.monotonic()
    release_expected = locked_at + options.sleep
    waiters = [start(f"w{i}") for i in range(options.waiters)]
    started_all = time.monotonic()
    while int(sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'")) < options.waiters + 1:
        if time.monotonic() > release_expected - 3:
            sys.exit("waiters: not all waiters connected in time; raise --sleep")
        time.sleep(0.05)
    connected_at = time.monotonic()
    # Let every waiter's backoff reach its ceiling (50, 100, 200, 400, then 500 ms).
    time.sleep(1.5)

    def snapshot():
        sample = {"t": time.monotonic(), "server": server_ticks(postmaster),
                  "client": client_ticks([p.pid for p in waiters])}
        row = sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'").split()
        sample["connections"] = int(row[0])
        if statements:
            row = sql("SELECT coalesce(sum(calls) FILTER (WHERE query LIKE '%pg_try_advisory_lock%'), 0),"
                      "       coalesce(sum(calls) FILTER (WHERE query LIKE '%FROM pg_locks%'), 0)"
                      "  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                      f" WHERE d.datname = '{database}'").split()
            sample["polls"], sample["lookups"] = int(row[0]), int(row[1])
        return sample

    before = snapshot()
    backend_pids = [int(p) for p in sql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' "
                                        f"AND query LIKE '%pg_try_advisory_lock%'").split()]
    memory = [m for m in (private_kib(pid) for pid in backend_pids) if m is not None]
    window_end = release_expected - 1.0
    if window_end - time.monotonic() < 2:
        sys.exit("waiters: the measurement window is under 2 s; raise --sleep")
    time.sleep(window_end - time.monotonic())
    after = snapshot()
    window = after["t"] - before["t"]

    failed = [p.args for p in [holder] + waiters if p.wait() != 0]
    if failed:
        sys.exit(f"waiters: {len(failed)} migrate-init processes failed; see {options.marks}/*.log")
    marks = {}
    for name in ["holder"] + [f"w{i}" for i in range(options.waiters)]:
        with open(os.path.join(options.marks, name)) as f:
            marks[name] = int(f.read())
    last = max(marks.values())
    report = {
        "waiters": options.waiters,
        "connect_s": round(connected_at - started_all, 2),
        "window_s": round(window, 2),
        "connections": after["connections"],
        "server_cpu_pct": round(100.0 * delta(before["server"], after["server"]) / 1e9 / window, 2),
        "waiters_cpu_pct": round(100.0 * delta(before["client"], after["client"]) / 1e9 / window, 2),
        "polls_per_s": round((after["polls"] - before["polls"]) / window, 1) if statements else None,
        "lookups_per_s": round((after["lookups"] - before["lookups"]) / window, 1) if statements else None,
        "server_us_per_query": round(delta(before["server"], after["server"]) / 1e3 / max(
            1, after["polls"] + after["lookups"] - before["polls"] - before["lookups"]), 1) if statements else None,
        "backend_private_mib": round(sum(memory) / len(memory) / 1024, 2) if memory else None,
        "handoff_ms": round((last - marks["holder"]) / 1e6, 1),
    }
    print(json.dumps(report))
    if options.json:
        with open(options.json, "w") as out:
            json.dump(report, out)


if __name__ == "__main__":
    main()
