#include "stages/run_plan.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace h5infer::stages {
namespace {

PreparedJob job_of(std::int64_t rows, std::int64_t cols) {
    PreparedJob job;
    job.input.rows = rows;
    job.input.cols = cols;
    return job;
}

TEST(PlanRun, ListsEveryChunkToDoInInputOrder) {
    Prepared prepared;
    prepared.chunk_rows = 10;
    prepared.jobs = {job_of(25, 3), job_of(0, 5), job_of(12, 4)};
    const RunPlan plan = plan_run(prepared, 2);
    ASSERT_EQ(plan.work.size(), 5);
    const std::vector<std::pair<std::int64_t, std::int64_t>> expected{
        {0, 0}, {0, 1}, {0, 2}, {2, 0}, {2, 1}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(plan.work.items()[i].job, expected[i].first) << i;
        EXPECT_EQ(plan.work.items()[i].chunk, expected[i].second) << i;
    }
    EXPECT_EQ(plan.work.items()[2].rows.begin, 20);
    EXPECT_EQ(plan.work.items()[2].rows.end, 25);
    EXPECT_EQ(plan.rows_to_do, 37);
    EXPECT_EQ(plan.largest_input, 25);
    EXPECT_EQ(plan.widest_input, 5);
    EXPECT_EQ(plan.job_items[0], std::make_pair(std::int64_t{0}, std::int64_t{2}));
    EXPECT_EQ(plan.job_items[1], std::make_pair(std::int64_t{-1}, std::int64_t{-1}));
    EXPECT_EQ(plan.job_items[2], std::make_pair(std::int64_t{3}, std::int64_t{4}));
    EXPECT_EQ(plan.done[0], std::vector<char>(3, 0));
    EXPECT_EQ(plan.alone, (std::vector<int>{-1, -1, -1}));
}

// Inputs of one chunk are dealt out whole, largest first, to the rank with the fewest rows.
TEST(PlanRun, DealsOutInputsOfOneChunkWhenThereAreSeveral) {
    Prepared prepared;
    prepared.chunk_rows = 10;
    prepared.jobs = {job_of(4, 3), job_of(25, 3), job_of(10, 3), job_of(7, 3),
                     job_of(0, 3), job_of(6, 3),  job_of(9, 3)};
    prepared.jobs[6].resume = true;  // its partial file is continued in the rounds
    prepared.jobs[6].done = {0};
    const RunPlan plan = plan_run(prepared, 2);
    // 10 to rank 0, 7 to rank 1, 6 to rank 1 (7 < 10), 4 to rank 0 (10 < 13)
    EXPECT_EQ(plan.alone, (std::vector<int>{0, -1, 0, 1, -1, 1, -1}));
    ASSERT_EQ(plan.work.size(), 4);
    EXPECT_EQ(plan.work.items()[3].job, 6);
    EXPECT_EQ(plan.rows_to_do, 4 + 25 + 10 + 7 + 6 + 9);
    EXPECT_EQ(plan.job_items[0], std::make_pair(std::int64_t{-1}, std::int64_t{-1}));
}

// A single input to compute is shared by the ranks, whatever its size.
TEST(PlanRun, ASingleInputIsNeverDoneAlone) {
    Prepared prepared;
    prepared.chunk_rows = 10;
    prepared.jobs = {job_of(4, 3), job_of(6, 3)};
    prepared.jobs[1].skip = true;
    const RunPlan plan = plan_run(prepared, 3);
    EXPECT_EQ(plan.alone, (std::vector<int>{-1, -1}));
    EXPECT_EQ(plan.work.size(), 1);
}

TEST(PlanRun, LeavesOutSkippedJobsAndResumedChunks) {
    Prepared prepared;
    prepared.chunk_rows = 10;
    prepared.jobs = {job_of(30, 2), job_of(40, 9), job_of(15, 2)};
    prepared.jobs[0].resume = true;
    prepared.jobs[0].done = {1, 0, 1};
    prepared.jobs[1].skip = true;
    const RunPlan plan = plan_run(prepared, 2);
    ASSERT_EQ(plan.work.size(), 3);
    EXPECT_EQ(plan.work.items()[0].job, 0);
    EXPECT_EQ(plan.work.items()[0].chunk, 1);
    EXPECT_EQ(plan.work.items()[1].job, 2);
    EXPECT_EQ(plan.rows_to_do, 25);
    EXPECT_EQ(plan.resumed_chunks, 2);
    EXPECT_EQ(plan.skipped, 1);
    EXPECT_EQ(plan.largest_input, 30);  // the skipped job's 40 rows need no buffer
    EXPECT_EQ(plan.widest_input, 9);
    EXPECT_EQ(plan.done[0], (std::vector<char>{1, 0, 1}));
    EXPECT_TRUE(plan.done[1].empty());
}

TEST(PlanRun, NothingToDoWhenEveryOutputIsUpToDate) {
    Prepared prepared;
    prepared.chunk_rows = 10;
    prepared.jobs = {job_of(30, 2)};
    prepared.jobs[0].skip = true;
    const RunPlan plan = plan_run(prepared, 2);
    EXPECT_EQ(plan.work.size(), 0);
    EXPECT_EQ(plan.rows_to_do, 0);
    EXPECT_EQ(plan.largest_input, 1);
}

}  // namespace
}  // namespace h5infer::stages
