#include "h5infer/plan.hpp"

#include <algorithm>
#include <utility>

#include "h5infer/error.hpp"

namespace h5infer {

std::int64_t auto_chunk_rows(std::int64_t flops_per_row) {
    const double rows =
        auto_chunk_flops / static_cast<double>(std::max<std::int64_t>(flops_per_row, 1));
    const auto multiples = static_cast<std::int64_t>(
        std::min(rows, static_cast<double>(max_auto_chunk_rows)) / min_auto_chunk_rows);
    return std::clamp(multiples * min_auto_chunk_rows, min_auto_chunk_rows, max_auto_chunk_rows);
}

std::int64_t most_round_steps(std::int64_t chunk_rows, std::int64_t outputs,
                              std::int64_t checkpoint_steps) {
    const std::int64_t chunk_bytes =
        std::max<std::int64_t>(chunk_rows * outputs * static_cast<std::int64_t>(sizeof(float)), 1);
    std::int64_t steps =
        std::clamp<std::int64_t>(round_buffer_bytes / chunk_bytes, 1, max_round_steps);
    if (checkpoint_steps > 0) steps = std::min(steps, checkpoint_steps);
    return steps;
}

std::int64_t next_round_steps(std::int64_t steps, double seconds, std::int64_t most) {
    const double limit = static_cast<double>(std::max<std::int64_t>(steps, 1) * max_round_growth);
    const double at_pace =
        seconds > 0 ? static_cast<double>(steps) * round_seconds / seconds : limit;
    const auto next = static_cast<std::int64_t>(std::min(at_pace, limit));
    return std::clamp<std::int64_t>(next, 1, std::max<std::int64_t>(most, 1));
}

ChunkPlan::ChunkPlan(std::int64_t rows, std::int64_t chunk_rows, int ranks)
    : rows_(rows), chunk_rows_(chunk_rows), ranks_(ranks) {
    H5INFER_ASSERT(rows >= 0 && chunk_rows >= 1 && ranks >= 1);
    chunk_count_ = (rows_ + chunk_rows_ - 1) / chunk_rows_;
}

Range ChunkPlan::chunk(std::int64_t index) const {
    H5INFER_ASSERT(index >= 0 && index < chunk_count_);
    const std::int64_t begin = index * chunk_rows_;
    return {begin, std::min(begin + chunk_rows_, rows_)};
}

Range ChunkPlan::chunks_of(int rank) const {
    H5INFER_ASSERT(rank >= 0 && rank < ranks_);
    return {chunk_count_ * rank / ranks_, chunk_count_ * (rank + 1) / ranks_};
}

Range ChunkPlan::rows_of(int rank) const {
    const Range chunks = chunks_of(rank);
    if (chunks.empty()) {
        const std::int64_t at = std::min(chunks.begin * chunk_rows_, rows_);
        return {at, at};
    }
    return {chunk(chunks.begin).begin, chunk(chunks.end - 1).end};
}

std::int64_t ChunkPlan::steps() const {
    return (chunk_count_ + ranks_ - 1) / ranks_;
}

std::int64_t ChunkPlan::rows_done_after(std::int64_t steps) const {
    std::int64_t done = 0;
    for (int rank = 0; rank < ranks_; ++rank) {
        const Range chunks = chunks_of(rank);
        const std::int64_t last = std::min(chunks.begin + steps, chunks.end);
        if (last > chunks.begin) done += chunk(last - 1).end - chunk(chunks.begin).begin;
    }
    return done;
}

WorkPlan::WorkPlan(std::vector<WorkItem> items, int ranks)
    : items_(std::move(items)), ranks_(ranks) {
    H5INFER_ASSERT(ranks >= 1);
}

Range WorkPlan::items_of(int rank) const {
    H5INFER_ASSERT(rank >= 0 && rank < ranks_);
    const auto count = static_cast<std::int64_t>(items_.size());
    return {count * rank / ranks_, count * (rank + 1) / ranks_};
}

std::int64_t WorkPlan::steps() const {
    return (static_cast<std::int64_t>(items_.size()) + ranks_ - 1) / ranks_;
}

const WorkItem* WorkPlan::item(int rank, std::int64_t step) const {
    const Range mine = items_of(rank);
    const std::int64_t index = mine.begin + step;
    return step >= 0 && index < mine.end ? &items_[static_cast<std::size_t>(index)] : nullptr;
}

std::vector<std::int64_t> WorkPlan::jobs_at(std::int64_t step) const {
    return jobs_in({step, step + 1});
}

std::vector<std::int64_t> WorkPlan::jobs_in(Range steps) const {
    std::vector<std::int64_t> jobs;
    for (int rank = 0; rank < ranks_; ++rank) {
        for (std::int64_t step = steps.begin; step < steps.end; ++step) {
            if (const WorkItem* work = item(rank, step)) jobs.push_back(work->job);
        }
    }
    std::sort(jobs.begin(), jobs.end());
    jobs.erase(std::unique(jobs.begin(), jobs.end()), jobs.end());
    return jobs;
}

std::vector<Range> WorkPlan::row_runs(int rank, Range steps, std::int64_t job) const {
    std::vector<Range> runs;
    for (std::int64_t step = steps.begin; step < steps.end; ++step) {
        const WorkItem* work = item(rank, step);
        if (work == nullptr || work->job != job) continue;
        if (!runs.empty() && runs.back().end == work->rows.begin) {
            runs.back().end = work->rows.end;
        } else {
            runs.push_back(work->rows);
        }
    }
    return runs;
}

std::int64_t WorkPlan::most_row_runs(Range steps, std::int64_t job) const {
    std::size_t most = 0;
    for (int rank = 0; rank < ranks_; ++rank) {
        most = std::max(most, row_runs(rank, steps, job).size());
    }
    return static_cast<std::int64_t>(most);
}

}  // namespace h5infer
