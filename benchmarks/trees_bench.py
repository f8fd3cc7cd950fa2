#!/usr/bin/python3
"""h5infer run against scikit-learn's predict_proba on a RandomForestClassifier.

    /usr/bin/python3 benchmarks/trees_bench.py --h5infer build/h5infer [--rows 100000]

Fits a forest (default 100 trees of depth 10 on 100,000 x 32 synthetic rows), exports it with
tools/h5infer-export-sklearn, then times, best of --repeat: scikit-learn's predict_proba
(n_jobs 1 and all cores) and `h5infer run` on one rank with one thread and with all cores as
threads (the whole command: start-up, reading, writing). Checks that both give the same probabilities and prints
one line per measurement with the CPU's model name and vector flags. Nothing is asserted on
time; the figures are for docs/performance.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORTER = os.path.join(HERE, "..", "tools", "h5infer-export-sklearn")


def cpu():
    name, flags = "unknown", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and name == "unknown":
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = [x for x in line.split(":", 1)[1].split()
                         if x.startswith(("avx", "fma", "sse4"))]
    return f"{name}, {os.cpu_count()} cores, flags {' '.join(flags)}"


def best_of(repeat, work):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--h5infer", required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    x, y = make_classification(options.rows, options.features, n_informative=16, n_classes=4,
                               random_state=0)
    x = x.astype(np.float32)
    forest = RandomForestClassifier(options.trees, max_depth=options.depth, n_jobs=-1,
                                    random_state=0).fit(x, y)
    with tempfile.TemporaryDirectory(prefix="h5infer-trees-bench-") as directory:
        pickled, model = (os.path.join(directory, name) for name in ("rf.joblib", "rf.h5"))
        data, output = (os.path.join(directory, name) for name in ("x.h5", "out.h5"))
        joblib.dump(forest, pickled)
        subprocess.run([sys.executable, EXPORTER, pickled, model], check=True,
                       capture_output=True)
        with h5py.File(data, "w") as f:
            f["x"] = x
        command = [options.h5infer, "run", "--model", model, "--input", data + ":/x",
                   "--output", output, "--force", "--quiet"]
        results = {}
        for jobs in (1, os.cpu_count()):
            forest.set_params(n_jobs=jobs)
            results[f"sklearn predict_proba n_jobs={jobs}"] = best_of(
                options.repeat, lambda: forest.predict_proba(x))
        for threads in (1, os.cpu_count()):
            results[f"h5infer run, 1 rank, --threads {threads}"] = best_of(
                options.repeat,
                lambda: subprocess.run(command + ["--threads", str(threads)], check=True))
        with h5py.File(output, "r") as f:
            got = f["predictions"][()]
        error = float(np.abs(got - forest.predict_proba(x)).max())
    print(f"RandomForestClassifier: {options.trees} trees, max_depth {options.depth}, "
          f"{options.rows} x {options.features}; CPU: {cpu()}")
    for name, seconds in results.items():
        print(f"  {name:40s} {seconds:8.3f} s  {options.rows / seconds / 1e6:7.2f} M rows/s")
    print(f"  largest |h5infer - sklearn| {error:.2e}")


if __name__ == "__main__":
    main()
