"""The PNG chart of a run, drawn from its record (matplotlib, no display needed)."""

import glob
import os

from bench.report import WORKLOAD_KEYS, seconds_text


def draw_chart(record, path):
    """One panel per workload: whole-command and in-process seconds per row of the results
    table, log scale, each bar labelled with its value; the dashed line is the f32 floor."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = [key for key in WORKLOAD_KEYS if key in record["workloads"]]
    figure, axes = plt.subplots(len(keys), 1, figsize=(9, 2.2 + 0.5 * len(record["results"])),
                                squeeze=False)
    for axis, key in zip(axes[:, 0], keys):
        rows = [row for row in record["results"] if row["workload"] == key]
        places = np.arange(len(rows))
        limits = record["limits"][key]
        floor = max(limits["compute_floor"]["f32"]["seconds"], limits["io_floor_s"])
        for offset, name, color, values in (
                (0.2, "whole command", "#9ecae1", [row["whole_s"] for row in rows]),
                (-0.2, "in-process", "#3182bd", [row["in_process_s"] for row in rows])):
            bars = axis.barh(places + offset, values, 0.4, label=name, color=color)
            axis.bar_label(bars, [seconds_text(value) for value in values], padding=2,
                           fontsize=7)
        axis.axvline(floor, color="#d62728", linestyle="--", label="f32 floor")
        smallest = min([floor] + [row["in_process_s"] for row in rows])
        axis.set_xscale("log")
        axis.set_xlim(smallest / 2, max(row["whole_s"] for row in rows) * 2)
        axis.set_yticks(places, [row["label"] for row in rows])
        axis.invert_yaxis()
        axis.set_title(f"{key} {record['workloads'][key]['title']}: "
                       f"{record['workloads'][key]['rows']:,} rows (seconds, log scale, lower is "
                       "better)", fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=9)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def remove_older_charts(directory, keep):
    """Deletes the charts of earlier runs beside RESULTS.md (git keeps them); returns them."""
    older = [path for path in glob.glob(os.path.join(directory, "compare-*.png"))
             if os.path.basename(path) != keep]
    for path in older:
        os.remove(path)
    return older
