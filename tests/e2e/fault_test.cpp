// Faults mid-run (a rank killed, the job signalled, the disk full, an input deleted or written):
// the job ends without hanging, with the documented exit code and nothing under the final name,
// and a rerun of the same command produces the same predictions as an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "e2e/background_job.hpp"
#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

using namespace std::chrono_literals;

// Each fault runs with Open MPI's default transports and with TCP only, as between nodes.
class Fault : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "model.h5";
        config.rows = 60000;
        config.features = 64;
        config.hidden = {256, 256};
        config.outputs = 4;
        generate(config);
        // The reference backend is slow: the run lasts long enough to be hit in the middle.
        const CommandResult whole =
            run_h5infer(args(dir_ / "whole.h5", dir_ / "data.h5"), launch());
        ASSERT_EQ(whole.exit_code, 0) << whole.err;
    }

    [[nodiscard]] Launch launch(int ranks = 2) const {
        return {ranks, "", GetParam() == "tcp" ? "OMPI_MCA_btl=self,tcp" : ""};
    }

    // Interrupted runs save their progress after every chunk; reruns (rerun_args) go in
    // rounds of several chunks per rank, whose writes then span the gaps the first run left.
    [[nodiscard]] std::vector<std::string> args(const std::string& output,
                                                const std::string& input) const {
        std::vector<std::string> arguments = rerun_args(output, input);
        arguments.insert(arguments.end(), {"--checkpoint-every", "1chunks"});
        return arguments;
    }

    [[nodiscard]] std::vector<std::string> rerun_args(const std::string& output,
                                                      const std::string& input) const {
        return {"run",  "--model",   dir_ / "model.h5", "--input",      input, "--output",
                output, "--backend", "reference",       "--chunk-rows", "500"};
    }

    // Starts the job and returns once its ranks are writing the partial file.
    std::unique_ptr<BackgroundJob> start(const std::vector<std::string>& arguments,
                                         const std::string& directory, int ranks = 2) {
        auto job = std::make_unique<BackgroundJob>(
            h5infer_command(arguments, launch(ranks), dir_ / "out", dir_ / "err"));
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (!has_partial(directory) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        std::this_thread::sleep_for(300ms);
        return job;
    }

    TempDir dir_;
};

TEST_P(Fault, RankKilledMidRunLeavesAResumableFileThatTheRerunCompletes) {
    const std::string output = dir_ / "killed-preds.h5";
    auto job = start(args(output, dir_ / "data.h5"), dir_.path());
    ASSERT_TRUE(has_partial(dir_.path())) << read_text(dir_ / "err");
    const std::vector<pid_t> ranks = processes_matching(output, job->shell());
    ASSERT_EQ(ranks.size(), 2U);
    ASSERT_EQ(::kill(ranks.back(), SIGKILL), 0);
    const int code = job->wait(90s, output);
    ASSERT_NE(code, -1) << "the job hung after a rank was killed";
    EXPECT_NE(code, 0) << read_text(dir_ / "err");
    EXPECT_FALSE(std::filesystem::exists(output)) << "a partial file under the final name";

    const CommandResult rerun = run_h5infer(rerun_args(output, dir_ / "data.h5"), launch(3));
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("resume " + output), std::string::npos) << rerun.out;
    EXPECT_TRUE(same_predictions(output, dir_ / "whole.h5"));
    EXPECT_FALSE(has_partial(dir_.path()));
}

TEST_P(Fault, TermStopsEveryRankWithTheResumableCodeAndTheRerunContinues) {
    const std::string output = dir_ / "stopped-preds.h5";
    auto job = start(args(output, dir_ / "data.h5"), dir_.path());
    const std::vector<pid_t> ranks = processes_matching(output, job->shell());
    ASSERT_EQ(ranks.size(), 2U);
    for (pid_t rank : ranks) ::kill(rank, SIGTERM);  // as Slurm signals every task
    const int code = job->wait(60s, output);
    ASSERT_NE(code, -1) << "the job did not stop within a minute of SIGTERM";
    const std::string err = read_text(dir_ / "err");
    EXPECT_EQ(code, static_cast<int>(ExitCode::Interrupted)) << err;
    EXPECT_NE(err.find("rerun the same command to resume"), std::string::npos) << err;
    EXPECT_EQ(err.find("rerun the same command to resume"),
              err.rfind("rerun the same command to resume"))
        << "printed more than once: " << err;
    EXPECT_FALSE(std::filesystem::exists(output));
    EXPECT_TRUE(has_partial(dir_.path()));

    const CommandResult rerun = run_h5infer(rerun_args(output, dir_ / "data.h5"), launch(3));
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("resume " + output), std::string::npos) << rerun.out;
    EXPECT_EQ(rerun.out.find(" 0 of "), std::string::npos) << "nothing was saved: " << rerun.out;
    EXPECT_TRUE(same_predictions(output, dir_ / "whole.h5"));
    EXPECT_FALSE(has_partial(dir_.path()));
}

TEST_P(Fault, SecondJobOnAnOutputBeingWrittenFailsAndTheFirstCompletes) {
    const std::string output = dir_ / "busy-preds.h5";
    auto job = start(args(output, dir_ / "data.h5"), dir_.path());
    ASSERT_TRUE(has_partial(dir_.path())) << read_text(dir_ / "err");
    // The first job, frozen, keeps its output until the second has tried: that one uses
    // another chunk size, so without the lock it would discard the first one's partial file.
    const std::vector<pid_t> ranks = processes_matching(output, job->shell());
    ASSERT_EQ(ranks.size(), 2U);
    for (pid_t rank : ranks) ::kill(rank, SIGSTOP);
    std::vector<std::string> second_args = rerun_args(output, dir_ / "data.h5");
    second_args.back() = "700";  // --chunk-rows
    const CommandResult second = run_h5infer(second_args, launch());
    for (pid_t rank : ranks) ::kill(rank, SIGCONT);
    EXPECT_EQ(second.exit_code, static_cast<int>(ExitCode::Io)) << second.err;
    EXPECT_NE(second.err.find("another h5infer job is writing output '" + output + "' (pid "),
              std::string::npos)
        << second.err;
    EXPECT_NE(second.err.find("wait until it ends, or write elsewhere"), std::string::npos)
        << second.err;

    const int code = job->wait(120s, output);
    ASSERT_EQ(code, 0) << read_text(dir_ / "err");
    EXPECT_TRUE(same_predictions(output, dir_ / "whole.h5"));
    // Neither job leaves anything but the output.
    for (const std::string& name : list_dir(dir_.path())) {
        EXPECT_EQ(name.find(".busy-preds.h5"), std::string::npos) << name;
    }
}

TEST_P(Fault, DiskFullMidRunFailsCleanlyAndTheRerunWithSpaceCompletes) {
    const std::string mount_point = dir_ / "small";
    std::filesystem::create_directory(mount_point);
    // The predictions need 60000 x 4 x 4 bytes = 940 KiB: 256 KiB fills up mid-run.
    if (std::system(
            ("mount -t tmpfs -o size=256k tmpfs " + mount_point + " 2>/dev/null").c_str()) != 0) {
        GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): disk-full not simulated";
    }
    struct Unmount {
        std::string path;
        ~Unmount() { static_cast<void>(std::system(("umount " + path).c_str())); }
    } unmount{mount_point};
    const std::string output = mount_point + "/preds.h5";
    const CommandResult full = run_h5infer(args(output, dir_ / "data.h5"), launch());
    EXPECT_EQ(full.exit_code, static_cast<int>(ExitCode::Io)) << full.err;
    EXPECT_NE(full.err.find("preds.h5"), std::string::npos) << full.err;
    EXPECT_FALSE(std::filesystem::exists(output));
    EXPECT_TRUE(list_dir(mount_point).empty()) << "a partial file was left on the full disk";

    ASSERT_EQ(std::system(("mount -o remount,size=16m " + mount_point).c_str()), 0);
    const CommandResult rerun = run_h5infer(rerun_args(output, dir_ / "data.h5"), launch(3));
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_TRUE(same_predictions(output, dir_ / "whole.h5"));
}

TEST_P(Fault, InputDeletedAfterValidationIsAnInputErrorAndTheRerunSkipsWhatIsDone) {
    std::filesystem::copy_file(dir_ / "data.h5", dir_ / "b.h5");
    const std::string outputs = dir_ / "out-dir";
    std::filesystem::create_directory(outputs);
    std::vector<std::string> arguments = args("", dir_ / "data.h5");
    arguments.erase(arguments.begin() + 5, arguments.begin() + 7);  // --output ""
    arguments.insert(arguments.end(), {"--input", dir_ / "b.h5", "--output-dir", outputs});
    // One rank reads data.h5 to the end before it opens b.h5.
    auto job = start(arguments, outputs, 1);
    std::filesystem::rename(dir_ / "b.h5", dir_ / "b.saved");  // b is listed, validated, gone
    const int code = job->wait(120s, outputs);
    ASSERT_NE(code, -1) << "the job hung";
    const std::string err = read_text(dir_ / "err");
    EXPECT_EQ(code, static_cast<int>(ExitCode::Input)) << err;
    EXPECT_NE(err.find("b.h5"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(outputs + "/b.predictions.h5"));
    EXPECT_FALSE(has_partial(outputs)) << "a partial file was left after the error";

    std::filesystem::rename(dir_ / "b.saved", dir_ / "b.h5");
    const CommandResult rerun = run_h5infer(arguments, launch());
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("skip " + dir_ / "data.h5"), std::string::npos) << rerun.out;
    EXPECT_TRUE(same_predictions(outputs + "/b.predictions.h5", dir_ / "whole.h5"));
    EXPECT_TRUE(same_predictions(outputs + "/data.predictions.h5", dir_ / "whole.h5"));
}

TEST_P(Fault, InputWrittenWhileTheJobReadsItIsAnInputErrorAndNothingIsKept) {
    std::filesystem::copy_file(dir_ / "data.h5", dir_ / "c.h5");
    const std::string output = dir_ / "preds.h5";
    auto job = start(args(output, dir_ / "c.h5"), dir_.path());
    {  // another program appends to the input mid-run (HDF5 ignores bytes past its end)
        std::ofstream append(dir_ / "c.h5", std::ios::binary | std::ios::app);
        append << "more rows";
    }
    const int code = job->wait(120s, output);
    ASSERT_NE(code, -1) << "the job hung";
    const std::string err = read_text(dir_ / "err");
    EXPECT_EQ(code, static_cast<int>(ExitCode::Input)) << err;
    EXPECT_NE(err.find("c.h5' changed while the job read it"), std::string::npos) << err;
    EXPECT_NE(err.find("rerun once nothing writes it"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(output)) << "predictions of a changing input were kept";
    EXPECT_FALSE(has_partial(dir_.path())) << "a partial file was left after the error";

    const CommandResult rerun = run_h5infer(rerun_args(output, dir_ / "c.h5"), launch());
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_TRUE(same_predictions(output, dir_ / "whole.h5"));
}

std::string transport_name(const ::testing::TestParamInfo<std::string>& param) {
    return param.param;
}

INSTANTIATE_TEST_SUITE_P(Transports, Fault, ::testing::Values("default", "tcp"), transport_name);

}  // namespace
}  // namespace h5infer::testing
