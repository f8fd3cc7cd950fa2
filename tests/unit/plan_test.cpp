#include "h5infer/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace h5infer {
namespace {

struct PlanCase {
    std::int64_t rows;
    std::int64_t chunk_rows;
    int ranks;
};

const std::vector<PlanCase> plan_cases = {
    {0, 10, 1},  {0, 10, 4},      {1, 10, 1},     {1, 10, 4},      {10, 10, 3},
    {11, 10, 3}, {100, 7, 1},     {100, 7, 2},    {100, 7, 3},     {100, 7, 4},
    {5, 1, 8},   {1000, 1000, 2}, {999, 1000, 2}, {12345, 100, 7}, {3, 2, 64},
};

TEST(ChunkPlan, CoversEveryRowExactlyOnceInOrder) {
    for (const PlanCase& c : plan_cases) {
        const ChunkPlan plan(c.rows, c.chunk_rows, c.ranks);
        std::int64_t next_row = 0;
        std::int64_t next_chunk = 0;
        for (int rank = 0; rank < c.ranks; ++rank) {
            const Range chunks = plan.chunks_of(rank);
            EXPECT_EQ(chunks.begin, next_chunk) << "rank " << rank;
            for (std::int64_t i = chunks.begin; i < chunks.end; ++i) {
                const Range rows = plan.chunk(i);
                EXPECT_EQ(rows.begin, next_row);
                EXPECT_GT(rows.size(), 0);
                next_row = rows.end;
            }
            next_chunk = chunks.end;
        }
        EXPECT_EQ(next_row, c.rows) << c.rows << "/" << c.chunk_rows << "/" << c.ranks;
        EXPECT_EQ(next_chunk, plan.chunk_count());
    }
}

TEST(ChunkPlan, ChunkGridDoesNotDependOnRankCount) {
    const ChunkPlan one(12345, 100, 1);
    for (int ranks = 2; ranks <= 9; ++ranks) {
        const ChunkPlan many(12345, 100, ranks);
        ASSERT_EQ(many.chunk_count(), one.chunk_count());
        for (std::int64_t i = 0; i < one.chunk_count(); ++i) {
            EXPECT_EQ(many.chunk(i).begin, one.chunk(i).begin);
            EXPECT_EQ(many.chunk(i).end, one.chunk(i).end);
        }
    }
}

TEST(ChunkPlan, RanksGetBalancedContiguousRuns) {
    for (const PlanCase& c : plan_cases) {
        const ChunkPlan plan(c.rows, c.chunk_rows, c.ranks);
        std::int64_t least = plan.chunk_count();
        std::int64_t most = 0;
        for (int rank = 0; rank < c.ranks; ++rank) {
            least = std::min(least, plan.chunks_of(rank).size());
            most = std::max(most, plan.chunks_of(rank).size());
        }
        EXPECT_LE(most - least, 1);
        EXPECT_EQ(plan.steps(), most);
    }
}

TEST(ChunkPlan, LastChunkHoldsTheRemainder) {
    const ChunkPlan plan(25, 10, 2);
    ASSERT_EQ(plan.chunk_count(), 3);
    EXPECT_EQ(plan.chunk(2).begin, 20);
    EXPECT_EQ(plan.chunk(2).end, 25);
}

TEST(ChunkPlan, RowsOfRankMatchItsChunks) {
    const ChunkPlan plan(95, 10, 4);  // 10 chunks: 2, 3, 2, 3
    EXPECT_EQ(plan.rows_of(0).begin, 0);
    EXPECT_EQ(plan.rows_of(0).end, 20);
    EXPECT_EQ(plan.rows_of(3).begin, 70);
    EXPECT_EQ(plan.rows_of(3).end, 95);
    const ChunkPlan sparse(3, 2, 4);  // 2 chunks over 4 ranks: two ranks get nothing
    EXPECT_TRUE(sparse.rows_of(0).empty());
    EXPECT_EQ(sparse.rows_of(1).size(), 2);
    EXPECT_TRUE(sparse.rows_of(2).empty());
    EXPECT_EQ(sparse.rows_of(3).size(), 1);
}

TEST(ChunkPlan, RowsDoneGrowsToTheTotal) {
    for (const PlanCase& c : plan_cases) {
        const ChunkPlan plan(c.rows, c.chunk_rows, c.ranks);
        EXPECT_EQ(plan.rows_done_after(0), 0);
        std::int64_t previous = 0;
        for (std::int64_t step = 1; step <= plan.steps(); ++step) {
            const std::int64_t done = plan.rows_done_after(step);
            EXPECT_GT(done, previous);
            previous = done;
        }
        EXPECT_EQ(plan.rows_done_after(plan.steps()), c.rows);
    }
}

TEST(ChunkPlan, RowsDoneCountsEachRanksFinishedChunks) {
    const ChunkPlan plan(95, 10, 4);  // ranks hold chunks {0,1} {2,3,4} {5,6} {7,8,9}
    EXPECT_EQ(plan.rows_done_after(1), 40);
    EXPECT_EQ(plan.rows_done_after(2), 80);
    EXPECT_EQ(plan.rows_done_after(3) - plan.rows_done_after(2), 15);  // chunk 4 + the 5-row tail
    EXPECT_EQ(plan.rows_done_after(3), 95);
}

}  // namespace
}  // namespace h5infer

namespace h5infer {
namespace {

std::vector<WorkItem> items_of_jobs(const std::vector<std::int64_t>& chunks_per_job) {
    std::vector<WorkItem> items;
    for (std::size_t job = 0; job < chunks_per_job.size(); ++job) {
        for (std::int64_t c = 0; c < chunks_per_job[job]; ++c) {
            items.push_back({static_cast<std::int64_t>(job), c, {c * 10, c * 10 + 10}});
        }
    }
    return items;
}

TEST(WorkPlan, CutsARoundIntoContiguousSharesInProportionToTheWeights) {
    // Equal weights: shares differ by at most one item and cover the round in rank order.
    for (const auto& [items, ranks] :
         std::vector<std::pair<Range, int>>{{{0, 7}, 3}, {{5, 5}, 2}, {{3, 4}, 4}, {{0, 64}, 2}}) {
        const std::vector<std::int64_t> cuts = cut(items, std::vector<double>(ranks, 1.0));
        ASSERT_EQ(cuts.size(), static_cast<std::size_t>(ranks) + 1);
        EXPECT_EQ(cuts.front(), items.begin);
        EXPECT_EQ(cuts.back(), items.end);
        std::int64_t most = 0;
        std::int64_t fewest = items.size();
        for (int k = 0; k < ranks; ++k) {
            const std::int64_t share = cuts[k + 1] - cuts[k];
            EXPECT_GE(share, 0);
            most = std::max(most, share);
            fewest = std::min(fewest, share);
        }
        EXPECT_LE(most - fewest, 1) << items.begin << ".." << items.end << " on " << ranks;
    }
    // Twice the weight, twice the items.
    EXPECT_EQ(cut({10, 40}, {2.0, 1.0}), (std::vector<std::int64_t>{10, 30, 40}));
    EXPECT_EQ(cut({0, 100}, {1.0, 1.0, 2.0}), (std::vector<std::int64_t>{0, 25, 50, 100}));
}

TEST(WorkPlan, RoundItemsKeepEveryShareWithinTheBuffer) {
    EXPECT_EQ(round_items(16, {1.0, 1.0}, 64), 32);
    EXPECT_EQ(round_items(64, {1.0, 1.0, 1.0}, 64), 192);
    // Rank 0 twice as fast: it would get 2/3 of 128 items, more than 64; the round shrinks so
    // that its share, rounded up, still fits.
    const std::vector<double> uneven{2.0, 1.0};
    const std::int64_t items = round_items(64, uneven, 64);
    EXPECT_EQ(items, 94);
    const std::vector<std::int64_t> cuts = cut({0, items}, uneven);
    EXPECT_LE(cuts[1] - cuts[0], 64);
    for (std::int64_t most = 2; most < 100; most += 7) {
        for (const std::vector<double>& weights :
             std::vector<std::vector<double>>{{3.0, 1.0}, {1.0, 0.3, 2.0}, {1.0, 4.0, 4.0, 0.25}}) {
            const std::vector<std::int64_t> shares =
                cut({0, round_items(most, weights, most)}, weights);
            for (std::size_t k = 0; k + 1 < shares.size(); ++k) {
                EXPECT_LE(shares[k + 1] - shares[k], most) << most;
            }
        }
    }
    EXPECT_EQ(round_items(1, {1.0, 5.0}, 1), 1);
}

TEST(WorkPlan, PaceWeightsFollowThePacesWithinLimits) {
    EXPECT_EQ(pace_weights({2.0, 1.0}), (std::vector<double>{2.0, 1.0}));
    // Nothing measured yet (or no rank had work): equal weights.
    EXPECT_EQ(pace_weights({0.0, 0.0, 0.0}), (std::vector<double>{1.0, 1.0, 1.0}));
    // Paces within pace_tolerance of their mean are noise: equal weights.
    EXPECT_EQ(pace_weights({1.008, 0.995, 1.0}), (std::vector<double>{1.0, 1.0, 1.0}));
    EXPECT_EQ(pace_weights({1.008, 0.0, 0.992}), (std::vector<double>{1.0, 1.0, 1.0}));
    // Two cores 3 % apart are not: a wide model's ranks would wait 1.5 % of every round.
    EXPECT_EQ(pace_weights({1.03, 1.0}), (std::vector<double>{1.03, 1.0}));
    // One core 12 % slower than the other (as on the 2-core VM measured) is not noise.
    EXPECT_EQ(pace_weights({0.88, 1.0}), (std::vector<double>{0.88, 1.0}));
    // A rank without a pace gets the mean of the others.
    EXPECT_EQ(pace_weights({3.0, 0.0, 1.0}), (std::vector<double>{3.0, 2.0, 1.0}));
    // One noisy round cannot starve a rank: within a factor max_pace_spread of the mean.
    const std::vector<double> weights = pace_weights({1000.0, 1.0});
    EXPECT_DOUBLE_EQ(weights[0], 1000.0);
    EXPECT_DOUBLE_EQ(weights[1], 500.5 / max_pace_spread);
}

TEST(WorkPlan, PaceMeterWeighsRecentRoundsMore) {
    PaceMeter meter;
    EXPECT_EQ(meter.pace(), 0.0);
    meter.add(0, 1.0);  // no items: nothing measured
    meter.add(5, 0.0);  // no time: nothing measured
    EXPECT_EQ(meter.pace(), 0.0);
    meter.add(10, 1.0);
    EXPECT_DOUBLE_EQ(meter.pace(), 10.0);
    // The earlier round counts pace_memory times as much as the new one.
    meter.add(10, 2.0);
    EXPECT_DOUBLE_EQ(meter.pace(), (10.0 * pace_memory + 10.0) / (1.0 * pace_memory + 2.0));
    // A core that slows down for good: the pace follows within a few rounds.
    for (int round = 0; round < 8; ++round) meter.add(10, 4.0);
    EXPECT_NEAR(meter.pace(), 2.5, 0.01);

    // A short first round gives no pace yet; with the next one the rounds are long enough.
    PaceMeter fresh;
    fresh.add(100, min_pace_seconds / 2);
    EXPECT_EQ(fresh.pace(), 0.0);
    fresh.add(100, min_pace_seconds);
    EXPECT_DOUBLE_EQ(fresh.pace(), (100.0 * pace_memory + 100.0) /
                                       (min_pace_seconds / 2 * pace_memory + min_pace_seconds));
    meter.add(0, 0.0);
    EXPECT_NEAR(meter.pace(), 2.5, 0.01);
}

TEST(WorkPlan, JobsAndRowRunsOfARangeOfItems) {
    // Job 0: 5 chunks, job 1: 3 chunks; a share of items 0-3 and one of items 4-7.
    const WorkPlan plan(items_of_jobs({5, 3}));
    ASSERT_EQ(plan.size(), 8);
    EXPECT_EQ(plan.jobs_in({0, 8}), (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(plan.jobs_in({4, 6}), (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(plan.jobs_in({1, 1}), std::vector<std::int64_t>{});
    using Bounds = std::vector<std::pair<std::int64_t, std::int64_t>>;
    EXPECT_EQ(plan.bounds(3), (Bounds{{0, 4}, {5, 7}, {-1, -1}}));
    const auto rows = [](const std::vector<Range>& runs) {
        std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
        for (const Range& run : runs) pairs.emplace_back(run.begin, run.end);
        return pairs;
    };
    // The items of a range, whole.
    const auto whole = [](const WorkPlan& of, Range items) {
        std::vector<Piece> pieces;
        for (std::int64_t i = items.begin; i < items.end; ++i) {
            pieces.push_back({i, of.items()[static_cast<std::size_t>(i)].rows});
        }
        return pieces;
    };
    using Pairs = std::vector<std::pair<std::int64_t, std::int64_t>>;
    EXPECT_EQ(rows(plan.row_runs(whole(plan, {0, 4}), 0)), (Pairs{{0, 40}}));
    EXPECT_EQ(rows(plan.row_runs(whole(plan, {1, 3}), 0)), (Pairs{{10, 30}}));
    EXPECT_EQ(rows(plan.row_runs(whole(plan, {0, 4}), 1)), Pairs{});
    EXPECT_EQ(rows(plan.row_runs(whole(plan, {4, 8}), 0)), (Pairs{{40, 50}}));
    EXPECT_EQ(rows(plan.row_runs(whole(plan, {4, 8}), 1)), (Pairs{{0, 30}}));
    // Parts of items join the runs of their neighbours.
    EXPECT_EQ(rows(plan.row_runs({{1, {14, 20}}, {2, {20, 30}}, {3, {30, 34}}}, 0)),
              (Pairs{{14, 34}}));

    // A resumed job: chunks 1 and 3 of 5 already done, so the rows break in three runs.
    std::vector<WorkItem> resumed;
    for (std::int64_t c : {0, 2, 4}) resumed.push_back({0, c, {c * 10, c * 10 + 10}});
    const WorkPlan gaps(resumed);
    EXPECT_EQ(rows(gaps.row_runs(whole(gaps, {0, 3}), 0)), (Pairs{{0, 10}, {20, 30}, {40, 50}}));
    EXPECT_EQ(rows(gaps.row_runs(whole(gaps, {1, 2}), 0)), (Pairs{{20, 30}}));
}

// The rows of a share.
std::int64_t rows_of(const std::vector<Piece>& share) {
    std::int64_t rows = 0;
    for (const Piece& piece : share) rows += piece.rows.size();
    return rows;
}

TEST(WorkPlan, SharesKeepItemsWholeWhenTheSplitRowsCoverThem) {
    // Job 0: 5 chunks of 10 rows, job 1: 3 chunks: shares() gives cut()'s items.
    const WorkPlan plan(items_of_jobs({5, 3}));
    for (const std::vector<double>& weights :
         std::vector<std::vector<double>>{{1.0, 1.0}, {2.0, 1.0}, {1.0, 1.0, 2.0}}) {
        const std::vector<std::vector<Piece>> shares = plan.shares({1, 8}, weights, 10);
        const std::vector<std::int64_t> cuts = cut({1, 8}, weights);
        ASSERT_EQ(shares.size(), weights.size());
        for (std::size_t k = 0; k < weights.size(); ++k) {
            ASSERT_EQ(static_cast<std::int64_t>(shares[k].size()), cuts[k + 1] - cuts[k]);
            for (std::size_t p = 0; p < shares[k].size(); ++p) {
                const std::int64_t item = cuts[k] + static_cast<std::int64_t>(p);
                EXPECT_EQ(shares[k][p].item, item);
                EXPECT_EQ(shares[k][p].rows.begin, plan.items()[item].rows.begin);
                EXPECT_EQ(shares[k][p].rows.end, plan.items()[item].rows.end);
            }
        }
    }
}

TEST(WorkPlan, SharesCutItemsOnlyAtMultiplesOfTheSplitRows) {
    const WorkPlan plan(items_of_jobs({5, 3}));
    // Twice the weight: 53 of the round's 80 rows would be exact; the nearest cut 4, 8 or 10
    // rows into an item is 54, 4 rows into job 1's first chunk.
    const std::vector<std::vector<Piece>> shares = plan.shares({0, 8}, {2.0, 1.0}, 4);
    ASSERT_EQ(shares.size(), 2U);
    ASSERT_EQ(shares[0].size(), 6U);
    EXPECT_EQ(shares[0].back().item, 5);
    EXPECT_EQ(shares[0].back().rows.begin, 0);
    EXPECT_EQ(shares[0].back().rows.end, 4);
    ASSERT_EQ(shares[1].size(), 3U);
    EXPECT_EQ(shares[1].front().item, 5);
    EXPECT_EQ(shares[1].front().rows.begin, 4);
    EXPECT_EQ(shares[1].front().rows.end, 10);
    EXPECT_EQ(rows_of(shares[0]), 54);

    // A short last chunk (3 rows): equal weights give equal rows as near as the cuts allow
    // (16.5 each: 15 and 18), not equal parts (4 and 4 parts would be 20 and 13 rows).
    const WorkPlan tail({{0, 0, {0, 10}}, {0, 1, {10, 20}}, {0, 2, {20, 30}}, {0, 3, {30, 33}}});
    const std::vector<std::vector<Piece>> even = tail.shares({0, 4}, {1.0, 1.0}, 5);
    EXPECT_EQ(rows_of(even[0]), 15);
    EXPECT_EQ(rows_of(even[1]), 18);
}

TEST(WorkPlan, SharesCoverTheRoundOnceInOrderForAnyWeights) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> weight(0.2, 3.0);
    std::uniform_int_distribution<std::int64_t> rows(1, 40);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<WorkItem> items;
        std::int64_t begin = 0;
        for (int i = 0; i < 1 + trial % 9; ++i) {
            const std::int64_t count = rows(rng);
            items.push_back({0, i, {begin, begin + count}});
            begin += count;
        }
        const WorkPlan plan(items);
        std::vector<double> weights(static_cast<std::size_t>(1 + trial % 5));
        for (double& w : weights) w = weight(rng);
        const std::int64_t split = 1 + trial % 13;
        const std::vector<std::vector<Piece>> shares =
            plan.shares({0, plan.size()}, weights, split);
        SCOPED_TRACE("trial " + std::to_string(trial));
        double total_weight = 0;
        for (double w : weights) total_weight += w;
        std::int64_t next = 0;  // every row once, in order
        for (std::size_t k = 0; k < shares.size(); ++k) {
            for (const Piece& piece : shares[k]) {
                const Range item = plan.items()[static_cast<std::size_t>(piece.item)].rows;
                ASSERT_EQ(piece.rows.begin, next);
                ASSERT_LT(piece.rows.begin, piece.rows.end);
                ASSERT_EQ((piece.rows.begin - item.begin) % split, 0);
                ASSERT_LE(piece.rows.end, item.end);
                if (piece.rows.end < item.end) {
                    ASSERT_EQ((piece.rows.end - item.begin) % split, 0);
                }
                next = piece.rows.end;
            }
            // Within a part of the exact share, up to the parts the cuts before it moved.
            const double exact = static_cast<double>(begin) * weights[k] / total_weight;
            EXPECT_LE(std::abs(static_cast<double>(rows_of(shares[k])) - exact),
                      2.0 * static_cast<double>(split));
        }
        EXPECT_EQ(next, begin);
    }
}

TEST(RoundSteps, TheFirstRoundIsAboutAQuarterSecondOfWorkPerRank) {
    // W1 (512-2048-2048-1024-16, 1024-row chunks): 4 chunks of 15 GFLOP.
    const std::int64_t w1 = 2 * (512 * 2048 + 2048 * 2048 + 2048 * 1024 + 1024 * 16);
    EXPECT_EQ(first_round_steps(1024, w1), 4);
    // W2 (64-64-64-1, 8192-row chunks): tiny chunks, at most max_first_round_steps.
    EXPECT_EQ(first_round_steps(8192, 2 * (64 * 64 + 64 * 64 + 64)), max_first_round_steps);
    // A chunk heavier than first_round_flops: one; nothing known: as many as allowed.
    EXPECT_EQ(first_round_steps(65536, w1), 1);
    EXPECT_EQ(first_round_steps(1024, 0), max_first_round_steps);
}

TEST(RoundSteps, AtMostWhatTheBufferHoldsAndNeverAcrossACheckpoint) {
    // W2 (8192-row chunks, 1 output): 2 MiB of 32 KiB per chunk. W1 (1024 rows, 16 outputs):
    // 64 KiB per chunk.
    EXPECT_EQ(most_round_steps(8192, 1, 0), 64);
    EXPECT_EQ(most_round_steps(1024, 16, 0), 32);
    EXPECT_EQ(most_round_steps(1024, 10, 0), 51);
    // Tiny chunks: capped. One chunk larger than the buffer: one chunk.
    EXPECT_EQ(most_round_steps(10, 1, 0), max_round_steps);
    EXPECT_EQ(most_round_steps(8192, 100, 0), 1);
    // --checkpoint-every N chunks.
    EXPECT_EQ(most_round_steps(8192, 1, 3), 3);
    EXPECT_EQ(most_round_steps(1024, 16, 100), 32);
}

TEST(RoundSteps, FollowThePaceOfTheLastRoundTowardsRoundSeconds) {
    // 16 chunks in 8 s: 2 chunks take round_seconds (1 s).
    EXPECT_EQ(next_round_steps(16, 8.0, 64), 2);
    // 16 chunks in 0.5 s: 32 take 1 s.
    EXPECT_EQ(next_round_steps(16, 0.5, 64), 32);
    // Fast rounds grow by at most max_round_growth per round, up to the most allowed.
    EXPECT_EQ(next_round_steps(16, 0.001, 1024), 16 * max_round_growth);
    EXPECT_EQ(next_round_steps(16, 0.001, 64), 64);
    EXPECT_EQ(next_round_steps(16, 0.0, 64), 64);
    // Never fewer than one chunk, however slow.
    EXPECT_EQ(next_round_steps(1, 100.0, 64), 1);
    EXPECT_EQ(next_round_steps(0, 0.0, 0), 1);
}

TEST(AutoChunkRows, AimsAtAFixedAmountOfWorkWithinBounds) {
    // The W1 benchmark's MLP, 512-2048-2048-1024-16: 14.7 MFLOP per row.
    EXPECT_EQ(auto_chunk_rows(14'714'880), 1024);
    // 1024-1024-1024-10 with relu: about 4.2 MFLOP per row, 3800 rows of work: 3 x 1024.
    EXPECT_EQ(auto_chunk_rows(4'220'000), 3072);
    // Narrow models (W2, W3) and degenerate ones get the largest chunk.
    EXPECT_EQ(auto_chunk_rows(16'577), max_auto_chunk_rows);
    EXPECT_EQ(auto_chunk_rows(0), max_auto_chunk_rows);
    // Huger than any chunk of work: never fewer than min_auto_chunk_rows.
    EXPECT_EQ(auto_chunk_rows(1'000'000'000), min_auto_chunk_rows);
    for (std::int64_t flops = 1; flops < 100'000'000; flops = flops * 3 + 1) {
        const std::int64_t rows = auto_chunk_rows(flops);
        EXPECT_EQ(rows % min_auto_chunk_rows, 0) << flops;
        EXPECT_GE(rows, min_auto_chunk_rows);
        EXPECT_LE(rows, max_auto_chunk_rows);
        EXPECT_GE(rows, auto_chunk_rows(flops * 2)) << "more work per row, no larger chunk";
    }
}

}  // namespace
}  // namespace h5infer
