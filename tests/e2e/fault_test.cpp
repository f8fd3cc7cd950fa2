// A rank killed mid-run: the job must end (no hang), non-zero, with no final output file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "e2e/cli_runner.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

using namespace std::chrono_literals;

// Pids of processes whose command line contains `needle`, other than `except`.
std::vector<pid_t> processes_matching(const std::string& needle, pid_t except) {
    std::vector<pid_t> pids;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline = read_text(entry.path().string() + "/cmdline");
        for (char& c : cmdline) c = c == '\0' ? ' ' : c;
        const auto pid = static_cast<pid_t>(std::stol(name));
        if (pid != except && cmdline.find(H5INFER_BINARY) != std::string::npos &&
            cmdline.find(needle) != std::string::npos &&
            cmdline.find("mpiexec") == std::string::npos &&
            cmdline.find("mpirun") == std::string::npos &&
            cmdline.find("sh -c") == std::string::npos) {
            pids.push_back(pid);
        }
    }
    return pids;
}

bool has_temporary(const std::string& dir) {
    for (const std::string& name : list_dir(dir)) {
        if (name.find(".h5infer-") != std::string::npos) return true;
    }
    return false;
}

TEST(Fault, RankKilledMidRunEndsTheJobWithoutFinalOutput) {
    TempDir dir;
    GenerateConfig config;
    config.data_path = dir / "data.h5";
    config.model_path = dir / "model.h5";
    config.rows = 200000;
    config.features = 64;
    config.hidden = {256, 256};
    config.outputs = 4;
    generate(config);
    const std::string output = dir / "killed-preds.h5";
    // The reference backend is slow: the run lasts long enough to be killed in the middle.
    const std::string command =
        h5infer_command({"run", "--model", config.model_path, "--input", config.data_path,
                         "--output", output, "--backend", "reference", "--chunk-rows", "500"},
                        {2, ""}, dir / "out", dir / "err");
    const pid_t shell = ::fork();
    ASSERT_GE(shell, 0);
    if (shell == 0) {
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Wait until the ranks are writing (the temporary output exists), then kill one.
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!has_temporary(dir.path()) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(has_temporary(dir.path())) << read_text(dir / "err");
    std::this_thread::sleep_for(300ms);
    const std::vector<pid_t> ranks = processes_matching("killed-preds.h5", shell);
    ASSERT_EQ(ranks.size(), 2U);
    ASSERT_EQ(::kill(ranks.back(), SIGKILL), 0);

    int status = 0;
    pid_t done = 0;
    while ((done = ::waitpid(shell, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline + 60s) {
        std::this_thread::sleep_for(100ms);
    }
    if (done == 0) {
        for (pid_t pid : processes_matching("killed-preds.h5", shell)) ::kill(pid, SIGKILL);
        ::kill(shell, SIGKILL);
        ::waitpid(shell, &status, 0);
        FAIL() << "the job hung after a rank was killed";
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << read_text(dir / "err");
    EXPECT_FALSE(std::filesystem::exists(output));
    EXPECT_FALSE(has_temporary(dir.path())) << "the surviving rank left its temporary file";
}

}  // namespace
}  // namespace h5infer::testing
