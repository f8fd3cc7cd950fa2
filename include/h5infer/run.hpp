#pragma once

#include <cstdint>
#include <string>

#include "h5infer/mpi/comm.hpp"
#include "h5infer/plan.hpp"
#include "kernels/network.hpp"

namespace h5infer {

/// Everything `h5infer run` needs; filled by the CLI, or directly by a program or test.
struct RunConfig {
    std::string model_path;
    std::string
        input;  ///< FILE[:DATASET]; the dataset may be omitted if the file has one 2-D dataset
    std::string output;  ///< FILE[:DATASET]; the dataset defaults to /predictions
    std::int64_t chunk_rows = default_chunk_rows;
    int threads = 0;  ///< threads per rank; 0: SLURM_CPUS_PER_TASK, else the affinity mask
    kernels::Backend backend = kernels::Backend::Onednn;
    bool overwrite = false;
    bool quiet = false;
    bool fail_on_nonfinite = false;
    bool labels = false;  ///< also write /labels, the predicted class label of each row
    double progress_interval =
        -1;  ///< seconds between progress lines; < 0: 1 on a terminal, 10 otherwise
};

/// What a finished run did; identical on every rank.
struct RunReport {
    std::int64_t rows = 0;
    std::int64_t outputs = 0;
    std::int64_t nonfinite_rows = 0;  ///< input rows holding NaN or Inf
    double seconds = 0;
    int ranks = 1;
    int threads = 1;  ///< threads on rank 0
    std::string output_file;
    std::string output_dataset;
    bool all_writes_collective = true;  ///< every rank's writes were truly collective
};

/// Collective. Validates on rank 0, streams every rank's share of the chunks through the model
/// and writes one prediction file that appears under its final name only when complete.
/// Throws an Error on every rank when the run fails; only the rank that found the problem
/// throws the detailed error, the others throw ReportedElsewhere (see src/agree.hpp).
RunReport run(const RunConfig& config, const mpi::Comm& comm);

/// Threads per rank: `requested` if positive, else SLURM_CPUS_PER_TASK if set, else the CPUs
/// in this process's affinity mask. `source` receives where the number came from.
[[nodiscard]] int resolve_threads(int requested, std::string& source);

}  // namespace h5infer
