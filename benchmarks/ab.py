#!/usr/bin/python3
"""Two h5infer builds on the standard workloads, interleaved: did a change alter speed or bits?

    /usr/bin/python3 benchmarks/ab.py --before DIR --after DIR [--only W1,W2,W3] [--repeat N]
                                      [--scale F] [--workdir DIR]

Makes each workload's data and model once (benchmarks/bench/workloads.py, with the --after
build), then runs h5infer's layouts of compare.py (2 ranks x 1 thread, 1 x 2, and on W1 1 x 1;
bf16 too where it is native, as compare.py decides) with each build in turn, the order swapped
every round so that a machine drifting in speed weighs on both alike. Prints, per workload and
layout, the medians of the in-process seconds (the prediction file's elapsed_seconds) and of
the whole command, the ratio after / before of each, and whether the two builds wrote the same
prediction bytes.

Exit code 0 when every pair of outputs is bitwise identical, 1 otherwise or when a command
fails. Speed is reported, not judged: read the ratios against the spread of the rounds.
"""

import argparse
import os
import shutil
import sys
import tempfile

import h5py
import numpy as np

from bench import machine
from bench.process import log
from bench.runs import h5infer_runs, measure, median
from bench.workloads import WORKLOADS, prepare, remove_inputs


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="ab.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="build directory of the old code")
    parser.add_argument("--after", required=True, help="build directory of the new code")
    parser.add_argument("--only", default="W1,W2,W3", help="workloads, e.g. W2,W3")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of A and B (default 5)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the row counts")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    return parser.parse_args(argv)


def same_bytes(first, second):
    """Whether two prediction files hold the same /predictions values, bit for bit."""
    with h5py.File(first, "r") as a, h5py.File(second, "r") as b:
        x, y = a["predictions"][()], b["predictions"][()]
    return x.shape == y.shape and np.array_equal(x.view(np.uint32), y.view(np.uint32))


def interleaved(pairs, repeat):
    """Measures each (before, after) pair `repeat` times, swapping the order every round."""
    for round_index in range(repeat):
        for pair in pairs:
            for run in (pair if round_index % 2 == 0 else pair[::-1]):
                measure(run)


def ratio_text(after, before):
    return f"{after / before:.3f}" if before > 0 else "n/a"


def print_pairs(workload, pairs):
    for before, after in pairs:
        identical = same_bytes(before.output, after.output)
        print(f"| {workload} | {before.label} | {median(before.in_process):.3f} | "
              f"{median(after.in_process):.3f} | "
              f"{ratio_text(median(after.in_process), median(before.in_process))} | "
              f"{median(before.whole):.3f} | {median(after.whole):.3f} | "
              f"{ratio_text(median(after.whole), median(before.whole))} | "
              f"{'yes' if identical else 'NO'} |", flush=True)
        yield identical


def run_workload(args, workload, workdir, bf16):
    rows = max(int(workload.rows * args.scale), 1000)
    files = prepare(os.path.join(args.after, "h5infer"), workload, rows, workdir)
    sides = []
    for name, build in (("before", args.before), ("after", args.after)):
        os.makedirs(os.path.join(workdir, name), exist_ok=True)
        sides.append(h5infer_runs(os.path.join(build, "h5infer"), workload, files,
                                  os.path.join(workdir, name), bf16))
    pairs = list(zip(*sides))
    interleaved(pairs, args.repeat)
    identical = list(print_pairs(workload.key, pairs))
    remove_inputs(files)
    return all(identical)


def main(argv):
    args = parse_args(argv)
    limits = os.path.join(args.after, "benchmarks", "limits")
    flags = machine.cpu_flags()
    bf16 = machine.decide_bf16(machine.onednn_isa(limits), flags)
    print(f"CPU: {machine.machine_facts()['cpu']}; flags: {' '.join(flags)}")
    if not bf16.run:
        print(f"ab.py: the bf16 rows are skipped: {bf16.reason}")
    print(f"{args.repeat} rounds, order swapped every round; seconds are medians\n")
    print("| workload | layout | before in-process | after | ratio | before whole | after | "
          "ratio | same bytes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    workdir = args.workdir or tempfile.mkdtemp(prefix="h5infer-ab-")
    os.makedirs(workdir, exist_ok=True)
    try:
        results = [run_workload(args, WORKLOADS[key], workdir, bf16.run)
                   for key in args.only.split(",")]
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if not all(results):
        log("ab.py: the two builds wrote different predictions")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
