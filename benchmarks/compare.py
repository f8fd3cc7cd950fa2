#!/usr/bin/python3
"""h5infer against its peers on the standard workloads, in one run, on the same files.

    /usr/bin/python3 benchmarks/compare.py [--build DIR] [--scale F] [--repeat N]
                                           [--only W1,W2,W3] [--workdir DIR] [--results PATH]

Makes the data and models of each workload (W1 wide, W2 narrow, W3 the scikit-learn job; see
benchmarks/README.md), runs them through h5infer (2 ranks x 1 thread, 1 rank x 2 threads, and
bf16 where the CPU has it natively) and through the peers (NumPy, PyTorch, mpi4py,
scikit-learn), each a command of its own that reads the input with h5py and writes its
predictions to an HDF5 file as h5infer does. It checks that every peer agrees with h5infer,
measures the limits in the same run (oneDNN matmul peak, the MLP through oneDNN on data already
in memory, reading and writing through the page cache) and prints a table with the targets of
issue 4; at --scale 1 (or with --results) it appends a dated section to benchmarks/RESULTS.md
and saves a PNG chart beside it.

Exit code 0 whatever the targets say; 1 when a peer's output disagrees with h5infer's, a
command fails or the build is missing.

The build needs -DH5INFER_BUILD_BENCHMARKS=ON: DIR/h5infer, DIR/benchmarks/limits and
DIR/benchmarks/mpi_noop. Peers run
as `compare.py peer KIND ...` (this file, in a process of its own, so that their whole-command
time includes starting Python and importing their libraries).
"""

import os

# This machine's environment pins OpenBLAS to its Haswell (AVX2) kernels; on a stock Debian
# machine OpenBLAS picks its own (AVX-512 here), which is faster. The peers get the stock
# behaviour. This must happen before numpy loads OpenBLAS.
PINNED_OPENBLAS = os.environ.pop("OPENBLAS_CORETYPE", None)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from typing import NamedTuple  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

SCRIPT = os.path.abspath(__file__)
ROOT = os.path.dirname(os.path.dirname(SCRIPT))
PYTHON = "/usr/bin/python3"
CORES = os.cpu_count() or 1
PEER_CHUNK_ROWS = 32768  # rows per h5py read in the peers
IO_BLOCK_ROWS = 65536  # rows per read and write of the I/O floor
W3_TRAIN_ROWS = 20000  # rows the scikit-learn pipeline is trained on
ROW_LOOP_SAMPLE = 2000  # rows the one-predict-per-row loop is timed on
FLOOR_GFLOP = 300  # work the compute floor is measured on (at least 32768 rows), then scaled

# Agreement with h5infer's f32 output (all three workloads output probabilities). f32 and f64:
# |other - h5infer| <= atol + rtol * |h5infer| for every value, (rtol, atol) below. bf16 keeps
# about 3 significant digits, so rows near a tie can swap classes: the mean |difference| must be
# at most BF16_MAX_MEAN_DEVIATION and the largest column the same in BF16_MIN_ARGMAX_AGREEMENT
# of the rows (the largest |difference| is reported, not judged).
TOLERANCES = {"f32": (1e-4, 1e-5), "f64": (1e-4, 1e-6)}
BF16_MAX_MEAN_DEVIATION = 5e-3
BF16_MIN_ARGMAX_AGREEMENT = 0.97
NOT_APPLICABLE = "not applicable here"
# /proc/cpuinfo flags that decide which kernels oneDNN, OpenBLAS and PyTorch can use.
KERNEL_FLAGS = re.compile(r"^(avx|avx2|fma|f16c|avx512.*|avx_vnni.*|amx.*)$")
# oneDNN ISAs with bf16 instructions (the ISA honours ONEDNN_MAX_CPU_ISA).
BF16_ISAS = ("avx512_core_bf16", "avx512_core_amx")


@dataclass
class Workload:
    key: str
    title: str
    rows: int
    widths: tuple
    hidden: str
    output: str
    dtype: str
    peers: tuple


WORKLOADS = {
    "W1": Workload("W1", "wide", 100_000, (512, 2048, 2048, 1024, 16), "relu", "softmax",
                   "float32", ("numpy", "torch", "torch-bf16", "mpi4py")),
    "W2": Workload("W2", "narrow", 4_000_000, (64, 64, 64, 1), "relu", "sigmoid", "float32",
                   ("numpy", "torch", "mpi4py")),
    "W3": Workload("W3", "scikit-learn job", 1_000_000, (40, 128, 64, 3), "relu", "softmax",
                   "float64", ("numpy", "torch", "mpi4py", "sklearn", "sklearn-rows")),
}

PEER_TITLES = {
    "numpy": "NumPy + OpenBLAS + h5py",
    "torch": "PyTorch f32",
    "torch-bf16": "PyTorch bf16 autocast",
    "mpi4py": "mpi4py + NumPy, 2 ranks",
    "sklearn": "scikit-learn predict_proba, batched",
    "sklearn-rows": "scikit-learn, one predict per row*",
}


# ==== peers: each runs as `compare.py peer KIND`, in its own process =========================

def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def load_layers(path):
    """The layers of a native h5infer model (docs/model-format.md) as float32 NumPy arrays."""
    layers = []
    with h5py.File(path, "r") as model:
        for name in sorted(model["layers"], key=int):
            group = model["layers"][name]
            kind = text(group.attrs["kind"])
            if kind == "dense":
                bias = group["bias"][()].astype(np.float32) if "bias" in group else None
                layers.append(("dense", group["weights"][()].astype(np.float32), bias))
            elif kind == "affine":
                layers.append(("affine", group["scale"][()].astype(np.float32),
                               group["shift"][()].astype(np.float32)))
            else:
                function = text(group.attrs["function"])
                if function not in ("identity", "relu", "sigmoid", "softmax"):
                    sys.exit(f"compare.py: the peers do not implement {function}")
                layers.append(("activation", function, None))
    return layers


def output_width(layers):
    return [layer[1].shape[1] for layer in layers if layer[0] == "dense"][-1]


def numpy_forward(layers, x):
    x = np.asarray(x, dtype=np.float32)
    for kind, a, b in layers:
        if kind == "dense":
            x = x @ a
            if b is not None:
                x += b
        elif kind == "affine":
            x = x * a + b
        elif a == "relu":
            np.maximum(x, 0.0, out=x)
        elif a == "sigmoid":
            x = 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warnings
        elif a == "softmax":
            x = np.exp(x - x.max(axis=1, keepdims=True))
            x /= x.sum(axis=1, keepdims=True)
    return x


def torch_model(layers):
    import torch

    class Affine(torch.nn.Module):
        def __init__(self, scale, shift):
            super().__init__()
            self.register_buffer("scale", torch.from_numpy(scale))
            self.register_buffer("shift", torch.from_numpy(shift))

        def forward(self, x):
            return x * self.scale + self.shift

    modules = []
    for kind, a, b in layers:
        if kind == "dense":
            linear = torch.nn.Linear(a.shape[0], a.shape[1], bias=b is not None)
            linear.weight.data = torch.from_numpy(np.ascontiguousarray(a.T))
            if b is not None:
                linear.bias.data = torch.from_numpy(b)
            modules.append(linear)
        elif kind == "affine":
            modules.append(Affine(a, b))
        else:
            modules.append({"identity": torch.nn.Identity(), "relu": torch.nn.ReLU(),
                            "sigmoid": torch.nn.Sigmoid(), "softmax": torch.nn.Softmax(dim=1)}[a])
    return torch.nn.Sequential(*modules).eval()


def split_ref(ref):
    path, _, dataset = ref.partition(":")
    return path, dataset or "/features"


def predict_chunks(args, start, predict, rows_wanted=None):
    """Reads the input in chunks, writes predict(chunk) to args.output:/predictions and the
    seconds since `start` to its root attribute elapsed_seconds, as h5infer does."""
    path, dataset = split_ref(args.input)
    with h5py.File(path, "r") as source, h5py.File(args.output, "w") as target:
        data = source[dataset]
        rows = data.shape[0] if rows_wanted is None else min(rows_wanted, data.shape[0])
        out = None
        for begin in range(0, rows, args.chunk_rows):
            values = np.asarray(predict(data[begin:min(begin + args.chunk_rows, rows)]),
                                dtype=np.float32)
            if out is None:
                out = target.create_dataset("predictions", (rows, values.shape[1]), "f4")
            out[begin:begin + len(values)] = values
        target.attrs["elapsed_seconds"] = time.perf_counter() - start


def peer_numpy(args):
    start = time.perf_counter()
    layers = load_layers(args.model)
    predict_chunks(args, start, lambda x: numpy_forward(layers, x))


def peer_torch(args):
    import torch
    torch.set_num_threads(CORES)
    start = time.perf_counter()
    model = torch_model(load_layers(args.model))

    def predict(x):
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if args.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model(x).float().numpy()
        return model(x).numpy()

    with torch.no_grad():
        predict_chunks(args, start, predict)


def peer_mpi4py(args):
    """Each rank reads and computes its slice; rank 0 gathers and writes."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    comm.Barrier()
    start = time.perf_counter()
    layers = load_layers(args.model)
    width = output_width(layers)
    path, dataset = split_ref(args.input)
    with h5py.File(path, "r") as source:
        data = source[dataset]
        rows = data.shape[0]
        row_begin = rows * comm.rank // comm.size
        row_end = rows * (comm.rank + 1) // comm.size
        mine = np.empty((row_end - row_begin, width), np.float32)
        for begin in range(row_begin, row_end, args.chunk_rows):
            end = min(begin + args.chunk_rows, row_end)
            mine[begin - row_begin:end - row_begin] = numpy_forward(layers, data[begin:end])
    counts = [(rows * (r + 1) // comm.size - rows * r // comm.size) * width
              for r in range(comm.size)]
    if comm.rank == 0:
        everything = np.empty((rows, width), np.float32)
        comm.Gatherv(mine, [everything, counts, MPI.FLOAT], root=0)
        with h5py.File(args.output, "w") as target:
            target.create_dataset("predictions", data=everything)
            target.attrs["elapsed_seconds"] = time.perf_counter() - start
    else:
        comm.Gatherv(mine, None, root=0)


def import_sklearn():
    """Imported before the clock starts, as h5infer's libraries are loaded before its clock."""
    import importlib

    import joblib
    for module in ("sklearn.neural_network", "sklearn.pipeline", "sklearn.preprocessing"):
        importlib.import_module(module)
    return joblib


def peer_sklearn(args):
    joblib = import_sklearn()
    start = time.perf_counter()
    pipeline = joblib.load(args.pipeline)
    predict_chunks(args, start, pipeline.predict_proba)


def peer_sklearn_rows(args):
    """The classic Spark example: one predict call per row, timed on the first --sample rows."""
    joblib = import_sklearn()
    start = time.perf_counter()
    pipeline = joblib.load(args.pipeline)
    loop = {"seconds": 0.0}

    def one_at_a_time(x):
        begin = time.perf_counter()
        values = [pipeline.predict_proba(row.reshape(1, -1))[0] for row in x]
        loop["seconds"] += time.perf_counter() - begin
        return values

    predict_chunks(args, start, one_at_a_time, rows_wanted=args.sample)
    with h5py.File(args.output, "r+") as target:
        target.attrs["loop_seconds"] = loop["seconds"]


PEERS = {"numpy": peer_numpy, "torch": peer_torch, "mpi4py": peer_mpi4py,
         "sklearn": peer_sklearn, "sklearn-rows": peer_sklearn_rows}


def peer_main(argv):
    parser = argparse.ArgumentParser(prog="compare.py peer")
    parser.add_argument("kind", choices=sorted(PEERS))
    parser.add_argument("--model", help="native h5infer model (numpy, torch, mpi4py)")
    parser.add_argument("--pipeline", help="joblib file (sklearn, sklearn-rows)")
    parser.add_argument("--input", required=True, help="FILE:DATASET")
    parser.add_argument("--output", required=True)
    parser.add_argument("--chunk-rows", type=int, default=PEER_CHUNK_ROWS)
    parser.add_argument("--bf16", action="store_true", help="torch: bf16 autocast")
    parser.add_argument("--sample", type=int, default=ROW_LOOP_SAMPLE, help="sklearn-rows")
    args = parser.parse_args(argv)
    PEERS[args.kind](args)


# ==== the driver: data, commands, timing =====================================================

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


def log(message):
    print(message, file=sys.stderr, flush=True)


@dataclass
class Files:
    """Where a workload's data, models and outputs live."""
    data: str
    model: str
    pipeline: str = ""
    rows: int = 0
    small_data: str = ""  # W2: a quarter of the rows, for the memory check
    one_row: str = ""


def generate_mlp(h5infer, workload, rows, files, seed):
    hidden = ",".join(str(width) for width in workload.widths[1:-1])
    run_command([h5infer, "generate", "--data", files.data + ":/features", "--model", files.model,
                 "--rows", str(rows), "--features", str(workload.widths[0]), "--hidden", hidden,
                 "--outputs", str(workload.widths[-1]), "--activation", workload.hidden,
                 "--output-activation", workload.output, "--no-scaler", "--seed", str(seed),
                 "--dtype", workload.dtype, "--overwrite"])


def make_sklearn_job(workload, rows, files):
    """1M x 40 float64 rows of 3 classes; Pipeline(StandardScaler, MLPClassifier(128, 64))
    trained briefly on the first rows, saved with joblib and exported to the native format."""
    import warnings

    import joblib
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    features = workload.widths[0]
    offsets, scales = rng.normal(0, 10, features), rng.uniform(0.5, 20, features)
    mixing = rng.normal(size=(features, workload.widths[-1]))
    with h5py.File(files.data, "w") as target:
        data = target.create_dataset("features", (rows, features), "f8")
        for begin in range(0, rows, 100_000):
            block = rng.normal(size=(min(100_000, rows - begin), features))
            data[begin:begin + len(block)] = block * scales + offsets
        train = data[:min(W3_TRAIN_ROWS, rows)]
    standard = (train - offsets) / scales
    noise = rng.normal(0, 0.5, (len(train), mixing.shape[1]))
    labels = np.argmax(standard @ mixing + noise, axis=1)
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("mlp", MLPClassifier(hidden_layer_sizes=workload.widths[1:-1],
                                               max_iter=30, random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(train, labels)
    joblib.dump(pipeline, files.pipeline)
    run_command([PYTHON, os.path.join(ROOT, "tools", "h5infer-export-sklearn"), files.pipeline,
                 files.model, "--overwrite"])


def write_one_row(source_path, target_path):
    with h5py.File(source_path, "r") as source, h5py.File(target_path, "w") as target:
        target.create_dataset("features", data=source["features"][:1])


def prepare(h5infer, workload, rows, workdir):
    log(f"{workload.key}: making {rows} x {workload.widths[0]} {workload.dtype} rows and the model")
    stem = os.path.join(workdir, workload.key.lower())
    files = Files(data=stem + "-data.h5", model=stem + "-model.h5", rows=rows,
                  one_row=stem + "-1row.h5")
    if workload.key == "W3":
        files.pipeline = stem + "-pipeline.joblib"
        make_sklearn_job(workload, rows, files)
    else:
        generate_mlp(h5infer, workload, rows, files, seed=int(workload.key[1:]))
    if workload.key == "W2":
        files.small_data = stem + "-data-quarter.h5"
        run_command([h5infer, "generate", "--data", files.small_data + ":/features", "--rows",
                     str(max(rows // 4, 1)), "--features", str(workload.widths[0]), "--seed", "5",
                     "--overwrite"])
    write_one_row(files.data, files.one_row)
    for path in (files.data, files.small_data):
        if path:
            settle_in_page_cache(path)
    return files


def evict(path):
    """Drops `path` from the page cache, as for an input another node wrote or one on a
    parallel file system: the next reader gets it from the device."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def settle_in_page_cache(path):
    """Leaves `path` in the page cache as a job finds an input it has read from disk before:
    written back, dropped, and read once sequentially. The pages a writer leaves behind cost
    every engine more to copy out (on these VMs, 1 GB took 0.11 s on one thread instead of
    0.08 s, and 0.05 s instead of 0.03 s on two)."""
    evict(path)
    read_through(path)


def read_through(path):
    """Reads `path` once from start to end in blocks of 16 MiB; returns the seconds taken."""
    start = time.perf_counter()
    block = bytearray(16 << 20)
    with open(path, "rb", buffering=0) as stream:
        while stream.readinto(block):
            pass
    return time.perf_counter() - start


def flops_per_row(h5infer, model):
    _, listing = run_command([h5infer, "inspect", model])
    return int(re.search(r"total: .*?(\d+) FLOPs per row", listing).group(1))


# ---- runs ------------------------------------------------------------------------------------

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
    report: str = ""  # h5infer --report JSON
    in_process: list = field(default_factory=list)
    whole: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    deviation: dict = field(default_factory=dict)


def h5infer_runs(h5infer, workload, files, workdir, has_bf16, has_report):
    layouts = [("2x1", ["mpirun", "-n", "2"], []),
               ("1x2", ["mpirun", "-n", "1", "--bind-to", "none"], ["--threads", "2"])]
    if workload.key == "W1":
        layouts.append(("1x1", ["mpirun", "-n", "1"], ["--threads", "1"]))
    precisions = ["f32"] + (["bf16"] if has_bf16 and workload.key == "W1" else [])
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
            if has_report:
                command += ["--report", stem + ".json"]
            label = f"h5infer {name}" + (" bf16" if precision == "bf16" else "")
            runs.append(Run(workload.key, label, "h5infer", precision, command, stem + ".h5",
                            files.rows, report=stem + ".json" if has_report else ""))
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
        command = [PYTHON, SCRIPT, "peer", kind, "--input", files.data + ":/features",
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
                        files.rows))
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


def median(values):
    return statistics.median(values) if values else float("nan")


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
                     "mean_abs": float(difference.mean()), "argmax": argmax_same,
                     "rows": len(got)}


# ---- limits ----------------------------------------------------------------------------------

def json_command(command):
    _, output = run_command(command)
    return json.loads(output.strip().splitlines()[-1])


def concurrent_json(commands):
    """Starts the commands at once; the JSON each prints last."""
    processes = [subprocess.Popen(line, stdout=subprocess.PIPE, text=True) for line in commands]
    outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode != 0 for process in processes):
        sys.exit(f"compare.py: command failed: {shlex.join(commands[0])}")
    return [json.loads(output.splitlines()[-1]) for output in outputs]


def gemm_peak(limits, earlier=None):
    """oneDNN's f32 and bf16 matmul GFLOP/s on all cores: the better of one process with CORES
    threads and CORES one-thread processes at once (their sum), and of `earlier`."""
    log("limits: oneDNN matmul peak, f32 and bf16")
    peak = json_command([limits, "gemm", "--threads", str(CORES)])
    alone = concurrent_json([[limits, "gemm", "--threads", "1"]] * CORES)
    for key in ("f32_gflops", "bf16_gflops"):
        if peak[key] is not None:
            candidates = [peak[key], sum(result[key] for result in alone)]
            peak[key] = max(candidates + ([earlier[key]] if earlier else []))
    return peak


def compute_floor(limits, workload, rows, flops, precision, repeat):
    """Seconds to push `rows` rows through the MLP with h5infer's oneDNN kernels, one chunk at
    a time from memory (limits mlp): the better of one process with CORES threads and CORES
    one-thread processes at once, each on its share of the rows, at the best chunk size. The
    rows measured are capped at FLOOR_GFLOP of work and the time scaled to all rows."""
    log(f"{workload.key}: compute floor ({precision}), the MLP through oneDNN on rows in memory")
    measured = min(rows, max(int(FLOOR_GFLOP * 1e9 / flops), 32768))
    command = [limits, "mlp", "--widths", ",".join(map(str, workload.widths)), "--hidden",
               workload.hidden, "--output", workload.output, "--repeat", str(repeat),
               "--precision", precision] + (["--scaler"] if workload.key == "W3" else [])
    threaded = json_command(command + ["--rows", str(measured), "--threads", str(CORES)])
    results = concurrent_json(
        [command + ["--rows", str(measured // CORES), "--threads", "1"]] * CORES)
    per_chunk = {chunk: max(result["chunks"][chunk] for result in results)
                 for chunk in results[0]["chunks"]}
    chunk = min(per_chunk, key=per_chunk.get)
    layouts = [(threaded["seconds"], threaded["best_chunk"], f"1x{CORES}"),
               (per_chunk[chunk], int(chunk), f"{CORES}x1")]
    seconds, best_chunk, layout = min(layouts)
    return {"seconds": seconds * rows / measured, "best_chunk": best_chunk, "layout": layout,
            "rows": measured}


def io_floor(files, outputs, workdir, repeat):
    """Best seconds to read the whole input with h5py (one process, blocks of IO_BLOCK_ROWS,
    page cache) and write a float32 dataset of the predictions' shape to a new file."""
    target_path = os.path.join(workdir, "io-floor.h5")
    best = float("inf")
    for _ in range(repeat):
        if os.path.exists(target_path):
            os.remove(target_path)
        start = time.perf_counter()
        with h5py.File(files.data, "r") as source, h5py.File(target_path, "w") as target:
            data = source["features"]
            rows = data.shape[0]
            block = np.empty((min(IO_BLOCK_ROWS, rows), data.shape[1]), data.dtype)
            zeros = np.zeros((len(block), outputs), np.float32)
            out = target.create_dataset("predictions", (rows, outputs), "f4")
            for begin in range(0, rows, IO_BLOCK_ROWS):
                count = min(IO_BLOCK_ROWS, rows - begin)
                data.read_direct(block, np.s_[begin:begin + count], np.s_[0:count])
                out.write_direct(zeros, np.s_[0:count], np.s_[begin:begin + count])
        best = min(best, time.perf_counter() - start)
    os.remove(target_path)
    return best


# ---- the extra checks: memory, one-row jobs --------------------------------------------------

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


# ==== the report ==============================================================================

def lines_of(output):
    return output.strip().splitlines()


def machine_facts():
    fields = dict(line.split(":", 1) for line in lines_of(subprocess.run(
        ["lscpu"], stdout=subprocess.PIPE, text=True).stdout) if ":" in line)
    with open("/proc/meminfo") as meminfo:
        memory_kib = int(meminfo.readline().split()[1])
    return (f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} cores "
            f"({fields.get('Thread(s) per core', '?').strip()} thread per core), "
            f"{memory_kib / 2**20:.0f} GiB, Linux {os.uname().release}")


def cpu_flags():
    """The kernel-relevant flags of /proc/cpuinfo, sorted."""
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                      if line.startswith("flags")), [])
    return sorted({flag for flag in flags if KERNEL_FLAGS.match(flag)})


def onednn_isa(limits):
    """oneDNN's effective ISA as `limits` reports it (a tiny GEMM): the CPU's best, lowered by
    ONEDNN_MAX_CPU_ISA if that is set."""
    _, output = run_command([limits, "gemm", "--threads", "1", "--m", "64", "--k", "64", "--n",
                             "64", "--repeat", "1"])
    return re.search(r'"isa": "(\w+)"', output).group(1)


def isa_cap():
    """The value of ONEDNN_MAX_CPU_ISA (or its old name DNNL_MAX_CPU_ISA), if set."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")


class Bf16(NamedTuple):
    """Whether this run measures bf16 (h5infer bf16, PyTorch bf16 autocast, bf16 limits), and
    why not when it does not."""
    run: bool
    reason: str


def decide_bf16(isa, flags, run_help):
    """bf16 is measured only where it is native: oneDNN's ISA has bf16 (so h5infer accepts
    --precision bf16) and the CPU has avx512_bf16 (elsewhere PyTorch's bf16 autocast is
    emulated and extremely slow)."""
    cap = isa_cap()
    capped = f", capped by ONEDNN_MAX_CPU_ISA={cap}" if cap else ""
    if "--precision" not in run_help:
        return Bf16(False, "`h5infer run` has no --precision")
    if isa not in BF16_ISAS:
        return Bf16(False, f"oneDNN's ISA here is {isa}{capped}, without bf16 (needs "
                           f"{' or '.join(BF16_ISAS)})")
    if "avx512_bf16" not in flags:
        return Bf16(False, "the CPU has no avx512_bf16 in /proc/cpuinfo")
    return Bf16(True, "")


def load_average():
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def package_versions():
    packages = ["openmpi-bin", "libhdf5-openmpi-dev", "python3-torch", "python3-sklearn",
                "python3-mpi4py"]
    listing = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"] + packages,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return dict(line.split(" ", 1) for line in lines_of(listing))


def openblas_kernels():
    try:
        import threadpoolctl
        return next((f"{info.get('version')} ({info.get('architecture')} kernels)"
                     for info in threadpoolctl.threadpool_info()
                     if info.get("internal_api") == "openblas"), "?")
    except ImportError:
        return "?"


def versions_line(h5infer, gemm):
    packages = package_versions()
    _, h5infer_version = run_command([h5infer, "--version"])
    return (f"{h5infer_version.strip()} (binary {h5infer}, built "
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(os.path.getmtime(h5infer)))} UTC), "
            f"oneDNN {gemm['dnnl_version']} ({gemm.get('isa', '?')}), "
            f"Open MPI {packages.get('openmpi-bin', '?')}, "
            f"HDF5 {packages.get('libhdf5-openmpi-dev', '?')}, "
            f"NumPy {np.__version__} with OpenBLAS {openblas_kernels()}, "
            f"torch {packages.get('python3-torch', '?')}, "
            f"scikit-learn {packages.get('python3-sklearn', '?')}, h5py {h5py.__version__}, "
            f"mpi4py {packages.get('python3-mpi4py', '?')}, Python {sys.version.split()[0]}")


def seconds_text(value):
    return "-" if value != value else f"{value:.3f}" if value < 100 else f"{value:.0f}"


def best_h5infer(runs, workload, precision="f32", by="whole"):
    """The fastest h5infer layout using all cores (2x1 or 1x2), by whole-command or in-process
    median; None if there is none."""
    candidates = [run for run in runs if run.workload == workload and run.engine == "h5infer"
                  and run.precision == precision and "1x1" not in run.label]
    return min(candidates, key=lambda run: median(getattr(run, by)), default=None)


def agreement_text(deviation, run):
    details = [f"max {deviation['max_abs']:.1e}"]
    if run.precision == "bf16":
        details += [f"mean {deviation['mean_abs']:.1e}",
                    f"same class {100 * deviation['argmax']:.1f} %"]
    if run.engine == "sklearn-rows":
        details.append(f"first {deviation['rows']} rows")
    return ("yes" if deviation["ok"] else "**NO**") + f" ({', '.join(details)})"


def table_rows(runs, context):
    """The measured table, one line per run."""
    lines = ["| workload | engine | in-process s | whole-command s | rows/s | GFLOP/s | "
             "time / best h5infer (in-process, whole) | of matmul peak | of floor | "
             "agrees with h5infer 2x1 (abs difference) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for run in runs:
        facts = context[run.workload]
        best = best_h5infer(runs, run.workload)
        inside, whole = median(run.in_process), median(run.whole)
        gflops = facts["rows"] * facts["flops"] / inside / 1e9
        peak = context["gemm"].get("bf16_gflops" if run.precision == "bf16" else "f32_gflops")
        floor = max(facts["compute_floor"].get(run.precision if run.precision == "bf16"
                                               else "f32", float("nan")), facts["io_floor"])
        if run is best:
            ratio = "**best**"
        else:
            ratio = f"{inside / median(best.in_process):.2f}x, {whole / median(best.whole):.2f}x"
        agree = agreement_text(run.deviation, run) if run.deviation else "reference"
        lines.append(
            f"| {run.workload} {WORKLOADS[run.workload].title} | {run.label} | "
            f"{seconds_text(inside)} | {seconds_text(whole)} | {facts['rows'] / inside:,.0f} | "
            f"{gflops:.1f} | {ratio} | {100 * gflops / peak if peak else float('nan'):.0f} % | "
            f"{100 * floor / inside:.0f} % | {agree} |")
    return lines


def status(ok):
    return NOT_APPLICABLE if ok is None else "PASS" if ok else "**FAIL**"


def peers_of(runs, key, engines=None):
    """The batched peers of a workload (not the one-row loop), or those named."""
    return [run for run in runs if run.workload == key and run.engine not in
            ("h5infer", "sklearn-rows") and (engines is None or run.engine in engines)]


def percents(values):
    return ", ".join(f"{100 * value:.0f}" for value in values) + " %"


def peak_shares(run, facts, key, whole_run_peak):
    """The run's GFLOP/s over the matmul peak (`key`) of the same round, per round, their
    median, and the share of the whole run's highest peak at the run's median time."""
    work = facts["rows"] * facts["flops"] / 1e9
    shares = [work / seconds / peak[key]
              for seconds, peak in zip(run.in_process, facts.get("round_peaks", []))]
    overall = work / median(run.in_process) / whole_run_peak
    return (median(shares) if shares else overall), shares, overall


def w1_targets(runs, context):
    facts, gemm = context["W1"], context["gemm"]
    best = best_h5infer(runs, "W1", by="in_process")
    share, shares, overall = peak_shares(best, facts, "f32_gflops", gemm["f32_gflops"])
    yield ("W1 f32 >= 90 % of f32 matmul peak (in-process, each round against its own peak)",
           f"{100 * share:.0f} % ({best.label}; rounds {percents(shares)}; against the "
           f"highest peak of the whole run {100 * overall:.0f} %)", share >= 0.90)
    if not context["bf16"].run:
        yield ("W1 bf16 >= 85 % of bf16 matmul peak (in-process, each round against its own "
               "peak)", context["bf16"].reason, None)
        yield "W1 bf16 >= 1.15x PyTorch bf16 autocast (whole command)", context["bf16"].reason, None
        return
    bf16 = best_h5infer(runs, "W1", "bf16", by="in_process")
    share, shares, overall = peak_shares(bf16, facts, "bf16_gflops", gemm["bf16_gflops"])
    yield ("W1 bf16 >= 85 % of bf16 matmul peak (in-process, each round against its own peak)",
           f"{100 * share:.0f} % ({bf16.label}; rounds {percents(shares)}; against the "
           f"highest peak of the whole run {100 * overall:.0f} %)", share >= 0.85)
    bf16 = best_h5infer(runs, "W1", "bf16")
    torch_bf16 = peers_of(runs, "W1", ("torch-bf16",))[0]
    speedup = median(torch_bf16.whole) / median(bf16.whole)
    yield ("W1 bf16 >= 1.15x PyTorch bf16 autocast (whole command)",
           f"{speedup:.2f}x ({bf16.label})", speedup >= 1.15)


def w2_targets(runs, context):
    facts = context["W2"]
    best = best_h5infer(runs, "W2", by="in_process")
    floor = max(facts["compute_floor"]["f32"], facts["io_floor"])
    overall = median(best.in_process) / floor
    ratios = [seconds / max(round_floor, facts["io_floor"])
              for seconds, round_floor in zip(best.in_process, facts.get("round_floors", []))]
    ratio = median(ratios) if ratios else overall
    rounds = ", ".join(f"{value:.2f}x" for value in ratios)
    yield ("W2 in-process within 1.4x of max(compute floor, I/O floor), each round against "
           "its own floor",
           f"{ratio:.2f}x ({best.label}; rounds {rounds}; against the floor measured before "
           f"the runs {overall:.2f}x)", ratio <= 1.4)
    best = best_h5infer(runs, "W2")
    fastest = min(peers_of(runs, "W2"), key=lambda run: median(run.whole))
    speedup = median(fastest.whole) / median(best.whole)
    yield ("W2 whole command >= 2x faster than the fastest peer",
           f"{speedup:.2f}x vs {fastest.label}", speedup >= 2.0)


def w3_targets(runs, context):
    best = best_h5infer(runs, "W3")
    fastest = min(peers_of(runs, "W3"), key=lambda run: median(run.whole))
    speedup = median(fastest.whole) / median(best.whole)
    yield ("W3 >= 2x the fastest peer (whole command)", f"{speedup:.2f}x vs {fastest.label}",
           speedup >= 2.0)
    batched = peers_of(runs, "W3", ("sklearn",))[0]
    speedup = median(batched.whole) / median(best.whole)
    yield ("W3 >= 5x scikit-learn batched predict_proba (whole command)", f"{speedup:.2f}x",
           speedup >= 5.0)


def extra_targets(extras):
    if "scaling" in extras:
        ratio = extras["scaling"]
        yield "W1 2x1 >= 1.85x 1x1 (in-process)", f"{ratio:.2f}x", ratio >= 1.85
    if "rss" in extras:
        rss = extras["rss"]
        small, large = max(rss["quarter"]), max(rss["full"])
        growth = 100 * (large / small - 1)
        yield (f"W2 peak RSS per rank, {rss['full_rows']:,} vs {rss['quarter_rows']:,} rows, "
               "within 10 %", f"{large:.0f} vs {small:.0f} MiB ({growth:+.1f} %)", growth <= 10)
    for key, (times, _) in extras.get("one_row", {}).items():
        beyond = times["job"] - times["true"]
        yield (f"{key} 1-row job < 0.3 s beyond MPI start-up (`mpirun -n 1 /bin/true`)",
               f"{beyond:.3f} s ({times['job']:.3f} - {times['true']:.3f}); beyond "
               f"MPI_Init + MPI_Finalize with ob1 ({times['mpi_init']:.3f}): "
               f"{times['job'] - times['mpi_init']:.3f} s", beyond < 0.3)


def evaluate_targets(runs, context, extras):
    """(target, measured, PASS/FAIL/not applicable here) for each target of issue 4 that this
    run covers."""
    checks = {"W1": w1_targets, "W2": w2_targets, "W3": w3_targets}
    targets = []
    for key, check in checks.items():
        if key in context:
            targets += check(runs, context)
    targets += extra_targets(extras)
    return [(name, measured, status(ok)) for name, measured, ok in targets]


def breakdown_rows(runs):
    """Where h5infer's time goes, from --report: the slowest rank's seconds per stage."""
    stages = ["setup", "read", "compute", "write", "wait", "finish"]
    lines = ["| workload | run | " + " | ".join(f"{stage} s" for stage in stages) + " |",
             "|---|---|" + "---:|" * len(stages)]
    for run in runs:
        if not run.reports:
            continue
        cells = [median([max(rank.get(f"{stage}_seconds", 0.0) for rank in report["per_rank"])
                         for report in run.reports]) for stage in stages]
        lines.append(f"| {run.workload} | {run.label} | " +
                     " | ".join(f"{cell:.3f}" for cell in cells) + " |")
    return lines if len(lines) > 2 else []


def limits_rows(context):
    gemm = context["gemm"]
    bf16 = gemm.get("bf16_gflops")
    lines = ["| limit | value |", "|---|---:|",
             f"| oneDNN f32 matmul peak ({gemm['m']} x {gemm['k']} x {gemm['n']}) | "
             f"{gemm['f32_gflops']:.1f} GFLOP/s |",
             f"| oneDNN bf16 matmul peak (same GEMM) | "
             f"{NOT_APPLICABLE if bf16 is None else f'{bf16:.1f} GFLOP/s'} |"]
    for key in ("W1", "W2", "W3"):
        if key not in context:
            continue
        facts = context[key]
        for precision, floor in facts["compute_floor"].items():
            how = facts["floor_how"][precision]
            scaled = f", measured on {how['rows']:,} rows and scaled" \
                if how["rows"] < facts["rows"] else ""
            lines.append(f"| {key} compute floor, {precision} ({how['layout']}, chunks of "
                         f"{how['best_chunk']} rows{scaled}) | {floor:.3f} s |")
        lines.append(f"| {key} I/O floor (h5py, page cache) | {facts['io_floor']:.3f} s |")
        if facts.get("round_peaks"):
            for precision in ("f32", "bf16"):
                values = [peak[f"{precision}_gflops"] for peak in facts["round_peaks"]]
                if None not in values:
                    lines.append(f"| oneDNN {precision} matmul peak at the start of each {key} "
                                 f"round | {', '.join(f'{v:.1f}' for v in values)} GFLOP/s |")
        if facts.get("round_floors"):
            lines.append(f"| {key} compute floor, f32, at the start of each round | "
                         f"{', '.join(f'{v:.3f}' for v in facts['round_floors'])} s |")
    return lines


def commands_block(runs, extras, workdir, build):
    seen, lines = set(), []
    commands = [run.command for run in runs]
    commands += [extras["rss_command"]] if "rss_command" in extras else []
    commands += [command for _, command in extras.get("one_row", {}).values()]
    commands += [["mpirun", "-n", "1", "/bin/true"], ["mpirun", "-n", "1", extras["mpi_noop"]]]
    for command in commands:
        line = shlex.join(command).replace(workdir, "$WORK").replace(build, "$BUILD")
        line = line.replace(SCRIPT, "benchmarks/compare.py")
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


SHARED_NOTE = (" The machine was shared during the run (the 1-minute load average was above "
               "0.5 before it, or above the core count + 0.5 after it, when this run alone "
               "accounts for about the core count): other processes took CPU time, so every "
               "figure may be pessimistic and noisy.")
LIMITS_NOTE = (
    "Matmul peaks and compute floors: `limits` (benchmarks/limits.cpp), best of its repeats, "
    f"and the better of 1 process x {CORES} threads and {CORES} processes x 1 thread at the "
    "same time (for a floor each on its share of the rows); the peaks are measured at the start "
    "and at the end of the run and the higher kept. A compute floor pushes the rows through "
    "h5infer's own oneDNN network one chunk at a time, always the same chunk (already in memory "
    "and in cache), at the best chunk size. I/O "
    f"floor: h5py in one process reading the input in blocks of {IO_BLOCK_ROWS} rows and "
    "writing a float32 dataset of the predictions' shape, through the page cache; best of the "
    "repeats. Every input is in the page cache as a file read from disk leaves it: written "
    "back, dropped and read once before the first command. The W1 matmul peaks and the W2 "
    "compute floor are measured again at the start of every round: the W1 and W2 targets "
    "compare each round's run with its own round's limit (the speed of a shared machine drifts "
    "over minutes) and take the median over the rounds.")
TABLE_NOTE = (
    "In-process: the prediction file's `elapsed_seconds` (h5infer) or the peer's own clock from "
    "before loading the model to the written file (imports and MPI start-up excluded). Whole "
    "command: wall time of the command, process start included. GFLOP/s from `h5infer "
    "inspect`'s FLOPs per row and in-process seconds. Of floor: max(compute floor, I/O floor) / "
    f"in-process seconds. \\* One predict per row: timed on the first {ROW_LOOP_SAMPLE} rows and "
    "extrapolated to all rows (agreement checked on the sample).")


def header_lines(context, meta):
    rows = ", ".join(f"{key} {context[key]['rows']:,}" for key in WORKLOADS if key in context)
    pinned = f" (this machine's environment pins OPENBLAS_CORETYPE={PINNED_OPENBLAS}; " \
        "compare.py removes it)" if PINNED_OPENBLAS else ""
    return [
        f"## {meta['date']}: benchmarks/compare.py",
        "",
        f"- Command: `{meta['command']}` (scale {meta['scale']}, median of {meta['repeat']}; "
        f"rows: {rows})",
        f"- Machine: {meta['machine']}",
        f"- CPU flags: {' '.join(meta['cpu_flags'])}; oneDNN ISA: {meta['isa']}"
        + (f", capped by ONEDNN_MAX_CPU_ISA={isa_cap()}" if isa_cap() else ""),
        "- bf16: " + ("measured" if meta["bf16"].run else f"skipped: {meta['bf16'].reason}"),
        f"- Load average (1, 5, 15 min) before: {meta['load_before']}, after: "
        f"{meta['load_after']}." + (SHARED_NOTE if meta["shared"] else ""),
        f"- Versions: {meta['versions']}",
        f"- Peers use OpenBLAS's own kernel choice{pinned}; they read and compute "
        f"{PEER_CHUNK_ROWS} rows at a time; h5infer runs with its default --chunk-rows.",
    ]


def rss_line(rss):
    def sizes(values):
        return ", ".join(f"{size:.0f}" for size in values) + " MiB"
    return (f"Peak RSS per rank (W2, `mpirun -n 2`, GNU time): {rss['quarter_rows']:,} rows: "
            f"{sizes(rss['quarter'])}; {rss['full_rows']:,} rows: {sizes(rss['full'])}.")


def device_line(device, facts):
    """W2 from the device, against the larger of the device's read and the compute floor."""
    floor = max(device["device"], facts["compute_floor"]["f32"])
    parts = []
    for run in device["runs"]:
        seconds = median(run.in_process)
        read = ""
        if run.reports:
            read = ", read " + seconds_text(median(
                [max(rank["read_seconds"] for rank in report["per_rank"]) for report in run.reports])) + \
                " s on the slowest rank"
        parts.append(f"{run.label} {seconds_text(seconds)} s in-process "
                     f"({seconds / floor:.2f}x the floor{read})")
    return ("W2 with the input evicted from the page cache before each run (`posix_fadvise` "
            f"DONTNEED, as for a file on a parallel file system or written by another node), "
            f"median of the rounds: one sequential read of the file from the device takes "
            f"{seconds_text(device['device'])} s; floor max(that, compute floor) "
            f"{seconds_text(floor)} s; " + "; ".join(parts) + ".")


def render(runs, context, extras, meta):
    """The dated Markdown section, and the targets."""
    targets = evaluate_targets(runs, context, extras)
    parts = header_lines(context, meta)
    parts += ["", "### Limits", "", *limits_rows(context), "", LIMITS_NOTE]
    parts += ["", "### Results", "", *table_rows(runs, context), "", TABLE_NOTE]
    parts += ["", "### Targets", "", "| target | measured | status |", "|---|---|---|"]
    parts += [f"| {name} | {measured} | {verdict} |" for name, measured, verdict in targets]
    if "rss" in extras:
        parts += ["", rss_line(extras["rss"])]
    if "device" in extras:
        parts += ["", device_line(extras["device"], context["W2"])]
    breakdown = breakdown_rows(runs)
    if breakdown:
        parts += ["", "### Where h5infer's time goes (`--report`, slowest rank, median)", "",
                  *breakdown]
    commands = commands_block(runs, extras, meta["workdir"], meta["build"])
    parts += ["", "### Commands", "", "```", *commands, "```"]
    if meta.get("chart"):
        parts += ["", f"![chart]({os.path.basename(meta['chart'])})"]
    return "\n".join(parts) + "\n", targets


def draw_chart(runs, context, path):
    """One panel per workload: whole-command and in-process seconds per run, log scale, each bar
    labelled with its value; the dashed line is the f32 floor."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [key for key in WORKLOADS if key in context]
    figure, axes = plt.subplots(len(keys), 1, figsize=(9, 2.2 + 0.5 * len(runs)), squeeze=False)
    for axis, key in zip(axes[:, 0], keys):
        mine = [run for run in runs if run.workload == key]
        places = np.arange(len(mine))
        floor = max(context[key]["compute_floor"]["f32"], context[key]["io_floor"])
        for offset, name, color, values in (
                (0.2, "whole command", "#9ecae1", [median(run.whole) for run in mine]),
                (-0.2, "in-process", "#3182bd", [median(run.in_process) for run in mine])):
            bars = axis.barh(places + offset, values, 0.4, label=name, color=color)
            axis.bar_label(bars, [seconds_text(value) for value in values], padding=2,
                           fontsize=7)
        axis.axvline(floor, color="#d62728", linestyle="--", label="f32 floor")
        smallest = min([floor] + [median(run.in_process) for run in mine])
        largest = max(median(run.whole) for run in mine)
        axis.set_xscale("log")
        axis.set_xlim(smallest / 2, largest * 2)
        axis.set_yticks(places, [run.label for run in mine])
        axis.invert_yaxis()
        axis.set_title(f"{key} {WORKLOADS[key].title}: {context[key]['rows']:,} rows (seconds, "
                       "log scale, lower is better)", fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=9)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ==== main ====================================================================================

def parse_args(argv):
    parser = argparse.ArgumentParser(prog="compare.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.environ.get("H5INFER_BUILD",
                                                          os.path.join(ROOT, "build")),
                        help="build directory configured with -DH5INFER_BUILD_BENCHMARKS=ON "
                             "(default: $H5INFER_BUILD or build/)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the row counts")
    parser.add_argument("--repeat", type=int, default=3, help="median of N runs (default 3)")
    parser.add_argument("--only", default="W1,W2,W3", help="workloads, e.g. W1,W3")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary directory "
                                          "under /tmp, deleted at the end)")
    parser.add_argument("--results", help="append the report here (default: "
                                          "benchmarks/RESULTS.md at --scale 1, else nowhere)")
    args = parser.parse_args(argv)
    args.only = [key.strip().upper() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in args.only if key not in WORKLOADS]
    if unknown or args.repeat < 1 or args.scale <= 0:
        parser.error(f"bad --only {unknown}" if unknown else "--repeat >= 1 and --scale > 0")
    if args.results is None and args.scale == 1.0:
        args.results = os.path.join(ROOT, "benchmarks", "RESULTS.md")
    return args


def find_binaries(build):
    """h5infer, limits and mpi_noop of the build; stops with the build command if missing."""
    paths = [os.path.join(build, "h5infer"), os.path.join(build, "benchmarks", "limits"),
             os.path.join(build, "benchmarks", "mpi_noop")]
    for path in paths:
        if not os.access(path, os.X_OK):
            sys.exit(f"compare.py: {path} is missing: build it with\n  cmake -S {ROOT} -B {build} "
                     "-DCMAKE_BUILD_TYPE=Release -DH5INFER_BUILD_BENCHMARKS=ON && cmake --build "
                     f"{build} -j --target h5infer limits mpi_noop")
    return paths


def workload_limits(limits, workload, files, facts, args, workdir, bf16):
    """The compute floors (f32, and bf16 for W1 when `bf16`) and the I/O floor of one
    workload."""
    facts["compute_floor"], facts["floor_how"] = {}, {}
    for precision in ["f32"] + (["bf16"] if workload.key == "W1" and bf16 else []):
        floor = compute_floor(limits, workload, facts["rows"], facts["flops"], precision,
                              args.repeat)
        facts["compute_floor"][precision] = floor["seconds"]
        facts["floor_how"][precision] = floor
    log(f"{workload.key}: I/O floor")
    facts["io_floor"] = io_floor(files, workload.widths[-1], workdir, args.repeat)


def round_limits(limits, workload, facts, args):
    """The limits the W1 and W2 targets divide by, measured again at the start of every round:
    on a shared machine the speed drifts over minutes, and a limit measured minutes away from a
    run can come from a faster or a slower phase than the run. Each round's runs are compared
    with their own round's limit, and the target takes the median over the rounds."""
    if workload.key == "W1":
        facts.setdefault("round_peaks", []).append(gemm_peak(limits))
    if workload.key == "W2":
        floor = compute_floor(limits, workload, facts["rows"], facts["flops"], "f32", args.repeat)
        facts.setdefault("round_floors", []).append(floor["seconds"])


def workload_extras(h5infer, workload, files, runs, args, workdir, extras):
    """W1: scaling from 1x1 to 2x1; W2: peak RSS at a quarter and all of the rows, and runs
    reading the input from the device; all: the 1-row job."""
    if workload.key == "W1":
        one_by_one = next(run for run in runs if run.label == "h5infer 1x1")
        extras["scaling"] = median(one_by_one.in_process) / median(runs[0].in_process)
    if workload.key == "W2":
        log("W2: peak RSS per rank at a quarter and at all of the rows")
        quarter, _ = peak_rss_per_rank(h5infer, files.model, files.small_data, workdir)
        full, extras["rss_command"] = peak_rss_per_rank(h5infer, files.model, files.data, workdir)
        with h5py.File(files.small_data, "r") as small:
            quarter_rows = small["features"].shape[0]
        extras["rss"] = {"quarter": quarter, "full": full, "quarter_rows": quarter_rows,
                         "full_rows": runs[0].rows}
        log("W2: the input evicted from the page cache before each run")
        extras["device"] = from_the_device(runs, files, args.repeat)
    log(f"{workload.key}: 1-row job")
    extras.setdefault("one_row", {})[workload.key] = one_row_job(
        h5infer, extras["mpi_noop"], files, workdir, args.repeat)


def run_workload(key, args, tools, workdir, context, extras):
    """Limits, every run of one workload (rounds interleaved), agreement, extra checks."""
    h5infer, limits, features = tools
    workload = WORKLOADS[key]
    rows = max(int(round(workload.rows * args.scale)), 1000)
    files = prepare(h5infer, workload, rows, workdir)
    context[key] = facts = {"rows": rows, "flops": flops_per_row(h5infer, files.model)}
    workload_limits(limits, workload, files, facts, args, workdir, context["bf16"].run)
    runs = h5infer_runs(h5infer, workload, files, workdir, *features) + \
        peer_runs(workload, files, workdir, context["bf16"].run)
    for round_number in range(args.repeat):
        round_limits(limits, workload, facts, args)
        for run in runs:
            log(f"{key}: round {round_number + 1}/{args.repeat}: {run.label}")
            measure(run)
    for run in runs[1:]:
        check_agreement(run, runs[0])  # h5infer 2x1 f32
    workload_extras(h5infer, workload, files, runs, args, workdir, extras)
    for path in (files.data, files.small_data):
        if path and os.path.exists(path):
            os.remove(path)  # free the page cache and disk for the next workload
    return runs


def main(argv):
    if argv[:1] == ["peer"]:
        return peer_main(argv[1:])
    args = parse_args(argv)
    build = os.path.abspath(args.build)
    h5infer, limits, mpi_noop = find_binaries(build)
    _, run_help = run_command([h5infer, "run", "--help"])
    isa, flags = onednn_isa(limits), cpu_flags()
    bf16 = decide_bf16(isa, flags, run_help)
    if not bf16.run:
        log(f"compare.py: the bf16 rows are skipped: {bf16.reason}")
    features = (bf16.run, "--report" in run_help)
    workdir = args.workdir or tempfile.mkdtemp(prefix="h5infer-compare-", dir="/tmp")
    os.makedirs(workdir, exist_ok=True)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": shlex.join([PYTHON, "benchmarks/compare.py"] + argv),
            "scale": args.scale, "repeat": args.repeat, "machine": machine_facts(),
            "load_before": load_average(), "workdir": workdir, "build": build,
            "cpu_flags": flags, "isa": isa, "bf16": bf16}
    log(f"compare.py: load average {meta['load_before']}; files in {workdir}")
    try:
        context, extras, runs = {"gemm": gemm_peak(limits), "bf16": bf16}, \
            {"mpi_noop": mpi_noop}, []
        for key in args.only:
            runs += run_workload(key, args, (h5infer, limits, features), workdir, context, extras)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    context["gemm"] = gemm_peak(limits, earlier=context["gemm"])
    meta["load_after"] = load_average()
    # This run alone keeps about CORES processes busy; more than that means others were busy.
    meta["shared"] = float(meta["load_before"].split()[0]) > 0.5 or \
        float(meta["load_after"].split()[0]) > CORES + 0.5
    meta["versions"] = versions_line(h5infer, context["gemm"])
    if args.results:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M")
        meta["chart"] = os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                     f"compare-{stamp}.png")
        draw_chart(runs, context, meta["chart"])
    report, targets = render(runs, context, extras, meta)
    print(report)
    if args.results:
        new_file = not os.path.exists(args.results)
        with open(args.results, "a") as results:
            if new_file:
                results.write("# Benchmark results\n\nOne section per run, newest last.\n\n")
            results.write(report + "\n")
        log(f"compare.py: appended to {args.results}; chart {meta['chart']}")
    disagreeing = [run.label for run in runs if run.deviation and not run.deviation["ok"]]
    if disagreeing:
        log(f"compare.py: outputs disagree with h5infer: {', '.join(disagreeing)}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
