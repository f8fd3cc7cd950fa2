#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "h5infer/plan.hpp"
#include "stages/prepare.hpp"

namespace h5infer::stages {

/// Every chunk still to compute of every input, as one plan for all ranks, and what it adds up
/// to. Identical on every rank; pure (no MPI).
struct RunPlan {
    WorkPlan work{{}};
    /// Per job, per chunk of its grid: 1 where the chunk is in the output already (resumed);
    /// empty for a skipped job.
    std::vector<std::vector<char>> done;
    /// Per job, the indices of its first and last item in `work`: its output is open from the
    /// round holding the first to the one holding the last ({-1, -1} for a job without items).
    std::vector<std::pair<std::int64_t, std::int64_t>> job_items;
    std::int64_t rows_to_do = 0;
    std::int64_t resumed_chunks = 0;
    std::int64_t skipped = 0;        ///< jobs whose output is up to date
    std::int64_t largest_input = 1;  ///< rows of the largest input with work (at least 1)
    std::int64_t widest_input = 0;   ///< columns of the widest input
    /// Per job, the rank that computes and writes it alone, or -1 for a job in `work`. Of a run
    /// with several inputs to compute, a fresh input of one chunk is done alone: shared, its
    /// file would cost every rank a collective create, open, write and close and a commit that
    /// waits on the slowest rank, for one chunk that only one rank computes anyway.
    std::vector<int> alone;
};

/// The plan of the jobs `prepared` holds, in input order, skipping the jobs marked skip and the
/// chunks a resumed partial file already has, for `ranks` ranks. The jobs done alone are dealt
/// out largest first, each to the rank with the fewest rows so far (the lowest on a tie).
[[nodiscard]] RunPlan plan_run(const Prepared& prepared, int ranks);

}  // namespace h5infer::stages
