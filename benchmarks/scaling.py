#!/usr/bin/env python3
"""h5infer at 1 to 64 ranks (issue 21): what each round costs in MPI collectives and what each
input costs in file-system operations, counted, with the time of the per-round agreement
(agree()) and of the pace exchange.

    scripts/bootstrap.sh bench      # strace among the rest
    cmake --build build -j --target h5infer limits mpi_count
    /usr/bin/python3 benchmarks/scaling.py --build build                  # about 10 minutes
    /usr/bin/python3 benchmarks/scaling.py --build build --ranks 1,2,4 --no-record   # quick
    /usr/bin/python3 benchmarks/scaling.py --render benchmarks/scaling-results/RECORD.json

Collectives: every rank runs with build/benchmarks/libmpi_count.so preloaded (mpi_count.cpp),
which logs each MPI collective and MPI-IO call, h5infer's and parallel HDF5's, with its payload
and its seconds. The pace exchange (the only MPI_Allgather after the first) ends every round,
so the calls between two of them are one round. File system: every rank runs under
`strace -f -y`, and the calls that name a file of the work directory are counted by kind.
More ranks than cores are oversubscribed: the counts do not depend on it, the seconds do.

Prints the tables (Markdown) and writes a JSON record to benchmarks/scaling-results/ (docs/
scaling.md reads it); --no-record writes nothing.
"""

import argparse
import collections
import datetime
import glob
import json
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import machine, record  # noqa: E402
from bench.process import BENCHMARKS, CORES, log, run_command  # noqa: E402
from bench.workloads import Files, Workload, generate_mlp  # noqa: E402

RESULTS = os.path.join(BENCHMARKS, "scaling-results")  # not results/: another format
# Narrow rows (small files) through enough FLOPs that a job lasts several rounds of about a
# second, in chunks small enough that the first round (at most 16 chunks per rank) leaves rows
# for later rounds even at 64 ranks.
WORKLOAD = Workload("S", "scaling", 0, (16, 256, 256, 1), "relu", "sigmoid", "float32", ())
CHUNK_ROWS = 1024

# What strace traces; each call is counted under one kind (KINDS) when it names a file of the
# work directory (a path argument, or a descriptor strace -y shows as one).
KINDS = {
    "create": ("creat", "mkdir", "mkdirat"),  # and open/openat with O_CREAT
    "open": ("open", "openat"),
    "stat": ("stat", "lstat", "newfstatat", "statx", "fstat", "access", "faccessat",
             "faccessat2", "statfs", "fstatfs", "readlink", "readlinkat", "getdents64"),
    "sync": ("fsync", "fdatasync", "syncfs", "sync_file_range"),
    "rename": ("rename", "renameat", "renameat2"),
    "unlink": ("unlink", "unlinkat", "rmdir"),
    "setattr": ("ftruncate", "truncate", "fallocate", "chmod", "fchmod", "fchmodat",
                "utimensat", "link", "linkat", "symlink", "flock", "fcntl"),
    "close": ("close",),
    "data": ("read", "write", "pread64", "pwrite64", "preadv", "pwritev", "fadvise64"),
}
KIND_OF = {call: kind for kind, calls in KINDS.items() for call in calls}
LOCKS = re.compile(r"F_SETLKW?|F_OFD_SETLKW?")
CALL = re.compile(r"^\d+\s+(\w+)\(")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="scaling.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.environ.get("H5INFER_BUILD", "build"))
    parser.add_argument("--ranks", default="1,2,4,8,16,32,64", help="rank counts")
    parser.add_argument("--rows", type=int, default=4_000_000, help="rows of the one input")
    parser.add_argument("--inputs", type=int, default=32, help="inputs of the --output-dir job")
    parser.add_argument("--input-rows", type=int, default=20_000, help="rows of each of them")
    parser.add_argument("--strace-ranks", default="1,4,16",
                        help="rank counts of the file-system counts (64 takes minutes under "
                             "strace on 2 cores)")
    parser.add_argument("--no-record", action="store_true", help="write no JSON record")
    parser.add_argument("--render", metavar="RECORD", help="print the tables of a record only")
    args = parser.parse_args(argv)
    args.ranks = [int(n) for n in args.ranks.split(",")]
    args.strace_ranks = [int(n) for n in args.strace_ranks.split(",") if n]
    args.build = os.path.abspath(args.build)
    return args


def binaries(build):
    paths = {"h5infer": os.path.join(build, "h5infer"),
             "limits": os.path.join(build, "benchmarks", "limits"),
             "mpi_count": os.path.join(build, "benchmarks", "libmpi_count.so")}
    missing = [path for path in paths.values() if not os.path.exists(path)]
    if missing or shutil.which("strace") is None:
        sys.exit(f"scaling.py: missing {', '.join(missing) or 'strace'}: configure with "
                 "-DH5INFER_BUILD_BENCHMARKS=ON, build h5infer limits mpi_count, and run "
                 "scripts/bootstrap.sh bench")
    return paths


def mpirun(ranks, *extra):
    return ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", *extra]


def make_inputs(h5infer, workdir, args):
    """The model, the one input of --rows rows and --inputs inputs of --input-rows rows."""
    one = Files(data=os.path.join(workdir, "one.h5"), model=os.path.join(workdir, "model.h5"))
    log(f"scaling.py: {args.rows} rows of {WORKLOAD.title}, and {args.inputs} inputs")
    generate_mlp(h5infer, WORKLOAD, args.rows, one, seed=2)
    os.makedirs(os.path.join(workdir, "many"))
    for index in range(args.inputs):
        path = os.path.join(workdir, "many", f"part-{index:04d}.h5")
        run_command([h5infer, "generate", "--data", path + ":/features", "--rows",
                     str(args.input_rows), "--features", str(WORKLOAD.widths[0]), "--seed",
                     str(100 + index), "--overwrite"])
    return one


def job(h5infer, one, workdir, many, tag):
    """The h5infer command of the one-input job or of the many-inputs job."""
    command = [h5infer, "run", "--model", one.model, "--threads", "1", "--quiet", "--overwrite",
               "--chunk-rows", str(CHUNK_ROWS)]
    if many:
        output_dir = os.path.join(workdir, "out-" + tag)
        os.makedirs(output_dir, exist_ok=True)
        return command + ["--input", os.path.join(workdir, "many", "*.h5") + ":/features",
                          "--output-dir", output_dir]
    return command + ["--input", one.data + ":/features", "--output",
                      os.path.join(workdir, f"out-{tag}.h5")]


# ---- collectives ---------------------------------------------------------------------------

def read_calls(directory):
    """Per rank, its calls in order: (name, bytes, seconds)."""
    ranks = []
    for path in sorted(glob.glob(os.path.join(directory, "rank-*.tsv")),
                       key=lambda p: int(re.search(r"(\d+)\.tsv$", p).group(1))):
        with open(path) as source:
            rows = [line.rstrip("\n").split("\t") for line in source]
        if any(row[0] == "dropped" for row in rows):
            sys.exit(f"scaling.py: {path}: calls dropped; run a smaller job")
        ranks.append([(name, int(size), float(seconds)) for name, size, seconds in rows])
    return ranks


def split_rounds(calls):
    """(before, rounds, after): the calls before the first round's pace exchange is reached...
    precisely: rounds[k] holds the calls after round k-1's pace exchange up to and including
    round k's; round 0 also holds the set-up, `after` the end of the job."""
    ends = [i for i, call in enumerate(calls) if call[0] == "MPI_Allgather"][1:]
    rounds, begin = [], 0
    for end in ends:
        rounds.append(calls[begin:end + 1])
        begin = end + 1
    return rounds, calls[begin:]


def steady(rounds):
    """The rounds that neither open nor finish an output: all but the first and the last."""
    return rounds[1:-1]


def call_summary(calls):
    """Calls by name; the bytes of the collectives (payload this rank sends) apart from those
    MPI-IO reads and writes."""
    names = collections.Counter(name for name, _, _ in calls)
    return {"calls": len(calls), "by_name": dict(sorted(names.items())),
            "collectives": sum(1 for name, _, _ in calls if not name.startswith("MPI_File")),
            "collective_bytes": sum(size for name, size, _ in calls
                                    if not name.startswith("MPI_File")),
            "io_bytes": sum(size for name, size, _ in calls if name.startswith("MPI_File"))}


def nth(calls, name, n):
    """The seconds of the n-th (0-based) call named `name`."""
    return [seconds for call_name, _, seconds in calls if call_name == name][n]


def round_times(ranks):
    """Per steady round, over the ranks: min, median and max seconds of agree()'s allreduce
    (the round's second MPI_Allreduce: checkpoint-or-stop, agree, abandoned) and of the pace
    exchange (its MPI_Allgather); medians over the rounds."""
    per_rank = [steady(split_rounds(calls)[0]) for calls in ranks]
    result = {}
    for label, name, n in (("agree", "MPI_Allreduce", 1), ("pace", "MPI_Allgather", 0)):
        stats = [[nth(rounds[r], name, n) for rounds in per_rank]
                 for r in range(len(per_rank[0]))]
        result[label] = {key: statistics.median(f(values) for values in stats)
                         for key, f in (("min", min), ("median", statistics.median),
                                        ("max", max))} if stats else None
    return result


def logged_run(paths, one, workdir, ranks, many):
    """One run at `ranks` ranks with every MPI call logged: (calls per rank, the run's seconds,
    the command)."""
    tag = f"calls-{ranks}-{'many' if many else 'one'}"
    directory = tempfile.mkdtemp(prefix=tag + "-", dir=workdir)
    report = os.path.join(directory, "report.json")
    command = mpirun(ranks, "-x", "LD_PRELOAD=" + paths["mpi_count"], "-x",
                     "H5INFER_MPI_COUNT_DIR=" + directory) + \
        job(paths["h5infer"], one, workdir, many, tag) + ["--report", report]
    run_command(command)
    with open(report) as source:
        seconds = json.load(source)["seconds"]
    return read_calls(directory), seconds, shlex.join(command)


def count_many(paths, one, workdir, ranks):
    """The --output-dir job with every MPI call logged: its calls per input and per round."""
    calls, seconds, command = logged_run(paths, one, workdir, ranks, True)
    rounds, _ = split_rounds(calls[0])
    inputs = len(glob.glob(os.path.join(workdir, "many", "*.h5")))
    return {"ranks": ranks, "inputs": inputs, "run_s": seconds, "rounds": len(rounds),
            "total": call_summary(calls[0]), "command": command}


def steady_summary(per_round):
    """The steady rounds' calls: the most common set of calls, in how many rounds, and the range
    of MPI-IO bytes (each rank's share of a round follows its pace)."""
    if not per_round:
        return None
    sets = [summary["by_name"] for summary in per_round]
    common = max(sets, key=sets.count)
    first = per_round[sets.index(common)]
    io_bytes = [summary["io_bytes"] for summary in per_round]
    return {**first, "rounds": len(per_round), "alike": sets.count(common),
            "io_bytes": [min(io_bytes), max(io_bytes)]}


def count_collectives(paths, one, workdir, ranks):
    """The one-input job with every MPI call logged: its rounds, their calls and seconds."""
    calls, seconds, command = logged_run(paths, one, workdir, ranks, False)
    rounds, after = split_rounds(calls[0])
    per_round = [call_summary(r) for r in steady(rounds)]
    setup = call_summary(rounds[0]) if rounds else None
    return {"ranks": ranks, "run_s": seconds, "rounds": len(rounds),
            "total": call_summary(calls[0]), "first_round": setup,
            "last_round": call_summary(rounds[-1] + after) if rounds else None,
            "steady_round": steady_summary(per_round),
            "times": round_times(calls) if len(rounds) > 2 else None, "command": command}


# ---- file-system operations ----------------------------------------------------------------

def classify(line, workdir):
    """The kind of one strace line, or None when it names no file of `workdir`."""
    match = CALL.match(line)
    if not match or workdir not in line or match.group(1) not in KIND_OF:
        return None
    name = match.group(1)
    if name in ("open", "openat") and "O_CREAT" in line:
        return "create"
    if name == "fcntl" and not LOCKS.search(line):
        return None
    return KIND_OF[name]


def count_trace(path, workdir):
    counts = collections.Counter()
    with open(path, errors="replace") as source:
        for line in source:
            kind = classify(line, workdir)
            if kind:
                counts[kind] += 1
    return counts


def count_file_ops(paths, one, workdir, ranks, many):
    """One run under strace at `ranks` ranks: per rank, its calls on the work directory."""
    tag = f"trace-{ranks}-{'many' if many else 'one'}"
    directory = tempfile.mkdtemp(prefix=tag + "-", dir=workdir)
    traced = ",".join(KIND_OF) + ",creat"
    wrapper = ['sh', '-c', 'exec strace -f -qq -y -e trace=' + traced +
               ' -o "$0/rank-$OMPI_COMM_WORLD_RANK.txt" "$@"', directory]
    command = mpirun(ranks) + wrapper + job(paths["h5infer"], one, workdir, many, tag)
    run_command(command)
    work = os.path.realpath(workdir)
    per_rank = [count_trace(os.path.join(directory, f"rank-{r}.txt"), work)
                for r in range(ranks)]
    inputs = len(glob.glob(os.path.join(workdir, "many", "*.h5"))) if many else 1
    return {"ranks": ranks, "inputs": inputs,
            "per_rank": [{kind: counts[kind] for kind in KINDS} for counts in per_rank],
            "command": shlex.join(command)}


# ---- tables --------------------------------------------------------------------------------

def ms(value):
    return f"{1000 * value:.3f}" if value is not None else "-"


def collective_table(rows):
    lines = ["| ranks | rounds | MPI calls per steady round (by name) | collectives: bytes per "
             "rank per round | MPI-IO bytes per rank per round | calls in the first / last "
             "round | calls in the job | job s |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        round_ = row["steady_round"]
        names = ", ".join(f"{name[4:]} {n}" for name, n in round_["by_name"].items()) \
            if round_ else "-"
        calls = f"{round_['calls']} ({round_['alike']} of {round_['rounds']} rounds)" \
            if round_ else "-"
        lines.append(f"| {row['ranks']} | {row['rounds']} | {calls}: {names} | "
                     f"{round_['collective_bytes'] if round_ else '-'} | "
                     f"{'-'.join(map(str, round_['io_bytes'])) if round_ else '-'} | "
                     f"{row['first_round']['calls']} / "
                     f"{row['last_round']['calls']} | {row['total']['calls']} | "
                     f"{row['run_s']:.2f} |")
    return lines


def many_table(rows):
    lines = ["| ranks | inputs | rounds | MPI calls in the job | per input | of them MPI-IO | "
             "collectives' bytes per rank | job s |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        total, inputs = row["total"], row["inputs"]
        lines.append(f"| {row['ranks']} | {inputs} | {row['rounds']} | {total['calls']} | "
                     f"{total['calls'] / inputs:.1f} | {total['calls'] - total['collectives']} | "
                     f"{total['collective_bytes']} | {row['run_s']:.2f} |")
    return lines


def time_table(rows):
    lines = ["| ranks | agree() ms: min / median / max over ranks | pace exchange ms: min / "
             "median / max | job s |", "|---:|---|---|---:|"]
    for row in rows:
        times = row["times"]
        cells = [" / ".join(ms(times[key][stat]) for stat in ("min", "median", "max"))
                 if times and times[key] else "-" for key in ("agree", "pace")]
        lines.append(f"| {row['ranks']} | {cells[0]} | {cells[1]} | {row['run_s']:.2f} |")
    return lines


def file_table(rows):
    kinds = list(KINDS)
    lines = ["| ranks | inputs | who | " + " | ".join(kinds) + " |",
             "|---:|---:|---|" + "---:|" * len(kinds)]
    for row in rows:
        ranks, inputs = row["ranks"], row["inputs"]
        total = {kind: sum(rank[kind] for rank in row["per_rank"]) for kind in kinds}
        groups = [("rank 0", row["per_rank"][0])]
        if ranks > 1:
            others = row["per_rank"][1:]
            groups.append(("each other rank (mean)",
                           {kind: sum(r[kind] for r in others) / len(others) for kind in kinds}))
        groups.append(("all ranks, per input", {kind: total[kind] / inputs for kind in kinds}))
        for who, counts in groups:
            cells = " | ".join(f"{counts[kind]:g}" for kind in kinds)
            lines.append(f"| {ranks} | {inputs} | {who} | {cells} |")
    return lines


# ---- the run -------------------------------------------------------------------------------

def describe(args, paths):
    facts = machine.machine_facts()
    return {"schema": 1, "kind": "scaling",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": "/usr/bin/python3 benchmarks/scaling.py " + shlex.join(sys.argv[1:]),
            "git": machine.git_state(), "machine": facts, "cpu_flags": machine.cpu_flags(),
            "onednn_isa": machine.onednn_isa(paths["limits"]),
            "oversubscribed_above": CORES, "load_average": {"before": machine.load_average()},
            "notes": None,
            "settings": {"workload": WORKLOAD.key, "rows": args.rows, "inputs": args.inputs,
                         "input_rows": args.input_rows, "threads_per_rank": 1}}


def measure(args, paths):
    """Every measurement of the run, into a new record."""
    run = describe(args, paths)
    workdir = tempfile.mkdtemp(prefix="h5infer-scaling-")
    try:
        one = make_inputs(paths["h5infer"], workdir, args)
        run["collectives"], run["collectives_many"] = [], []
        for ranks in args.ranks:
            log(f"scaling.py: collectives at {ranks} ranks")
            run["collectives"].append(count_collectives(paths, one, workdir, ranks))
            run["collectives_many"].append(count_many(paths, one, workdir, ranks))
        run["file_ops"] = []
        for ranks in args.strace_ranks:
            for many in (False, True):
                log(f"scaling.py: file-system calls at {ranks} ranks, "
                    f"{'many inputs' if many else 'one input'}")
                run["file_ops"].append(count_file_ops(paths, one, workdir, ranks, many))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    run["load_average"]["after"] = machine.load_average()
    return run


def render(run):
    flags = " ".join(run["cpu_flags"])
    return "\n".join([f"{run['date']}, {run['machine']['cpu']} ({run['machine']['cores']} cores, "
                      f"oversubscribed above {run['oversubscribed_above']} ranks), CPU flags: "
                      f"{flags}; load average {run['load_average']}", "",
                      "## Collectives", ""] + collective_table(run["collectives"]) +
                     ["", "## Collectives of the --output-dir job", ""] +
                     many_table(run["collectives_many"]) +
                     ["", "## Seconds per call", ""] + time_table(run["collectives"]) +
                     ["", "## File-system calls", ""] + file_table(run["file_ops"]))


def save(run):
    os.makedirs(RESULTS, exist_ok=True)
    when = datetime.datetime.strptime(run["date"], "%Y-%m-%dT%H:%M:%SZ")
    path = os.path.join(RESULTS, f"{when:%Y-%m-%dT%H%M%S}-{record.machine_id(run)}.json")
    with open(path, "w") as target:
        json.dump(run, target, indent=1)
        target.write("\n")
    log(f"scaling.py: wrote {path}")


def main(argv):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as source:
            print(render(json.load(source)))
        return 0
    run = measure(args, binaries(args.build))
    print(render(run))
    if not args.no_record:
        save(run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
