// Stop signals mid-run, as schedulers and people send them: to every rank (Slurm), to mpirun
// (`kill`, Ctrl-C). The job saves its progress and keeps its partial file, no rank outlives it,
// and a rerun resumes it to the bits of an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "e2e/background_job.hpp"
#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

using namespace std::chrono_literals;

// A stop signal that lands while oneDNN computes, with one thread per rank: the stop must save
// the progress whatever the kernels' threads are doing when the signal arrives. oneDNN's AVX2
// f32 gemm (what a CPU without AVX-512 runs) moves its stack pointer into a heap buffer when
// the inner dimension is large (above 252 in Debian 12's oneDNN 2.6), so most of this model's
// work is in layers with 512 inputs. glibc's malloc checks (and no Open MPI crash handler,
// which can hang on a corrupted heap) make damage fail loudly.
class StopMidCompute : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        directory_ = std::make_unique<TempDir>();
        // About a second on one rank: a stop lands mid-run.
        GenerateConfig config = model_and_data(*directory_, 80000, 64, {512, 512, 512}, 1);
        config.output_activation = Activation::Sigmoid;
        generate(config);
    }
    static void TearDownTestSuite() { directory_.reset(); }

    // A directory of the test's own, for its output, the partial file and the logs.
    static std::string case_directory(const std::string& name) {
        return directory_->subdirectory(name);
    }

    static std::vector<std::string> args(const std::string& output,
                                         const std::vector<std::string>& extra = {}) {
        std::vector<std::string> arguments{
            "run",      "--model", *directory_ / "model.h5", "--input", *directory_ / "data.h5",
            "--output", output};
        arguments.insert(arguments.end(), {"--threads", "1", "--chunk-rows", "4096"});
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return arguments;
    }

    static std::string environment(const std::string& isa) {
        const std::string checks =
            "LD_PRELOAD=libc_malloc_debug.so.0 MALLOC_CHECK_=3 MALLOC_PERTURB_=165 "
            "OMPI_MCA_opal_signal=";
        return isa == "default" ? checks : checks + " ONEDNN_MAX_CPU_ISA=" + isa;
    }

    // The uninterrupted run's predictions on this ISA (the bits differ between ISAs).
    static std::string whole(const std::string& isa) {
        const std::string output = *directory_ / ("whole-" + isa + ".h5");
        if (!std::filesystem::exists(output)) {
            const CommandResult result = run_h5infer(args(output), {2, "", environment(isa)});
            EXPECT_EQ(result.exit_code, 0) << result.err;
        }
        return output;
    }

    // Starts the job and returns `after` the moment its ranks create the partial file.
    static std::unique_ptr<BackgroundJob> start(const std::vector<std::string>& arguments,
                                                const Launch& launch, const std::string& directory,
                                                std::chrono::milliseconds after) {
        auto job = std::make_unique<BackgroundJob>(
            h5infer_command(arguments, launch, directory + "/out", directory + "/err"));
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (!has_partial(directory) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
        }
        std::this_thread::sleep_for(after);
        return job;
    }

    // The partial file was kept, and a rerun resumes it to the whole run's bits.
    static void expect_resumed(const std::string& output, const std::string& isa) {
        const std::string directory = output.substr(0, output.rfind('/'));
        EXPECT_FALSE(std::filesystem::exists(output)) << "a partial file under the final name";
        ASSERT_TRUE(has_partial(directory)) << "the partial file was not kept";
        const CommandResult rerun = run_h5infer(args(output), {2, "", environment(isa)});
        ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
        EXPECT_NE(rerun.out.find("resume " + output), std::string::npos) << rerun.out;
        EXPECT_EQ(rerun.out.find(" 0 of "), std::string::npos)
            << "nothing was saved: " << rerun.out;
        EXPECT_TRUE(same_predictions(output, whole(isa)));
        EXPECT_FALSE(has_partial(directory));
    }

    static std::unique_ptr<TempDir> directory_;
};

std::unique_ptr<TempDir> StopMidCompute::directory_;

class SignalToRanks : public StopMidCompute,
                      public ::testing::WithParamInterface<std::tuple<int, std::string>> {};

// As Slurm stops a job step: every rank gets SIGTERM, here 0.3 s into the compute of rounds of
// one chunk per rank (each rank saves its progress after every chunk).
TEST_P(SignalToRanks, TermMidComputeWithOneThreadSavesProgressAndTheRerunResumes) {
    const auto& [ranks, isa] = GetParam();
    const std::string directory = case_directory(std::to_string(ranks) + "-" + isa);
    const std::string output = directory + "/preds.h5";
    const std::vector<std::string> arguments = args(output, {"--checkpoint-every", "1chunks"});
    (void)whole(isa);
    auto job = start(arguments, {ranks, "", environment(isa)}, directory, 300ms);
    const std::vector<pid_t> pids = processes_matching(output, job->shell());
    ASSERT_EQ(pids.size(), static_cast<std::size_t>(ranks)) << read_text(directory + "/err");
    for (pid_t rank : pids) ::kill(rank, SIGTERM);
    const int code = job->wait(60s, output);
    const std::string err = read_text(directory + "/err");
    ASSERT_NE(code, -1) << "the job did not stop within a minute of SIGTERM: " << err;
    ASSERT_EQ(code, static_cast<int>(ExitCode::Interrupted)) << err;
    EXPECT_NE(err.find("rerun the same command to resume"), std::string::npos) << err;
    expect_resumed(output, isa);
}

std::string stop_case_name(const ::testing::TestParamInfo<std::tuple<int, std::string>>& info) {
    const auto& [ranks, isa] = info.param;
    return "Ranks" + std::to_string(ranks) + (isa == "default" ? "DefaultIsa" : isa);
}

INSTANTIATE_TEST_SUITE_P(RanksAndIsas, SignalToRanks,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values("default", "AVX2")),
                         stop_case_name);

// A signal to mpirun itself, as `kill PID` or Ctrl-C gives it. Open MPI 4.1's mpirun forwards
// SIGUSR1 to the ranks and exits with their code. SIGTERM, SIGINT and SIGHUP it cannot forward:
// it aborts the job (SIGCONT to the ranks, SIGTERM a second later, SIGKILL a second after that)
// and exits with 1 whatever the ranks return. Either way the ranks must save their progress
// and none may outlive mpirun. The reference backend, a wide model and progress saved after
// every chunk keep the run going for seconds, well past mpirun's second.
class SignalToMpirun : public ::testing::TestWithParam<int> {
protected:
    static void SetUpTestSuite() {
        directory_ = std::make_unique<TempDir>();
        GenerateConfig config;
        config.data_path = *directory_ / "data.h5";
        config.model_path = *directory_ / "model.h5";
        config.rows = 40000;
        config.features = 64;
        config.hidden = {1024, 1024};
        config.outputs = 4;
        generate(config);
        const CommandResult whole = run_h5infer(args(*directory_ / "whole.h5"), 2);
        ASSERT_EQ(whole.exit_code, 0) << whole.err;
    }
    static void TearDownTestSuite() { directory_.reset(); }

    // The reruns and the whole run go in rounds of several chunks per rank.
    static std::vector<std::string> args(const std::string& output) {
        std::vector<std::string> arguments{
            "run",      "--model", *directory_ / "model.h5", "--input", *directory_ / "data.h5",
            "--output", output};
        arguments.insert(arguments.end(), {"--backend", "reference", "--chunk-rows", "500"});
        return arguments;
    }

    static std::unique_ptr<TempDir> directory_;
};

std::unique_ptr<TempDir> SignalToMpirun::directory_;

TEST_P(SignalToMpirun, RanksSaveTheirProgressAndNoneSurvivesMpirun) {
    const int signal_number = GetParam();
    const std::string directory = *directory_ / std::to_string(signal_number);
    std::filesystem::create_directory(directory);
    const std::string output = directory + "/preds.h5";
    std::vector<std::string> arguments = args(output);
    arguments.insert(arguments.end(), {"--checkpoint-every", "1chunks"});
    BackgroundJob job(h5infer_command(arguments, 2, directory + "/out", directory + "/err"));
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!has_partial(directory) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(300ms);
    const std::vector<pid_t> launcher = children_of(job.shell());
    ASSERT_EQ(launcher.size(), 1U) << read_text(directory + "/err");
    ASSERT_EQ(processes_matching(output, job.shell()).size(), 2U);
    ASSERT_FALSE(std::filesystem::exists(output)) << "the run ended before the signal";
    ::kill(launcher.front(), signal_number);
    const int code = job.wait(60s, output);
    const std::string err = read_text(directory + "/err");
    ASSERT_NE(code, -1) << "mpirun did not end within a minute of the signal: " << err;
    if (signal_number == SIGUSR1) {
        EXPECT_EQ(code, static_cast<int>(ExitCode::Interrupted)) << err;
    } else {
        EXPECT_NE(code, 0) << err;
    }
    EXPECT_NE(err.find("rerun the same command to resume"), std::string::npos) << err;
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(processes_matching(output, job.shell()).empty()) << "a rank outlived mpirun";
    EXPECT_FALSE(std::filesystem::exists(output)) << "a partial file under the final name";
    ASSERT_TRUE(has_partial(directory)) << "the partial file was not kept";

    const CommandResult rerun = run_h5infer(args(output), 2);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("resume " + output), std::string::npos) << rerun.out;
    EXPECT_EQ(rerun.out.find(" 0 of "), std::string::npos) << "nothing was saved: " << rerun.out;
    EXPECT_TRUE(same_predictions(output, *directory_ / "whole.h5"));
}

std::string signal_name(const ::testing::TestParamInfo<int>& info) {
    return info.param == SIGUSR1 ? "Usr1" : info.param == SIGTERM ? "Term" : "Int";
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalToMpirun, ::testing::Values(SIGUSR1, SIGTERM, SIGINT),
                         signal_name);

}  // namespace
}  // namespace h5infer::testing
