#pragma once

#include <cstdint>

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

}  // namespace h5infer
