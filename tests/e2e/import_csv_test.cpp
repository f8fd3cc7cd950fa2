// End-to-end: `h5infer import-csv` through the real binary, and `run` on what it wrote.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "e2e/background_job.hpp"
#include "e2e/cli_runner.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::testing {
namespace {

constexpr std::int64_t rows = 257;
constexpr std::int64_t features = 5;

class ImportCsv : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "model.h5";
        config.rows = rows;
        config.features = features;
        config.hidden = {9};
        config.outputs = 3;
        generate(config);
    }

    // The generated dataset as CSV (CRLF, a leading text column, quoted names), with every
    // float32 printed exactly.
    std::string write_csv() const {
        const Matrix data = read_matrix(dir_ / "data.h5", "/features");
        std::string text = "id";
        for (std::int64_t j = 0; j < features; ++j) text += ",\"f" + std::to_string(j) + "\"";
        text += "\r\n";
        for (std::int64_t i = 0; i < data.rows; ++i) {
            text += "row" + std::to_string(i);
            for (std::int64_t j = 0; j < data.cols; ++j) {
                char value[32];
                std::snprintf(value, sizeof(value), ",%.9g",
                              static_cast<double>(data.values[i * data.cols + j]));
                text += value;
            }
            text += "\r\n";
        }
        return write_text("data.csv", text);
    }

    std::string write_text(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name, std::ios::binary) << text;
        return dir_ / name;
    }

    TempDir dir_;
};

TEST_F(ImportCsv, ImportedDataPredictsLikeTheHdf5Data) {
    const std::string csv = write_csv();
    const CommandResult imported = run_h5infer(
        {"import-csv", csv, dir_ / "imported.h5:/x", "--columns", "f0,f1,f2,f3,f4"}, {2});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    EXPECT_EQ(count_occurrences(imported.out, "imported 257 rows x 5 columns"), 1U) << imported.out;

    const Matrix original = read_matrix(dir_ / "data.h5", "/features");
    const Matrix copy = read_matrix(dir_ / "imported.h5", "/x");
    ASSERT_EQ(copy.rows, original.rows);
    ASSERT_EQ(copy.cols, original.cols);
    EXPECT_EQ(copy.values, original.values);
    const h5::Handle file = h5::open_file(dir_ / "imported.h5");
    const h5::Handle dataset = h5::open_dataset(file.get(), "/x");
    EXPECT_EQ(h5::read_string_list_attribute(dataset.get(), "columns"),
              (std::vector<std::string>{"f0", "f1", "f2", "f3", "f4"}));

    for (const auto& [input, output] :
         {std::pair<std::string, std::string>{dir_ / "data.h5:/features", dir_ / "want.h5"},
          {dir_ / "imported.h5", dir_ / "got.h5"}}) {
        const CommandResult ran = run_h5infer(
            {"run", "--model", dir_ / "model.h5", "--input", input, "--output", output}, {2});
        ASSERT_EQ(ran.exit_code, 0) << ran.err;
    }
    const Matrix want = read_matrix(dir_ / "want.h5", "/predictions");
    const Matrix got = read_matrix(dir_ / "got.h5", "/predictions");
    ASSERT_EQ(got.values.size(), want.values.size());
    EXPECT_EQ(std::memcmp(got.values.data(), want.values.data(), got.values.size() * 4), 0);
}

TEST_F(ImportCsv, MalformedRowFailsWithItsLineAndLeavesNothing) {
    const std::string csv = write_text("bad.csv", "a,b\n1,2\n3,4\n5,x\n7,8\n");
    const CommandResult result = run_h5infer({"import-csv", csv, dir_ / "out.h5"}, {2});
    EXPECT_EQ(result.exit_code, 4) << result.err;
    EXPECT_NE(result.err.find("bad.csv' line 4, column 'b' (index 1): 'x' is not a number"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
    for (const std::string& name : list_dir(dir_.path())) {
        EXPECT_EQ(name.find("out.h5"), std::string::npos) << name << " was left behind";
    }
}

TEST_F(ImportCsv, RowWithTooFewFieldsNamesItsLine) {
    const std::string csv = write_text("short.csv", "1,2\n3,4\n5\n");
    const CommandResult result = run_h5infer({"import-csv", csv, dir_ / "out.h5"}, {1});
    EXPECT_EQ(result.exit_code, 4) << result.err;
    EXPECT_NE(result.err.find("line 3 has 1 fields but line 1 has 2"), std::string::npos)
        << result.err;
}

TEST_F(ImportCsv, ExistingOutputIsRefusedWithoutOverwrite) {
    const std::string csv = write_text("small.csv", "x\ty\n1\t2\n");
    const std::string output = write_text("out.h5", "keep me");
    const std::vector<std::string> args{"import-csv", csv, output, "--delimiter", "\\t"};
    const CommandResult refused = run_h5infer(args, {1});
    EXPECT_EQ(refused.exit_code, 5) << refused.err;
    EXPECT_NE(refused.err.find("pass --overwrite"), std::string::npos) << refused.err;
    EXPECT_EQ(read_text(output), "keep me");

    std::vector<std::string> overwrite = args;
    overwrite.emplace_back("--overwrite");
    ASSERT_EQ(run_h5infer(overwrite, {1}).exit_code, 0);
    const Matrix got = read_matrix(output, "/features");
    EXPECT_EQ(got.values, (std::vector<float>{1, 2}));
}

TEST_F(ImportCsv, BadFlagsAreUsageErrors) {
    const std::string csv = write_text("small.csv", "a,b\n1,2\n");
    EXPECT_EQ(run_h5infer({"import-csv", csv, dir_ / "o.h5", "--delimiter", "ab"}, {1}).exit_code,
              2);
    EXPECT_EQ(
        run_h5infer({"import-csv", csv, dir_ / "o.h5", "--header", "--no-header"}, {1}).exit_code,
        2);
    const CommandResult unknown =
        run_h5infer({"import-csv", csv, dir_ / "o.h5", "--columns", "a,c"}, {1});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("has no column 'c'"), std::string::npos) << unknown.err;
    EXPECT_EQ(list_dir(dir_.path()),
              (std::vector<std::string>{"data.h5", "model.h5", "small.csv"}));
}

TEST_F(ImportCsv, MissingCsvIsAnInputError) {
    const CommandResult result = run_h5infer({"import-csv", dir_ / "nope.csv", dir_ / "o.h5"}, {1});
    EXPECT_EQ(result.exit_code, 4);
    EXPECT_NE(result.err.find("nope.csv' cannot be read: No such file"), std::string::npos)
        << result.err;
}

// Names of the files in `dir` that start with `prefix`.
std::vector<std::string> names_starting(const std::string& dir, const std::string& prefix) {
    std::vector<std::string> names;
    for (const std::string& name : list_dir(dir)) {
        if (name.rfind(prefix, 0) == 0) names.push_back(name);
    }
    return names;
}

// A killed import cannot remove its temporary file: the next import to the same output does,
// while an import still running keeps its temporary (and the output) to itself.
TEST_F(ImportCsv, TemporaryOfAKilledImportIsRemovedByTheNextOne) {
    const std::string fifo = dir_ / "slow.csv";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string output = dir_ / "out.h5";
    BackgroundJob first(
        h5infer_command({"import-csv", fifo, output}, {0}, dir_ / "first.out", dir_ / "first.err"));
    const int writer = ::open(fifo.c_str(), O_RDWR);  // read-write: does not wait for a reader
    ASSERT_GE(writer, 0);
    // More than one read of the import, which then waits for the rows that never come.
    std::string text = "a,b\n";
    while (text.size() < 100000) text += "1,2\n";
    ASSERT_EQ(::write(writer, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    const std::string prefix = ".out.h5.h5infer-import-";
    for (int i = 0; i < 600 && names_starting(dir_.path(), prefix).empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const std::vector<std::string> temporary = names_starting(dir_.path(), prefix);
    ASSERT_EQ(temporary.size(), 1U) << read_text(dir_ / "first.err");

    const std::string csv = write_text("small.csv", "a,b\n5,6\n");
    const CommandResult refused = run_h5infer({"import-csv", csv, output}, {1});
    EXPECT_EQ(refused.exit_code, 5) << refused.err;
    EXPECT_NE(refused.err.find("another h5infer job is writing output '" + output + "'"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(names_starting(dir_.path(), prefix), temporary) << "a live import's file removed";

    for (pid_t pid : processes_matching(fifo, first.shell())) ::kill(pid, SIGKILL);
    (void)first.wait(std::chrono::seconds(60), fifo);
    ::close(writer);
    ASSERT_EQ(names_starting(dir_.path(), prefix), temporary);

    const CommandResult imported = run_h5infer({"import-csv", csv, output}, {1});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    EXPECT_NE(imported.out.find("note: removed '" + (dir_ / temporary[0]) +
                                "', left by an import that was killed"),
              std::string::npos)
        << imported.out;
    EXPECT_EQ(read_matrix(output, "/features").values, (std::vector<float>{5, 6}));
    EXPECT_EQ(names_starting(dir_.path(), ".out.h5."), std::vector<std::string>{})
        << "a temporary or lock file was left behind";
}

// The names of 10,000 columns (more than the 64 KiB an HDF5 object header holds) are kept, and
// `run` reads the imported file with a model of that width.
TEST_F(ImportCsv, TenThousandColumnsKeepTheirNames) {
    constexpr std::int64_t width = 10000;
    std::vector<std::string> names;
    std::string text;
    for (std::int64_t j = 0; j < width; ++j) {
        names.push_back("feature_" + std::to_string(j));
        text += (j > 0 ? "," : "") + names.back();
    }
    for (int i = 0; i < 3; ++i) {
        text += "\n";
        for (std::int64_t j = 0; j < width; ++j) text += (j > 0 ? ",0." : "0.") + std::to_string(i);
    }
    const std::string csv = write_text("wide.csv", text + "\n");
    const CommandResult imported = run_h5infer({"import-csv", csv, dir_ / "wide.h5"}, {1});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    {
        const h5::Handle file = h5::open_file(dir_ / "wide.h5");
        const h5::Handle dataset = h5::open_dataset(file.get(), "/features");
        EXPECT_EQ(h5::read_string_list_attribute(dataset.get(), "columns"), names);
    }
    GenerateConfig config;
    config.model_path = dir_ / "wide-model.h5";
    config.features = width;
    config.hidden = {2};
    config.outputs = 2;
    generate(config);
    const CommandResult ran = run_h5infer({"run", "--model", dir_ / "wide-model.h5", "--input",
                                           dir_ / "wide.h5", "--output", dir_ / "wide-preds.h5"},
                                          {1});
    ASSERT_EQ(ran.exit_code, 0) << ran.err;
    EXPECT_EQ(read_matrix(dir_ / "wide-preds.h5", "/predictions").rows, 3);
}

}  // namespace
}  // namespace h5infer::testing
