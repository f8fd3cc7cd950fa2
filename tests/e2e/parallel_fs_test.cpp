// What users of Lustre and GPFS pass for their prediction files: MPI-IO hints (--io-hint) and
// the alignment of the datasets to the stripe or block size (--align). Neither changes a bit of
// the predictions; bad values are refused before any work.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::testing {
namespace {

class ParallelFileSystem : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        directory_ = std::make_unique<TempDir>();
        // 96 KB of predictions: above h5::alignment_threshold.
        generate(model_and_data(*directory_, 8001, 12, {20}, 3));
        const CommandResult plain = run_h5infer(args("plain.h5"), {2});
        ASSERT_EQ(plain.exit_code, 0) << plain.err;
    }
    static void TearDownTestSuite() { directory_.reset(); }

    static std::vector<std::string> args(const std::string& output,
                                         const std::vector<std::string>& extra = {}) {
        std::vector<std::string> arguments{"run",
                                           "--model",
                                           *directory_ / "model.h5",
                                           "--input",
                                           *directory_ / "data.h5",
                                           "--output",
                                           *directory_ / output,
                                           "--chunk-rows",
                                           "500"};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return arguments;
    }

    static std::int64_t predictions_offset(const std::string& output) {
        const h5::Handle file = h5::open_file(*directory_ / output);
        const h5::Handle dataset = h5::open_dataset(file.get(), "/predictions");
        const auto data = h5::contiguous_data(dataset.get(), H5T_NATIVE_FLOAT);
        EXPECT_TRUE(data.has_value());
        return data ? data->offset : -1;
    }

    static std::unique_ptr<TempDir> directory_;
};

std::unique_ptr<TempDir> ParallelFileSystem::directory_;

TEST_F(ParallelFileSystem, AlignStartsThePredictionsAtAMultipleOfTheSize) {
    ASSERT_NE(predictions_offset("plain.h5") % (1 << 20), 0) << "aligned without --align";
    const CommandResult result = run_h5infer(args("aligned.h5", {"--align", "1M"}), {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(predictions_offset("aligned.h5") % (1 << 20), 0);
    EXPECT_TRUE(same_predictions(*directory_ / "aligned.h5", *directory_ / "plain.h5"));
}

TEST_F(ParallelFileSystem, IoHintsAreTakenAndChangeNoBit) {
    const CommandResult result =
        run_h5infer(args("hinted.h5", {"--io-hint", "cb_buffer_size=1048576", "--io-hint",
                                       "romio_cb_write=enable", "--io-hint", "cb_nodes=1"}),
                    {3});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(same_predictions(*directory_ / "hinted.h5", *directory_ / "plain.h5"));
}

TEST_F(ParallelFileSystem, MalformedHintsAndSizesAreRefusedBeforeAnyWork) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--io-hint", "cb_nodes"}, "--io-hint 'cb_nodes': expected KEY=VALUE"},
        {{"--io-hint", "=4"}, "--io-hint '=4': expected KEY=VALUE"},
        {{"--align", "4X"},
         "expected a size such as 1M or 4194304 (bytes, with K, M or G), "
         "got '4X'"},
        {{"--align", "0"}, "got '0'"},
        {{"--align", "-1M"}, "got '-1M'"},
    };
    for (const auto& [extra, message] : cases) {
        const CommandResult result = run_h5infer(args("refused.h5", extra), {2});
        EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Usage)) << extra[1] << result.err;
        EXPECT_EQ(count_occurrences(result.err, message), 1U) << result.err;
        EXPECT_FALSE(std::filesystem::exists(*directory_ / "refused.h5"));
    }
}

}  // namespace
}  // namespace h5infer::testing
