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
    prepared.jobs = {job_of(25, 3), job_of(0, 5), job_of(10, 4)};
    const RunPlan plan = plan_run(prepared);
    ASSERT_EQ(plan.work.size(), 4);
    const std::vector<std::pair<std::int64_t, std::int64_t>> expected{
        {0, 0}, {0, 1}, {0, 2}, {2, 0}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(plan.work.items()[i].job, expected[i].first) << i;
        EXPECT_EQ(plan.work.items()[i].chunk, expected[i].second) << i;
    }
    EXPECT_EQ(plan.work.items()[2].rows.begin, 20);
    EXPECT_EQ(plan.work.items()[2].rows.end, 25);
    EXPECT_EQ(plan.rows_to_do, 35);
    EXPECT_EQ(plan.largest_input, 25);
    EXPECT_EQ(plan.widest_input, 5);
    EXPECT_EQ(plan.job_items[0], std::make_pair(std::int64_t{0}, std::int64_t{2}));
    EXPECT_EQ(plan.job_items[1], std::make_pair(std::int64_t{-1}, std::int64_t{-1}));
    EXPECT_EQ(plan.job_items[2], std::make_pair(std::int64_t{3}, std::int64_t{3}));
    EXPECT_EQ(plan.done[0], std::vector<char>(3, 0));
}

TEST(PlanRun, LeavesOutSkippedJobsAndResumedChunks) {
    Prepared prepared;
    prepared.chunk_rows = 10;
    prepared.jobs = {job_of(30, 2), job_of(40, 9), job_of(5, 2)};
    prepared.jobs[0].resume = true;
    prepared.jobs[0].done = {1, 0, 1};
    prepared.jobs[1].skip = true;
    const RunPlan plan = plan_run(prepared);
    ASSERT_EQ(plan.work.size(), 2);
    EXPECT_EQ(plan.work.items()[0].job, 0);
    EXPECT_EQ(plan.work.items()[0].chunk, 1);
    EXPECT_EQ(plan.work.items()[1].job, 2);
    EXPECT_EQ(plan.rows_to_do, 15);
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
    const RunPlan plan = plan_run(prepared);
    EXPECT_EQ(plan.work.size(), 0);
    EXPECT_EQ(plan.rows_to_do, 0);
    EXPECT_EQ(plan.largest_input, 1);
}

}  // namespace
}  // namespace h5infer::stages
