#include "h5infer/plan.hpp"

#include <algorithm>
#include <cmath>
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

std::int64_t first_round_steps(std::int64_t chunk_rows, std::int64_t flops_per_row) {
    const double chunk_flops = static_cast<double>(std::max<std::int64_t>(chunk_rows, 1)) *
                               static_cast<double>(std::max<std::int64_t>(flops_per_row, 1));
    return std::clamp(static_cast<std::int64_t>(first_round_flops / chunk_flops), std::int64_t{1},
                      max_first_round_steps);
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

WorkPlan::WorkPlan(std::vector<WorkItem> items) : items_(std::move(items)) {}

std::vector<std::pair<std::int64_t, std::int64_t>> WorkPlan::bounds(std::int64_t jobs) const {
    std::vector<std::pair<std::int64_t, std::int64_t>> result(static_cast<std::size_t>(jobs),
                                                              {-1, -1});
    for (std::int64_t i = 0; i < size(); ++i) {
        auto& [first, last] =
            result[static_cast<std::size_t>(items_[static_cast<std::size_t>(i)].job)];
        if (first < 0) first = i;
        last = i;
    }
    return result;
}

std::vector<std::int64_t> WorkPlan::jobs_in(Range items) const {
    std::vector<std::int64_t> jobs;
    for (std::int64_t i = items.begin; i < items.end; ++i) {
        jobs.push_back(items_[static_cast<std::size_t>(i)].job);
    }
    std::sort(jobs.begin(), jobs.end());
    jobs.erase(std::unique(jobs.begin(), jobs.end()), jobs.end());
    return jobs;
}

std::vector<std::vector<Piece>> WorkPlan::shares(Range items, const std::vector<double>& weights,
                                                 std::int64_t split_rows) const {
    H5INFER_ASSERT(split_rows >= 1 && items.begin <= items.end && items.end <= size());
    // The round's parts in order: first[i] is the index of item items.begin + i's first part,
    // edge[p] the rows of the round before part p.
    std::vector<std::int64_t> first{0};
    std::vector<std::int64_t> edge{0};
    for (std::int64_t i = items.begin; i < items.end; ++i) {
        const Range rows = items_[static_cast<std::size_t>(i)].rows;
        for (std::int64_t row = rows.begin; row < rows.end; row += split_rows) {
            edge.push_back(edge.back() + std::min(split_rows, rows.end - row));
        }
        first.push_back(static_cast<std::int64_t>(edge.size()) - 1);
    }
    // Each cut at the part edge nearest to its share of the rows: a short last chunk makes a
    // short part, so equal parts per rank would not be equal rows.
    const std::vector<std::int64_t> exact =
        cut({0, edge.back()}, weights);  // in rows, as if any row could be a cut
    std::vector<std::int64_t> cuts(weights.size() + 1, 0);
    for (std::size_t k = 1; k < weights.size(); ++k) {
        auto part = std::lower_bound(edge.begin(), edge.end(), exact[k]) - edge.begin();
        if (part > 0 && exact[k] - edge[static_cast<std::size_t>(part - 1)] <
                            edge[static_cast<std::size_t>(part)] - exact[k]) {
            --part;
        }
        cuts[k] = std::max(cuts[k - 1], static_cast<std::int64_t>(part));
    }
    cuts.back() = static_cast<std::int64_t>(edge.size()) - 1;
    std::vector<std::vector<Piece>> result(weights.size());
    for (std::size_t k = 0; k < weights.size(); ++k) {
        // The items holding parts cuts[k] .. cuts[k + 1] - 1, each cut to those parts.
        const std::int64_t begin_part = cuts[k];
        const std::int64_t end_part = cuts[k + 1];
        auto index = static_cast<std::size_t>(
            std::upper_bound(first.begin(), first.end(), begin_part) - first.begin() - 1);
        for (; index + 1 < first.size() && first[index] < end_part; ++index) {
            const std::int64_t item = items.begin + static_cast<std::int64_t>(index);
            const Range rows = items_[static_cast<std::size_t>(item)].rows;
            const std::int64_t from = std::max(begin_part, first[index]) - first[index];
            const std::int64_t to = std::min(end_part, first[index + 1]) - first[index];
            if (to > from) {
                result[k].push_back({item,
                                     {rows.begin + from * split_rows,
                                      std::min(rows.end, rows.begin + to * split_rows)}});
            }
        }
    }
    return result;
}

std::vector<Range> WorkPlan::row_runs(const std::vector<Piece>& pieces, std::int64_t job) const {
    std::vector<Range> runs;
    for (const Piece& piece : pieces) {
        if (items_[static_cast<std::size_t>(piece.item)].job != job) continue;
        if (!runs.empty() && runs.back().end == piece.rows.begin) {
            runs.back().end = piece.rows.end;
        } else {
            runs.push_back(piece.rows);
        }
    }
    return runs;
}

std::vector<std::int64_t> cut(Range items, const std::vector<double>& weights) {
    H5INFER_ASSERT(!weights.empty() && items.begin <= items.end);
    const auto ranks = static_cast<std::int64_t>(weights.size());
    double total = 0;
    for (double weight : weights) {
        H5INFER_ASSERT(weight > 0);
        total += weight;
    }
    std::vector<std::int64_t> cuts(weights.size() + 1, items.begin);
    double before = 0;
    for (std::int64_t k = 1; k < ranks; ++k) {
        before += weights[static_cast<std::size_t>(k - 1)];
        const auto offset =
            static_cast<std::int64_t>(static_cast<double>(items.size()) * before / total + 0.5);
        cuts[static_cast<std::size_t>(k)] =
            std::clamp(items.begin + offset, cuts[static_cast<std::size_t>(k - 1)], items.end);
    }
    cuts.back() = items.end;
    return cuts;
}

std::int64_t round_items(std::int64_t steps, const std::vector<double>& weights,
                         std::int64_t most) {
    const auto ranks = static_cast<std::int64_t>(weights.size());
    double total = 0;
    double top = 0;
    for (double weight : weights) {
        total += weight;
        top = std::max(top, weight);
    }
    std::int64_t items = steps * ranks;
    // A share is its exact part rounded either way: at most one item more.
    if (top * static_cast<double>(ranks) > total * (1 + 1e-9)) {
        items =
            std::min(items, static_cast<std::int64_t>(static_cast<double>(most - 1) * total / top));
    }
    return std::max<std::int64_t>(items, 1);
}

void PaceMeter::add(std::int64_t rows, double seconds) {
    if (rows <= 0 || seconds <= 0) return;
    rows_ = pace_memory * rows_ + static_cast<double>(rows);
    seconds_ = pace_memory * seconds_ + seconds;
}

double PaceMeter::pace() const {
    return seconds_ >= min_pace_seconds && seconds_ > 0 ? rows_ / seconds_ : 0.0;
}

std::vector<double> pace_weights(const std::vector<double>& paces) {
    double sum = 0;
    std::int64_t known = 0;
    for (double pace : paces) {
        if (pace > 0) {
            sum += pace;
            ++known;
        }
    }
    if (known == 0) return std::vector<double>(paces.size(), 1.0);
    const double mean = sum / static_cast<double>(known);
    const bool even = std::all_of(paces.begin(), paces.end(), [mean](double pace) {
        return pace <= 0 || std::abs(pace - mean) <= pace_tolerance * mean;
    });
    if (even) return std::vector<double>(paces.size(), 1.0);
    std::vector<double> weights;
    weights.reserve(paces.size());
    for (double pace : paces) {
        weights.push_back(
            pace > 0 ? std::clamp(pace, mean / max_pace_spread, mean * max_pace_spread) : mean);
    }
    return weights;
}

}  // namespace h5infer
