#!/usr/bin/python3
"""The peers h5infer is compared with, each run by compare.py as a program of its own:

    /usr/bin/python3 benchmarks/bench/peers.py KIND --input FILE:DATASET --output FILE
                                               (--model NATIVE.h5 | --pipeline FILE.joblib)

KIND is numpy, torch (--bf16: bf16 autocast), mpi4py (under mpirun), sklearn or sklearn-rows.
Each reads the input with h5py in chunks, writes /predictions (float32) to an HDF5 file and the
seconds from before loading the model to the closed output in its root attribute
elapsed_seconds, as h5infer does. A program of its own, importing only what it needs, so that
its whole-command time includes starting Python and importing its libraries.
"""

import argparse
import os
import sys
import time

import h5py
import numpy as np

CORES = os.cpu_count() or 1
PEER_CHUNK_ROWS = 32768  # rows per h5py read
ROW_LOOP_SAMPLE = 2000  # rows the one-predict-per-row loop is timed on


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
                    sys.exit(f"peers.py: the peers do not implement {function}")
                layers.append(("activation", function, None))
    return layers


def output_width(layers):
    return [layer[1].shape[1] for layer in layers if layer[0] == "dense"][-1]


def numpy_forward(layers, x):
    """The model on rows `x` in float32 NumPy (OpenBLAS for the matrix products)."""
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
    """The model as a torch.nn.Sequential in eval mode."""
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
    """NumPy (OpenBLAS) on each chunk."""
    start = time.perf_counter()
    layers = load_layers(args.model)
    predict_chunks(args, start, lambda x: numpy_forward(layers, x))


def peer_torch(args):
    """PyTorch f32 on all cores under no_grad; with --bf16, under bf16 autocast."""
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
    """scikit-learn's predict_proba on each chunk."""
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


def main(argv):
    """Runs the peer named on the command line."""
    parser = argparse.ArgumentParser(prog="peers.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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


if __name__ == "__main__":
    main(sys.argv[1:])
