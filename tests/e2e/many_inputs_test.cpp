// End-to-end: several inputs in one run (--input repeated or a glob, --input-list,
// --output-dir), skipping what is up to date, --copy of row-aligned datasets, and --report.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::testing {
namespace {

// Inputs of different sizes (one of 0 rows) for one model of 9 features, made once.
void make_inputs(const TempDir& dir,
                 const std::vector<std::pair<std::string, std::int64_t>>& files) {
    GenerateConfig config;
    config.features = 9;
    config.hidden = {12};
    config.outputs = 3;
    config.overwrite = true;
    if (!std::filesystem::exists(dir / "model.h5")) {
        config.model_path = dir / "model.h5";
        generate(config);
        config.model_path.clear();
    }
    for (const auto& [name, rows] : files) {
        config.data_path = dir / name;
        config.rows = rows;
        config.seed = static_cast<std::uint64_t>(rows) + 1;
        generate(config);
    }
}

std::vector<std::string> base(const TempDir& dir) {
    return {"run", "--model", dir / "model.h5", "--chunk-rows", "50"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

const std::vector<std::pair<std::string, std::int64_t>> files = {
    {"in/a.h5", 333}, {"in/b.h5", 20}, {"in/c.h5", 0}, {"in/d.h5", 1001}};

TEST(ManyInputs, OneFilePerInputEqualToSingleRunsOnOneAndThreeRanks) {
    TempDir dir;
    std::filesystem::create_directories(dir / "in");
    make_inputs(dir, files);
    for (const auto& [name, rows] : files) {
        const CommandResult single = run_h5infer(
            with(base(dir), {"--input", dir / name, "--output", dir / (name + ".single")}), {1});
        ASSERT_EQ(single.exit_code, 0) << single.err;
    }
    std::ofstream(dir / "list.txt") << "# the last one\n"
                                    << dir / "in/d.h5"
                                    << "\n";
    for (int ranks : {1, 3}) {
        const std::string out = dir / ("out" + std::to_string(ranks));
        std::filesystem::create_directory(out);
        const CommandResult result =
            run_h5infer(with(base(dir), {"--input", dir / "in/[abc].h5", "--input-list",
                                         dir / "list.txt", "--output-dir", out}),
                        {ranks});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        EXPECT_NE(result.out.find("4 inputs (0 up to date)"), std::string::npos) << result.out;
        for (const char* name : {"a", "b", "c", "d"}) {
            EXPECT_TRUE(same_predictions(out + "/" + name + ".predictions.h5",
                                         dir / ("in/" + std::string(name) + ".h5.single")))
                << name << " on " << ranks << " ranks";
        }
        EXPECT_EQ(list_dir(out).size(), 4U) << "partial files left behind";
    }
}

TEST(ManyInputs, ARerunComputesOnlyNewAndChangedInputs) {
    TempDir dir;
    std::filesystem::create_directories(dir / "in");
    make_inputs(dir, {{"in/a.h5", 333}, {"in/b.h5", 20}});
    std::filesystem::create_directory(dir / "out");
    const std::vector<std::string> args =
        with(base(dir), {"--input", dir / "in/*.h5", "--output-dir", dir / "out", "--overwrite"});
    ASSERT_EQ(run_h5infer(args, {2}).exit_code, 0);
    const auto a_written = std::filesystem::last_write_time(dir / "out/a.predictions.h5");

    make_inputs(dir, {{"in/c.h5", 77}});  // a new file arrives
    const CommandResult second = run_h5infer(args, {2});
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(second.out.find("skip " + dir / "in/a.h5"), std::string::npos) << second.out;
    EXPECT_NE(second.out.find("skip " + dir / "in/b.h5"), std::string::npos) << second.out;
    EXPECT_EQ(second.out.find("skip " + dir / "in/c.h5"), std::string::npos) << second.out;
    EXPECT_NE(second.out.find("3 inputs (2 up to date), wrote 77 rows"), std::string::npos)
        << second.out;
    EXPECT_EQ(std::filesystem::last_write_time(dir / "out/a.predictions.h5"), a_written);

    make_inputs(dir, {{"in/b.h5", 21}});  // b is rewritten: its prediction file is stale
    const CommandResult third = run_h5infer(args, {2});
    ASSERT_EQ(third.exit_code, 0) << third.err;
    EXPECT_EQ(third.out.find("skip " + dir / "in/b.h5"), std::string::npos) << third.out;
    EXPECT_EQ(read_matrix(dir / "out/b.predictions.h5", "/predictions").rows, 21);
}

TEST(ManyInputs, ConflictingOutputNamesAreAUsageErrorWithNothingWritten) {
    TempDir dir;
    std::filesystem::create_directories(dir / "x");
    std::filesystem::create_directories(dir / "y");
    make_inputs(dir, {{"x/a.h5", 10}, {"y/a.h5", 10}});
    std::filesystem::create_directory(dir / "out");
    const CommandResult result = run_h5infer(
        with(base(dir),
             {"--input", dir / "x/a.h5", "--input", dir / "y/a.h5", "--output-dir", dir / "out"}),
        {2});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Usage)) << result.err;
    EXPECT_NE(result.err.find("would both write"), std::string::npos) << result.err;
    EXPECT_TRUE(list_dir(dir / "out").empty());
}

// Adds /event_id (int64), /key (8-byte strings) and /position (float64, 3 columns) to a file.
void add_row_data(const std::string& path, std::int64_t rows) {
    h5::Handle file = h5::open_file(path, true);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
    std::string keys(static_cast<std::size_t>(rows) * 8, '\0');
    std::vector<double> positions(static_cast<std::size_t>(rows) * 3);
    for (std::int64_t r = 0; r < rows; ++r) {
        ids[r] = 1000000007LL * r;
        const std::string key = "k" + std::to_string(r);
        keys.replace(static_cast<std::size_t>(r) * 8, key.size(), key);
        for (int c = 0; c < 3; ++c) positions[r * 3 + c] = static_cast<double>(r) + c / 4.0;
    }
    h5::Handle id = h5::create_dataset(file.get(), "/event_id", {rows}, H5T_STD_I64LE);
    H5Dwrite(id.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data());
    h5::Handle string_type = h5::fixed_string_type(8);
    h5::Handle key = h5::create_dataset(file.get(), "/meta/key", {rows}, string_type.get());
    H5Dwrite(key.get(), string_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, keys.data());
    h5::Handle position = h5::create_dataset(file.get(), "/position", {rows, 3}, H5T_IEEE_F64LE);
    H5Dwrite(position.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, positions.data());
    h5::Handle short_one = h5::create_dataset(file.get(), "/short", {rows - 1}, H5T_STD_I64LE);
}

template <typename T>
std::vector<T> read_raw(const std::string& path, const std::string& dataset, hid_t type,
                        std::size_t count) {
    h5::Handle file = h5::open_file(path);
    h5::Handle data = h5::open_dataset(file.get(), dataset);
    std::vector<T> values(count);
    EXPECT_GE(H5Dread(data.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
    return values;
}

TEST(Copy, RowAlignedDatasetsAreCopiedNextToThePredictionsOnThreeRanks) {
    TempDir dir;
    make_inputs(dir, {{"data.h5", 1001}});
    add_row_data(dir / "data.h5", 1001);
    const CommandResult result = run_h5infer(
        with(base(dir), {"--input", dir / "data.h5:/features", "--output", dir / "p.h5", "--copy",
                         "/event_id", "--copy", "meta/key", "--copy", "/position"}),
        {3});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::size_t rows = 1001;
    EXPECT_EQ(read_raw<std::int64_t>(dir / "p.h5", "/event_id", H5T_NATIVE_INT64, rows),
              read_raw<std::int64_t>(dir / "data.h5", "/event_id", H5T_NATIVE_INT64, rows));
    EXPECT_EQ(read_raw<double>(dir / "p.h5", "/position", H5T_NATIVE_DOUBLE, rows * 3),
              read_raw<double>(dir / "data.h5", "/position", H5T_NATIVE_DOUBLE, rows * 3));
    h5::Handle string_type = h5::fixed_string_type(8);
    EXPECT_EQ(read_raw<char>(dir / "p.h5", "/meta/key", string_type.get(), rows * 8),
              read_raw<char>(dir / "data.h5", "/meta/key", string_type.get(), rows * 8));
    EXPECT_EQ(read_matrix(dir / "p.h5", "/predictions").rows, 1001);
}

TEST(Copy, ADatasetThatIsNotRowAlignedIsAnInputErrorWithNoOutput) {
    TempDir dir;
    make_inputs(dir, {{"data.h5", 100}});
    add_row_data(dir / "data.h5", 100);
    for (const auto& [copy, message] : std::vector<std::pair<std::string, std::string>>{
             {"/short", "one row per input row (100)"}, {"/nothing", "no such dataset"}}) {
        const CommandResult result = run_h5infer(
            with(base(dir),
                 {"--input", dir / "data.h5:/features", "--output", dir / "p.h5", "--copy", copy}),
            {2});
        EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Input)) << result.err;
        EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
        EXPECT_EQ(list_dir(dir.path()), (std::vector<std::string>{"data.h5", "model.h5"}));
    }
    const CommandResult clash =
        run_h5infer(with(base(dir), {"--input", dir / "data.h5:/features", "--output",
                                     dir / "p.h5:/event_id", "--copy", "/event_id"}),
                    {2});
    EXPECT_EQ(clash.exit_code, static_cast<int>(ExitCode::Usage)) << clash.err;
    EXPECT_NE(clash.err.find("would clash"), std::string::npos) << clash.err;
}

TEST(Report, JsonGivesEveryRanksRowsChunksAndSeconds) {
    TempDir dir;
    make_inputs(dir, {{"data.h5", 1001}});
    const CommandResult result = run_h5infer(
        with(base(dir),
             {"--input", dir / "data.h5", "--output", dir / "p.h5", "--report", dir / "run.json"}),
        {3});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string json = read_text(dir / "run.json");
    EXPECT_EQ(count_occurrences(json, "{\"rank\": "), 3U) << json;
    for (const char* field : {"\"read_seconds\"", "\"compute_seconds\"", "\"write_seconds\"",
                              "\"wait_seconds\"", "\"chunks\""}) {
        EXPECT_EQ(count_occurrences(json, field), 3U) << field << " in " << json;
    }
    EXPECT_NE(json.find("\"rows\": 1001,"), std::string::npos) << json;
    // 21 chunks of 50 rows over 3 ranks (too short to be cut: whole chunks), a third of the
    // rows each as near as whole chunks allow, and the rows and chunks add up.
    const std::regex per_rank(R"("rows": (\d+), "chunks": (\d+)\})");
    std::int64_t rows = 0;
    std::int64_t chunks = 0;
    int ranks = 0;
    for (auto match = std::sregex_iterator(json.begin(), json.end(), per_rank);
         match != std::sregex_iterator(); ++match, ++ranks) {
        const std::int64_t share = std::stoll((*match)[1]);
        EXPECT_LE(std::abs(3 * share - 1001), 3 * 50) << json;
        rows += share;
        chunks += std::stoll((*match)[2]);
    }
    EXPECT_EQ(ranks, 3) << json;
    EXPECT_EQ(rows, 1001) << json;
    EXPECT_EQ(chunks, 21) << json;
    EXPECT_NE(json.find("\"rank\": 2, \"setup_seconds\""), std::string::npos) << json;
}

}  // namespace
}  // namespace h5infer::testing

namespace h5infer::testing {
namespace {

TEST(Resume, APartialFileThatCannotBeTrustedIsDiscardedWithAMessage) {
    TempDir dir;
    make_inputs(dir, {{"data.h5", 300}});
    const std::vector<std::string> args =
        with(base(dir), {"--input", dir / "data.h5", "--output", dir / "p.h5"});
    ASSERT_EQ(
        run_h5infer(with(base(dir), {"--input", dir / "data.h5", "--output", dir / "want.h5"}), {1})
            .exit_code,
        0);
    const std::string partial = dir / ".p.h5.h5infer-partial.tmp";
    {
        h5::Handle file = h5::create_file(partial);  // another job's partial file
        h5::write_attribute(file.get(), "h5infer_fingerprint", std::string("model_sha256=0\n"));
    }
    std::ofstream(dir / "garbage") << "not HDF5";
    for (const std::string& reason : {std::string("differs"), std::string("cannot be read")}) {
        const CommandResult result = run_h5infer(args, {2});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        EXPECT_NE(result.out.find("discard the partial file " + partial), std::string::npos)
            << result.out;
        EXPECT_NE(result.out.find(reason), std::string::npos) << result.out;
        EXPECT_TRUE(same_predictions(dir / "p.h5", dir / "want.h5"));
        EXPECT_FALSE(std::filesystem::exists(partial));
        std::filesystem::remove(dir / "p.h5");
        std::filesystem::copy_file(dir / "garbage", partial);
    }
}

TEST(Resume, CheckpointIntervalMustBeSecondsMinutesOrChunks) {
    TempDir dir;
    make_inputs(dir, {{"data.h5", 10}});
    for (const char* bad : {"5x", "-1", "1.5chunks", "chunks"}) {
        const CommandResult result = run_h5infer(
            with(base(dir),
                 {"--input", dir / "data.h5", "--output", dir / "p.h5", "--checkpoint-every", bad}),
            {1});
        EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Usage)) << bad;
        EXPECT_NE(result.err.find("is not 60s, 10m or 50chunks"), std::string::npos) << result.err;
        EXPECT_FALSE(std::filesystem::exists(dir / "p.h5"));
    }
}

}  // namespace
}  // namespace h5infer::testing
