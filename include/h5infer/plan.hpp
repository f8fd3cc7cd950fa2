#pragma once

#include <cstdint>
#include <vector>

namespace h5infer {

/// Rows per chunk when --chunk-rows is not given: on these machines 4-16k rows beat larger
/// chunks for narrow models while keeping a chunk of a 2048-wide layer under 64 MiB.
inline constexpr std::int64_t default_chunk_rows = 8192;

/// A half-open range [begin, end) of rows or chunks.
struct Range {
    std::int64_t begin = 0;
    std::int64_t end = 0;
    [[nodiscard]] std::int64_t size() const { return end - begin; }
    [[nodiscard]] bool empty() const { return end <= begin; }
};

/// How a dataset's rows are cut into chunks and the chunks dealt to ranks. The chunk grid
/// depends only on the row count and chunk size, never on the number of ranks, so every row is
/// computed in a chunk of the same shape whatever the rank count. Ranks get contiguous runs of
/// chunks whose lengths differ by at most one. Pure: no MPI.
class ChunkPlan {
public:
    /// Requires rows >= 0, chunk_rows >= 1 and ranks >= 1.
    ChunkPlan(std::int64_t rows, std::int64_t chunk_rows, int ranks);

    [[nodiscard]] std::int64_t rows() const { return rows_; }
    [[nodiscard]] std::int64_t chunk_rows() const { return chunk_rows_; }
    [[nodiscard]] int ranks() const { return ranks_; }
    [[nodiscard]] std::int64_t chunk_count() const { return chunk_count_; }

    /// The rows of chunk `index` (0 <= index < chunk_count()).
    [[nodiscard]] Range chunk(std::int64_t index) const;

    /// The chunks of `rank`, possibly empty when there are more ranks than chunks.
    [[nodiscard]] Range chunks_of(int rank) const;

    /// The rows of `rank`: the union of its chunks.
    [[nodiscard]] Range rows_of(int rank) const;

    /// Collective write rounds: the most chunks any rank has. Every rank takes part in each
    /// round, with an empty write once its own chunks are done.
    [[nodiscard]] std::int64_t steps() const;

    /// Rows finished by all ranks together after `steps` rounds.
    [[nodiscard]] std::int64_t rows_done_after(std::int64_t steps) const;

private:
    std::int64_t rows_ = 0;
    std::int64_t chunk_rows_ = 1;
    int ranks_ = 1;
    std::int64_t chunk_count_ = 0;
};

/// One unit of work of a run over several inputs: chunk `chunk` (rows `rows`) of job `job`.
struct WorkItem {
    std::int64_t job = 0;
    std::int64_t chunk = 0;
    Range rows;
};

/// Work items of every input dealt to ranks as one list, so ranks stay balanced across files
/// of any sizes: contiguous runs whose lengths differ by at most one, processed one item per
/// rank per collective round ("step"). Pure: no MPI.
class WorkPlan {
public:
    /// Requires ranks >= 1.
    WorkPlan(std::vector<WorkItem> items, int ranks);

    [[nodiscard]] const std::vector<WorkItem>& items() const { return items_; }

    /// The items of `rank`, as indices into items().
    [[nodiscard]] Range items_of(int rank) const;

    /// Collective rounds: the most items any rank has.
    [[nodiscard]] std::int64_t steps() const;

    /// The item `rank` processes in round `step`, or nullptr once its items are done.
    [[nodiscard]] const WorkItem* item(int rank, std::int64_t step) const;

    /// The jobs any rank works on in round `step`, ascending, without repeats.
    [[nodiscard]] std::vector<std::int64_t> jobs_at(std::int64_t step) const;

private:
    std::vector<WorkItem> items_;
    int ranks_ = 1;
};

}  // namespace h5infer
