#pragma once

#include <chrono>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/mpi/comm.hpp"
#include "h5infer/run.hpp"
#include "io/job_list.hpp"
#include "stages/engine.hpp"
#include "stages/outputs.hpp"
#include "stages/prepare.hpp"
#include "stages/run_plan.hpp"
#include "stages/tally.hpp"

namespace h5infer::stages {

/// Where one rank's time went, in seconds: printed with H5INFER_VERBOSE=1 (modelled on
/// ONEDNN_VERBOSE) and written by --report. `wait` is the rest of the streaming time: waiting
/// for other ranks in collectives.
struct StageTimes {
    double setup = 0;
    double read = 0;
    double compute = 0;
    double write = 0;
    double wait = 0;
    double finish = 0;
    double rows = 0;
    double chunks = 0;  ///< a chunk whose rows two ranks shared counts for both
};

/// On rank 0, once the inputs are listed, before any is opened: checks that --report and
/// --metrics (if given) can be written without harm. Neither may be the model, an input, an
/// output (or its partial or lock file) of the run, nor the other; an existing file is replaced
/// only when it is an earlier file of the same kind by h5infer or with --overwrite or --force;
/// its directory must exist and be writable. Throws IoError naming the flag, the path and the
/// fix.
void check_report_paths(const RunConfig& config, const std::vector<io::Job>& jobs);

/// On rank 0, with --metrics, after the run failed or was stopped with `code`: writes the
/// metrics of `tally` (no per-stage seconds: the other ranks cannot be asked), provided the
/// --metrics path passed its checks (a run refused before its inputs were listed writes none).
/// Never throws: a failed write is a warning.
void write_metrics_of_early_end(const RunConfig& config, const mpi::Comm& comm, const Tally& tally,
                                ExitCode code,
                                std::chrono::steady_clock::time_point start) noexcept;

/// On rank 0, unless --quiet: the line that starts a run (ranks, threads, backend, rows,
/// chunks, inputs and outputs).
void announce(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
              const RunPlan& plan, const Engine& engine);

/// Collective. What the finished run did (identical on every rank), after tracing each
/// rank's times (H5INFER_VERBOSE) and, on rank 0, writing them as JSON with --report and as
/// OpenMetrics text with --metrics.
[[nodiscard]] RunReport report(const RunConfig& config, const mpi::Comm& comm,
                               const Prepared& prepared, const RunPlan& plan, const Engine& engine,
                               const OpenOutputs& outputs, const StageTimes& times,
                               std::chrono::steady_clock::time_point start);

}  // namespace h5infer::stages
