"""Markdown from run records: one run in full, the history table, and the whole RESULTS.md.

Pure functions of the records (benchmarks/results/*.json, as bench/record.py writes them), with
nothing but the standard library, so that CI can check the committed RESULTS.md without the
benchmark's own dependencies.
"""

import datetime

WORKLOAD_KEYS = ("W1", "W2", "W3")
FAIL = "FAIL"
NOT_APPLICABLE = "not applicable here"

# The history table: one column per target (or group of targets), the figure it shows.
HISTORY_COLUMNS = (
    ("W1 f32 of peak", ("w1_f32_peak",)),
    ("W1 bf16 of peak", ("w1_bf16_peak",)),
    ("W1 bf16 / PyTorch", ("w1_bf16_vs_torch",)),
    ("W1 2x1 / 1x1", ("w1_scaling",)),
    ("W2 / floor", ("w2_floor",)),
    ("W2 / fastest peer", ("w2_vs_peer",)),
    ("W2 RSS growth", ("w2_rss",)),
    ("W3 / fastest peer", ("w3_vs_peer",)),
    ("W3 / scikit-learn", ("w3_vs_sklearn",)),
    ("1-row job beyond `/bin/true` (W1, W2, W3)", ("w1_one_row", "w2_one_row", "w3_one_row")),
)

SHARED_NOTE = (" The machine was shared during the run (the 1-minute load average was above "
               "0.5 before it, or above the core count + 0.5 after it, when this run alone "
               "accounts for about the core count): other processes took CPU time, so every "
               "figure may be pessimistic and noisy.")


def limits_note(record):
    """How the limits were measured (the method of benchmarks/bench/limits.py)."""
    cores = record["machine"]["cores"]
    return (
        "Matmul peaks and compute floors: `limits` (benchmarks/limits.cpp), best of its "
        f"repeats, and the better of 1 process x {cores} threads and {cores} processes x 1 "
        "thread at the same time (for a floor each on its share of the rows); the peaks are "
        "measured at the start and at the end of the run and the higher kept. A compute floor "
        "pushes the rows through h5infer's own oneDNN network one chunk at a time, always the "
        "same chunk (already in memory and in cache), at the best chunk size. I/O floor: h5py "
        f"in one process reading the input in blocks of {record['settings']['io_block_rows']} "
        "rows and writing a float32 dataset of the predictions' shape, through the page cache; "
        "best of the repeats. Every input is in the page cache as a file read from disk leaves "
        "it: written back, dropped and read once before the first command. The W1 matmul peaks "
        "and the W2 compute floor are measured again at the start of every round: the W1 and W2 "
        "targets compare each round's run with its own round's limit (the speed of a shared "
        "machine drifts over minutes) and take the median over the rounds.")


def table_note(record):
    """What the columns of the results table mean."""
    return (
        "In-process: the prediction file's `elapsed_seconds` (h5infer) or the peer's own clock "
        "from before loading the model to the written file (imports and MPI start-up "
        "excluded). Whole command: wall time of the command, process start included. GFLOP/s "
        "from `h5infer inspect`'s FLOPs per row and in-process seconds. Of floor: max(compute "
        "floor, I/O floor) / in-process seconds. \\* One predict per row: timed on the first "
        f"{record['settings']['row_loop_sample']} rows and extrapolated to all rows (agreement "
        "checked on the sample).")


# ---- small formatters ------------------------------------------------------------------------

def seconds_text(value):
    """Seconds with three decimals (none from 100 s on); '-' when not measured."""
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 100 else f"{value:.0f}"


def percent_text(value):
    return "-" if value is None else f"{value:.0f} %"


def date_text(record):
    """'2026-12-01 02:29 UTC' from the record's ISO date."""
    when = datetime.datetime.strptime(record["date"], "%Y-%m-%dT%H:%M:%SZ")
    return when.strftime("%Y-%m-%d %H:%M UTC")


def machine_name(record):
    """The machine a run belongs to: CPU model and oneDNN's ISA (as capped, if it was)."""
    return f"{record['machine']['cpu']}, {record['onednn_isa']}"


def load_text(values):
    return " ".join(f"{value:.2f}" for value in values)


def status_text(status):
    return f"**{status}**" if status == FAIL else status


def workload_title(record, key):
    return f"{key} {record['workloads'][key]['title']}"


# ---- one run in full -------------------------------------------------------------------------

def commit_text(git):
    """The commit measured, for the header of a run."""
    if git.get("commit"):
        return git["commit"][:7] + (" (with uncommitted changes)" if git.get("modified") else "")
    return f"not recorded (the run was committed in {git['recorded_in'][:7]})"


def cpu_line(record):
    """The CPU flags the kernels care about and oneDNN's ISA (and its cap)."""
    flags = " ".join(record["cpu_flags"]) if record["cpu_flags"] else "not recorded"
    cap = record.get("onednn_max_cpu_isa")
    capped = f", capped by ONEDNN_MAX_CPU_ISA={cap}" if cap else ""
    return f"- CPU flags: {flags}; oneDNN ISA: {record['onednn_isa']}{capped}"


def versions_line(record):
    """h5infer, oneDNN, MPI, HDF5 and the peers' libraries, in one line."""
    versions = record["versions"]
    return (f"- Versions: {versions['h5infer']} (binary {versions['h5infer_binary']}, built "
            f"{versions['h5infer_built']}), oneDNN {versions['onednn']} "
            f"({record['onednn_isa']}), Open MPI {versions['openmpi']}, HDF5 {versions['hdf5']}, "
            f"NumPy {versions['numpy']} with OpenBLAS {versions['openblas']}, "
            f"torch {versions['torch']}, scikit-learn {versions['sklearn']}, "
            f"h5py {versions['h5py']}, mpi4py {versions['mpi4py']}, Python {versions['python']}")


def header_lines(record):
    """The bullet list at the top of a run: command, commit, machine, load, versions."""
    rows = ", ".join(f"{key} {facts['rows']:,}" for key, facts in record["workloads"].items())
    machine = record["machine"]
    load = record["load_average"]
    pinned = record.get("openblas_coretype_removed")
    pinned_text = (f" (this machine's environment pins OPENBLAS_CORETYPE={pinned}; compare.py "
                   "removes it)") if pinned else ""
    bf16 = record["bf16"]
    return [
        f"- Command: `{record['command']}` (scale {record['scale']}, median of "
        f"{record['repeat']}; rows: {rows})",
        f"- Commit: {commit_text(record['git'])}",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores ({machine['threads_per_core']} "
        f"thread per core), {machine['memory_gib']} GiB, Linux {machine['kernel']}",
        cpu_line(record),
        "- bf16: " + ("measured" if bf16["run"] else f"skipped: {bf16['reason']}"),
        f"- Load average (1, 5, 15 min) before: {load_text(load['before'])}, after: "
        f"{load_text(load['after'])}." + (SHARED_NOTE if record["shared"] else ""),
        versions_line(record),
        f"- Peers use OpenBLAS's own kernel choice{pinned_text}; they read and compute "
        f"{record['settings']['peer_chunk_rows']} rows at a time; h5infer runs with its default "
        "--chunk-rows.",
    ]


def floor_rows(key, facts, rows):
    """A workload's compute floors, I/O floor and per-round limits, as rows of the limits
    table."""
    lines = []
    for precision, floor in facts["compute_floor"].items():
        scaled = f", measured on {floor['rows']:,} rows and scaled" if floor["rows"] < rows else ""
        lines.append(f"| {key} compute floor, {precision} ({floor['layout']}, chunks of "
                     f"{floor['best_chunk']} rows{scaled}) | {floor['seconds']:.3f} s |")
    lines.append(f"| {key} I/O floor (h5py, page cache) | {facts['io_floor_s']:.3f} s |")
    for precision in ("f32", "bf16"):
        values = [peak[f"{precision}_gflops"] for peak in facts.get("round_peaks", [])]
        if values and None not in values:
            lines.append(f"| oneDNN {precision} matmul peak at the start of each {key} round | "
                         f"{', '.join(f'{v:.1f}' for v in values)} GFLOP/s |")
    if facts.get("round_floors_s"):
        lines.append(f"| {key} compute floor, f32, at the start of each round | "
                     f"{', '.join(f'{v:.3f}' for v in facts['round_floors_s'])} s |")
    return lines


def limits_rows(record):
    """The limits table: matmul peaks, then each workload's floors."""
    gemm = record["limits"]["gemm"]
    bf16 = gemm["bf16_gflops"]
    bf16_text = f"{bf16:.1f} GFLOP/s" if bf16 is not None else \
        "-" if record["bf16"]["run"] else NOT_APPLICABLE
    lines = ["| limit | value |", "|---|---:|",
             f"| oneDNN f32 matmul peak ({gemm['m']} x {gemm['k']} x {gemm['n']}) | "
             f"{gemm['f32_gflops']:.1f} GFLOP/s |",
             f"| oneDNN bf16 matmul peak (same GEMM) | {bf16_text} |"]
    for key in WORKLOAD_KEYS:
        if key in record["limits"]:
            lines += floor_rows(key, record["limits"][key], record["workloads"][key]["rows"])
    return lines


def agreement_text(row):
    """'reference', or yes/NO with the differences from h5infer 2x1 that matter for the row."""
    agreement = row["agreement"]
    if agreement is None:
        return "reference"
    details = [f"max {agreement['max_abs']:.1e}"]
    if row["precision"] == "bf16":
        details += [f"mean {agreement['mean_abs']:.1e}",
                    f"same class {agreement['same_class_pct']:.1f} %"]
    if row["engine"] == "sklearn-rows":
        details.append(f"first {agreement['rows']} rows")
    return ("yes" if agreement["ok"] else "**NO**") + f" ({', '.join(details)})"


def result_line(record, row):
    """One row of the results table."""
    ratio = "**best**" if row["vs_best"] is None else \
        f"{row['vs_best'][0]:.2f}x, {row['vs_best'][1]:.2f}x"
    return (f"| {workload_title(record, row['workload'])} | {row['label']} | "
            f"{seconds_text(row['in_process_s'])} | {seconds_text(row['whole_s'])} | "
            f"{row['rows_per_s']:,.0f} | {row['gflops']:.1f} | {ratio} | "
            f"{percent_text(row['of_peak_pct'])} | {percent_text(row['of_floor_pct'])} | "
            f"{agreement_text(row)} |")


def result_rows(record):
    return ["| workload | engine | in-process s | whole-command s | rows/s | GFLOP/s | "
            "time / best h5infer (in-process, whole) | of matmul peak | of floor | "
            "agrees with h5infer 2x1 (abs difference) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"] + \
        [result_line(record, row) for row in record["results"]]


def target_rows(record):
    return ["| target | measured | status |", "|---|---|---|"] + \
        [f"| {target['target']} | {target['measured']} | {status_text(target['status'])} |"
         for target in record["targets"]]


def rss_line(rss):
    """W2's peak RSS per rank at a quarter and at all of its rows."""
    def sizes(values):
        return ", ".join(f"{size:.0f}" for size in values) + " MiB"
    return (f"Peak RSS per rank (W2, `mpirun -n 2`, GNU time): {rss['quarter_rows']:,} rows: "
            f"{sizes(rss['quarter_mib'])}; {rss['full_rows']:,} rows: {sizes(rss['full_mib'])}.")


def device_line(device):
    """W2 from the device, against the larger of the device's read and the compute floor."""
    parts = []
    for run in device["runs"]:
        read = "" if run["read_s"] is None else \
            f", read {seconds_text(run['read_s'])} s on the slowest rank"
        parts.append(f"{run['label']} {seconds_text(run['in_process_s'])} s in-process "
                     f"({run['of_floor']:.2f}x the floor{read})")
    return ("W2 with the input evicted from the page cache before each run (`posix_fadvise` "
            f"DONTNEED, as for a file on a parallel file system or written by another node), "
            f"median of the rounds: one sequential read of the file from the device takes "
            f"{seconds_text(device['device_s'])} s; floor max(that, compute floor) "
            f"{seconds_text(device['floor_s'])} s; " + "; ".join(parts) + ".")


def breakdown_rows(record):
    """h5infer's --report: the slowest rank's seconds per stage, one row per h5infer run."""
    stages = ["setup", "read", "compute", "write", "wait", "finish"]
    lines = ["| workload | run | " + " | ".join(f"{stage} s" for stage in stages) + " |",
             "|---|---|" + "---:|" * len(stages)]
    for row in record["breakdown"]:
        lines.append(f"| {row['workload']} | {row['label']} | " +
                     " | ".join(f"{row['seconds'][stage]:.3f}" for stage in stages) + " |")
    return lines


def render_run(record, level=2, title=None, chart=True):
    """One run in full, its headings at `level` (its subsections one below)."""
    heading, sub = "#" * level, "#" * (level + 1)
    parts = [f"{heading} {title or date_text(record)}", "", *header_lines(record)]
    parts += ["", f"{sub} Limits", "", *limits_rows(record), "", limits_note(record)]
    parts += ["", f"{sub} Results", "", *result_rows(record), "", table_note(record)]
    parts += ["", f"{sub} Targets", "", *target_rows(record)]
    if record.get("rss"):
        parts += ["", rss_line(record["rss"])]
    if record.get("device"):
        parts += ["", device_line(record["device"])]
    if record["breakdown"]:
        parts += ["", f"{sub} Where h5infer's time goes (`--report`, slowest rank, median)", "",
                  *breakdown_rows(record)]
    parts += ["", f"{sub} Commands", "", "```", *record["commands"], "```"]
    if chart and record.get("chart"):
        parts += ["", f"![chart]({record['chart']})"]
    if record.get("notes"):
        parts += ["", f"{sub} Notes (by hand, after the run)", "", record["notes"]]
    return "\n".join(parts) + "\n"


# ---- the history and the whole file ---------------------------------------------------------

def figure_text(target):
    """A target's key figure for the history table: bold when it failed, n/a when it did not
    apply."""
    if target["status"] == NOT_APPLICABLE:
        return "n/a"
    value, unit = target["value"], target["unit"]
    text = {"%": f"{value:.0f} %", "x": f"{value:.2f}x", "s": f"{value:.3f} s",
            "growth %": f"{value:+.1f} %"}[unit]
    return f"**{text}**" if target["status"] == FAIL else text


def history_cell(record, ids):
    """The figures of the targets `ids` of a run, '-' if it did not run them."""
    by_id = {target["id"]: target for target in record["targets"]}
    figures = [figure_text(by_id[key]) for key in ids if key in by_id]
    return ", ".join(figures) if figures else "-"


def passed_text(record):
    """'11 of 12': the targets passed of those that apply."""
    judged = [t for t in record["targets"] if t["status"] != NOT_APPLICABLE]
    return f"{sum(t['status'] == 'PASS' for t in judged)} of {len(judged)}"


def history_commit(git):
    """The short commit measured, or † and the commit that recorded the run."""
    if not git.get("commit"):
        return f"{git['recorded_in'][:7]}†"
    return git["commit"][:7] + (" (modified)" if git.get("modified") else "")


def history_rows(records):
    """One row per run, newest first: when, where, which code, and each target's figure."""
    lines = ["| run | machine | commit | passed | " +
             " | ".join(name for name, _ in HISTORY_COLUMNS) + " |",
             "|---|---|---|---|" + "---:|" * len(HISTORY_COLUMNS)]
    for record in sorted(records, key=lambda r: r["date"], reverse=True):
        cells = [date_text(record), machine_name(record), history_commit(record["git"]),
                 passed_text(record)] + [history_cell(record, ids) for _, ids in HISTORY_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def latest_per_machine(records):
    """The newest run of each machine, the machine with the newest run first."""
    latest = {}
    for record in sorted(records, key=lambda r: r["date"]):
        latest[machine_name(record)] = record
    return sorted(latest.values(), key=lambda r: r["date"], reverse=True)


INTRO = """# Benchmark results

Generated by `benchmarks/results.py render` from the run records in `results/` (one JSON file
per run of `benchmarks/compare.py`): do not edit by hand. What the figures mean and how to run
the benchmark: [README.md](README.md). Earlier charts are in git's history."""

HISTORY_NOTE = (
    "Each target's key figure (see the targets tables above for the exact targets); **bold**: "
    "the target failed; n/a: not applicable on that machine (bf16 where the CPU or oneDNN's "
    "ISA has none); -: not run. † The run's own commit was not recorded: the commit that "
    "added the run to this file (the code measured is that commit or its parent).")


def render_results(records):
    """The whole RESULTS.md: the newest run of each machine in full, then the history."""
    newest = max(records, key=lambda r: r["date"], default=None)
    parts = [INTRO, "", "## Latest run per machine", ""]
    for record in latest_per_machine(records):
        title = f"{machine_name(record)}: {date_text(record)}"
        parts.append(render_run(record, level=3, title=title, chart=record is newest))
    parts += ["## History", "", *history_rows(records), "", HISTORY_NOTE]
    return "\n".join(parts) + "\n"
