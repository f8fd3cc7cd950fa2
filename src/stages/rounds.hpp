#pragma once

#include <chrono>

#include "h5infer/mpi/comm.hpp"
#include "h5infer/run.hpp"
#include "stages/engine.hpp"
#include "stages/outputs.hpp"
#include "stages/prepare.hpp"
#include "stages/report.hpp"
#include "stages/run_plan.hpp"

namespace h5infer::stages {

/// Collective. Streams every item of `plan` through `engine` into `outputs`, round by round.
/// Each round rank 0 sizes it (about round_seconds of work per rank, from the pace of the
/// last), the ranks agree on a checkpoint (rank 0's clock) or a stop (any rank's signal), open
/// the outputs the round first touches, each computes its share (cut in proportion to the
/// ranks' recent paces, inside a chunk only where the kernels keep the bits), every output
/// gets one collective write per run of adjacent rows, and the outputs the round finishes are
/// committed. Adds each stage's seconds to `times`, and the rows written and outputs finished
/// to `tally`. On a stop signal the progress is saved and
/// the partial files kept; rank 0 throws InterruptedError, the others ReportedElsewhere. A
/// signal seen mid-round ends the round after the chunk being computed: the round is dropped
/// and the rounds before it saved.
void stream_rounds(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
                   const RunPlan& plan, Engine& engine, OpenOutputs& outputs, StageTimes& times,
                   Tally& tally, std::chrono::steady_clock::time_point start);

}  // namespace h5infer::stages
