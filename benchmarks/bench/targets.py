"""Issue 4's targets, judged from a run's record: PASS, FAIL, or not applicable here (bf16 on a
machine that cannot run it natively). Standard library only."""

import statistics

from bench.report import NOT_APPLICABLE

W1_BF16_PEAK = "W1 bf16 >= 85 % of bf16 matmul peak (in-process, each round against its own peak)"
W1_BF16_VS_TORCH = "W1 bf16 >= 1.15x PyTorch bf16 autocast (whole command)"


def target(ident, name, measured, value, unit, ok):
    """One row of the targets table; `value` in `unit` is its figure in the history table."""
    return {"id": ident, "target": name, "measured": measured, "value": value, "unit": unit,
            "status": "PASS" if ok else "FAIL"}


def not_applicable(ident, name, reason):
    return {"id": ident, "target": name, "measured": reason, "value": None, "unit": None,
            "status": NOT_APPLICABLE}


def rows_of(record, key, engines=None):
    return [row for row in record["results"] if row["workload"] == key and
            (engines is None or row["engine"] in engines)]


def best_h5infer(record, key, precision="f32", by="whole_s"):
    """The fastest h5infer layout using all cores (2x1 or 1x2) by median whole-command or
    in-process seconds."""
    candidates = [row for row in rows_of(record, key, ("h5infer",))
                  if row["precision"] == precision and "1x1" not in row["label"]]
    return min(candidates, key=lambda row: row[by])


def batched_peers(record, key, engines=None):
    """The workload's peers that compute in batches (not the one-row loop), or those named."""
    return [row for row in rows_of(record, key, engines)
            if row["engine"] not in ("h5infer", "sklearn-rows")]


def percents(values):
    return ", ".join(f"{100 * value:.0f}" for value in values) + " %"


def peak_shares(record, row, key):
    """The row's GFLOP/s over the matmul peak (`key`) of the same round, per round, their
    median, and the share of the whole run's highest peak at the row's median time."""
    work = record["workloads"]["W1"]["rows"] * record["workloads"]["W1"]["flops_per_row"] / 1e9
    round_peaks = record["limits"]["W1"].get("round_peaks", [])
    shares = [work / seconds / peak[key]
              for seconds, peak in zip(row["rounds"]["in_process_s"], round_peaks)]
    overall = work / row["in_process_s"] / record["limits"]["gemm"][key]
    return (statistics.median(shares) if shares else overall), shares, overall


def w1_peak(record, precision, ident, name, goal):
    """The best h5infer layout's share of the `precision` matmul peak, round by round."""
    best = best_h5infer(record, "W1", precision, by="in_process_s")
    share, shares, overall = peak_shares(record, best, f"{precision}_gflops")
    return target(ident, name, f"{100 * share:.0f} % ({best['label']}; rounds {percents(shares)}; "
                  f"against the highest peak of the whole run {100 * overall:.0f} %)",
                  100 * share, "%", share >= goal)


def w1_targets(record):
    """W1: f32 and bf16 share of the matmul peak, bf16 against PyTorch's bf16 autocast."""
    yield w1_peak(record, "f32", "w1_f32_peak", "W1 f32 >= 90 % of f32 matmul peak (in-process, "
                  "each round against its own peak)", 0.90)
    if not record["bf16"]["run"]:
        yield not_applicable("w1_bf16_peak", W1_BF16_PEAK, record["bf16"]["reason"])
        yield not_applicable("w1_bf16_vs_torch", W1_BF16_VS_TORCH, record["bf16"]["reason"])
        return
    yield w1_peak(record, "bf16", "w1_bf16_peak", W1_BF16_PEAK, 0.85)
    bf16 = best_h5infer(record, "W1", "bf16")
    torch_bf16 = batched_peers(record, "W1", ("torch-bf16",))[0]
    speedup = torch_bf16["whole_s"] / bf16["whole_s"]
    yield target("w1_bf16_vs_torch", W1_BF16_VS_TORCH, f"{speedup:.2f}x ({bf16['label']})",
                 speedup, "x", speedup >= 1.15)


def w2_targets(record):
    """W2: in-process time against the floor, whole command against the fastest peer."""
    limits = record["limits"]["W2"]
    best = best_h5infer(record, "W2", by="in_process_s")
    floor = max(limits["compute_floor"]["f32"]["seconds"], limits["io_floor_s"])
    overall = best["in_process_s"] / floor
    ratios = [seconds / max(round_floor, limits["io_floor_s"]) for seconds, round_floor
              in zip(best["rounds"]["in_process_s"], limits.get("round_floors_s", []))]
    ratio = statistics.median(ratios) if ratios else overall
    rounds = ", ".join(f"{value:.2f}x" for value in ratios)
    yield target("w2_floor", "W2 in-process within 1.4x of max(compute floor, I/O floor), each "
                 "round against its own floor",
                 f"{ratio:.2f}x ({best['label']}; rounds {rounds}; against the floor measured "
                 f"before the runs {overall:.2f}x)", ratio, "x", ratio <= 1.4)
    best = best_h5infer(record, "W2")
    fastest = min(batched_peers(record, "W2"), key=lambda row: row["whole_s"])
    speedup = fastest["whole_s"] / best["whole_s"]
    yield target("w2_vs_peer", "W2 whole command >= 2x faster than the fastest peer",
                 f"{speedup:.2f}x vs {fastest['label']}", speedup, "x", speedup >= 2.0)


def w3_targets(record):
    """W3: whole command against the fastest peer and against scikit-learn's predict_proba."""
    best = best_h5infer(record, "W3")
    fastest = min(batched_peers(record, "W3"), key=lambda row: row["whole_s"])
    speedup = fastest["whole_s"] / best["whole_s"]
    yield target("w3_vs_peer", "W3 >= 2x the fastest peer (whole command)",
                 f"{speedup:.2f}x vs {fastest['label']}", speedup, "x", speedup >= 2.0)
    batched = batched_peers(record, "W3", ("sklearn",))[0]
    speedup = batched["whole_s"] / best["whole_s"]
    yield target("w3_vs_sklearn", "W3 >= 5x scikit-learn batched predict_proba (whole command)",
                 f"{speedup:.2f}x", speedup, "x", speedup >= 5.0)


def extra_targets(record):
    """W1's scaling from 1x1 to 2x1, W2's peak memory, every workload's 1-row job."""
    if "W1" in record["workloads"]:
        one_by_one = next(row for row in rows_of(record, "W1") if row["label"] == "h5infer 1x1")
        ratio = one_by_one["in_process_s"] / rows_of(record, "W1")[0]["in_process_s"]
        yield target("w1_scaling", "W1 2x1 >= 1.85x 1x1 (in-process)", f"{ratio:.2f}x", ratio,
                     "x", ratio >= 1.85)
    if record["rss"]:
        rss = record["rss"]
        small, large = max(rss["quarter_mib"]), max(rss["full_mib"])
        growth = 100 * (large / small - 1)
        yield target("w2_rss", f"W2 peak RSS per rank, {rss['full_rows']:,} vs "
                     f"{rss['quarter_rows']:,} rows, within 10 %",
                     f"{large:.0f} vs {small:.0f} MiB ({growth:+.1f} %)", growth, "growth %",
                     growth <= 10)
    for key, times in record["one_row"].items():
        beyond = times["job_s"] - times["true_s"]
        yield target(f"{key.lower()}_one_row",
                     f"{key} 1-row job < 0.3 s beyond MPI start-up (`mpirun -n 1 /bin/true`)",
                     f"{beyond:.3f} s ({times['job_s']:.3f} - {times['true_s']:.3f}); beyond "
                     f"MPI_Init + MPI_Finalize with ob1 ({times['mpi_init_s']:.3f}): "
                     f"{times['job_s'] - times['mpi_init_s']:.3f} s", beyond, "s", beyond < 0.3)


def evaluate(record):
    """Every target of issue 4 that the run covers, in the order of the targets table."""
    checks = {"W1": w1_targets, "W2": w2_targets, "W3": w3_targets}
    targets = []
    for key, check in checks.items():
        if key in record["workloads"]:
            targets += check(record)
    return targets + list(extra_targets(record))
