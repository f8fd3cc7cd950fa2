#include "h5infer/run.hpp"

#include <chrono>
#include <cstdint>

#include "h5infer/error.hpp"
#include "stages/engine.hpp"
#include "stages/outputs.hpp"
#include "stages/prepare.hpp"
#include "stages/report.hpp"
#include "stages/rounds.hpp"
#include "stages/run_plan.hpp"
#include "stop.hpp"

namespace h5infer {
namespace {

// The steps of a run, each collective (docs/ARCHITECTURE.md describes them in order).
RunReport run_steps(const RunConfig& config, const mpi::Comm& comm,
                    std::chrono::steady_clock::time_point start, stages::Tally& tally) {
    const StopRequest stop;
    stages::StageTimes times;

    // 1. Rank 0 validates and plans; every rank learns the outcome and the plan.
    stages::Prepared prepared = stages::prepare_run(config, comm, tally);
    const stages::RunPlan plan = stages::plan_run(prepared, comm.size());
    tally.prepared = true;
    tally.inputs = static_cast<std::int64_t>(prepared.jobs.size());
    tally.skipped = plan.skipped;
    tally.resumed_chunks = plan.resumed_chunks;

    // 2. Ship the model and build each rank's kernels; then the fingerprints are complete.
    stages::Engine engine = stages::build_engine(config, comm, prepared, plan);
    stages::share_fingerprints(config, comm, prepared);
    stages::announce(config, comm, prepared, plan, engine);

    // 3-4. Stream the rounds: each output is open from the round that first touches its input
    // to the round that finishes and commits it.
    stages::OpenOutputs outputs(config, comm, prepared, engine, plan.done, start);
    times.setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stages::stream_rounds(config, comm, prepared, plan, engine, outputs, times, tally, start);

    // 5. Report.
    return stages::report(config, comm, prepared, plan, engine, outputs, times, start);
}

}  // namespace

RunReport run(const RunConfig& config, const mpi::Comm& comm) {
    const auto start = std::chrono::steady_clock::now();
    stages::Tally tally;
    try {
        return run_steps(config, comm, start, tally);
    } catch (const Error& error) {
        // Stopped (75) or failed: --metrics still tells the monitoring how the run ended.
        stages::write_metrics_of_early_end(config, comm, tally, error.code(), start);
        throw;
    }
}

}  // namespace h5infer
