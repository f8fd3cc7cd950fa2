#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace h5infer {

/// "1200000/4000000 rows (30.0%), 512345 rows/s, ETA 5s": one progress report.
[[nodiscard]] std::string format_progress(std::int64_t rows_done, std::int64_t rows_total,
                                          double seconds);

/// Whether this process draws progress in place: only when its stdout is a terminal and no MPI
/// or Slurm launcher started it (mpirun gives ranks a pseudo-terminal even when the job's output
/// goes to a file, so under a launcher isatty() cannot be trusted).
[[nodiscard]] bool interactive_terminal();

/// Rank 0's progress printer. On a terminal it redraws one line in place; otherwise (a Slurm
/// log) it prints whole lines, at most one per `interval_seconds`, so logs stay readable.
class Progress {
public:
    Progress(std::int64_t rows_total, double interval_seconds, bool terminal, std::FILE* out);

    /// Reports `rows_done` at `seconds` since the start if the interval has passed.
    void update(std::int64_t rows_done, double seconds);

    /// Ends an in-place line so the summary starts on a fresh one.
    void finish();

private:
    std::int64_t rows_total_ = 0;
    double interval_ = 0;
    bool terminal_ = false;
    std::FILE* out_ = nullptr;
    double last_print_ = 0;
    bool drawn_ = false;
};

}  // namespace h5infer
