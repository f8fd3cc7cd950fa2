// Past the 1-4 ranks of the MPI tests: 8 to 64 ranks (oversubscribed on a small machine) over
// inputs with fewer chunks than ranks, fewer rows than ranks, no rows, and a chunked input read
// through HDF5, in one run with --output-dir: every prediction file bitwise that of 1 rank.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

// name, rows, layout: 3 chunks of 64 rows; fewer rows than ranks; none; 40 chunks through HDF5.
const std::vector<std::tuple<std::string, std::int64_t, std::string>> inputs = {
    {"small.h5", 150, "contiguous"},
    {"tiny.h5", 5, "contiguous"},
    {"empty.h5", 0, "contiguous"},
    {"chunked.h5", 2531, "chunked"}};

class ManyRanks : public ::testing::TestWithParam<int> {
protected:
    static void SetUpTestSuite() {
        directory_ = std::make_unique<TempDir>();
        std::filesystem::create_directories(*directory_ / "in");
        GenerateConfig config;
        config.features = 10;
        config.hidden = {48, 24};
        config.outputs = 3;
        config.model_path = *directory_ / "model.h5";
        generate(config);
        config.model_path.clear();
        for (const auto& [name, rows, layout] : inputs) {
            config.data_path = *directory_ / ("in/" + name);
            config.rows = rows;
            config.layout = layout;
            config.chunk_rows = 100;
            config.seed = static_cast<std::uint64_t>(rows) + 7;
            generate(config);
        }
        const CommandResult one = run_h5infer(args("one"), {1});
        ASSERT_EQ(one.exit_code, 0) << one.err;
    }
    static void TearDownTestSuite() { directory_.reset(); }

    static std::vector<std::string> args(const std::string& output_dir) {
        std::filesystem::create_directories(*directory_ / output_dir);
        return {"run",
                "--model",
                *directory_ / "model.h5",
                "--input",
                *directory_ / "in/*.h5",
                "--output-dir",
                *directory_ / output_dir,
                "--chunk-rows",
                "64",
                "--threads",
                "1",
                "--checkpoint-every",
                "1chunks"};
    }

    static std::unique_ptr<TempDir> directory_;
};

std::unique_ptr<TempDir> ManyRanks::directory_;

TEST_P(ManyRanks, EveryFileIsBitwiseThatOfOneRank) {
    const int ranks = GetParam();
    const std::string output_dir = "ranks" + std::to_string(ranks);
    const CommandResult result = run_h5infer(args(output_dir), {ranks});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    for (const auto& [name, rows, layout] : inputs) {
        const std::string file = name.substr(0, name.size() - 3) + ".predictions.h5";
        const std::string got = *directory_ / (output_dir + "/" + file);
        ASSERT_TRUE(std::filesystem::exists(got)) << got << "\n" << result.out;
        EXPECT_TRUE(same_predictions(got, *directory_ / ("one/" + file)))
            << name << " on " << ranks;
    }
    EXPECT_EQ(list_dir(*directory_ / output_dir).size(), inputs.size())
        << "partial or lock files left behind";
}

INSTANTIATE_TEST_SUITE_P(Ranks, ManyRanks, ::testing::Values(8, 16, 32, 64));

}  // namespace
}  // namespace h5infer::testing
