// Hostile and careless paths: links planted where h5infer writes its own files, special files
// and odd names given as inputs, models and outputs, a closed standard output. Each ends in a
// clear error or works, never writes through a link, never hangs, and leaves nothing behind.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::testing {
namespace {

namespace fs = std::filesystem;

// Runs `shell` (a command line of h5infer_command()) under `timeout`, so that a run that would
// hang (on a FIFO, in a walk that never ends) fails the test with 124 instead of stalling it.
int run_guarded(const std::string& shell) {
    const std::string command = "timeout -k 5 60 bash -c " + shell_quote(shell);
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

CommandResult run_guarded(const std::vector<std::string>& args, const Launch& launch = {1}) {
    TempDir logs;
    CommandResult result;
    result.exit_code = run_guarded(h5infer_command(args, launch, logs / "out", logs / "err"));
    result.out = read_text(logs / "out");
    result.err = read_text(logs / "err");
    return result;
}

class HostilePaths : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "model.h5";
        config.rows = 200;
        config.features = 5;
        config.hidden = {6};
        config.outputs = 2;
        generate(config);
        fs::create_directory(out_dir());
    }

    std::string out_dir() const { return dir_ / "out"; }
    std::string output() const { return out_dir() + "/preds.h5"; }

    std::vector<std::string> run_args(const std::string& model, const std::string& input,
                                      const std::string& output) const {
        return {"run", "--model", model, "--input", input, "--output", output};
    }

    // The run fails with `code` and a message holding every piece of `message`, printed once,
    // and the output directory then holds exactly `left` (what the test itself put there).
    static void expect_refused(const CommandResult& result, ExitCode code,
                               const std::vector<std::string>& message,
                               const std::string& directory,
                               const std::vector<std::string>& left = {}) {
        EXPECT_EQ(result.exit_code, static_cast<int>(code)) << result.err;
        for (const std::string& piece : message) {
            EXPECT_NE(result.err.find(piece), std::string::npos)
                << "expected '" << piece << "' in: " << result.err;
        }
        EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
        EXPECT_EQ(list_dir(directory), left);
    }

    TempDir dir_;
};

TEST_F(HostilePaths, ALinkAtTheLockNameIsRefusedAndItsTargetKept) {
    std::ofstream(dir_ / "victim.txt") << "precious";
    const std::string lock = out_dir() + "/.preds.h5.h5infer-lock.tmp";
    fs::create_symlink(dir_ / "victim.txt", lock);
    const CommandResult result =
        run_h5infer(run_args(dir_ / "model.h5", dir_ / "data.h5", output()), {2});
    expect_refused(result, ExitCode::Io, {"lock file '" + lock + "'", "is a symbolic link", "rm '"},
                   out_dir(), {".preds.h5.h5infer-lock.tmp"});
    EXPECT_EQ(read_text(dir_ / "victim.txt"), "precious");
}

TEST_F(HostilePaths, ADanglingLinkAtThePartialNameIsRefusedAndNothingWrittenThroughIt) {
    const std::string partial = out_dir() + "/.preds.h5.h5infer-partial.tmp";
    fs::create_symlink(dir_ / "elsewhere.h5", partial);
    const CommandResult result =
        run_h5infer(run_args(dir_ / "model.h5", dir_ / "data.h5", output()), {2});
    expect_refused(result, ExitCode::Io,
                   {"partial file '" + partial + "'", "is a symbolic link", "rm '"}, out_dir(),
                   {".preds.h5.h5infer-partial.tmp"});
    EXPECT_FALSE(fs::exists(dir_ / "elsewhere.h5"));
}

TEST_F(HostilePaths, AHardLinkAtTheLockNameIsRefused) {
    std::ofstream(dir_ / "victim.txt") << "precious";
    fs::create_hard_link(dir_ / "victim.txt", out_dir() + "/.preds.h5.h5infer-lock.tmp");
    const CommandResult result =
        run_h5infer(run_args(dir_ / "model.h5", dir_ / "data.h5", output()), {1});
    expect_refused(result, ExitCode::Io, {"lock file", "has other hard links"}, out_dir(),
                   {".preds.h5.h5infer-lock.tmp"});
    EXPECT_EQ(read_text(dir_ / "victim.txt"), "precious");
}

TEST_F(HostilePaths, FifosDevicesAndDirectoriesAreRefusedWithoutHanging) {
    const std::string fifo = dir_ / "pipe.h5";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    // A null device of the test's own as the output: a regression that renames over it then
    // replaces this node, not the machine's /dev/null. Making one needs root.
    const std::string device = dir_ / "null.h5";
    const bool have_device = ::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
    if (!have_device) std::cout << "note: not root, no device output case\n";
    const std::string model = dir_ / "model.h5";
    const std::string data = dir_ / "data.h5";
    struct Case {
        std::vector<std::string> args;
        ExitCode code;
        std::string message;
    };
    std::vector<Case> cases = {
        {run_args(model, fifo, output()), ExitCode::Input, "is a FIFO (named pipe)"},
        {run_args(fifo, data, output()), ExitCode::Model, "is a FIFO (named pipe)"},
        {run_args(model, data, fifo), ExitCode::Io, "is a FIFO (named pipe); give a file name"},
        {run_args(model, "/dev/zero", output()), ExitCode::Input, "is a character device"},
        {run_args("/dev/zero", data, output()), ExitCode::Model, "is a character device"},
        {run_args(dir_.path(), data, output()), ExitCode::Model, "is a directory"},
        {{"inspect", fifo}, ExitCode::Input, "it is a FIFO (named pipe)"},
    };
    if (have_device) {
        cases.push_back({run_args(model, data, device), ExitCode::Io, "is a character device"});
    }
    for (const Case& c : cases) {
        std::vector<std::string> args = c.args;
        args.emplace_back("--overwrite");
        if (args.front() == "inspect") args.pop_back();
        for (const int ranks : {1, 2}) {
            const CommandResult result = run_guarded(args, {ranks});
            expect_refused(result, c.code, {c.message}, out_dir());
        }
    }
    struct stat info {};
    if (have_device) {
        ASSERT_EQ(::lstat(device.c_str(), &info), 0);
        EXPECT_TRUE(S_ISCHR(info.st_mode));
    }
    ASSERT_EQ(::lstat(fifo.c_str(), &info), 0);
    EXPECT_TRUE(S_ISFIFO(info.st_mode));
}

TEST_F(HostilePaths, AFileGivenAsOutputDirIsNotADirectory) {
    const CommandResult result = run_h5infer({"run", "--model", dir_ / "model.h5", "--input",
                                              dir_ / "data.h5", "--output-dir", dir_ / "model.h5"});
    expect_refused(result, ExitCode::Io,
                   {"output directory '" + (dir_ / "model.h5") + "' is a file, not a directory"},
                   out_dir());
}

TEST_F(HostilePaths, AnOutputNameTooLongForTheFileSystemIsRefusedUpFront) {
    const std::string input = dir_ / (std::string(245, 'n') + ".h5");
    fs::copy_file(dir_ / "data.h5", input);
    const CommandResult result = run_h5infer(
        {"run", "--model", dir_ / "model.h5", "--input", input, "--output-dir", out_dir()});
    expect_refused(result, ExitCode::Io, {"name is too long for the file system", "at most 255"},
                   out_dir());
    const CommandResult too_long_input =
        run_h5infer(run_args(dir_ / "model.h5", dir_ / (std::string(300, 'n') + ".h5"), output()));
    expect_refused(too_long_input, ExitCode::Input, {"File name too long"}, out_dir());
}

TEST_F(HostilePaths, NamesWithSpacesNewlinesAndUtf8Work) {
    const std::string input = dir_ / "run 1\n\xc3\xa9t\xc3\xa9 [x].h5";
    fs::copy_file(dir_ / "data.h5", input);
    const std::vector<std::string> args{"run", "--model",      dir_ / "model.h5", "--input",
                                        input, "--output-dir", out_dir()};
    const CommandResult result = run_h5infer(args, {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string predictions = out_dir() + "/run 1\n\xc3\xa9t\xc3\xa9 [x].predictions.h5";
    EXPECT_EQ(list_dir(out_dir()), std::vector<std::string>{fs::path(predictions).filename()});
    EXPECT_LT(max_scaled_error(read_matrix(predictions, "/predictions"),
                               reference_predictions(dir_ / "model.h5", input, "/features")),
              1e-5);
    const CommandResult rerun = run_h5infer(args, {2});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("is up to date"), std::string::npos) << rerun.out;
}

TEST_F(HostilePaths, ARerunOverItsOwnOutputDirectoryLeavesOutItsOwnFiles) {
    // The model and the predictions land in the directory the pattern lists.
    const std::vector<std::string> args{"run",         "--model",      dir_ / "model.h5", "--input",
                                        dir_ / "*.h5", "--output-dir", dir_.path()};
    const CommandResult first = run_h5infer(args, {2});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("leave out 1 files of h5infer's own"), std::string::npos) << first.out;
    fs::copy_file(dir_ / "data.h5", dir_ / "more.h5");
    const CommandResult second = run_h5infer(args, {2});
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(second.out.find("leave out 2 files of h5infer's own"), std::string::npos)
        << second.out;
    EXPECT_NE(second.out.find("is up to date"), std::string::npos) << second.out;
    EXPECT_EQ(list_dir(dir_.path()),
              (std::vector<std::string>{"data.h5", "data.predictions.h5", "model.h5", "more.h5",
                                        "more.predictions.h5", "out"}));
}

TEST_F(HostilePaths, HardLinkCyclesAreWalkedOnce) {
    const std::string path = dir_ / "cycle.h5";
    {
        h5::Handle file = h5::create_file(path);
        h5::Handle group = h5::create_group(file.get(), "/g");
        h5::Handle data = h5::create_dataset(file.get(), "/g/x", {10, 5}, H5T_IEEE_F32LE);
        // Two links of the group into itself: a walk by path would branch without end.
        ASSERT_GE(H5Lcreate_hard(file.get(), "/g", file.get(), "/g/loop", H5P_DEFAULT, H5P_DEFAULT),
                  0);
        ASSERT_GE(
            H5Lcreate_hard(file.get(), "/g", file.get(), "/g/again", H5P_DEFAULT, H5P_DEFAULT), 0);
    }
    const CommandResult inspect = run_guarded({"inspect", path});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(count_occurrences(inspect.out, "/x"), 2U) << inspect.out;  // listed, and read
    const CommandResult run = run_guarded(run_args(dir_ / "model.h5", path, output()), {2});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(read_matrix(output(), "/predictions").rows, 10);
    const CommandResult missing =
        run_guarded(run_args(dir_ / "model.h5", path + ":/nope", out_dir() + "/b.h5"), {2});
    EXPECT_EQ(missing.exit_code, static_cast<int>(ExitCode::Input)) << missing.err;
    EXPECT_NE(missing.err.find("(datasets in the file: /g/x)"), std::string::npos) << missing.err;
}

TEST_F(HostilePaths, AClosedOrBrokenStdoutStillCommitsAndLeavesNothingBehind) {
    const std::vector<std::string> args = run_args(dir_ / "model.h5", dir_ / "data.h5", output());
    for (const Launch& launch : {Launch(0), Launch(1)}) {
        const std::string err = dir_ / "err";
        const std::string closed = h5infer_command(args, launch, "/dev/null", err) + " >&-";
        EXPECT_EQ(run_guarded(closed), 0) << read_text(err);
        EXPECT_EQ(list_dir(out_dir()), std::vector<std::string>{"preds.h5"});
        fs::remove(output());
        const std::string broken =
            "set -o pipefail; " + h5infer_command(args, launch, "/dev/stdout", err) + " | head -c0";
        EXPECT_EQ(run_guarded(broken), 0) << read_text(err);
        EXPECT_EQ(list_dir(out_dir()), std::vector<std::string>{"preds.h5"});
        fs::remove(output());
    }
}

TEST_F(HostilePaths, MoreOutputsThanTheOpenFileLimitAllowsAreRefusedNamingTheLimit) {
    fs::create_directory(dir_ / "in");
    for (int i = 0; i < 200; ++i) {
        fs::copy_file(dir_ / "data.h5", dir_ / ("in/" + std::to_string(1000 + i) + ".h5"));
    }
    const std::vector<std::string> args{"run",     "--model",        dir_ / "model.h5",
                                        "--input", dir_ / "in/*.h5", "--output-dir",
                                        out_dir()};
    for (const int ranks : {1, 2}) {
        TempDir logs;
        CommandResult result;
        result.exit_code = run_guarded("ulimit -n 64 && " +
                                       h5infer_command(args, {ranks}, logs / "out", logs / "err"));
        result.err = read_text(logs / "err");
        expect_refused(result, ExitCode::Io,
                       {"a run holds one lock file open per output", "200 outputs",
                        "the limit of 64 (ulimit -n); raise it (ulimit -n "},
                       out_dir());
    }
}

}  // namespace
}  // namespace h5infer::testing
