// A file under its final name is on storage, not only in a page cache: run, import-csv and
// convert sync what they write before renaming it into place and sync the directory after, and
// a sync that fails is an I/O error with nothing left behind. (`generate` writes synthetic data
// that its seed reproduces, and does not sync.) The syncs and renames are seen, and
// failed, through tests/e2e/sync_shim.cpp preloaded into h5infer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

// One logged call: "PID CALL PATH [PATH]".
struct Call {
    std::string pid;
    std::string name;
    std::string path;
    std::string target;  // rename only
};

std::vector<Call> read_calls(const std::string& log) {
    std::vector<Call> calls;
    std::istringstream lines(read_text(log));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        Call call;
        words >> call.pid >> call.name >> call.path >> call.target;
        calls.push_back(call);
    }
    return calls;
}

class Durability : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "model.h5";
        config.rows = 5000;
        config.features = 8;
        config.hidden = {16};
        config.outputs = 2;
        generate(config);
    }

    // The environment that preloads the shim, logging to `log`, failing syncs of `fail` paths.
    [[nodiscard]] std::string shim(const std::string& log, const std::string& fail = "") const {
        return "LD_PRELOAD=" + std::string(H5INFER_SYNC_SHIM) + " H5INFER_SHIM_LOG=" + log +
               (fail.empty() ? "" : " H5INFER_SHIM_FAIL_SYNC=" + fail);
    }

    // Checks the log of a command that wrote `final_path`: the process that renamed the file
    // to `final_path`, and no other (on one node, one sync does for every rank), synced it
    // under its temporary name before, and the directory after.
    static void expect_synced_then_renamed(const std::string& log, const std::string& final_path) {
        const std::vector<Call> calls = read_calls(log);
        const std::string directory = std::filesystem::path(final_path).parent_path().string();
        std::size_t rename = calls.size();
        for (std::size_t i = 0; i < calls.size(); ++i) {
            if (calls[i].name == "rename" && calls[i].target == final_path) rename = i;
        }
        ASSERT_LT(rename, calls.size()) << "no rename to " << final_path << "\n" << read_text(log);
        const std::string temporary = calls[rename].path;
        std::set<std::string> synced_by;
        for (std::size_t i = 0; i < rename; ++i) {
            if ((calls[i].name == "fdatasync" || calls[i].name == "fsync") &&
                calls[i].path == temporary) {
                synced_by.insert(calls[i].pid);
            }
        }
        EXPECT_EQ(synced_by, std::set<std::string>{calls[rename].pid})
            << temporary << " not synced before the rename by the renaming process alone\n"
            << read_text(log);
        bool directory_synced = false;
        for (std::size_t i = rename + 1; i < calls.size(); ++i) {
            directory_synced |= calls[i].name == "fsync" && calls[i].path == directory &&
                                calls[i].pid == calls[rename].pid;
        }
        EXPECT_TRUE(directory_synced) << directory << " not synced after the rename\n"
                                      << read_text(log);
    }

    TempDir dir_;
};

TEST_F(Durability, OneRankPerNodeSyncsThePredictionsBeforeTheRenameAndRankZeroTheDirectoryAfter) {
    const std::string output = dir_ / "preds.h5";
    const CommandResult result = run_h5infer(
        {"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5", "--output", output},
        {2, "", shim(dir_ / "sync.log")});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    expect_synced_then_renamed(dir_ / "sync.log", output);
}

// Inputs of one chunk, each written by one rank alone: the rank that renames each file synced
// it before and its directory after, though it renames several files per directory sync.
TEST_F(Durability, OutputsWrittenAloneAreEachSyncedBeforeTheirRenameAndTheDirectoryAfter) {
    std::filesystem::create_directories(dir_ / "in");
    std::filesystem::create_directories(dir_ / "out");
    GenerateConfig config;
    config.features = 8;
    for (int i = 0; i < 6; ++i) {
        config.data_path = dir_ / ("in/" + std::to_string(i) + ".h5");
        config.rows = 10 + i;
        config.seed = static_cast<std::uint64_t>(i) + 1;
        generate(config);
    }
    const CommandResult result = run_h5infer({"run", "--model", dir_ / "model.h5", "--input",
                                              dir_ / "in/*.h5", "--output-dir", dir_ / "out"},
                                             {3, "", shim(dir_ / "sync.log")});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::set<std::string> renamed_by;
    for (int i = 0; i < 6; ++i) {
        const std::string output = dir_ / ("out/" + std::to_string(i) + ".predictions.h5");
        expect_synced_then_renamed(dir_ / "sync.log", output);
        for (const Call& call : read_calls(dir_ / "sync.log")) {
            if (call.name == "rename" && call.target == output) renamed_by.insert(call.pid);
        }
    }
    EXPECT_EQ(renamed_by.size(), 3U) << "each rank commits the files it wrote\n"
                                     << read_text(dir_ / "sync.log");
}

// A file written alone that cannot reach storage fails the job on its rank, printed once, and
// no partial file stays.
TEST_F(Durability, AnOutputWrittenAloneThatCannotReachStorageIsAnIoErrorWithNothingLeft) {
    std::filesystem::create_directories(dir_ / "in");
    std::filesystem::create_directories(dir_ / "out");
    GenerateConfig config;
    config.features = 8;
    for (const char* name : {"a", "b", "c", "d"}) {
        config.data_path = dir_ / ("in/" + std::string(name) + ".h5");
        config.rows = 20;
        generate(config);
    }
    const CommandResult result =
        run_h5infer({"run", "--model", dir_ / "model.h5", "--input", dir_ / "in/*.h5",
                     "--output-dir", dir_ / "out"},
                    {2, "", shim(dir_ / "sync.log", "c.predictions.h5.h5infer-partial")});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
    EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
    EXPECT_NE(result.err.find("c.predictions.h5.h5infer-partial.tmp' to storage"),
              std::string::npos)
        << result.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "out/c.predictions.h5"));
    for (const std::string& name : list_dir(dir_ / "out")) {
        EXPECT_EQ(name.find("h5infer-"), std::string::npos) << name << " left behind";
    }
}

TEST_F(Durability, ImportCsvAndConvertSyncTheirFileBeforeTheRenameAndTheDirectoryAfter) {
    const std::string csv = dir_ / "data.csv";
    ASSERT_EQ(std::system(("printf 'a,b\\n1,2\\n3,4\\n' > " + csv).c_str()), 0);
    const std::string imported = dir_ / "imported.h5";
    const CommandResult import =
        run_h5infer({"import-csv", csv, imported}, {1, "", shim(dir_ / "import.log")});
    ASSERT_EQ(import.exit_code, 0) << import.err;
    expect_synced_then_renamed(dir_ / "import.log", imported);

    const std::string converted = dir_ / "converted.h5";
    const CommandResult convert =
        run_h5infer({"convert", std::string(H5INFER_ONNX_FIXTURES) + "/relu.onnx", converted},
                    {0, "", shim(dir_ / "convert.log")});
    ASSERT_EQ(convert.exit_code, 0) << convert.err;
    expect_synced_then_renamed(dir_ / "convert.log", converted);
}

TEST_F(Durability, PredictionsThatCannotReachStorageAreAnIoErrorWithNothingLeft) {
    const std::string output = dir_ / "preds.h5";
    const CommandResult result = run_h5infer(
        {"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5", "--output", output},
        {2, "", shim(dir_ / "sync.log", "h5infer-partial")});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
    EXPECT_EQ(count_occurrences(result.err, "cannot write"), 1U) << result.err;
    EXPECT_NE(result.err.find("preds.h5.h5infer-partial.tmp' to storage"), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("free space and rerun"), std::string::npos) << result.err;
    EXPECT_EQ(list_dir(dir_.path()).size(), 3U) << "only data.h5, model.h5 and sync.log";
    EXPECT_FALSE(std::filesystem::exists(output));
}

TEST_F(Durability, AnImportThatCannotReachStorageIsAnIoErrorWithNothingLeft) {
    const std::string csv = dir_ / "data.csv";
    ASSERT_EQ(std::system(("printf 'a,b\\n1,2\\n' > " + csv).c_str()), 0);
    const CommandResult result = run_h5infer({"import-csv", csv, dir_ / "imported.h5"},
                                             {1, "", shim(dir_ / "sync.log", "imported.h5")});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
    EXPECT_NE(result.err.find("to storage"), std::string::npos) << result.err;
    EXPECT_EQ(list_dir(dir_.path()).size(), 4U) << "only data.h5, model.h5, data.csv, sync.log";
}

}  // namespace
}  // namespace h5infer::testing
