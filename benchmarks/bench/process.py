"""Running the commands a benchmark is made of: where things are, and one way to run them."""

import json
import os
import shlex
import subprocess
import sys
import time

BENCHMARKS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCHMARKS)
PYTHON = "/usr/bin/python3"  # Debian's: the one that sees python3-torch, -sklearn, -mpi4py
CORES = os.cpu_count() or 1


def log(message):
    """Progress, on stderr (stdout carries the report)."""
    print(message, file=sys.stderr, flush=True)


def child_env():
    env = dict(os.environ)
    if os.geteuid() == 0:  # Open MPI refuses root unless told (scripts/env.sh does the same)
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def run_command(command):
    """Runs a command; returns (wall seconds, its output). Stops the script if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, env=child_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"compare.py: command failed (exit {done.returncode}): {shlex.join(command)}\n"
                 f"{done.stdout[-3000:]}")
    return wall, done.stdout


def json_command(command):
    """The JSON object a command prints on its last line."""
    _, output = run_command(command)
    return json.loads(output.strip().splitlines()[-1])


def concurrent_json(commands):
    """Starts the commands at once; the JSON each prints last."""
    processes = [subprocess.Popen(line, stdout=subprocess.PIPE, text=True) for line in commands]
    outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode != 0 for process in processes):
        sys.exit(f"compare.py: command failed: {shlex.join(commands[0])}")
    return [json.loads(output.splitlines()[-1]) for output in outputs]
