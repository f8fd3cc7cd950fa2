#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5infer/mpi/comm.hpp"
#include "h5infer/plan.hpp"
#include "h5infer/run.hpp"
#include "io/output.hpp"
#include "stages/engine.hpp"
#include "stages/prepare.hpp"

namespace h5infer::stages {

/// The prediction files of a run while it writes them: each is open from the round that first
/// touches its input to the round that finishes it, under its partial name, with a progress
/// record of the chunks it holds. Every method marked Collective must be called by all ranks
/// in the same order. On destruction the open files are closed and rank 0 removes the partial
/// files of outputs not committed, unless keep_partial_files() was called (a stop to resume).
class OpenOutputs {
public:
    /// Collective (finds the first rank of each node, which syncs what its node wrote).
    /// `done` is RunPlan::done: per job, the chunks a resumed partial file already holds.
    OpenOutputs(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
                const Engine& engine, std::vector<std::vector<char>> done,
                std::chrono::steady_clock::time_point start);

    /// Collective. Rank 0 creates the partial file of `job` (unless resumed) with every dataset
    /// allocated and closes it; then every rank opens it.
    void open(std::int64_t job);

    /// Collective. Writes rows `rows` of the predictions of `job` (engine.outputs per row)
    /// from `src`; a rank with no rows passes an empty range.
    void write(std::int64_t job, Range rows, const float* src);

    /// This rank found `rows` input rows of `job` holding NaN or Inf.
    void count_nonfinite(std::int64_t job, std::int64_t rows) { nonfinite_[job] += rows; }

    /// Chunk `chunk` of `job` is written (on every rank: the progress record is shared).
    void mark_done(std::int64_t job, std::int64_t chunk) { done_[job][chunk] = 1; }

    /// Collective. Records the progress of every open output in its file and flushes it.
    void checkpoint();

    /// Collective. Completes the output of `job`: the provenance attributes, the progress
    /// record removed, closed; then one rank per node syncs it to storage, and rank 0 checks
    /// that the input did not change while it was read, gives the file its final name and
    /// syncs the directory.
    void finish(std::int64_t job);

    /// Not collective. The whole output of `job`, an input that this rank computed alone into
    /// `predictions` (RunPlan::alone), created and written with its provenance under its
    /// partial name by this rank, with no other rank waiting; commit_alone() names it.
    void write_alone(std::int64_t job, const float* predictions);

    /// Not collective. Checks that the inputs of the outputs write_alone() wrote since the last
    /// call did not change, then syncs them and gives them their final names together. Partial
    /// files written alone and not committed are removed when the run ends.
    void commit_alone();

    /// Collective, once every rank wrote its outputs alone: adds their rows with NaN or Inf to
    /// nonfinite_rows().
    void count_alone();

    /// The run stops to resume later: leave the partial files in place.
    void keep_partial_files() { partial_files_.keep = true; }

    /// Input rows with NaN or Inf in the outputs finished so far, over all ranks.
    [[nodiscard]] std::int64_t nonfinite_rows() const { return total_nonfinite_; }

    /// Collective. Whether every write of every rank was truly collective.
    [[nodiscard]] bool all_writes_collective() const;

private:
    // Partial files removed if the run fails; kept when it stops on a signal, to resume.
    // Declared before the writers so that they are closed first.
    struct PartialFiles {
        std::vector<std::string> paths;
        bool keep = false;
        bool root = false;
        PartialFiles() = default;
        PartialFiles(const PartialFiles&) = delete;
        PartialFiles& operator=(const PartialFiles&) = delete;
        PartialFiles(PartialFiles&&) = delete;
        PartialFiles& operator=(PartialFiles&&) = delete;
        ~PartialFiles();
    };

    [[nodiscard]] io::OutputLayout layout(std::int64_t job) const;
    void write_provenance(io::OutputWriter& writer, std::int64_t job, std::int64_t nonfinite,
                          double elapsed) const;

    const RunConfig& config_;
    const mpi::Comm& comm_;
    const Prepared& prepared_;
    const Engine& engine_;
    std::chrono::steady_clock::time_point start_;
    bool syncs_for_node_ = false;
    PartialFiles partial_files_;
    PartialFiles alone_files_;              // written alone, not committed yet
    std::vector<std::int64_t> alone_jobs_;  // their jobs
    std::vector<std::unique_ptr<io::OutputWriter>> writers_;
    std::vector<std::vector<char>> done_;
    std::vector<std::int64_t> nonfinite_;
    std::int64_t total_nonfinite_ = 0;
    std::int64_t alone_nonfinite_ = 0;  // in the outputs this rank wrote alone
    std::string not_collective_;
};

}  // namespace h5infer::stages
