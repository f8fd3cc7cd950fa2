"""The limits h5infer is measured against, in the same run: oneDNN's matmul peak, the compute
floor (the MLP through h5infer's own kernels on rows already in memory, benchmarks/limits.cpp)
and the I/O floor (h5py reading the input and writing the predictions' shape)."""

import os
import time

import h5py
import numpy as np

from bench.process import CORES, concurrent_json, json_command, log

FLOOR_GFLOP = 300  # work the compute floor is measured on (at least 32768 rows), then scaled
IO_BLOCK_ROWS = 65536  # rows per read and write of the I/O floor


def gemm_peak(limits, earlier=None):
    """oneDNN's f32 and bf16 matmul GFLOP/s on all cores: the better of one process with CORES
    threads and CORES one-thread processes at once (their sum), and of `earlier`. bf16 is null
    when oneDNN's ISA has no bf16 (`limits` does not try it then)."""
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


def workload_limits(limits, workload, files, facts, repeat, workdir, bf16):
    """The compute floors (f32, and bf16 for W1 when `bf16`) and the I/O floor of a workload,
    into `facts`."""
    facts["compute_floor"] = {}
    for precision in ["f32"] + (["bf16"] if workload.key == "W1" and bf16 else []):
        facts["compute_floor"][precision] = compute_floor(
            limits, workload, facts["rows"], facts["flops_per_row"], precision, repeat)
    log(f"{workload.key}: I/O floor")
    facts["io_floor_s"] = io_floor(files, workload.widths[-1], workdir, repeat)


def round_limits(limits, workload, facts, repeat):
    """The limits the W1 and W2 targets divide by, measured again at the start of every round:
    on a shared machine the speed drifts over minutes, and a limit measured minutes away from a
    run can come from a faster or a slower phase than the run. Each round's runs are compared
    with their own round's limit, and the target takes the median over the rounds."""
    if workload.key == "W1":
        peak = gemm_peak(limits)
        facts.setdefault("round_peaks", []).append(
            {"f32_gflops": peak["f32_gflops"], "bf16_gflops": peak["bf16_gflops"]})
    if workload.key == "W2":
        floor = compute_floor(limits, workload, facts["rows"], facts["flops_per_row"], "f32",
                              repeat)
        facts.setdefault("round_floors_s", []).append(floor["seconds"])
