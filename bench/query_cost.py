#!/usr/bin/env python3
"""What one waiter's statement costs the server, apart from everything else migrate-init
does: pgbench sends one statement at a fixed total rate from C clients (which sleep in
between, as waiters do) while another session holds advisory lock 42. Server CPU is the
scheduler's count for the postmaster and its children (/proc/PID/schedstat) over a window
in the middle of the run; statements are pg_stat_statements' calls in the same window.

  query_cost.py --url URL --data-dir PGDATA --psql 'psql -h SOCKETDIR -p PORT -U postgres -d postgres'
                [--json FILE] NAME:CLIENTS:RATE ...

NAME is poll (SELECT pg_try_advisory_lock($1), failing as the lock is held) or lookup
(the query a waiter runs to log who holds the lock, from src/pg/advisory_lock.cpp).
pg_stat_statements must exist in the monitoring database. Prints one JSON line per run.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

from waiters import delta, server_ticks

SCRIPTS = {
    "poll": "SELECT pg_try_advisory_lock(42::bigint);\n",
    "lookup": "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(host(a.client_addr), 'local socket'),"
              " extract(epoch FROM now() - a.backend_start)::bigint, a.backend_start IS NULL,"
              " pg_catalog.pg_get_userbyid(a.usesysid) = session_user"
              " FROM pg_catalog.pg_lock_status() l, LATERAL pg_catalog.pg_stat_get_activity(l.pid) a"
              " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid IS NOT NULL"
              " AND l.database = (SELECT s.datid FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) s)"
              " AND l.classid = 0::oid AND l.objid = 42::oid;\n",
}
MARKS = {"poll": "%pg_try_advisory_lock%", "lookup": "%pg_lock_status()%"}


def main():
    parser = argparse.ArgumentParser()
    for name in ("--url", "--data-dir", "--psql"):
        parser.add_argument(name, required=True)
    parser.add_argument("--json")
    parser.add_argument("runs", nargs="+", help="NAME:CLIENTS:RATE")
    options = parser.parse_args()
    database = options.url.rsplit("/", 1)[1].split("?")[0]
    psql = shlex.split(options.psql) + ["-X", "-q", "-A", "-t"]

    def sql(query):
        return subprocess.run(psql + ["-c", query], check=True, capture_output=True, text=True).stdout.strip()

    with open(os.path.join(options.data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    holder = subprocess.Popen(["psql", "-X", "-q", options.url, "-c", "SELECT pg_advisory_lock(42), pg_sleep(3600)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reports = []
    try:
        time.sleep(1)
        for spec in options.runs:
            name, clients, rate = spec.split(":")
            with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
                script.write(SCRIPTS[name])
            calls = (f"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                     f" WHERE d.datname = '{database}' AND s.query LIKE '{MARKS[name]}'")
            bench = subprocess.Popen(["pgbench", "-n", "-M", "extended", "-f", script.name, "-c", clients, "-j", "2",
                                      "-R", rate, "-T", "14", options.url],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(5)
            before_t, before_cpu, before_calls = time.monotonic(), server_ticks(postmaster), int(sql(calls))
            time.sleep(6)
            after_t, after_cpu, after_calls = time.monotonic(), server_ticks(postmaster), int(sql(calls))
            output = bench.communicate()[0]
            os.unlink(script.name)
            if bench.returncode != 0:
                sys.exit(f"query_cost: pgbench failed: {output[-500:]}")
            window, statements, cpu_ns = after_t - before_t, after_calls - before_calls, delta(before_cpu, after_cpu)
            report = {"statement": name, "clients": int(clients), "rate": int(rate),
                      "statements_per_s": round(statements / window, 1),
                      "server_cpu_pct": round(100.0 * cpu_ns / 1e9 / window, 2),
                      "server_us_per_statement": round(cpu_ns / 1e3 / max(1, statements), 1)}
            print(json.dumps(report))
            reports.append(report)
    finally:
        holder.terminate()
        holder.wait()
    if options.json:
        with open(options.json, "w") as out:
            json.dump(reports, out)


if __name__ == "__main__":
    main()
