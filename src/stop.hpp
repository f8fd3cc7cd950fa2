#pragma once

namespace h5infer {

/// Turns SIGTERM, SIGINT, SIGHUP and SIGUSR1 (what Slurm sends at a time limit, on preemption
/// or with --signal, and what mpirun forwards) into a request that the run loop polls between
/// chunks, so every rank can finish its chunk and save progress. A second signal of the same
/// kind takes its default course, so an impatient Ctrl-C still ends the job. One at a time.
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
};

}  // namespace h5infer
