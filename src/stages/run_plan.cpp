#include "stages/run_plan.hpp"

#include <algorithm>

namespace h5infer::stages {
namespace {

// Which jobs are done alone, and by which rank (RunPlan::alone).
std::vector<int> deal_alone_jobs(const Prepared& prepared, int ranks) {
    const std::vector<PreparedJob>& jobs = prepared.jobs;
    std::vector<int> alone(jobs.size(), -1);
    std::vector<std::size_t> candidates;
    std::size_t with_work = 0;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        if (jobs[j].skip || jobs[j].input.rows == 0) continue;
        ++with_work;
        if (!jobs[j].resume && jobs[j].input.rows <= prepared.chunk_rows) candidates.push_back(j);
    }
    if (with_work < 2) return alone;
    std::stable_sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
        return jobs[a].input.rows > jobs[b].input.rows;
    });
    std::vector<std::int64_t> load(static_cast<std::size_t>(ranks), 0);
    for (std::size_t j : candidates) {
        const auto rank = std::min_element(load.begin(), load.end()) - load.begin();
        alone[j] = static_cast<int>(rank);
        load[static_cast<std::size_t>(rank)] += jobs[j].input.rows;
    }
    return alone;
}

}  // namespace

RunPlan plan_run(const Prepared& prepared, int ranks) {
    RunPlan plan;
    const auto job_count = static_cast<std::int64_t>(prepared.jobs.size());
    plan.done.resize(prepared.jobs.size());
    plan.alone = deal_alone_jobs(prepared, ranks);
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
        plan.largest_input = std::max(plan.largest_input, job.input.rows);
        if (plan.alone[static_cast<std::size_t>(j)] >= 0) {
            plan.rows_to_do += job.input.rows;
            continue;
        }
        for (std::int64_t c = 0; c < grid.chunk_count(); ++c) {
            if (done[static_cast<std::size_t>(c)] != 0) {
                ++plan.resumed_chunks;
                continue;
            }
            items.push_back({j, c, grid.chunk(c)});
            plan.rows_to_do += grid.chunk(c).size();
        }
    }
    plan.work = WorkPlan(std::move(items));
    plan.job_items = plan.work.bounds(job_count);
    return plan;
}

}  // namespace h5infer::stages
