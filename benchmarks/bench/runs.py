"""The commands measured: h5infer's layouts and the peers, timing them, checking that they agree
with h5infer, and the extra checks (peak memory, input from the device, the 1-row job)."""

import json
import os
import statistics
import sys
from dataclasses import dataclass, field, replace

import h5py
import numpy as np

from bench.process import BENCHMARKS, PYTHON, run_command
from bench.workloads import evict, read_through, settle_in_page_cache

PEERS_PROGRAM = os.path.join(BENCHMARKS, "bench", "peers.py")
PEER_TITLES = {
    "numpy": "NumPy + OpenBLAS + h5py",
    "torch": "PyTorch f32",
    "torch-bf16": "PyTorch bf16 autocast",
    "mpi4py": "mpi4py + NumPy, 2 ranks",
    "sklearn": "scikit-learn predict_proba, batched",
    "sklearn-rows": "scikit-learn, one predict per row*",
}

# Agreement with h5infer's f32 output (all three workloads output probabilities). f32 and f64:
# |other - h5infer| <= atol + rtol * |h5infer| for every value, (rtol, atol) below. bf16 keeps
# about 3 significant digits, so rows near a tie can swap classes: the mean |difference| must be
# at most BF16_MAX_MEAN_DEVIATION and the largest column the same in BF16_MIN_ARGMAX_AGREEMENT
# of the rows (the largest |difference| is reported, not judged).
TOLERANCES = {"f32": (1e-4, 1e-5), "f64": (1e-4, 1e-6)}
BF16_MAX_MEAN_DEVIATION = 5e-3
BF16_MIN_ARGMAX_AGREEMENT = 0.97


@dataclass
class Run:
    """One row of the table: a command measured --repeat times."""
    workload: str
    label: str
    engine: str  # "h5infer" or a peer name
    precision: str  # f32, bf16, f64
    command: list
    output: str
    rows: int  # rows of the input
    report: str  # h5infer's --report JSON ("" for the peers)
    in_process: list = field(default_factory=list)
    whole: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    deviation: dict = field(default_factory=dict)


def median(values):
    return statistics.median(values) if values else float("nan")


def h5infer_runs(h5infer, workload, files, workdir, bf16):
    """2 ranks x 1 thread, 1 x 2 and on W1 1 x 1 (for scaling), in f32, and on W1 2x1 and 1x2
    in bf16 when `bf16`."""
    layouts = [("2x1", ["mpirun", "-n", "2"], []),
               ("1x2", ["mpirun", "-n", "1", "--bind-to", "none"], ["--threads", "2"])]
    if workload.key == "W1":
        layouts.append(("1x1", ["mpirun", "-n", "1"], ["--threads", "1"]))
    precisions = ["f32"] + (["bf16"] if bf16 and workload.key == "W1" else [])
    runs = []
    for precision in precisions:
        for name, launcher, threads in layouts:
            if precision == "bf16" and name == "1x1":
                continue
            stem = os.path.join(workdir, f"{workload.key.lower()}-h5infer-{name}-{precision}")
            command = launcher + [h5infer, "run", "--model", files.model, "--input",
                                  files.data + ":/features", "--output", stem + ".h5"] + threads
            if precision == "bf16":
                command += ["--precision", "bf16"]
            command += ["--report", stem + ".json"]
            label = f"h5infer {name}" + (" bf16" if precision == "bf16" else "")
            runs.append(Run(workload.key, label, "h5infer", precision, command, stem + ".h5",
                            files.rows, report=stem + ".json"))
    return runs


def peer_runs(workload, files, workdir, bf16):
    """The workload's peers, each a command of its own (PyTorch bf16 autocast only when
    `bf16`: elsewhere PyTorch emulates it, extremely slowly)."""
    runs = []
    for peer in workload.peers:
        if peer == "torch-bf16" and not bf16:
            continue
        output = os.path.join(workdir, f"{workload.key.lower()}-{peer}.h5")
        kind = "torch" if peer == "torch-bf16" else peer
        command = [PYTHON, PEERS_PROGRAM, kind, "--input", files.data + ":/features",
                   "--output", output]
        command += ["--pipeline", files.pipeline] if kind.startswith("sklearn") else \
            ["--model", files.model]
        if peer == "torch-bf16":
            command.append("--bf16")
        if peer == "mpi4py":
            command = ["mpirun", "-n", "2", "-x", "OPENBLAS_NUM_THREADS=1", "-x",
                       "OMP_NUM_THREADS=1"] + command
        precision = "bf16" if peer == "torch-bf16" else \
            "f64" if kind.startswith("sklearn") else "f32"
        runs.append(Run(workload.key, PEER_TITLES[peer], peer, precision, command, output,
                        files.rows, report=""))
    return runs


def measure(run):
    """Runs the command once; appends its in-process and whole-command seconds."""
    if os.path.exists(run.output):
        os.remove(run.output)
    wall, _ = run_command(run.command)
    with h5py.File(run.output, "r") as result:
        elapsed = float(result.attrs["elapsed_seconds"])
        if run.engine == "sklearn-rows":  # extrapolate the loop from the sample to every row
            loop = float(result.attrs["loop_seconds"])
            extra = loop * (run.rows / result["predictions"].shape[0] - 1.0)
            elapsed, wall = elapsed + extra, wall + extra
    run.in_process.append(elapsed)
    run.whole.append(wall)
    if run.report:
        with open(run.report) as report:
            run.reports.append(json.load(report))


def check_agreement(run, reference):
    """Largest deviation from h5infer's f32 output and whether it is within the tolerance."""
    with h5py.File(run.output, "r") as mine, h5py.File(reference.output, "r") as theirs:
        got = mine["predictions"][()]
        want = theirs["predictions"][:len(got)]
    if got.shape != want.shape:
        sys.exit(f"compare.py: {run.label} wrote {got.shape} predictions, h5infer {want.shape}")
    difference = np.abs(got.astype(np.float64) - want)
    argmax_same = float(np.mean(np.argmax(got, 1) == np.argmax(want, 1))) \
        if got.shape[1] > 1 else float(np.mean((got > 0.5) == (want > 0.5)))
    if run.precision == "bf16":
        ok = difference.mean() <= BF16_MAX_MEAN_DEVIATION and \
            argmax_same >= BF16_MIN_ARGMAX_AGREEMENT
    else:
        rtol, atol = TOLERANCES[run.precision]
        ok = bool(np.all(difference <= atol + rtol * np.abs(want)))
    run.deviation = {"ok": bool(ok), "max_abs": float(difference.max()),
                     "mean_abs": float(difference.mean()), "same_class_pct": 100 * argmax_same,
                     "rows": len(got)}


# ---- the extra checks ------------------------------------------------------------------------

def peak_rss_per_rank(h5infer, model, data, workdir):
    """Peak RSS (MiB) of each rank of `mpirun -n 2 h5infer run`, from GNU time around each."""
    stem = os.path.join(workdir, "rss")
    output = stem + "-predictions.h5"
    if os.path.exists(output):
        os.remove(output)
    wrapper = 'exec /usr/bin/time -f %M -o "$0.$OMPI_COMM_WORLD_RANK" "$@"'
    command = ["mpirun", "-n", "2", "sh", "-c", wrapper, stem, h5infer, "run", "--model", model,
               "--input", data + ":/features", "--output", output]
    run_command(command)
    sizes = []
    for rank in range(2):
        with open(f"{stem}.{rank}") as kilobytes:
            sizes.append(int(kilobytes.read().split()[-1]) / 1024)
    return sizes, command


def from_the_device(runs, files, repeat):
    """W2 with its input evicted before each run: the seconds one sequential pass takes to read
    the file from the device (the floor of a run that reads while it computes), and h5infer
    2x1's and NumPy's in-process seconds, rounds interleaved."""
    chosen = [replace(run, in_process=[], whole=[], reports=[]) for run in runs
              if run.label == "h5infer 2x1" or run.engine == "numpy"]
    device = []
    for _ in range(repeat):
        evict(files.data)
        device.append(read_through(files.data))
        for run in chosen:
            evict(files.data)
            measure(run)
    settle_in_page_cache(files.data)
    return {"device": median(device), "runs": chosen}


def one_row_job(h5infer, mpi_noop, files, workdir, repeat):
    """Median seconds of a 1-row `mpirun -n 1 h5infer run`, of `mpirun -n 1 /bin/true` (the
    baseline of the target) and of `mpirun -n 1 mpi_noop` (MPI_Init and MPI_Finalize, with
    the pml h5infer picks on one node)."""
    output = os.path.join(workdir, "one-row-predictions.h5")
    command = ["mpirun", "-n", "1", h5infer, "run", "--model", files.model, "--input",
               files.one_row + ":/features", "--output", output]
    seconds = {"job": [], "true": [], "mpi_init": []}
    for _ in range(max(repeat, 3)):
        if os.path.exists(output):
            os.remove(output)
        seconds["job"].append(run_command(command)[0])
        seconds["true"].append(run_command(["mpirun", "-n", "1", "/bin/true"])[0])
        # h5infer asks for the ob1 pml on one node (src/mpi/comm.cpp); mpi_noop gets the same.
        seconds["mpi_init"].append(
            run_command(["env", "OMPI_MCA_pml=ob1", "mpirun", "-n", "1", mpi_noop])[0])
    return {key: median(values) for key, values in seconds.items()}, command
