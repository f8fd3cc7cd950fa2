#include "stop.hpp"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace h5infer {
namespace {

constexpr std::array<int, 4> stop_signals{SIGTERM, SIGINT, SIGHUP, SIGUSR1};

// Shared between the waiting thread and the rest. Trivially destructible, so that a signal
// taken while the process exits never meets a destroyed object.
std::atomic<bool> stop_armed{false};        // NOLINT: process-wide by nature
std::atomic<int> received{0};               // NOLINT
std::atomic<bool> kept{false};              // NOLINT: armed until the process exits
std::array<bool, NSIG> ignored_at_start{};  // NOLINT: written before the thread starts
std::mutex removal_mutex;                   // NOLINT
std::array<char, PATH_MAX> removal_path{};  // NOLINT: guarded by removal_mutex
sigset_t mask_at_start;                     // NOLINT: for forked children

sigset_t stop_set() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal_number : stop_signals) sigaddset(&set, signal_number);
    return set;
}

// Ends the process by `signal_number`'s default action, as if it had not been blocked.
[[noreturn]] void end_by(int signal_number) {
    std::signal(signal_number, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signal_number);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    std::raise(signal_number);
    std::_Exit(128 + signal_number);  // not reached: each stop signal's default action ends it
}

void take(int signal_number) {
    if (stop_armed.load()) {
        int first = 0;
        if (received.compare_exchange_strong(first, signal_number)) return;
        // Another kind: the same request (a launcher that sends SIGINT, then SIGTERM).
        if (first != signal_number) return;
        end_by(signal_number);  // the same kind again: impatience
    }
    if (ignored_at_start[static_cast<std::size_t>(signal_number)]) return;  // nohup, ...
    {
        const std::lock_guard<std::mutex> lock(removal_mutex);
        if (removal_path[0] != '\0') ::unlink(removal_path.data());
    }
    end_by(signal_number);
}

void wait_for_signals() {
    const sigset_t set = stop_set();
    for (;;) {
        int signal_number = 0;
        if (sigwait(&set, &signal_number) == 0) take(signal_number);
    }
}

extern "C" void restore_mask_in_child() {
    pthread_sigmask(SIG_SETMASK, &mask_at_start, nullptr);
}

}  // namespace

void watch_stop_signals() {
    static std::once_flag started;
    std::call_once(started, [] {
        for (int signal_number : stop_signals) {
            struct sigaction action {};
            sigaction(signal_number, nullptr, &action);
            ignored_at_start[static_cast<std::size_t>(signal_number)] =
                action.sa_handler == SIG_IGN;  // NOLINT: the union of sigaction
        }
        const sigset_t set = stop_set();
        pthread_sigmask(SIG_BLOCK, &set, &mask_at_start);
        pthread_atfork(nullptr, nullptr, restore_mask_in_child);
        std::thread(wait_for_signals).detach();
    });
}

void guard_standard_streams() {
    for (int descriptor = 0; descriptor <= STDERR_FILENO; ++descriptor) {
        if (::fcntl(descriptor, F_GETFD) != -1) continue;
        // The lowest free number: the one just found closed.
        const int opened = ::open("/dev/null", O_RDWR);
        if (opened >= 0 && opened != descriptor) ::close(opened);
    }
    std::signal(SIGPIPE, SIG_IGN);
}

StopRequest::StopRequest() {
    if (!kept.load()) received = 0;  // kept: a signal taken before still asks to stop
    stop_armed = true;
}

StopRequest::~StopRequest() {
    if (!kept.load()) stop_armed = false;
}

void StopRequest::keep_until_exit() {
    kept = true;
    stop_armed = true;
}

int StopRequest::signal_number() {
    return received.load();
}

void remove_on_stop_signal(const std::string& path) {
    const std::lock_guard<std::mutex> lock(removal_mutex);
    if (path.size() >= removal_path.size()) return;
    path.copy(removal_path.data(), path.size());
    removal_path[path.size()] = '\0';
}

void forget_on_stop_signal() noexcept {
    const std::lock_guard<std::mutex> lock(removal_mutex);
    removal_path[0] = '\0';
}

}  // namespace h5infer
