#include "stop.hpp"

#include <array>
#include <csignal>

namespace h5infer {
namespace {

volatile std::sig_atomic_t received = 0;  // NOLINT: shared with the signal handler
constexpr std::array<int, 4> stop_signals{SIGTERM, SIGINT, SIGHUP, SIGUSR1};

extern "C" void note_stop(int signal_number) {
    received = signal_number;
    std::signal(signal_number, SIG_DFL);  // the next one ends the process
}

}  // namespace

StopRequest::StopRequest() {
    received = 0;
    for (int signal_number : stop_signals) std::signal(signal_number, note_stop);
}

StopRequest::~StopRequest() {
    for (int signal_number : stop_signals) std::signal(signal_number, SIG_DFL);
}

int StopRequest::signal_number() {
    return received;
}

}  // namespace h5infer
