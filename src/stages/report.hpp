#pragma once

#include <chrono>

#include "h5infer/mpi/comm.hpp"
#include "h5infer/run.hpp"
#include "stages/engine.hpp"
#include "stages/outputs.hpp"
#include "stages/prepare.hpp"
#include "stages/run_plan.hpp"

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

/// On rank 0, before any work: checks that --report (if given) can be written without harm. It
/// may not be the model, an input, an output (or its partial or lock file) of the run; an
/// existing file is replaced only when it is an earlier h5infer report or with --overwrite or
/// --force; its directory must exist and be writable. Throws IoError naming the path and the fix.
void check_report_path(const RunConfig& config, const Prepared& prepared);

/// On rank 0, unless --quiet: the line that starts a run (ranks, threads, backend, rows,
/// chunks, inputs and outputs).
void announce(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
              const RunPlan& plan, const Engine& engine);

/// Collective. What the finished run did (identical on every rank), after tracing each
/// rank's times (H5INFER_VERBOSE) and, with --report, writing them as JSON on rank 0.
[[nodiscard]] RunReport report(const RunConfig& config, const mpi::Comm& comm,
                               const Prepared& prepared, const RunPlan& plan, const Engine& engine,
                               const OpenOutputs& outputs, const StageTimes& times,
                               std::chrono::steady_clock::time_point start);

}  // namespace h5infer::stages
