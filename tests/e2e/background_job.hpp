#pragma once

// Jobs of the real binary started in the background and the processes they consist of, for the
// e2e tests that signal, freeze or kill them mid-run (fault_test, stop_test).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/cli_runner.hpp"

namespace h5infer::testing {

// Pids of processes whose command line contains `needle`, other than `except`.
inline std::vector<pid_t> processes_matching(const std::string& needle, pid_t except) {
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

// Whether `dir` holds a partial prediction file.
inline bool has_partial(const std::string& dir) {
    for (const std::string& name : list_dir(dir)) {
        if (name.find(".h5infer-partial") != std::string::npos) return true;
    }
    return false;
}

// A job running in the background: `sh -c COMMAND` in its own process.
class BackgroundJob {
public:
    explicit BackgroundJob(const std::string& command) {
        shell_ = ::fork();
        if (shell_ == 0) {
            ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    BackgroundJob(const BackgroundJob&) = delete;
    BackgroundJob& operator=(const BackgroundJob&) = delete;
    BackgroundJob(BackgroundJob&&) = delete;
    BackgroundJob& operator=(BackgroundJob&&) = delete;
    ~BackgroundJob() {
        if (running()) kill_all("");
    }

    [[nodiscard]] pid_t shell() const { return shell_; }
    [[nodiscard]] bool running() const { return shell_ > 0 && !finished_; }

    // The exit code, or -1 after killing everything when the job outlives `limit`.
    int wait(std::chrono::seconds limit, const std::string& needle) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int status = 0;
        while (::waitpid(shell_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill_all(needle);
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        finished_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    void kill_all(const std::string& needle) {
        if (!needle.empty()) {
            for (pid_t pid : processes_matching(needle, shell_)) ::kill(pid, SIGKILL);
        }
        ::kill(shell_, SIGKILL);
        int status = 0;
        ::waitpid(shell_, &status, 0);
        finished_ = true;
    }

    pid_t shell_ = -1;
    bool finished_ = false;
};

// The children of `parent` (mpiexec under the job's shell).
inline std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> pids;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const std::string stat = read_text(entry.path().string() + "/stat");
        const std::size_t name_end = stat.rfind(')');  // "pid (comm) state ppid ..."
        if (name_end == std::string::npos) continue;
        std::istringstream fields(stat.substr(name_end + 1));
        std::string state;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid == parent) pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return pids;
}

}  // namespace h5infer::testing
