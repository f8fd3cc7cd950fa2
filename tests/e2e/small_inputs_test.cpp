// End-to-end: a run of many inputs of one chunk each, which the ranks compute and write alone
// (RunPlan::alone): the same files as single runs, stops and failures that leave only complete
// files under final names and no partial file.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "e2e/background_job.hpp"
#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::testing {
namespace {

using namespace std::chrono_literals;

// `count` inputs in dir/in, of 1 + (i * 7) % rows_up_to rows, for one model of 9 features.
void make_inputs(const TempDir& dir, int count, std::int64_t rows_up_to) {
    std::filesystem::create_directories(dir / "in");
    std::filesystem::create_directories(dir / "out");
    GenerateConfig config;
    config.features = 9;
    config.hidden = {16};
    config.outputs = 3;
    config.model_path = dir / "model.h5";
    generate(config);
    config.model_path.clear();
    for (int i = 0; i < count; ++i) {
        config.data_path = dir / ("in/" + std::to_string(1000 + i) + ".h5");
        config.rows = 1 + (i * 7) % rows_up_to;
        config.seed = static_cast<std::uint64_t>(i) + 1;
        generate(config);
    }
}

std::vector<std::string> folder_run(const TempDir& dir, const std::vector<std::string>& more) {
    std::vector<std::string> args{"run",       "--model",       dir / "model.h5",
                                  "--input",   dir / "in/*.h5", "--output-dir",
                                  dir / "out", "--chunk-rows",  "50"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// A complete prediction file: its rows (unless `rows` is -1), its provenance, no progress record.
void expect_complete(const std::string& output, std::int64_t rows) {
    const Matrix predictions = read_matrix(output, "/predictions");
    if (rows >= 0) {
        EXPECT_EQ(predictions.rows, rows) << output;
    }
    h5::Handle file = h5::open_file(output);
    EXPECT_TRUE(h5::has_attribute(file.get(), "elapsed_seconds")) << output;
    EXPECT_EQ(h5::object_type(file.get(), "/h5infer_progress"), h5::ObjectType::Missing) << output;
}

std::vector<std::string> partial_files(const std::string& directory) {
    std::vector<std::string> partial;
    for (const std::string& name : list_dir(directory)) {
        if (name.find(".h5infer-") != std::string::npos) partial.push_back(name);
    }
    return partial;
}

// Inputs of one chunk, mixed with inputs of several and of none, give the files single runs
// give, on any number of ranks; a rerun skips them all.
TEST(SmallInputs, EachIsTheFileOfASingleRunOnOneToFourRanks) {
    TempDir dir;
    make_inputs(dir, 9, 130);  // 1, 8, ..., 50 (one chunk), 57, ... (several)
    GenerateConfig empty;
    empty.data_path = dir / "in/0999.h5";
    empty.rows = 0;
    empty.features = 9;
    generate(empty);
    std::filesystem::create_directory(dir / "single");
    for (const std::string& name : list_dir(dir / "in")) {
        const CommandResult single =
            run_h5infer({"run", "--model", dir / "model.h5", "--input", dir / ("in/" + name),
                         "--output", dir / ("single/" + name), "--chunk-rows", "50"},
                        {1});
        ASSERT_EQ(single.exit_code, 0) << single.err;
    }
    for (int ranks : {1, 2, 3, 4}) {
        std::filesystem::remove_all(dir / "out");
        std::filesystem::create_directory(dir / "out");
        const CommandResult result = run_h5infer(folder_run(dir, {}), {ranks});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        for (const std::string& name : list_dir(dir / "in")) {
            const std::string stem = name.substr(0, name.size() - 3);
            const std::string output = dir / ("out/" + stem + ".predictions.h5");
            EXPECT_TRUE(same_predictions(output, dir / ("single/" + name)))
                << name << " on " << ranks << " ranks";
            expect_complete(output, read_matrix(dir / ("single/" + name), "/predictions").rows);
        }
        EXPECT_EQ(list_dir(dir / "out").size(), 10U) << "partial or lock files left behind";
        const CommandResult rerun = run_h5infer(folder_run(dir, {}), {ranks});
        ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
        EXPECT_NE(rerun.out.find("10 inputs (10 up to date)"), std::string::npos) << rerun.out;
    }
}

// A rank that fails on an input it computes alone fails the job with the input's error, printed
// once; the files it and the others finished before stay complete, and no partial file stays.
TEST(SmallInputs, AFailureLeavesOnlyCompleteFilesAndNoPartialFile) {
    TempDir dir;
    make_inputs(dir, 40, 50);
    {
        h5::Handle file = h5::open_file(dir / "in/1033.h5", true);
        h5::Handle data = h5::open_dataset(file.get(), "/features");
        std::vector<float> row(9, NAN);
        h5::write_rows(data.get(), 0, 1, 9, row.data());
    }
    const CommandResult result = run_h5infer(folder_run(dir, {"--fail-on-nonfinite"}), {3});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Input)) << result.err;
    EXPECT_NE(result.err.find("in '" + dir / "in/1033.h5" + "' has 1 row with NaN or Inf"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
    EXPECT_TRUE(partial_files(dir / "out").empty());
    for (const std::string& name : list_dir(dir / "out"))
        expect_complete(dir / ("out/" + name), -1);
}

// A stop signal to every rank while they work alone: 75, every file under a final name
// complete, no partial file; the rerun does the rest and skips what is done.
TEST(SmallInputs, AStopLeavesOnlyCompleteFilesAndTheRerunDoesTheRest) {
    TempDir dir;
    constexpr int inputs = 600;
    make_inputs(dir, inputs, 50);
    const std::vector<std::string> args = folder_run(dir, {"--backend", "reference"});
    BackgroundJob job(h5infer_command(args, {2}, dir / "stdout", dir / "stderr"));
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (list_dir(dir / "out").size() < 3 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(2ms);
    }
    const std::vector<pid_t> ranks = processes_matching(dir / "out", job.shell());
    ASSERT_EQ(ranks.size(), 2U) << read_text(dir / "stderr");
    for (pid_t rank : ranks) ::kill(rank, SIGUSR1);
    const int code = job.wait(60s, dir / "out");
    ASSERT_EQ(code, static_cast<int>(ExitCode::Interrupted)) << read_text(dir / "stderr");
    EXPECT_TRUE(partial_files(dir / "out").empty());
    const std::vector<std::string> finished = list_dir(dir / "out");
    EXPECT_LT(finished.size(), static_cast<std::size_t>(inputs)) << "the stop came too late";
    for (const std::string& name : finished) expect_complete(dir / ("out/" + name), -1);

    const CommandResult rerun = run_h5infer(args, {2});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find(std::to_string(inputs) + " inputs (" +
                             std::to_string(finished.size()) + " up to date)"),
              std::string::npos)
        << rerun.out;
    EXPECT_EQ(list_dir(dir / "out").size(), static_cast<std::size_t>(inputs));
}

}  // namespace
}  // namespace h5infer::testing
