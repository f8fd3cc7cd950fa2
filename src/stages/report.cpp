#include "stages/report.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agree.hpp"
#include "h5infer/error.hpp"
#include "h5infer/version.hpp"
#include "io/output.hpp"

namespace h5infer::stages {
namespace {

void trace(const mpi::Comm& comm, const StageTimes& times) {
    const char* verbose = std::getenv("H5INFER_VERBOSE");
    if (verbose == nullptr || std::string(verbose) == "0") return;
    std::fprintf(stderr,
                 "h5infer_verbose,rank=%d,chunks=%.0f,setup=%.4f,read=%.4f,compute=%.4f,"
                 "write=%.4f,wait=%.4f,finish=%.4f\n",
                 comm.rank(), times.chunks, times.setup, times.read, times.compute, times.write,
                 times.wait, times.finish);
}

// The stages of StageTimes, in its order; report_values() adds rows and chunks after them.
constexpr const char* stage_names[] = {"setup", "read", "compute", "write", "wait", "finish"};
constexpr std::size_t stages = sizeof stage_names / sizeof stage_names[0];
constexpr std::size_t report_fields = stages + 2;

// Per-rank figures of --report and --metrics, in the order StageTimes lists them.
std::vector<double> report_values(const StageTimes& times) {
    return {times.setup, times.read,   times.compute, times.write,
            times.wait,  times.finish, times.rows,    times.chunks};
}

// How every file of each kind begins: what tells an earlier one, which a run may replace, from
// any other file.
constexpr std::string_view report_start = "{\n  \"h5infer_version\": ";
constexpr std::string_view metrics_start = "# HELP h5infer_";

bool starts_with(const std::string& path, std::string_view start) {
    std::FILE* in = std::fopen(path.c_str(), "rb");
    if (in == nullptr) return false;
    std::string head(start.size(), '\0');
    const std::size_t got = std::fread(head.data(), 1, head.size(), in);
    std::fclose(in);
    return got == head.size() && head == start;
}

std::string resolved(const std::string& path) {
    std::error_code error;
    const std::filesystem::path full = std::filesystem::weakly_canonical(path, error);
    return error ? path : full.string();
}

// The JSON, to the temporary file `out` made for `path`.
void write_report_json(std::FILE* out, const RunReport& report, const std::string& layout,
                       const std::vector<double>& per_rank) {
    std::fprintf(out,
                 "{\n  \"h5infer_version\": \"%s\",\n  \"ranks\": %d,\n  \"threads_per_rank\": "
                 "\"%s\",\n  \"seconds\": %.6f,\n  \"rows\": %lld,\n  \"inputs\": %lld,\n"
                 "  \"skipped_inputs\": %lld,\n  \"resumed_chunks\": %lld,\n  \"per_rank\": [\n",
                 version, report.ranks, layout.c_str(), report.seconds,
                 static_cast<long long>(report.rows), static_cast<long long>(report.jobs),
                 static_cast<long long>(report.skipped),
                 static_cast<long long>(report.resumed_chunks));
    for (int rank = 0; rank < report.ranks; ++rank) {
        std::fprintf(out, "    {\"rank\": %d", rank);
        for (std::size_t i = 0; i < stages; ++i) {
            std::fprintf(out, ", \"%s_seconds\": %.6g", stage_names[i],
                         per_rank[static_cast<std::size_t>(rank) * report_fields + i]);
        }
        std::fprintf(out, ", \"rows\": %.6g, \"chunks\": %.6g}%s\n",
                     per_rank[static_cast<std::size_t>(rank) * report_fields + stages],
                     per_rank[static_cast<std::size_t>(rank) * report_fields + stages + 1],
                     rank + 1 < report.ranks ? "," : "");
    }
    std::fprintf(out, "  ]\n}\n");
}

// Written under a temporary name and renamed into place: the file's name never holds a partial
// file, nor loses an earlier one to a failed write. The node exporter's text-file collector,
// for one, reads only names ending in .prom, never the temporary name.
void write_atomically(const std::string& flag, const std::string& path,
                      const std::function<void(std::FILE*)>& write) {
    const std::string temporary = io::temporary_path(path, flag.substr(2));
    io::TemporaryOutput owner(temporary);
    std::FILE* out = std::fopen(temporary.c_str(), "wx");
    if (out == nullptr) {
        throw IoError(flag + " '" + path + "' cannot be written: " + std::strerror(errno));
    }
    write(out);
    if (std::fclose(out) != 0) throw IoError(flag + " '" + path + "' could not be written");
    io::commit_output(temporary, path, true);
    owner.dismiss();
}

// One metric family of --metrics: HELP and TYPE, then its samples (written by the caller).
void family(std::FILE* out, const char* name, const char* type, const char* help) {
    std::fprintf(out, "# HELP h5infer_%s %s\n# TYPE h5infer_%s %s\n", name, help, name, type);
}

// OpenMetrics text: a counter family NAME has the one sample NAME_total. `per_rank`, empty
// after an early end, holds report_values() of every rank.
void write_metrics_text(std::FILE* out, int exit_status, int ranks, double seconds,
                        const Tally& tally, const std::vector<double>& per_rank) {
    family(out, "exit_status", "gauge",
           "How the run ended: 0 done, 75 stopped with its progress saved (rerun the same "
           "command to resume), else the exit code of its error.");
    std::fprintf(out, "h5infer_exit_status %d\n", exit_status);
    family(out, "ranks", "gauge", "MPI ranks of the run.");
    std::fprintf(out, "h5infer_ranks %d\n", ranks);
    family(out, "run_seconds", "gauge", "Wall time of the run.");
    std::fprintf(out, "h5infer_run_seconds %.6f\n", seconds);
    family(out, "rows", "counter",
           "Input rows this run predicted and wrote (rows resumed from a partial file and rows "
           "of up-to-date outputs excluded).");
    std::fprintf(out, "h5infer_rows_total %lld\n", static_cast<long long>(tally.rows));
    family(out, "rows_per_second", "gauge", "Rows this run predicted per second of wall time.");
    std::fprintf(out, "h5infer_rows_per_second %.6g\n",
                 seconds > 0 ? static_cast<double>(tally.rows) / seconds : 0.0);
    if (tally.prepared) {
        family(out, "inputs", "counter",
               "Inputs of the run: done (prediction file written), skipped (up to date) or "
               "unfinished (the run stopped or failed first).");
        const std::int64_t unfinished = tally.inputs - tally.skipped - tally.finished;
        for (const auto& [state, count] :
             {std::pair{"done", tally.finished}, std::pair{"skipped", tally.skipped},
              std::pair{"unfinished", unfinished}}) {
            std::fprintf(out, "h5infer_inputs_total{state=\"%s\"} %lld\n", state,
                         static_cast<long long>(count));
        }
        family(out, "resumed_chunks", "counter", "Chunks found done in partial files.");
        std::fprintf(out, "h5infer_resumed_chunks_total %lld\n",
                     static_cast<long long>(tally.resumed_chunks));
    }
    if (!per_rank.empty()) {
        family(out, "stage_seconds", "counter", "Seconds in each stage, summed over the ranks.");
        for (std::size_t i = 0; i < stages; ++i) {
            double sum = 0;
            for (int rank = 0; rank < ranks; ++rank) {
                sum += per_rank[static_cast<std::size_t>(rank) * report_fields + i];
            }
            std::fprintf(out, "h5infer_stage_seconds_total{stage=\"%s\"} %.6f\n", stage_names[i],
                         sum);
        }
    }
    std::fprintf(out, "# EOF\n");
}

// --report and --metrics of a finished run, on rank 0.
void write_report_files(const RunConfig& config, const RunReport& report, const std::string& layout,
                        const std::vector<double>& per_rank) {
    if (!config.report_path.empty()) {
        write_atomically("--report", config.report_path,
                         [&](std::FILE* out) { write_report_json(out, report, layout, per_rank); });
    }
    if (config.metrics_path.empty()) return;
    Tally tally;
    tally.metrics_path_checked = true;
    tally.prepared = true;
    tally.inputs = report.jobs;
    tally.skipped = report.skipped;
    tally.finished = report.jobs - report.skipped;
    tally.rows = report.rows;
    tally.resumed_chunks = report.resumed_chunks;
    write_atomically("--metrics", config.metrics_path, [&](std::FILE* out) {
        write_metrics_text(out, 0, report.ranks, report.seconds, tally, per_rank);
    });
}

void check_run_file(const RunConfig& config, const std::vector<io::Job>& jobs,
                    const std::string& flag, const std::string& path, std::string_view start,
                    const std::string& kind) {
    if (path.empty()) return;
    const std::string file = resolved(path);
    const auto refuse_if_same = [&](const std::string& other, const std::string& what) {
        if (!other.empty() && file == resolved(other)) {
            throw IoError(flag + " '" + path + "' is " + what +
                          "; give the file a name of its own");
        }
    };
    refuse_if_same(config.model_path, "the model");
    for (const io::Job& job : jobs) {
        refuse_if_same(job.input.file, "an input of this run");
        refuse_if_same(job.output.file, "an output of this run");
        refuse_if_same(io::partial_path(job.output.file), "the partial file of an output");
        refuse_if_same(io::temporary_path(job.output.file, "lock"), "the lock of an output");
    }
    std::error_code error;
    if (std::filesystem::exists(path, error) && !std::filesystem::is_directory(path, error) &&
        !starts_with(path, start) && !config.overwrite && !config.force) {
        throw IoError(flag + " '" + path + "' exists and is not an h5infer " + kind +
                      "; choose another name or pass --overwrite to replace it");
    }
    io::check_output_path(path, true, flag);
}

}  // namespace

void check_report_paths(const RunConfig& config, const std::vector<io::Job>& jobs) {
    check_run_file(config, jobs, "--report", config.report_path, report_start, "report");
    check_run_file(config, jobs, "--metrics", config.metrics_path, metrics_start, "metrics file");
    if (!config.metrics_path.empty() &&
        resolved(config.metrics_path) == resolved(config.report_path)) {
        throw IoError("--metrics '" + config.metrics_path +
                      "' is the --report file; give the file a name of its own");
    }
}

void write_metrics_of_early_end(const RunConfig& config, const mpi::Comm& comm, const Tally& tally,
                                ExitCode code,
                                std::chrono::steady_clock::time_point start) noexcept {
    const std::string& path = config.metrics_path;
    if (comm.rank() != 0 || path.empty() || !tally.metrics_path_checked) return;
    try {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        write_atomically("--metrics", path, [&](std::FILE* out) {
            write_metrics_text(out, static_cast<int>(code), comm.size(), seconds, tally, {});
        });
    } catch (const std::exception& error) {
        std::fprintf(stderr, "h5infer: warning: %s\n", error.what());
    }
}

void announce(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
              const RunPlan& plan, const Engine& engine) {
    if (comm.rank() != 0 || config.quiet) return;
    const std::string& layout = engine.thread_layout;
    const std::string& agreed = prepared.instruction_set.name;
    const std::string isa = agreed.empty() ? "" : " " + agreed;
    const std::string target =
        prepared.jobs.size() == 1
            ? prepared.jobs[0].input.file + ":" + prepared.jobs[0].input.dataset + " -> " +
                  prepared.jobs[0].output.file + ":" + prepared.jobs[0].output.dataset
            : std::to_string(prepared.jobs.size()) + " inputs -> " + config.output_dir;
    std::printf(
        "h5infer %s: %d rank%s x %s thread%s (%s), backend %s %s%s, %lld rows in %lld chunks "
        "of %lld, %s\n",
        version, comm.size(), comm.size() == 1 ? "" : "s", layout.c_str(), layout == "1" ? "" : "s",
        engine.thread_source.c_str(), std::string(kernels::backend_name(config.backend)).c_str(),
        std::string(kernels::precision_name(config.precision)).c_str(), isa.c_str(),
        static_cast<long long>(plan.rows_to_do), static_cast<long long>(plan.work.size()),
        static_cast<long long>(prepared.chunk_rows), target.c_str());
    std::fflush(stdout);
}

RunReport report(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
                 const RunPlan& plan, const Engine& engine, const OpenOutputs& outputs,
                 const StageTimes& times, std::chrono::steady_clock::time_point start) {
    const bool single = prepared.jobs.size() == 1;
    RunReport report;
    report.all_writes_collective = outputs.all_writes_collective();
    report.rows = plan.rows_to_do;
    report.outputs = engine.outputs;
    report.nonfinite_rows = outputs.nonfinite_rows();
    report.ranks = comm.size();
    report.threads = engine.threads;
    report.jobs = static_cast<std::int64_t>(prepared.jobs.size());
    report.skipped = plan.skipped;
    report.resumed_chunks = plan.resumed_chunks;
    report.output_file = single ? prepared.jobs[0].output.file : config.output_dir;
    report.output_dataset = single ? prepared.jobs[0].output.dataset : "/predictions";
    report.verified_rows = comm.sum(engine.verifier->rows_checked());
    report.verify_deviation.absolute = comm.max(engine.verifier->deviation().absolute);
    report.verify_deviation.relative = comm.max(engine.verifier->deviation().relative);
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    comm.broadcast(report.seconds, 0);
    trace(comm, times);
    const std::vector<double> per_rank = comm.gather(report_values(times), 0);
    if (config.report_path.empty() && config.metrics_path.empty()) return report;
    agree_on_root(comm, 0,
                  [&] { write_report_files(config, report, engine.thread_layout, per_rank); });
    return report;
}

}  // namespace h5infer::stages
