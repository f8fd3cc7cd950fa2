#pragma once

#include <cstdint>

namespace h5infer::stages {

/// What a run has done so far, as rank 0 knows it without asking the other ranks: what
/// --metrics records when the run ends early (a stop or an error), when no collective is safe.
/// The steps fill it in as they go.
struct Tally {
    bool metrics_path_checked = false;  ///< rank 0: --metrics passed check_report_paths()
    bool prepared = false;  ///< the run got past prepare_run() and plan_run(): the rest is known
    std::int64_t inputs = 0;
    std::int64_t skipped = 0;         ///< inputs whose output was up to date
    std::int64_t finished = 0;        ///< outputs this run completed
    std::int64_t rows = 0;            ///< rows this run predicted and wrote
    std::int64_t resumed_chunks = 0;  ///< chunks found done in partial files
};

}  // namespace h5infer::stages
