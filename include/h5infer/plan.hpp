#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace h5infer {

/// Bounds of the chunk rows chosen when --chunk-rows is not given (auto_chunk_rows()).
inline constexpr std::int64_t min_auto_chunk_rows = 1024;
inline constexpr std::int64_t max_auto_chunk_rows = 8192;
/// FLOPs a chosen chunk aims at (docs/performance.md, "Chunk rows from the
/// model's FLOPs per row").
inline constexpr double auto_chunk_flops = 16e9;

/// Rows per chunk when --chunk-rows is not given, from the model's FLOPs per row: about
/// auto_chunk_flops of work, a multiple of min_auto_chunk_rows, between min_auto_chunk_rows and
/// max_auto_chunk_rows. A chunk is the unit of work dealt to ranks, so it should be long against
/// the fixed cost of a round (a few collectives, a read and a write call) yet short enough that
/// ranks finish together: a wide model gets small chunks, enough of them to split evenly over
/// the ranks, and a narrow one the largest, since larger chunks were no faster for narrow models
/// and much larger ones slower (docs/performance.md).
[[nodiscard]] std::int64_t auto_chunk_rows(std::int64_t flops_per_row);

/// Rounds: each rank computes some of its chunks, then every output gets one collective write
/// per run of adjacent rows and the ranks agree once (checkpoints, stop signals, failures,
/// progress), instead of once per chunk. The first round has first_round_steps() chunks; rank 0
/// then sizes each round from the pace of the last one to take about round_seconds, which
/// bounds how long a stop signal or a failed rank waits, while a fast model's rounds grow until
/// their fixed cost vanishes, and a wide model's rounds hold enough chunks that the ranks'
/// differences average out within them (every round ends with the slowest rank). A rank's
/// share of a round holds at most round_buffer_bytes of predictions, and one chunk's more when
/// it is cut inside a chunk: the buffer's touched pages count in the resident memory, which a
/// larger buffer would let grow with the row count up to its size.
inline constexpr double round_seconds = 1.0;
inline constexpr std::int64_t round_buffer_bytes = std::int64_t{2} << 20;
inline constexpr std::int64_t max_round_steps = 1024;
inline constexpr std::int64_t max_round_growth = 8;

/// The most chunks per rank a round may have, for chunks of `chunk_rows` rows with `outputs`
/// float32 predictions each: what round_buffer_bytes holds (at least 1, at most
/// max_round_steps), and never more than `checkpoint_steps` when positive (--checkpoint-every N
/// chunks then falls on a round boundary).
[[nodiscard]] std::int64_t most_round_steps(std::int64_t chunk_rows, std::int64_t outputs,
                                            std::int64_t checkpoint_steps);

/// Chunks per rank in the first round, for chunks of `chunk_rows` rows of `flops_per_row`:
/// first_round_flops of work (a fraction of a second on one core), at least 1 and at most
/// max_first_round_steps. No pace is known before it, so it is shared equally, and a short first
/// round bounds how long a rank on a slower core keeps the others waiting; a wide model's first
/// round gets fewer chunks than a narrow one's.
inline constexpr std::int64_t max_first_round_steps = 16;
inline constexpr double first_round_flops = 64e9;
[[nodiscard]] std::int64_t first_round_steps(std::int64_t chunk_rows, std::int64_t flops_per_row);

/// Chunks per rank in the next round, after a round of `steps` chunks that took `seconds`: as
/// many as take round_seconds at that pace, at most max_round_growth times as many, within
/// [1, most].
[[nodiscard]] std::int64_t next_round_steps(std::int64_t steps, double seconds, std::int64_t most);

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

/// Rows `rows` of item `item` of a WorkPlan: all of the item's rows or a part of them.
struct Piece {
    std::int64_t item = 0;
    Range rows;
};

/// Work items of every input as one list, in input order, dealt to ranks round by round: each
/// round takes the next items of the list and cuts them into one contiguous share per rank
/// (shares()), so ranks stay balanced across files of any sizes, read neighbouring parts of a
/// file at the same time, and each writes one run of rows per output and round. Pure: no MPI.
class WorkPlan {
public:
    explicit WorkPlan(std::vector<WorkItem> items);

    [[nodiscard]] const std::vector<WorkItem>& items() const { return items_; }
    [[nodiscard]] std::int64_t size() const { return static_cast<std::int64_t>(items_.size()); }

    /// For each of jobs 0 .. jobs - 1, the indices of its first and last item; {-1, -1} for a
    /// job without items.
    [[nodiscard]] std::vector<std::pair<std::int64_t, std::int64_t>> bounds(
        std::int64_t jobs) const;

    /// The jobs of the items `items`, ascending, without repeats.
    [[nodiscard]] std::vector<std::int64_t> jobs_in(Range items) const;

    /// `items` cut into weights.size() contiguous shares in proportion to the weights (as
    /// cut() does), counting each item as ceil(rows / split_rows) parts: an item is cut only
    /// split_rows, 2 x split_rows, ... rows after its first row (the places where the kernels'
    /// bits do not change, kernels::Network::split_rows()); split_rows at least the chunk rows
    /// keeps items whole. Finer parts let the shares follow paces a few percent apart: a wide
    /// model's round has about ten chunks per rank, and a whole chunk is a tenth of it. Element
    /// k holds rank k's pieces in order, possibly none.
    [[nodiscard]] std::vector<std::vector<Piece>> shares(Range items,
                                                         const std::vector<double>& weights,
                                                         std::int64_t split_rows) const;

    /// The rows of the pieces of `job` among `pieces`, merged into maximal runs of adjacent
    /// rows, ascending. A run breaks only where a resumed file has chunks already done.
    [[nodiscard]] std::vector<Range> row_runs(const std::vector<Piece>& pieces,
                                              std::int64_t job) const;

private:
    std::vector<WorkItem> items_;
};

/// The shares of a round: `items` cut into weights.size() contiguous ranges, rank k's from
/// cuts[k] to cuts[k + 1], in proportion to the weights (each positive; equal weights give
/// shares that differ by at most one item).
[[nodiscard]] std::vector<std::int64_t> cut(Range items, const std::vector<double>& weights);

/// Items in a round of about `steps` items per rank, cut by `weights`, such that no rank's share
/// exceeds `most` items (the predictions buffer): steps x ranks with equal weights, fewer when a
/// rank's weight is above the mean. At least 1.
[[nodiscard]] std::int64_t round_items(std::int64_t steps, const std::vector<double>& weights,
                                       std::int64_t most);

/// A rank's pace, rows per second, over its recent rounds: each round's rows and seconds are
/// added to the earlier ones, which count pace_memory times less per round, so a pace rests on
/// more chunks than one round's few (a wide model's few chunks per rank and round give a noisy
/// pace) and still follows a core that slows down in the middle of a job.
/// A pace rests on at least min_pace_seconds of work: a short first round of a narrow model
/// warms up and stalls unevenly, its paces further apart between ranks than those of later
/// rounds, and a round cut by them keeps a rank waiting.
inline constexpr double pace_memory = 0.5;
inline constexpr double min_pace_seconds = 0.05;
class PaceMeter {
public:
    /// A round of `rows` rows that took `seconds`; a round without rows changes nothing.
    void add(std::int64_t rows, double seconds);
    /// 0 until rounds with items have taken min_pace_seconds (their weighted sum).
    [[nodiscard]] double pace() const;

private:
    double rows_ = 0;
    double seconds_ = 0;
};

/// Weights for the next round's cut from each rank's pace (PaceMeter; 0 where a rank has none
/// yet): equal weights while every pace is within pace_tolerance of their mean (closer paces
/// are the noise of a measurement), else the paces, each kept within a factor max_pace_spread
/// of their mean so one noisy round cannot starve a rank. A rank without a pace counts at the
/// mean. Cores of one machine do not always run at the same speed, and other processes may
/// share them: cut by pace, the ranks' rounds end together instead of the faster ranks waiting
/// for the slowest in every round. Shares cut inside chunks (WorkPlan::shares()) can follow
/// paces a few percent apart, where whole chunks (a tenth of a wide model's round) could not.
/// Measurements: docs/performance.md, "Shares cut by each rank's pace".
inline constexpr double pace_tolerance = 0.01;
inline constexpr double max_pace_spread = 4.0;
[[nodiscard]] std::vector<double> pace_weights(const std::vector<double>& paces);

}  // namespace h5infer
