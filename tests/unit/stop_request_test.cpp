#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "stop.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

using namespace std::chrono_literals;

// Waits until no signal is pending for the process any more (the waiting thread took it).
bool taken(int signal_number) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
        sigset_t pending;
        sigpending(&pending);
        if (sigismember(&pending, signal_number) == 0) return true;
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

int signal_after_request(int first, int second) {
    const StopRequest request;
    ::kill(::getpid(), first);
    if (second != 0) {
        (void)taken(first);
        ::kill(::getpid(), second);
        (void)taken(second);
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (StopRequest::signal_number() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(20ms);
    return StopRequest::signal_number();
}

class StopSignals : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // Death tests re-run this binary instead of forking a process with threads.
        GTEST_FLAG_SET(death_test_style, "threadsafe");
        watch_stop_signals();
    }
};

TEST_F(StopSignals, ThreadsStartedLaterHaveThemBlocked) {
    sigset_t mask;
    std::thread([&] { pthread_sigmask(SIG_BLOCK, nullptr, &mask); }).join();
    for (int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
        EXPECT_EQ(sigismember(&mask, signal_number), 1) << signal_number;
    }
}

TEST_F(StopSignals, AStopRequestTakesTheFirstSignal) {
    EXPECT_EQ(signal_after_request(SIGUSR1, 0), SIGUSR1);
    EXPECT_EQ(signal_after_request(SIGTERM, 0), SIGTERM);
}

TEST_F(StopSignals, ASignalOfAnotherKindIsTheSameRequest) {
    EXPECT_EQ(signal_after_request(SIGINT, SIGTERM), SIGINT);
}

TEST_F(StopSignals, TheSameSignalTwiceEndsTheProcess) {
    EXPECT_EXIT(
        {
            (void)signal_after_request(SIGINT, SIGINT);
            std::this_thread::sleep_for(5s);
        },
        ::testing::KilledBySignal(SIGINT), "");
}

// Slurm signals every rank; another rank's signal may have stopped the job before this one's
// arrives, while this rank saves progress or exits: it is the same request, not a kill.
TEST_F(StopSignals, AfterTheJobAgreedToStopASignalIsTheSameRequestUntilExit) {
    EXPECT_EXIT(
        {
            {
                const StopRequest request;
                StopRequest::keep_until_exit();
            }
            ::kill(::getpid(), SIGUSR1);
            (void)taken(SIGUSR1);
            std::this_thread::sleep_for(50ms);
            std::_Exit(75);
        },
        ::testing::ExitedWithCode(75), "");
}

// `h5infer run` keeps them from before run() to the exit: a signal before the run's request
// starts is its request, one after it ends (the work done) ends nothing.
TEST_F(StopSignals, KeptUntilExitASignalBeforeTheRequestIsItsRequestAndOneAfterIsTaken) {
    EXPECT_EXIT(
        {
            StopRequest::keep_until_exit();
            ::kill(::getpid(), SIGTERM);
            (void)taken(SIGTERM);
            std::this_thread::sleep_for(20ms);
            int seen = 0;
            {
                const StopRequest request;
                seen = StopRequest::signal_number();
            }
            ::kill(::getpid(), SIGUSR1);
            (void)taken(SIGUSR1);
            std::this_thread::sleep_for(50ms);
            std::_Exit(seen == SIGTERM ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST_F(StopSignals, AfterARunThatDidNotStopASignalEndsTheProcess) {
    EXPECT_EXIT(
        {
            { const StopRequest request; }
            ::kill(::getpid(), SIGUSR1);
            std::this_thread::sleep_for(5s);
        },
        ::testing::KilledBySignal(SIGUSR1), "");
}

TEST_F(StopSignals, WithoutARequestASignalRemovesTheRegisteredFileAndEndsTheProcess) {
    // The death test runs this test again in a new process: it finds the file in the variable.
    const char* given = std::getenv("H5INFER_STOP_TEST_FILE");
    const testing::TempDir directory;
    const std::string path = given != nullptr ? given : directory.file("output.tmp");
    ::setenv("H5INFER_STOP_TEST_FILE", path.c_str(), 1);
    std::ofstream(path) << "partial";
    EXPECT_EXIT(
        {
            remove_on_stop_signal(path);
            ::kill(::getpid(), SIGTERM);
            std::this_thread::sleep_for(5s);
        },
        ::testing::KilledBySignal(SIGTERM), "");
    ::unsetenv("H5INFER_STOP_TEST_FILE");
    EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace h5infer
