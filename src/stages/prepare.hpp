#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "h5infer/model.hpp"
#include "h5infer/mpi/comm.hpp"
#include "h5infer/run.hpp"
#include "io/input.hpp"
#include "io/output.hpp"
#include "stages/instruction_set.hpp"
#include "stages/tally.hpp"

namespace h5infer::stages {

/// One input as rank 0 found it: what to compute and where it goes.
struct PreparedJob {
    io::InputInfo input;
    io::DatasetRef output;
    std::string partial;      ///< the output's name until it is complete
    std::string fingerprint;  ///< what the predictions depend on (after share_fingerprints())
    std::vector<std::string> copies;  ///< absolute paths of the --copy datasets
    bool skip = false;                ///< the output is up to date
    bool resume = false;              ///< continue the partial file
    std::vector<char> done;           ///< when resuming, per chunk: already in the partial file
};

/// What rank 0 decides while validating, then shares with every rank.
struct Prepared {
    Model model;                    ///< on rank 0 only
    std::vector<char> model_image;  ///< the model's structure for the other ranks
    std::string model_path;         ///< absolute
    /// Rank 0: the model's other files (Model::data_files) as they were when it was read.
    std::vector<io::FileVersion> model_files;
    std::string model_sha256;  ///< "" until share_fingerprints() (rank 0: or planning) needs it
    std::shared_future<std::string> model_hash;  ///< rank 0: the model file's SHA-256, computing
    std::string last_rank_sha256;  ///< the last rank's hash, made while rank 0 prepares
    std::string start_time;        ///< UTC, ISO 8601
    std::int64_t chunk_rows = 0;   ///< --chunk-rows, or chosen from the model
    std::int64_t parameters = 0;   ///< parameter_count() of the model
    /// The instruction set every rank computes with (empty for the reference backend), and the
    /// best one every rank has.
    AgreedInstructionSet instruction_set;
    std::vector<PreparedJob> jobs;
    std::vector<io::OutputLock> locks;  ///< rank 0: the outputs this run writes, until it ends
    /// Rank 0: fingerprints the ranks read together before it prepared (see
    /// read_fingerprints_together() in prepare.cpp), by path; "" for a file without one.
    std::map<std::string, std::string> fingerprints_read;
};

/// Collective. Rank 0 checks the flags, lists the inputs, reads and validates the model and
/// each input, and decides per input whether to skip it (its output is up to date), resume its
/// partial file or start afresh, locking each output it will write; meanwhile the last rank
/// hashes the model file. The outcome is agreed (every rank throws if rank 0 failed), then
/// everything but the model itself and its hash is broadcast. Rank 0 notes in `tally` when the
/// --metrics path has passed its checks.
[[nodiscard]] Prepared prepare_run(const RunConfig& config, const mpi::Comm& comm, Tally& tally);

/// Collective. Completes each job's fingerprint on rank 0 (with the last rank's hash of the
/// model when it has one) and broadcasts the model's hash and the fingerprints. Planning needed
/// them earlier only to compare with an existing output or partial file.
void share_fingerprints(const RunConfig& config, const mpi::Comm& comm, Prepared& prepared);

}  // namespace h5infer::stages
