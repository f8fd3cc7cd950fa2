#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>

namespace h5infer {
namespace {

std::string format_duration(double seconds) {
    const auto total = static_cast<std::int64_t>(std::llround(seconds));
    const std::int64_t hours = total / 3600;
    const std::int64_t minutes = (total / 60) % 60;
    const std::int64_t rest = total % 60;
    if (hours > 0) return std::to_string(hours) + "h" + std::to_string(minutes) + "m";
    if (minutes > 0) return std::to_string(minutes) + "m" + std::to_string(rest) + "s";
    return std::to_string(rest) + "s";
}

}  // namespace

bool interactive_terminal() {
    for (const char* launcher : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_JOB_ID"}) {
        if (std::getenv(launcher) != nullptr) return false;
    }
    return isatty(1) != 0;
}

std::string format_progress(std::int64_t rows_done, std::int64_t rows_total, double seconds) {
    const double percent =
        rows_total > 0 ? 100.0 * static_cast<double>(rows_done) / static_cast<double>(rows_total)
                       : 100.0;
    const double rate = seconds > 0 ? static_cast<double>(rows_done) / seconds : 0.0;
    char text[160];
    std::snprintf(text, sizeof text, "%lld/%lld rows (%.1f%%), %.0f rows/s",
                  static_cast<long long>(rows_done), static_cast<long long>(rows_total), percent,
                  rate);
    std::string line = text;
    if (rate > 0 && rows_done < rows_total) {
        line += ", ETA " + format_duration(static_cast<double>(rows_total - rows_done) / rate);
    }
    return line;
}

Progress::Progress(std::int64_t rows_total, double interval_seconds, bool terminal, std::FILE* out)
    : rows_total_(rows_total), interval_(interval_seconds), terminal_(terminal), out_(out) {}

void Progress::update(std::int64_t rows_done, double seconds) {
    if (out_ == nullptr || seconds - last_print_ < interval_ || rows_done >= rows_total_) return;
    last_print_ = seconds;
    const std::string line = "h5infer: " + format_progress(rows_done, rows_total_, seconds);
    if (terminal_) {
        std::fprintf(out_, "\r%s\033[K", line.c_str());
        drawn_ = true;
    } else {
        std::fprintf(out_, "%s\n", line.c_str());
    }
    std::fflush(out_);
}

void Progress::finish() {
    if (drawn_ && out_ != nullptr) std::fprintf(out_, "\r\033[K");
    drawn_ = false;
}

}  // namespace h5infer
