#pragma once

#include <string>

namespace h5infer {

/// Takes SIGTERM, SIGINT, SIGHUP and SIGUSR1 away from every thread of the process and gives
/// them to one thread of its own, which waits for them (sigwait) and acts on them: it sets a
/// StopRequest's flag, removes a file registered with remove_on_stop_signal(), or lets the
/// signal take its default course (a signal ignored when the process started stays ignored).
/// Threads inherit the blocked signals, so call it first in main(), before MPI, OpenMP or any
/// library starts a thread. Why no signal handler: a handler runs on the stack of whichever
/// thread the signal interrupts, and oneDNN's AVX2 f32 gemm points its stack pointer into a
/// heap buffer while it computes, so the kernel would write the handler's frame over the heap
/// below that buffer. Processes forked later (Open MPI's helpers) get the signals unblocked.
/// Once per process; later calls do nothing. Without it, StopRequest and
/// remove_on_stop_signal() see no signals: the signals take their default course.
void watch_stop_signals();

/// Makes a closed or broken standard output harmless, first thing in main(): a closed
/// stdin, stdout or stderr is opened on /dev/null (else the next file h5infer opens would take
/// its number and receive the progress lines), and SIGPIPE is ignored, so a reader that went
/// away (`| head`) makes printing fail with EPIPE, which h5infer's lines ignore, instead of
/// killing the process between two writes and leaving its lock and partial files behind.
void guard_standard_streams();

/// Turns SIGTERM, SIGINT, SIGHUP and SIGUSR1 (what Slurm sends at a time limit, on preemption
/// or with --signal, and what mpirun forwards or sends when it stops a job) into a request that
/// the run loop polls between chunks, so every rank can stop after its chunk and save progress.
/// A second signal of the same kind takes its default course, so an impatient Ctrl-C still
/// ends the job; a signal of another kind is taken as the same request. Needs
/// watch_stop_signals(). One at a time.
class StopRequest {
public:
    StopRequest();
    ~StopRequest();
    StopRequest(const StopRequest&) = delete;
    StopRequest& operator=(const StopRequest&) = delete;
    StopRequest(StopRequest&&) = delete;
    StopRequest& operator=(StopRequest&&) = delete;

    /// The signal received, or 0.
    [[nodiscard]] static int signal_number();

    /// From here until the process exits, a stop signal is taken as a request even after the
    /// StopRequest ends (the same kind twice still ends the process). For a job that agreed to
    /// stop, on this rank's signal or another's: what Slurm or a user sends every rank may reach
    /// this one only after the agreement, and must not kill a rank that is saving progress or
    /// exiting with 75. And for `h5infer run`, whose process only finalizes MPI and exits after
    /// run(): a signal that comes when the work is done has nothing left to stop, and must not
    /// turn a complete run into one killed by a signal. A signal taken before the next
    /// StopRequest starts is its request.
    static void keep_until_exit();
};

/// Until forget_on_stop_signal(), a stop signal that no StopRequest takes removes `path` before
/// it takes its default course (the temporary file of a one-process writer). One path at a
/// time; a path longer than the system's limit is not registered. Needs watch_stop_signals().
void remove_on_stop_signal(const std::string& path);

/// Undoes remove_on_stop_signal().
void forget_on_stop_signal() noexcept;

}  // namespace h5infer
