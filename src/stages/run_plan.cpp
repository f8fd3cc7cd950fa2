#include "stages/run_plan.hpp"

#include <algorithm>

namespace h5infer::stages {

RunPlan plan_run(const Prepared& prepared) {
    RunPlan plan;
    const auto job_count = static_cast<std::int64_t>(prepared.jobs.size());
    plan.done.resize(prepared.jobs.size());
    std::vector<WorkItem> items;
    for (std::int64_t j = 0; j < job_count; ++j) {
        const PreparedJob& job = prepared.jobs[static_cast<std::size_t>(j)];
        plan.widest_input = std::max(plan.widest_input, job.input.cols);
        if (job.skip) {
            ++plan.skipped;
            continue;
        }
        const ChunkPlan grid(job.input.rows, prepared.chunk_rows, 1);
        std::vector<char>& done = plan.done[static_cast<std::size_t>(j)];
        done = job.resume ? job.done : std::vector<char>(grid.chunk_count(), 0);
        for (std::int64_t c = 0; c < grid.chunk_count(); ++c) {
            if (done[static_cast<std::size_t>(c)] != 0) {
                ++plan.resumed_chunks;
                continue;
            }
            items.push_back({j, c, grid.chunk(c)});
            plan.rows_to_do += grid.chunk(c).size();
        }
        plan.largest_input = std::max(plan.largest_input, job.input.rows);
    }
    plan.work = WorkPlan(std::move(items));
    plan.job_items = plan.work.bounds(job_count);
    return plan;
}

}  // namespace h5infer::stages
