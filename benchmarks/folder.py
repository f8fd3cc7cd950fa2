#!/usr/bin/python3
"""W6 "folder": many small inputs through W2's model (issue 21, part 1).

    /usr/bin/python3 benchmarks/folder.py [--build build] [--inputs 2000] [--rows 1000]
                                          [--mix 40] [--repeat 3] [--workdir DIR] [--no-record]

Makes W2's model (64-64-64-1, ReLU, sigmoid), --inputs files of --rows x 64 float32 rows, a mix
of --mix files of 1 to 1,000,000 rows (log-uniform, both ends included), and one file holding
as many rows as all the uniform inputs together. Then, each --repeat times, interleaved:

- h5infer 2 x 1 on the folder (`--input 'DIR/*.h5:/x' --output-dir OUT`), fresh outputs;
- the same command again with every output up to date (the rerun);
- h5infer 2 x 1 on the one file: the rows' own compute, read and write, without the inputs;
- the peers (bench/folder_peers.py): a plain per-file loop in one Python process (h5py +
  NumPy, each output written under a temporary name, fsynced and renamed) and mpi4py on 2
  ranks over the file list, the same per file;
- h5infer and the peers on the mix.

Then the uniform folder again, h5infer and both peers, while another process writes 8 MiB
files and fsyncs each (as on a shared node). Overhead per input per rank = (folder in-process
seconds - one-file in-process seconds) x ranks / inputs. Targets: whole command at least 3x the
fastest peer's; overhead under 5 ms idle and within 2x of that beside the writer; the rerun under
1 s. Prints the tables and, unless --no-record, writes the run to folder-results/ as JSON.
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench.machine import cpu_flags, git_state, load_average, machine_facts  # noqa: E402
from bench.process import BENCHMARKS, PYTHON, child_env, log, run_command  # noqa: E402

RANKS = 2
PEERS = os.path.join(BENCHMARKS, "bench", "folder_peers.py")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="folder.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.environ.get("H5INFER_BUILD", "build"))
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--mix", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir")
    parser.add_argument("--no-record", action="store_true")
    return parser.parse_args(argv)


def write_inputs(directory, sizes, seed):
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, rows in enumerate(sizes):
        with h5py.File(os.path.join(directory, f"in{i:05d}.h5"), "w") as f:
            f["x"] = rng.standard_normal((rows, 64), dtype=np.float32)
    with open(directory + ".list", "w") as listing:
        listing.writelines(path + "\n" for path in sorted(glob.glob(directory + "/*.h5")))


def mix_sizes(count):
    sizes = np.exp(np.random.default_rng(6).uniform(0, np.log(1e6), count)).astype(int)
    sizes = np.clip(sizes, 1, 1_000_000)
    sizes[0], sizes[-1] = 1, 1_000_000
    return [int(size) for size in sizes]


def make_files(h5infer, work, args):
    log("making the model and the inputs")
    run_command([h5infer, "generate", "--model", f"{work}/model.h5", "--data",
                 f"{work}/tiny.h5:/x", "--rows", "10", "--features", "64", "--hidden", "64,64",
                 "--outputs", "1", "--activation", "relu", "--output-activation", "sigmoid",
                 "--no-scaler", "--overwrite"])
    write_inputs(f"{work}/uniform", [args.rows] * args.inputs, 1)
    write_inputs(f"{work}/mix", mix_sizes(args.mix), 2)
    write_inputs(f"{work}/one", [args.rows * args.inputs], 3)


def fresh(directory):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    return directory


def mpirun(*command):
    return ["mpirun", "-n", str(RANKS), *command]


def h5infer_run(h5infer, work, inputs, out, keep=False):
    """(whole-command seconds, in-process seconds) of h5infer 2 x 1 over `inputs`."""
    if not keep:
        fresh(out)
    report = f"{work}/report.json"
    wall, _ = run_command(mpirun(h5infer, "run", "--model", f"{work}/model.h5", "--input",
                                 inputs, "--output-dir", out, "--quiet", "--report", report))
    with open(report) as f:
        return wall, json.load(f)["seconds"]


def peer_run(kind, work, inputs, out):
    fresh(out)
    command = [PYTHON, PEERS, kind, "--model", f"{work}/model.h5", "--inputs", inputs + ".list",
               "--output-dir", out]
    wall, output = run_command(mpirun(*command) if kind == "mpi4py" else command)
    return wall, json.loads(output.strip().splitlines()[-1])["seconds"]


def round_of(h5infer, work, folder):
    """One run of every command on `folder`: name -> (whole, in-process) seconds."""
    inputs = f"'{work}/{folder}/*.h5:/x'".strip("'")
    out = f"{work}/out-{folder}"
    runs = {"h5infer 2x1": h5infer_run(h5infer, work, inputs, out)}
    if folder == "uniform":
        runs["h5infer 2x1 rerun, all up to date"] = h5infer_run(h5infer, work, inputs, out, True)
        runs["h5infer 2x1 on one file of the same rows"] = h5infer_run(
            h5infer, work, f"{work}/one/in00000.h5:/x", f"{work}/out-one")
    for kind in ("loop", "mpi4py"):
        runs[f"peer: {kind}"] = peer_run(kind, work, f"{work}/{folder}", f"{work}/out-{kind}")
    return runs


def check_agreement(work, folder):
    """Largest difference between h5infer's and the loop's predictions over every input."""
    worst = 0.0
    for path in sorted(glob.glob(f"{work}/out-{folder}/*.h5")):
        with h5py.File(path) as ours, \
                h5py.File(f"{work}/out-loop/{os.path.basename(path)}") as theirs:
            worst = max(worst, float(np.max(np.abs(ours["predictions"][()] -
                                                   theirs["predictions"][()]), initial=0)))
    return worst


class BusyWriter:
    """Another process that writes 8 MiB files and fsyncs each, beside the jobs."""

    def __init__(self, directory):
        code = ("import os\nblock = os.urandom(8 << 20)\ni = 0\nwhile True:\n"
                f"    p = '{directory}/w%d' % (i % 8)\n"
                "    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC)\n"
                "    os.write(fd, block); os.fsync(fd); os.close(fd); i += 1\n")
        fresh(directory)
        self.process = subprocess.Popen([PYTHON, "-c", code], env=child_env())

    def stop(self):
        self.process.kill()
        self.process.wait()


def medians(rounds):
    names = rounds[0].keys()
    return {name: [float(np.median([r[name][k] for r in rounds])) for k in (0, 1)]
            for name in names}


def measure(h5infer, work, args):
    results = {}
    for folder in ("uniform", "mix"):
        rounds = []
        for i in range(args.repeat):
            log(f"{folder}: round {i + 1} of {args.repeat}")
            rounds.append(round_of(h5infer, work, folder))
        results[folder] = {"runs": medians(rounds),
                           "max_abs_difference": check_agreement(work, folder)}
    log("uniform beside a process writing and syncing files")
    writer = BusyWriter(f"{work}/busy")
    try:
        rounds = [round_of(h5infer, work, "uniform") for _ in range(args.repeat)]
    finally:
        writer.stop()
    results["uniform_busy"] = {"runs": medians(rounds)}
    return results


def overhead_ms(runs, inputs):
    folder = runs["h5infer 2x1"][1]
    one = runs["h5infer 2x1 on one file of the same rows"][1]
    return (folder - one) * RANKS / inputs * 1e3


def judge(results, inputs):
    idle, busy = results["uniform"]["runs"], results["uniform_busy"]["runs"]
    targets = []
    for name, runs in (("idle", idle), ("beside a writer", busy)):
        peer = min(runs["peer: loop"][0], runs["peer: mpi4py"][0])
        ratio = peer / runs["h5infer 2x1"][0]
        targets.append((f"whole command >= 3x the fastest peer ({name})", f"{ratio:.2f}x",
                        ratio >= 3))
    idle_ms, busy_ms = overhead_ms(idle, inputs), overhead_ms(busy, inputs)
    targets.append(("overhead < 5 ms per input per rank (idle)", f"{idle_ms:.2f} ms",
                    idle_ms < 5))
    targets.append(("overhead beside a writer within 2x of idle", f"{busy_ms:.2f} ms",
                    busy_ms <= 2 * max(idle_ms, 0.5)))
    rerun = idle["h5infer 2x1 rerun, all up to date"][0]
    targets.append((f"rerun of {inputs} up-to-date inputs < 1 s (whole command)",
                    f"{rerun:.2f} s", rerun < 1))
    return targets


def report(record):
    lines = [f"# W6 folder, {record['date']}", "",
             f"{record['machine']['cpu']}, {record['machine']['cores']} cores, flags "
             f"`{' '.join(record['cpu_flags'])}`; load {record['load_average']}; commit "
             f"{record['git']['commit']}", "", f"`{record['command']}`", ""]
    for key, title in (("uniform", f"{record['inputs']} inputs of {record['rows']} rows"),
                       ("mix", f"{record['mix']} inputs of 1 to 1,000,000 rows"),
                       ("uniform_busy", "the same inputs beside a process writing and syncing")):
        lines += [f"## {title}", "", "| command | whole s | in-process s |", "|---|---:|---:|"]
        for name, (whole, inside) in record["results"][key]["runs"].items():
            lines.append(f"| {name} | {whole:.2f} | {inside:.2f} |")
        if "max_abs_difference" in record["results"][key]:
            lines.append(f"\nlargest difference from the loop's predictions: "
                         f"{record['results'][key]['max_abs_difference']:.2e}")
        lines.append("")
    lines += ["## targets", "", "| target | measured | status |", "|---|---:|---|"]
    lines += [f"| {t} | {m} | {'PASS' if ok else 'FAIL'} |" for t, m, ok in record["targets"]]
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    h5infer = os.path.abspath(os.path.join(args.build, "h5infer"))
    work = args.workdir or tempfile.mkdtemp(prefix="h5infer-folder-")
    os.makedirs(work, exist_ok=True)
    load_before = load_average()
    try:
        make_files(h5infer, work, args)
        results = measure(h5infer, work, args)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    record = {"kind": "folder", "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
              "command": "/usr/bin/python3 benchmarks/folder.py " + " ".join(argv),
              "git": git_state(), "machine": machine_facts(), "cpu_flags": cpu_flags(),
              "load_average": [load_before, load_average()], "inputs": args.inputs,
              "rows": args.rows, "mix": args.mix, "repeat": args.repeat, "results": results}
    record["targets"] = judge(results, args.inputs)
    print(report(record))
    if not args.no_record:
        directory = os.path.join(BENCHMARKS, "folder-results")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, record["date"].replace(":", "") + ".json")
        with open(path, "w") as f:
            json.dump(record, f, indent=1)
        log(f"recorded in {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
