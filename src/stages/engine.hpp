#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/mpi/comm.hpp"
#include "h5infer/run.hpp"
#include "kernels/network.hpp"
#include "stages/prepare.hpp"
#include "stages/run_plan.hpp"
#include "stages/verifier.hpp"

namespace h5infer::stages {

/// What computes on this rank: the model made executable, its buffers and the round limits
/// that follow from them.
struct Engine {
    int threads = 1;                            ///< this rank's kernel threads
    std::string thread_source;                  ///< where `threads` came from
    std::string thread_layout;                  ///< threads per rank over all ranks: "2", "1-2"
    std::unique_ptr<kernels::Network> network;  ///< null when this run has no rows to compute
    std::unique_ptr<Verifier> verifier;         ///< --verify-rows (does nothing without)
    std::int64_t outputs = 0;                   ///< predictions per row
    std::vector<std::string> labels;            ///< the model's class labels, or none
    BulkArray<float> src;                       ///< one chunk of input rows
    BulkArray<float> dst;                       ///< the predictions of a share of a round
    std::int64_t first_steps = 1;               ///< chunks per rank in the first round
    std::int64_t most_steps = 1;                ///< chunks per rank a round may have
    std::int64_t split_rows = 0;                ///< where a chunk may be cut between ranks
};

/// Collective. Ships the model from rank 0 to every rank and builds each rank's kernels.
/// Rank 0 keeps the model it read; the others rebuild its structure from the image and receive
/// each array where it stays. A model of packed_parameters or more on the oneDNN backend
/// (without --verify-rows, which needs the model's own weights) has its dense weights converted
/// to the kernels' layout by rank 0 alone and broadcast so; a smaller one is sent as it is and
/// every rank builds its kernels at the same time (docs/performance.md says why). A run whose
/// outputs are all up to date builds no kernels. Failures are agreed (src/agree.hpp).
[[nodiscard]] Engine build_engine(const RunConfig& config, const mpi::Comm& comm,
                                  Prepared& prepared, const RunPlan& plan);

}  // namespace h5infer::stages
