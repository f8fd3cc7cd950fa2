#include "stages/report.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
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

// Per-rank figures of --report, in the order StageTimes lists them.
std::vector<double> report_values(const StageTimes& times) {
    return {times.setup, times.read,   times.compute, times.write,
            times.wait,  times.finish, times.rows,    times.chunks};
}

// How every report begins: what tells an earlier report, which a run may replace, from any
// other file.
constexpr std::string_view report_start = "{\n  \"h5infer_version\": ";

bool is_report(const std::string& path) {
    std::FILE* in = std::fopen(path.c_str(), "rb");
    if (in == nullptr) return false;
    std::string start(report_start.size(), '\0');
    const std::size_t got = std::fread(start.data(), 1, start.size(), in);
    std::fclose(in);
    return got == start.size() && start == report_start;
}

std::string resolved(const std::string& path) {
    std::error_code error;
    const std::filesystem::path full = std::filesystem::weakly_canonical(path, error);
    return error ? path : full.string();
}

// The JSON, to the temporary file `out` made for `path`.
void write_report_json(std::FILE* out, const RunReport& report, const std::string& layout,
                       const std::vector<double>& per_rank) {
    const char* names[] = {"setup_seconds", "read_seconds", "compute_seconds",
                           "write_seconds", "wait_seconds", "finish_seconds",
                           "rows",          "chunks"};
    constexpr std::size_t fields = sizeof names / sizeof names[0];
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
        for (std::size_t i = 0; i < fields; ++i) {
            std::fprintf(out, ", \"%s\": %.6g", names[i],
                         per_rank[static_cast<std::size_t>(rank) * fields + i]);
        }
        std::fprintf(out, "}%s\n", rank + 1 < report.ranks ? "," : "");
    }
    std::fprintf(out, "  ]\n}\n");
}

// Written under a temporary name and renamed into place: the report's name never holds a
// partial report, nor loses an earlier one to a failed write.
void write_report(const std::string& path, const RunReport& report, const std::string& layout,
                  const std::vector<double>& per_rank) {
    const std::string temporary = io::temporary_path(path, "report");
    io::TemporaryOutput owner(temporary);
    std::FILE* out = std::fopen(temporary.c_str(), "wx");
    if (out == nullptr) {
        throw IoError("--report '" + path + "' cannot be written: " + std::strerror(errno));
    }
    write_report_json(out, report, layout, per_rank);
    if (std::fclose(out) != 0) throw IoError("--report '" + path + "' could not be written");
    io::commit_output(temporary, path, true);
    owner.dismiss();
}

}  // namespace

void check_report_path(const RunConfig& config, const Prepared& prepared) {
    const std::string& path = config.report_path;
    if (path.empty()) return;
    const std::string report = resolved(path);
    const auto refuse_if_same = [&](const std::string& other, const std::string& what) {
        if (!other.empty() && report == resolved(other)) {
            throw IoError("--report '" + path + "' is " + what +
                          "; give the report a name of its own");
        }
    };
    refuse_if_same(config.model_path, "the model");
    for (const PreparedJob& job : prepared.jobs) {
        refuse_if_same(job.input.file, "an input of this run");
        refuse_if_same(job.output.file, "an output of this run");
        refuse_if_same(io::partial_path(job.output.file), "the partial file of an output");
        refuse_if_same(io::temporary_path(job.output.file, "lock"), "the lock of an output");
    }
    std::error_code error;
    if (std::filesystem::exists(path, error) && !std::filesystem::is_directory(path, error) &&
        !is_report(path) && !config.overwrite && !config.force) {
        throw IoError("--report '" + path +
                      "' exists and is not an h5infer report; choose another name or pass "
                      "--overwrite to replace it");
    }
    io::check_output_path(path, true, "--report");
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
    if (!config.report_path.empty()) {
        agree_on_root(comm, 0, [&] {
            write_report(config.report_path, report, engine.thread_layout, per_rank);
        });
    }
    return report;
}

}  // namespace h5infer::stages
