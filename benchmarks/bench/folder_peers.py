#!/usr/bin/python3
"""The peers of W6 "folder" (benchmarks/folder.py), each run as a program of its own:

    /usr/bin/python3 benchmarks/bench/folder_peers.py KIND --model NATIVE.h5 --inputs LIST \
        --output-dir DIR

KIND is `loop` (one process, file after file) or `mpi4py` (under mpirun, each rank every
size-th file of the list). LIST is a text file of input paths, one per line, each holding
/x. Each input's predictions go to DIR/<name>.predictions.h5 as h5infer names them: written
under a temporary name, fsynced, renamed, and the directory fsynced once at the end, so that
every final name holds a complete file on storage, as h5infer promises. Prints the seconds from
before loading the model to the last sync on one line, as JSON, from the first process.
"""

import argparse
import json
import os
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.peers import load_layers, numpy_forward  # noqa: E402


def score(layers, path, output_dir):
    name = os.path.splitext(os.path.basename(path))[0] + ".predictions.h5"
    final = os.path.join(output_dir, name)
    temporary = os.path.join(output_dir, "." + name + ".tmp")
    with h5py.File(path, "r") as source:
        predictions = numpy_forward(layers, source["x"][()]).astype(np.float32)
    with h5py.File(temporary, "w") as target:
        target["predictions"] = predictions
    descriptor = os.open(temporary, os.O_RDONLY)
    os.fsync(descriptor)
    os.close(descriptor)
    os.rename(temporary, final)
    return len(predictions)


def sync_directory(path):
    descriptor = os.open(path, os.O_RDONLY)
    os.fsync(descriptor)
    os.close(descriptor)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["loop", "mpi4py"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    rank, size, comm = 0, 1, None
    if args.kind == "mpi4py":
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        comm.Barrier()
    start = time.perf_counter()
    layers = load_layers(args.model)
    with open(args.inputs) as listing:
        paths = [line.strip() for line in listing if line.strip()]
    rows = sum(score(layers, path, args.output_dir) for path in paths[rank::size])
    sync_directory(args.output_dir)
    if comm is not None:
        rows = comm.reduce(rows, root=0)
        comm.Barrier()
    if rank == 0:
        print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows}))


if __name__ == "__main__":
    main()
