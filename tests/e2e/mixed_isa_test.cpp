// Ranks on different CPU generations, played on one machine by giving each rank its own
// ONEDNN_MAX_CPU_ISA (an mpiexec app context per rank): they compute with the best instruction
// set they all have, so the file holds the bits of a 1-rank run on that set; --isa pins the set;
// a partial file is resumed only with the set it was begun with. The caps used (AVX2, AVX) are
// below every x86-64 CPU these tests run on, so the tests mean the same on AVX2-only machines.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
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

class InstructionSets : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        directory_ = std::make_unique<TempDir>();
        // Over a second per rank even at AVX2 and on an idle machine: the stop that interrupt()
        // sends 0.3 s after the partial file appears lands mid-run.
        generate(model_and_data(*directory_, 150000, 64, {512, 512}, 4));
    }
    static void TearDownTestSuite() { directory_.reset(); }

    static std::string path(const std::string& name) { return *directory_ / name; }

    static std::vector<std::string> args(const std::string& output,
                                         const std::vector<std::string>& extra = {}) {
        std::vector<std::string> arguments{"run",          "--model",       path("model.h5"),
                                           "--input",      path("data.h5"), "--output",
                                           output,         "--threads",     "1",
                                           "--chunk-rows", "4096"};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return arguments;
    }

    // One mpiexec app context per cap ("" for none): rank r runs with caps[r].
    static std::string mixed_command(const std::vector<std::string>& caps,
                                     const std::vector<std::string>& arguments,
                                     const std::string& log) {
        std::string command = std::string(H5INFER_MPIEXEC) + " --oversubscribe";
        for (std::size_t rank = 0; rank < caps.size(); ++rank) {
            command += std::string(rank == 0 ? "" : " :") + " -n 1 env" +
                       (caps[rank].empty() ? "" : " ONEDNN_MAX_CPU_ISA=" + caps[rank]) + " " +
                       H5INFER_BINARY;
            for (const std::string& arg : arguments) command += " " + shell_quote(arg);
        }
        return command + " > " + shell_quote(log + ".out") + " 2> " + shell_quote(log + ".err") +
               " < /dev/null";
    }

    static CommandResult run_mixed(const std::vector<std::string>& caps,
                                   const std::vector<std::string>& arguments) {
        const std::string log = path("mixed");
        const int status = std::system(mixed_command(caps, arguments, log).c_str());
        return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                read_text(log + ".out"), read_text(log + ".err")};
    }

    // A 1-rank run under cap `cap`, made once per cap.
    static std::string one_rank(const std::string& cap) {
        const std::string output = path("one-rank-" + cap + ".h5");
        if (!std::filesystem::exists(output)) {
            const CommandResult result =
                run_h5infer(args(output), {1, "", "ONEDNN_MAX_CPU_ISA=" + cap});
            EXPECT_EQ(result.exit_code, 0) << result.err;
        }
        return output;
    }

    static std::string isa_of(const std::string& output) {
        return h5::read_string_attribute(h5::open_file(output).get(), "isa");
    }

    // Starts 2 ranks under `cap` and stops them with SIGTERM once they have written a chunk:
    // leaves a partial file begun with that cap.
    static void interrupt(const std::string& output, const std::string& cap) {
        const std::string directory = output.substr(0, output.rfind('/'));
        const std::vector<std::string> arguments = args(output, {"--checkpoint-every", "1chunks"});
        BackgroundJob job(h5infer_command(arguments, {2, "", "ONEDNN_MAX_CPU_ISA=" + cap},
                                          directory + "/out", directory + "/err"));
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (!has_partial(directory) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
        }
        std::this_thread::sleep_for(300ms);
        for (pid_t rank : processes_matching(output, job.shell())) ::kill(rank, SIGTERM);
        const int code = job.wait(60s, output);
        ASSERT_EQ(code, static_cast<int>(ExitCode::Interrupted))
            << "(0: the run ended before the stop)\n"
            << read_text(directory + "/out") << read_text(directory + "/err");
        ASSERT_TRUE(has_partial(directory));
    }

    static std::string case_directory(const std::string& name) {
        return directory_->subdirectory(name);
    }

    static std::unique_ptr<TempDir> directory_;
};

std::unique_ptr<TempDir> InstructionSets::directory_;

TEST_F(InstructionSets, RanksWithDifferentCapsWriteTheBitsOfTheirCommonSet) {
    const std::string output = path("mixed.h5");
    const CommandResult result = run_mixed({"AVX2", "AVX"}, args(output));
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("backend onednn f32 avx,"), std::string::npos) << result.out;
    EXPECT_EQ(isa_of(output), "avx");
    EXPECT_TRUE(same_predictions(output, one_rank("AVX")));

    // --isa gives the same bits without any cap, on one rank or two.
    const std::string pinned = path("pinned.h5");
    const CommandResult alone = run_h5infer(args(pinned, {"--isa", "AVX"}), {1});
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    EXPECT_EQ(isa_of(pinned), "avx");
    EXPECT_TRUE(same_predictions(pinned, output));
    const std::string pinned2 = path("pinned2.h5");
    const CommandResult two = run_mixed({"", "AVX2"}, args(pinned2, {"--isa", "avx"}));
    ASSERT_EQ(two.exit_code, 0) << two.err;
    EXPECT_TRUE(same_predictions(pinned2, output));
}

TEST_F(InstructionSets, IsaThatARankLacksIsRefusedBeforeAnyWork) {
    const std::string output = path("refused.h5");
    const CommandResult result = run_mixed({"", "AVX"}, args(output, {"--isa", "avx2"}));
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Usage)) << result.err;
    EXPECT_EQ(count_occurrences(result.err, "--isa avx2: rank 1 can use at most avx "), 1U)
        << result.err;
    EXPECT_NE(result.err.find("e.g. --isa avx"), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(output));
    EXPECT_FALSE(has_partial(directory_->path()));

    const CommandResult unknown = run_h5infer(args(output, {"--isa", "avx3"}), {2});
    EXPECT_EQ(unknown.exit_code, static_cast<int>(ExitCode::Usage)) << unknown.err;
    EXPECT_EQ(count_occurrences(unknown.err,
                                "--isa avx3: not an instruction set oneDNN knows; "
                                "use one of sse41, avx, avx2,"),
              1U)
        << unknown.err;
    const CommandResult reference =
        run_h5infer(args(output, {"--isa", "avx", "--backend", "reference"}), {1});
    EXPECT_EQ(reference.exit_code, static_cast<int>(ExitCode::Usage)) << reference.err;
    EXPECT_NE(reference.err.find("computes the same bits on every CPU: drop --isa"),
              std::string::npos)
        << reference.err;
    EXPECT_FALSE(std::filesystem::exists(output));
}

// A complete output made with another set is up to date: its predictions are as good.
TEST_F(InstructionSets, CompleteOutputOfAnotherSetIsUpToDate) {
    const std::string output = path("complete.h5");
    ASSERT_EQ(run_h5infer(args(output), {1, "", "ONEDNN_MAX_CPU_ISA=AVX"}).exit_code, 0);
    const CommandResult rerun = run_h5infer(args(output), {2});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("is up to date (computed with avx)"), std::string::npos) << rerun.out;
    EXPECT_TRUE(same_predictions(output, one_rank("AVX")));
}

// A partial file is never finished with another set: one file never mixes two sets' bits.
TEST_F(InstructionSets, PartialFileOfAnotherSetStartsOverUnlessIsaResumesIt) {
    const std::string lost = case_directory("lost") + "/preds.h5";
    interrupt(lost, "AVX2");
    const CommandResult without = run_h5infer(args(lost), {2, "", "ONEDNN_MAX_CPU_ISA=AVX"});
    ASSERT_EQ(without.exit_code, 0) << without.err;
    EXPECT_NE(without.out.find("its chunks were computed with avx2 and this run computes with "
                               "avx, which gives other bits; not every rank has avx2); start "
                               "over"),
              std::string::npos)
        << without.out;
    EXPECT_TRUE(same_predictions(lost, one_rank("AVX")));

    const std::string kept = case_directory("kept") + "/preds.h5";
    interrupt(kept, "AVX");
    const CommandResult resumed = run_h5infer(args(kept, {"--isa", "avx"}), {2});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.out.find("resume " + kept), std::string::npos) << resumed.out;
    EXPECT_TRUE(same_predictions(kept, one_rank("AVX")));

    const std::string hinted = case_directory("hinted") + "/preds.h5";
    interrupt(hinted, "AVX");
    const CommandResult best = run_h5infer(args(hinted), {2});
    ASSERT_EQ(best.exit_code, 0) << best.err;
    EXPECT_NE(best.out.find("its chunks were computed with avx and this run computes with "),
              std::string::npos)
        << best.out;
    EXPECT_NE(best.out.find("--isa avx resumes it); start over"), std::string::npos) << best.out;
}

}  // namespace
}  // namespace h5infer::testing
