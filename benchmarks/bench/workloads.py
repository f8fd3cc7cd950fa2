"""The standard workloads (W1 wide, W2 narrow, W3 the scikit-learn job) and making their data,
models and the page-cache state every command finds them in."""

import os
import re
import time
from dataclasses import dataclass

import h5py
import numpy as np

from bench.process import PYTHON, ROOT, log, run_command

W3_TRAIN_ROWS = 20000  # rows the scikit-learn pipeline is trained on


@dataclass
class Workload:
    """One standard workload: rows, MLP widths and activations, input type, the peers run."""
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
    """Makes a workload's input, model (and W3's pipeline), W2's quarter-size input and the
    1-row input, and leaves the inputs in the page cache as a job finds them."""
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


def remove_inputs(files):
    """Frees the page cache and the disk for the next workload."""
    for path in (files.data, files.small_data):
        if path and os.path.exists(path):
            os.remove(path)


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
    every engine more to copy out (see benchmarks/README.md)."""
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
    """The model's FLOPs per row, as `h5infer inspect` counts them."""
    _, listing = run_command([h5infer, "inspect", model])
    return int(re.search(r"total: .*?(\d+) FLOPs per row", listing).group(1))
