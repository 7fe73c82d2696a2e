#!/usr/bin/env python3
"""Times start-up commands in interleaved rounds, so that machine noise falls on every
command alike instead of on whichever one hyperfine happened to be running.

Each round runs every command once, in an order that rotates from round to round (round r
starts with command r mod k), after some warm-up rounds that are not counted. Each command
is a shell-like string split with shlex and run directly, without a shell; leading
NAME=VALUE words set environment variables, as env(1) would. A command that fails stops
the measurement.

  interleave.py [--rounds N] [--warmup N] [--json FILE] [--ratio A/B ...]
                [--prepare NAME=COMMAND ...] NAME=COMMAND ...

--prepare NAME=COMMAND runs COMMAND, untimed, before each run of command NAME (to
recreate its database, say).

Prints, per command, the median and quartiles in ms, and for each --ratio A/B (names of
two commands) the ratio of the medians and the quartiles of the per-round ratios A_r/B_r,
which says how much the ratio moves from round to round. --json writes the same, with
every sample.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time


def quartiles(values):
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def parse_command(text):
    words = shlex.split(text)
    env = dict(os.environ)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if not words:
        raise SystemExit(f"interleave: no command in {text!r}")
    return words, env


def run_once(argv, env):
    started = time.perf_counter_ns()
    completed = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    elapsed = time.perf_counter_ns() - started
    if completed.returncode != 0:
        raise SystemExit(f"interleave: {shlex.join(argv)} exited with {completed.returncode}: "
                         f"{completed.stderr.decode(errors='replace')[-500:]}")
    return elapsed / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--ratio", action="append", default=[], help="A/B: names of two commands")
    parser.add_argument("--prepare", action="append", default=[], help="NAME=COMMAND, untimed, before each run of NAME")
    parser.add_argument("commands", nargs="+", help="NAME=COMMAND")
    options = parser.parse_intermixed_args()
    if options.rounds < 2:
        parser.error("--rounds must be at least 2")

    names, commands = [], []
    for spec in options.commands:
        name, _, text = spec.partition("=")
        if not text:
            parser.error(f"expected NAME=COMMAND, got {spec!r}")
        names.append(name)
        commands.append(parse_command(text))
    prepare = {}
    for spec in options.prepare:
        name, _, text = spec.partition("=")
        if name not in names or not text:
            parser.error(f"--prepare {spec!r}: expected NAME=COMMAND for a known NAME")
        prepare[name] = parse_command(text)
    samples = {name: [] for name in names}
    count = len(commands)
    for round_index in range(-options.warmup, options.rounds):
        for offset in range(count):
            index = (round_index + offset) % count
            if names[index] in prepare:
                run_once(*prepare[names[index]])
            elapsed = run_once(*commands[index])
            if round_index >= 0:
                samples[names[index]].append(elapsed)

    report = {"rounds": options.rounds, "warmup": options.warmup, "commands": {}, "ratios": {}}
    for name in names:
        q1, median, q3 = quartiles(samples[name])
        report["commands"][name] = {"median_ms": median, "q1_ms": q1, "q3_ms": q3, "samples_ms": samples[name]}
        print(f"{name:>12}: median {median:8.2f} ms  (quartiles {q1:.2f} - {q3:.2f})")
    for spec in options.ratio:
        a, _, b = spec.partition("/")
        if a not in samples or b not in samples:
            parser.error(f"--ratio {spec}: unknown command name")
        per_round = [x / y for x, y in zip(samples[a], samples[b])]
        q1, median, q3 = quartiles(per_round)
        of_medians = report["commands"][a]["median_ms"] / report["commands"][b]["median_ms"]
        report["ratios"][spec] = {"of_medians": of_medians, "per_round_q1": q1, "per_round_median": median,
                                  "per_round_q3": q3}
        print(f"{spec:>12}: {of_medians:.2f}x of the medians; per round {median:.2f}x (quartiles {q1:.2f} - {q3:.2f})")
    if options.json:
        with open(options.json, "w") as out:
            json.dump(report, out, indent=1)


if __name__ == "__main__":
    sys.exit(main())
