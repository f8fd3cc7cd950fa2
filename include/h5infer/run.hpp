#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5infer/mpi/comm.hpp"
#include "h5infer/plan.hpp"
#include "kernels/network.hpp"

namespace h5infer {

/// Models with at least this many parameters (parameter_count()) reach the ranks beyond the
/// first with their dense weights converted to the kernels' layout by rank 0; smaller ones
/// are sent as they are and each rank converts them itself, at the same time (oneDNN).
inline constexpr std::int64_t packed_parameters = std::int64_t{1} << 20;

/// How `run` treats the column names an input carries (a `columns` attribute, a pandas block's
/// items, a group's datasets, a compound dataset's fields) when the model has feature names.
enum class ColumnNames {
    Reorder,  ///< match them: another order of the model's names is reordered (default)
    Strict,   ///< match them: another order of the model's names is an input error
    Ignore,   ///< take a 2-D dataset's columns by position, as if it carried no names
};

/// What `run` does with input rows that were never written (chunks or storage never allocated,
/// a virtual dataset's missing sources), which HDF5 reads as the dataset's fill value.
enum class UnwrittenRows {
    Refuse,  ///< an input error before any work, naming the rows (default)
    Nan,     ///< read them as NaN: NaN predictions, counted as rows with NaN or Inf
};

/// Everything `h5infer run` needs; filled by the CLI, or directly by a program or test.
struct RunConfig {
    std::string model_path;
    /// FILE[:DATASET] each; FILE may be a glob pattern; the dataset may be omitted when the
    /// file holds exactly one 2-D dataset.
    std::vector<std::string> inputs;
    std::string input_list;  ///< a file listing more inputs, one per line
    std::string output;      ///< FILE[:DATASET] for a single input; dataset defaults /predictions
    std::string output_dir;  ///< one prediction file per input, named by io::output_name_for()
    std::int64_t chunk_rows = 0;  ///< rows per chunk; 0: auto_chunk_rows() of the model
    int threads = 0;  ///< threads per rank; 0: SLURM_CPUS_PER_TASK, else the affinity mask
    kernels::Backend backend = kernels::Backend::Onednn;
    kernels::Precision precision = kernels::Precision::F32;
    /// The instruction set the oneDNN kernels use on every rank (oneDNN's name, e.g. "avx2");
    /// empty: the best set every rank has.
    std::string isa;
    /// MPI-IO hints for the prediction files (KEY=VALUE each; --io-hint), e.g. collective
    /// buffering settings of a parallel file system.
    std::vector<std::string> io_hints;
    std::int64_t align_bytes = 0;  ///< datasets of prediction files start at multiples (--align)
    /// Recompute this many rows per input (spread evenly) in f32 and report the deviation.
    std::int64_t verify_rows = 0;
    bool overwrite = false;  ///< replace an existing output that is not up to date
    bool force = false;      ///< recompute outputs even when they are up to date
    bool quiet = false;
    bool fail_on_nonfinite = false;
    bool labels = false;              ///< also write /labels, the predicted class label of each row
    std::vector<std::string> copies;  ///< input datasets copied row by row into the output
    ColumnNames column_names = ColumnNames::Reorder;       ///< --column-names
    UnwrittenRows unwritten_rows = UnwrittenRows::Refuse;  ///< --unwritten-rows
    /// Save progress every this many seconds (0: only when stopped by a signal) ...
    double checkpoint_seconds = 60;
    /// ... or every this many chunks per rank, at the end of a round (0: by time only).
    std::int64_t checkpoint_steps = 0;
    std::string report_path;  ///< write a JSON report of where the time went (rank 0)
    /// Write OpenMetrics text (rank 0): rows, seconds per stage, inputs, exit status; also
    /// when the run fails or is stopped.
    std::string metrics_path;
    double progress_interval =
        -1;  ///< seconds between progress lines; < 0: 1 on a terminal, 10 otherwise
};

/// What a finished run did; identical on every rank.
struct RunReport {
    std::int64_t rows = 0;  ///< rows computed by this run (resumed and skipped rows excluded)
    std::int64_t outputs = 0;
    std::int64_t nonfinite_rows = 0;  ///< input rows holding NaN or Inf
    double seconds = 0;
    int ranks = 1;
    int threads = 1;                      ///< threads on rank 0
    std::int64_t jobs = 0;                ///< inputs given
    std::int64_t skipped = 0;             ///< inputs whose prediction file was up to date
    std::int64_t resumed_chunks = 0;      ///< chunks found done in partial files
    std::int64_t verified_rows = 0;       ///< rows recomputed in f32 by --verify-rows
    kernels::Deviation verify_deviation;  ///< their largest deviation from the f32 result
    std::string output_file;              ///< the prediction file, or the output directory
    std::string output_dataset;
    bool all_writes_collective = true;  ///< every rank's writes were truly collective
};

/// Collective. Validates on rank 0, streams every rank's share of the chunks of every input
/// through the model and writes one prediction file per input, each of which appears under its
/// final name only when complete. Up-to-date outputs are skipped and partial files of an
/// interrupted run resumed. On SIGTERM/SIGINT/SIGHUP/SIGUSR1 every rank finishes its chunk,
/// progress is saved and InterruptedError (exit code 75) is thrown; the signals reach it only
/// in a process that gave them to watch_stop_signals() (src/stop.hpp) first, as main() does.
/// Throws an Error on every rank when the run fails; only the rank that found the problem
/// throws the detailed error, the others throw ReportedElsewhere (see src/agree.hpp).
RunReport run(const RunConfig& config, const mpi::Comm& comm);

/// Threads per rank: `requested` if positive, else SLURM_CPUS_PER_TASK if set, else the CPUs
/// in this process's affinity mask. `source` receives where the number came from.
[[nodiscard]] int resolve_threads(int requested, std::string& source);

}  // namespace h5infer
