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
in memory, reading and writing through the page cache) and prints the run with the targets of
issue 4. At --scale 1 (or with --results) it also writes the run as JSON to
benchmarks/results/, regenerates benchmarks/RESULTS.md from those files and saves the chart
beside it.

Exit code 0 whatever the targets say; 1 when a peer's output disagrees with h5infer's, a
command fails or the build is missing.

The build needs -DH5INFER_BUILD_BENCHMARKS=ON: DIR/h5infer, DIR/benchmarks/limits and
DIR/benchmarks/mpi_noop. The steps are in bench/: workloads.py (data and models), runs.py (the
commands and their timing), peers.py (the peer programs), limits.py, machine.py, targets.py,
record.py (the JSON), report.py (the Markdown) and chart.py.
"""

import os

# This machine's environment pins OpenBLAS to its Haswell (AVX2) kernels; on a stock Debian
# machine OpenBLAS picks its own (AVX-512 here), which is faster. The peers get the stock
# behaviour. This must happen before numpy loads OpenBLAS.
PINNED_OPENBLAS = os.environ.pop("OPENBLAS_CORETYPE", None)

import argparse  # noqa: E402
import datetime  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import h5py  # noqa: E402

from bench import chart, machine, record, report, targets  # noqa: E402
from bench.limits import IO_BLOCK_ROWS, gemm_peak, round_limits, workload_limits  # noqa: E402
from bench.peers import PEER_CHUNK_ROWS, ROW_LOOP_SAMPLE  # noqa: E402
from bench.process import BENCHMARKS, CORES, PYTHON, ROOT, log  # noqa: E402
from bench.runs import (check_agreement, from_the_device, h5infer_runs, measure,  # noqa: E402
                        one_row_job, peak_rss_per_rank, peer_runs)
from bench.workloads import WORKLOADS, flops_per_row, prepare, remove_inputs  # noqa: E402


def parse_args(argv):
    """The options; --results defaults to benchmarks/RESULTS.md at --scale 1 only."""
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
    parser.add_argument("--results", help="the RESULTS.md to regenerate: the run's JSON goes to "
                                          "results/ beside it, the chart beside it (default: "
                                          "benchmarks/RESULTS.md at --scale 1, else nowhere)")
    args = parser.parse_args(argv)
    args.only = [key.strip().upper() for key in args.only.split(",") if key.strip()]
    unknown = [key for key in args.only if key not in WORKLOADS]
    if unknown or args.repeat < 1 or args.scale <= 0:
        parser.error(f"bad --only {unknown}" if unknown else "--repeat >= 1 and --scale > 0")
    if args.results is None and args.scale == 1.0:
        args.results = os.path.join(BENCHMARKS, "RESULTS.md")
    args.build = os.path.abspath(args.build)
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


def describe_run(args, argv, binaries):
    """What the record says before anything is measured: the command, the machine, its CPU
    flags and oneDNN ISA, the decision about bf16, the commit and the load."""
    isa, flags = machine.onednn_isa(binaries[1]), machine.cpu_flags()
    cap = machine.isa_cap()
    command = shlex.join([PYTHON, "benchmarks/compare.py"] + argv)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": (f"ONEDNN_MAX_CPU_ISA={shlex.quote(cap)} " if cap else "") + command,
        "scale": args.scale, "repeat": args.repeat, "git": machine.git_state(),
        "machine": machine.machine_facts(), "cpu_flags": flags, "onednn_isa": isa,
        "onednn_max_cpu_isa": cap, "bf16": machine.decide_bf16(isa, flags),
        "load_average": {"before": machine.load_average()},
        "openblas_coretype_removed": PINNED_OPENBLAS, "workloads": WORKLOADS,
        "settings": {"peer_chunk_rows": PEER_CHUNK_ROWS, "io_block_rows": IO_BLOCK_ROWS,
                     "row_loop_sample": ROW_LOOP_SAMPLE},
        "root": ROOT, "build": args.build, "mpi_noop": binaries[2],
        "workdir": args.workdir or tempfile.mkdtemp(prefix="h5infer-compare-", dir="/tmp"),
    }


def workload_extras(h5infer, workload, files, runs, meta, extras):
    """W2: peak RSS at a quarter and all of the rows, and runs reading the input from the
    device; every workload: the 1-row job."""
    workdir, repeat = meta["workdir"], meta["repeat"]
    if workload.key == "W2":
        log("W2: peak RSS per rank at a quarter and at all of the rows")
        quarter, _ = peak_rss_per_rank(h5infer, files.model, files.small_data, workdir)
        full, extras["rss_command"] = peak_rss_per_rank(h5infer, files.model, files.data, workdir)
        with h5py.File(files.small_data, "r") as small:
            quarter_rows = small["features"].shape[0]
        extras["rss"] = {"quarter_rows": quarter_rows, "full_rows": runs[0].rows,
                         "quarter_mib": quarter, "full_mib": full}
        log("W2: the input evicted from the page cache before each run")
        extras["device"] = from_the_device(runs, files, repeat)
    log(f"{workload.key}: 1-row job")
    extras.setdefault("one_row", {})[workload.key] = one_row_job(
        h5infer, meta["mpi_noop"], files, workdir, repeat)


def run_workload(key, binaries, meta, context, extras):
    """Limits, every run of one workload (rounds interleaved), agreement, extra checks."""
    h5infer, limits, _ = binaries
    workload, repeat, bf16 = WORKLOADS[key], meta["repeat"], meta["bf16"].run
    rows = max(int(round(workload.rows * meta["scale"])), 1000)
    files = prepare(h5infer, workload, rows, meta["workdir"])
    context[key] = facts = {"rows": rows, "flops_per_row": flops_per_row(h5infer, files.model)}
    workload_limits(limits, workload, files, facts, repeat, meta["workdir"], bf16)
    runs = h5infer_runs(h5infer, workload, files, meta["workdir"], bf16) + \
        peer_runs(workload, files, meta["workdir"], bf16)
    for round_number in range(repeat):
        round_limits(limits, workload, facts, repeat)
        for run in runs:
            log(f"{key}: round {round_number + 1}/{repeat}: {run.label}")
            measure(run)
    for run in runs[1:]:
        check_agreement(run, runs[0])  # h5infer 2x1 f32
    workload_extras(h5infer, workload, files, runs, meta, extras)
    remove_inputs(files)
    return runs


def measure_workloads(only, binaries, meta):
    """The matmul peak at the start and at the end, every workload in between."""
    context, extras, runs = {"gemm": gemm_peak(binaries[1])}, {}, []
    for key in only:
        runs += run_workload(key, binaries, meta, context, extras)
    context["gemm"] = gemm_peak(binaries[1], earlier=context["gemm"])
    return runs, context, extras


def describe_end(meta, h5infer, gemm):
    """The load after the run, whether others shared the machine, and the versions."""
    meta["load_average"]["after"] = machine.load_average()
    # This run alone keeps about CORES processes busy; more than that means others were busy.
    meta["shared"] = meta["load_average"]["before"][0] > 0.5 or \
        meta["load_average"]["after"][0] > CORES + 0.5
    meta["versions"] = machine.versions(h5infer, gemm)


def save(run_record, results_path):
    """The run's chart beside `results_path` (older charts removed), its JSON in results/ there,
    and RESULTS.md regenerated from every JSON file."""
    directory = os.path.dirname(os.path.abspath(results_path))
    stamp = run_record["date"][:16].replace(":", "")
    run_record["chart"] = f"compare-{stamp}.png"
    chart.draw_chart(run_record, os.path.join(directory, run_record["chart"]))
    removed = chart.remove_older_charts(directory, keep=run_record["chart"])
    path = record.write_record(run_record, os.path.join(directory, "results"))
    with open(results_path, "w") as results:
        results.write(report.render_results(record.load_records(os.path.join(directory,
                                                                             "results"))))
    log(f"compare.py: wrote {path}, regenerated {results_path}, chart {run_record['chart']} "
        f"(removed {len(removed)} older charts)")


def main(argv):
    """Describe the machine, measure every workload, record, judge, save and print the run."""
    args = parse_args(argv)
    binaries = find_binaries(args.build)
    meta = describe_run(args, argv, binaries)
    if not meta["bf16"].run:
        log(f"compare.py: the bf16 rows are skipped: {meta['bf16'].reason}")
    log(f"compare.py: load average {meta['load_average']['before']}; files in {meta['workdir']}")
    os.makedirs(meta["workdir"], exist_ok=True)
    try:
        runs, context, extras = measure_workloads(args.only, binaries, meta)
    finally:
        if not args.workdir:
            shutil.rmtree(meta["workdir"], ignore_errors=True)
    describe_end(meta, binaries[0], context["gemm"])
    run_record = record.make_record(runs, context, extras, meta)
    run_record["targets"] = targets.evaluate(run_record)
    if args.results:
        save(run_record, args.results)
    print(report.render_run(run_record))
    disagreeing = [run.label for run in runs if run.deviation and not run.deviation["ok"]]
    if disagreeing:
        log(f"compare.py: outputs disagree with h5infer: {', '.join(disagreeing)}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
