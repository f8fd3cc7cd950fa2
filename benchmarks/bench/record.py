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

