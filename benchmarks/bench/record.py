"""A run as data: the JSON record compare.py writes to benchmarks/results/, one file per run.

A record holds everything RESULTS.md shows of a run (bench/report.py renders it from nothing
else): when and how it ran, the machine and its CPU flags, oneDNN's ISA, versions, load, the
limits, every result row (with the seconds of each round), every target with its figure and
status, and the commands. Standard library only: CI reads records without the benchmark's
dependencies.
"""

import datetime
import glob
import json
import os
import re
import shlex
import statistics

SCHEMA = 1

# The keys every record has (bench/report.py reads them all); values may be null where a run
# did not record them (runs converted from the Markdown of December 2026 have no CPU flags).
REQUIRED_KEYS = (
    "schema", "date", "command", "scale", "repeat", "git", "machine", "cpu_flags",
    "onednn_isa", "onednn_max_cpu_isa", "bf16", "versions", "load_average", "shared",
    "openblas_coretype_removed", "settings", "workloads", "limits", "results", "targets", "rss",
    "device", "one_row", "breakdown", "commands", "chart", "notes",
)


def machine_id(record):
    """A short name for the machine of a run: CPU model and oneDNN ISA, e.g.
    'amd-epyc-avx512_core_bf16'."""
    model = re.sub(r"\((r|tm)\)|\b(processor|cpu)\b|@.*", "", record["machine"]["cpu"].lower())
    model = "-".join(re.findall(r"[a-z0-9]+", model))[:32].strip("-")
    return f"{model}-{record['onednn_isa']}"


def file_name(record):
    """'<UTC date and time>-<machine id>.json', which sorts by date."""
    when = datetime.datetime.strptime(record["date"], "%Y-%m-%dT%H:%M:%SZ")
    return f"{when:%Y-%m-%dT%H%M%S}-{machine_id(record)}.json"


def validate(record, where):
    """Stops with the file's name and the missing keys if `record` is not a record."""
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise ValueError(f"{where}: not a benchmark record, missing {', '.join(missing)}")
    if record["schema"] != SCHEMA:
        raise ValueError(f"{where}: schema {record['schema']}, this code reads {SCHEMA}")


def write_record(record, directory):
    """Writes `record` to `directory` under file_name(record); returns the path."""
    validate(record, "the new record")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, file_name(record))
    with open(path, "w") as target:
        json.dump(record, target, indent=1)
        target.write("\n")
    return path


def load_records(directory):
    """Every record in `directory`, oldest first."""
    records = []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path) as source:
            record = json.load(source)
        validate(record, path)
        records.append(record)
    return sorted(records, key=lambda record: record["date"])


# ---- a new run's record, from what compare.py measured --------------------------------------

def median(values):
    return statistics.median(values) if values else None


def result_row(run, runs, context):
    """One row of the results table: medians, throughput, and the ratios the table shows."""
    facts, gemm = context[run.workload], context["gemm"]
    best = min((other for other in runs if other.workload == run.workload and
                other.engine == "h5infer" and other.precision == "f32" and
                "1x1" not in other.label), key=lambda other: median(other.whole))
    inside, whole = median(run.in_process), median(run.whole)
    gflops = facts["rows"] * facts["flops_per_row"] / inside / 1e9
    peak = gemm["bf16_gflops" if run.precision == "bf16" else "f32_gflops"]
    floor = facts["compute_floor"].get("bf16" if run.precision == "bf16" else "f32")
    floor = max(floor["seconds"], facts["io_floor_s"])
    return {"workload": run.workload, "label": run.label, "engine": run.engine,
            "precision": run.precision, "in_process_s": inside, "whole_s": whole,
            "rows_per_s": facts["rows"] / inside, "gflops": gflops,
            "vs_best": None if run is best else
            [inside / median(best.in_process), whole / median(best.whole)],
            "of_peak_pct": 100 * gflops / peak if peak else None,
            "of_floor_pct": 100 * floor / inside, "agreement": run.deviation or None,
            "rounds": {"in_process_s": run.in_process, "whole_s": run.whole}}


def breakdown_rows(runs):
    """Where h5infer's time goes, from --report: the slowest rank's seconds per stage."""
    stages = ["setup", "read", "compute", "write", "wait", "finish"]
    return [{"workload": run.workload, "label": run.label,
             "seconds": {stage: median([max(rank.get(f"{stage}_seconds", 0.0)
                                            for rank in report["per_rank"])
                                        for report in run.reports]) for stage in stages}}
            for run in runs if run.reports]


def device_facts(device, context):
    """W2 read from the device: the read's seconds, the floor max(read, compute floor), and
    h5infer's and NumPy's in-process seconds against it."""
    floor = max(device["device"], context["W2"]["compute_floor"]["f32"]["seconds"])
    runs = []
    for run in device["runs"]:
        seconds = median(run.in_process)
        read = median([max(rank["read_seconds"] for rank in report["per_rank"])
                       for report in run.reports])
        runs.append({"label": run.label, "in_process_s": seconds, "of_floor": seconds / floor,
                     "read_s": read})
    return {"device_s": device["device"], "floor_s": floor, "runs": runs}


def command_lines(runs, extras, meta):
    """Every command of the run once, the work directory as $WORK and the build as $BUILD."""
    commands = [run.command for run in runs]
    commands += [extras["rss_command"]] if "rss_command" in extras else []
    commands += [command for _, command in extras.get("one_row", {}).values()]
    commands += [["mpirun", "-n", "1", "/bin/true"], ["mpirun", "-n", "1", meta["mpi_noop"]]]
    lines = []
    for command in commands:
        line = shlex.join(command).replace(meta["workdir"], "$WORK")
        line = line.replace(meta["build"], "$BUILD").replace(meta["root"] + "/", "")
        if line not in lines:
            lines.append(line)
    return lines


def workload_limits(facts):
    return {key: facts[key] for key in ("compute_floor", "io_floor_s", "round_peaks",
                                        "round_floors_s") if key in facts}


def make_record(runs, context, extras, meta):
    """The record of a run (without its targets: bench/targets.py judges the record)."""
    keys = [key for key in meta["workloads"] if key in context]
    return {
        "schema": SCHEMA, "date": meta["date"], "command": meta["command"],
        "scale": meta["scale"], "repeat": meta["repeat"], "git": meta["git"],
        "machine": meta["machine"], "cpu_flags": meta["cpu_flags"],
        "onednn_isa": meta["onednn_isa"], "onednn_max_cpu_isa": meta["onednn_max_cpu_isa"],
        "bf16": {"run": meta["bf16"].run, "reason": meta["bf16"].reason},
        "versions": meta["versions"], "load_average": meta["load_average"],
        "shared": meta["shared"], "openblas_coretype_removed": meta["openblas_coretype_removed"],
        "settings": meta["settings"],
        "workloads": {key: {"title": meta["workloads"][key].title, "rows": context[key]["rows"],
                            "flops_per_row": context[key]["flops_per_row"]} for key in keys},
        "limits": {"gemm": context["gemm"], **{key: workload_limits(context[key])
                                                 for key in keys}},
        "results": [result_row(run, runs, context) for run in runs],
        "targets": [],
        "rss": extras.get("rss"),
        "device": device_facts(extras["device"], context) if "device" in extras else None,
        "one_row": {key: {"job_s": times["job"], "true_s": times["true"],
                          "mpi_init_s": times["mpi_init"]}
                    for key, (times, _) in extras.get("one_row", {}).items()},
        "breakdown": breakdown_rows(runs), "commands": command_lines(runs, extras, meta),
        "chart": meta.get("chart"), "notes": None,
    }
