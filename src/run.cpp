#include "h5infer/run.hpp"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>

#include "agree.hpp"
#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"
#include "h5infer/version.hpp"
#include "io/input.hpp"
#include "io/output.hpp"
#include "progress.hpp"

namespace h5infer {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// What rank 0 decides while validating, then shares with every rank.
struct Prepared {
    std::vector<char> model_image;
    std::string model_path;
    std::string model_sha256;
    io::InputInfo input;
    io::DatasetRef output;
    std::string temporary;
    std::string start_time;
};

std::string absolute_path(const std::string& path) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return path;
    std::string result = resolved;
    std::free(resolved);  // NOLINT: realpath's contract
    return result;
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

void check_config(const RunConfig& config) {
    if (config.chunk_rows < 1) {
        throw ConfigError("--chunk-rows must be at least 1, got " +
                          std::to_string(config.chunk_rows));
    }
    if (config.threads < 0) {
        throw ConfigError("--threads must be positive, got " + std::to_string(config.threads));
    }
}

// --labels needs class labels in the model and the name /labels free in the output file.
void check_labels_request(const RunConfig& config, const Model& model,
                          const io::DatasetRef& output) {
    if (!config.labels) return;
    if (model.labels.empty()) {
        throw ConfigError("--labels: model '" + config.model_path +
                          "' has no class labels (only classifiers' models have them, e.g. "
                          "from tools/h5infer-export-sklearn); drop --labels");
    }
    const std::string reserved(io::labels_dataset);
    if (output.dataset == reserved || output.dataset.rfind(reserved + "/", 0) == 0) {
        throw ConfigError("--labels writes '" + reserved + "', which the output dataset '" +
                          output.dataset + "' would clash with; choose another --output dataset");
    }
}

Prepared prepare(const RunConfig& config) {
    check_config(config);
    Prepared prepared;
    prepared.start_time = utc_now();
    const Model model = read_model(config.model_path);
    prepared.model_image = serialize(model);
    prepared.model_path = absolute_path(config.model_path);
    prepared.input = io::inspect_input(io::parse_input_ref(config.input), model.input_width);
    prepared.output = io::parse_output_ref(config.output, "/predictions");
    check_labels_request(config, model, prepared.output);
    io::check_output_path(prepared.output.file, config.overwrite);
    const std::string output_directory_probe = absolute_path(prepared.output.file);
    if (output_directory_probe == absolute_path(prepared.input.file) ||
        output_directory_probe == prepared.model_path) {
        throw IoError("output '" + prepared.output.file +
                      "' is the input or the model file; choose another output name");
    }
    prepared.model_sha256 = file_sha256(config.model_path);
    prepared.temporary =
        io::temporary_path(prepared.output.file,
                           std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr)));
    return prepared;
}

void broadcast(const mpi::Comm& comm, Prepared& prepared) {
    comm.broadcast(prepared.model_image, 0);
    for (std::string* text :
         {&prepared.model_path, &prepared.model_sha256, &prepared.input.file,
          &prepared.input.dataset, &prepared.input.dtype, &prepared.output.file,
          &prepared.output.dataset, &prepared.temporary, &prepared.start_time}) {
        comm.broadcast(*text, 0);
    }
    comm.broadcast(prepared.input.rows, 0);
    comm.broadcast(prepared.input.cols, 0);
}

// Rows of a row-major block holding a NaN or Inf; (x - x) is NaN exactly for those.
std::int64_t count_nonfinite_rows(const float* values, std::int64_t rows, std::int64_t cols) {
    std::int64_t count = 0;
    for (std::int64_t row = 0; row < rows; ++row) {
        const float* begin = values + row * cols;
        float probe = 0;
        for (std::int64_t col = 0; col < cols; ++col) probe += begin[col] - begin[col];
        if (probe != 0 || std::isnan(probe)) ++count;
    }
    return count;
}

// Per-rank time split, printed with H5INFER_VERBOSE=1 (modelled on ONEDNN_VERBOSE).
struct StageTimes {
    double setup = 0;
    double read = 0;
    double compute = 0;
    double write = 0;
    double finish = 0;
};

void trace(const mpi::Comm& comm, const StageTimes& times, std::int64_t chunks) {
    const char* verbose = std::getenv("H5INFER_VERBOSE");
    if (verbose == nullptr || std::string(verbose) == "0") return;
    std::fprintf(stderr,
                 "h5infer_verbose,rank=%d,chunks=%lld,setup=%.4f,read=%.4f,compute=%.4f,"
                 "write=%.4f,finish=%.4f\n",
                 comm.rank(), static_cast<long long>(chunks), times.setup, times.read,
                 times.compute, times.write, times.finish);
}

std::string thread_layout(const mpi::Comm& comm, int threads) {
    const std::int64_t fewest = comm.min(static_cast<std::int64_t>(threads));
    const std::int64_t most = comm.max(static_cast<std::int64_t>(threads));
    return fewest == most ? std::to_string(most)
                          : std::to_string(fewest) + "-" + std::to_string(most);
}

void write_provenance(io::OutputWriter& writer, const Prepared& prepared, const RunConfig& config,
                      const mpi::Comm& comm, const std::string& threads, std::int64_t nonfinite,
                      double elapsed) {
    writer.set_attribute("h5infer_version", std::string(version));
    writer.set_attribute("model_path", prepared.model_path);
    writer.set_attribute("model_sha256", prepared.model_sha256);
    writer.set_attribute("input_file", absolute_path(prepared.input.file));
    writer.set_attribute("input_dataset", prepared.input.dataset);
    writer.set_attribute("input_dtype", prepared.input.dtype);
    writer.set_attribute("rows", prepared.input.rows);
    writer.set_attribute("ranks", static_cast<std::int64_t>(comm.size()));
    writer.set_attribute("threads_per_rank", threads);
    writer.set_attribute("chunk_rows", config.chunk_rows);
    writer.set_attribute("backend", std::string(kernels::backend_name(config.backend)));
    writer.set_attribute("nonfinite_input_rows", nonfinite);
    writer.set_attribute("start_time", prepared.start_time);
    writer.set_attribute("elapsed_seconds", elapsed);
}

// mpirun gives ranks a pseudo-terminal even when the job's output goes to a file, so under a
// launcher isatty() cannot be trusted: redraw in place only for a rank started by hand.
bool interactive_terminal() {
    for (const char* launcher : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_JOB_ID"}) {
        if (std::getenv(launcher) != nullptr) return false;
    }
    return isatty(1) != 0;
}

}  // namespace

int resolve_threads(int requested, std::string& source) {
    if (requested > 0) {
        source = "--threads";
        return requested;
    }
    if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) {
        const int count = std::atoi(slurm);
        if (count > 0) {
            source = "SLURM_CPUS_PER_TASK";
            return count;
        }
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
        source = "affinity mask";
        return CPU_COUNT(&set);
    }
    source = "default";
    return 1;
}

RunReport run(const RunConfig& config, const mpi::Comm& comm) {
    const Clock::time_point start = Clock::now();
    const bool root = comm.rank() == 0;
    StageTimes times;

    Prepared prepared;
    agree_on_root(comm, 0, [&] { prepared = prepare(config); });
    broadcast(comm, prepared);
    const io::InputInfo& input = prepared.input;

    std::string thread_source;
    const int threads = resolve_threads(config.threads, thread_source);
    const std::string layout = thread_layout(comm, threads);
    const ChunkPlan plan(input.rows, config.chunk_rows, comm.size());
    const std::int64_t buffer_rows =
        std::max<std::int64_t>(1, std::min(config.chunk_rows, input.rows));

    std::unique_ptr<kernels::Network> network;
    std::optional<io::InputReader> reader;
    std::vector<float> src;
    std::vector<float> dst;
    std::int64_t outputs = 0;
    std::vector<std::string> labels;
    agree(comm, [&] {
        const Model model = deserialize(prepared.model_image);
        outputs = model.output_width();
        labels = model.labels;
        network = kernels::make_network(model, config.backend, buffer_rows, threads);
        reader.emplace(input);
        src.resize(static_cast<std::size_t>(buffer_rows * input.cols));
        dst.resize(static_cast<std::size_t>(buffer_rows * outputs));
    });
    if (root && !config.quiet) {
        std::printf(
            "h5infer %s: %d rank%s x %s thread%s (%s), backend %s, %lld rows in %lld "
            "chunks of %lld, %s:%s -> %s:%s\n",
            version, comm.size(), comm.size() == 1 ? "" : "s", layout.c_str(),
            layout == "1" ? "" : "s", thread_source.c_str(),
            std::string(kernels::backend_name(config.backend)).c_str(),
            static_cast<long long>(input.rows), static_cast<long long>(plan.chunk_count()),
            static_cast<long long>(config.chunk_rows), input.file.c_str(), input.dataset.c_str(),
            prepared.output.file.c_str(), prepared.output.dataset.c_str());
        std::fflush(stdout);
    }

    io::TemporaryOutput temporary(prepared.temporary);
    std::optional<io::OutputWriter> writer;
    agree(comm, [&] {
        writer.emplace(prepared.temporary, prepared.output.dataset, input.rows, outputs, comm);
        if (!labels.empty()) writer->set_labels(labels, config.labels);
    });
    times.setup = seconds_since(start);

    const bool terminal = interactive_terminal();
    const double interval =
        config.progress_interval >= 0 ? config.progress_interval : (terminal ? 1.0 : 10.0);
    Progress progress(input.rows, interval, terminal, root && !config.quiet ? stdout : nullptr);
    const Range chunks = plan.chunks_of(comm.rank());
    std::int64_t nonfinite = 0;
    for (std::int64_t step = 0; step < plan.steps(); ++step) {
        const std::int64_t chunk = chunks.begin + step;
        const Range rows = chunk < chunks.end ? plan.chunk(chunk) : Range{};
        agree(comm, [&] {
            if (rows.empty()) return;
            Clock::time_point t0 = Clock::now();
            reader->read(rows.begin, rows.size(), src.data());
            times.read += seconds_since(t0);
            const std::int64_t bad = count_nonfinite_rows(src.data(), rows.size(), input.cols);
            if (bad > 0 && config.fail_on_nonfinite) {
                throw InputError("dataset '" + input.dataset + "' in '" + input.file +
                                 "' has NaN or Inf values in rows " + std::to_string(rows.begin) +
                                 ".." + std::to_string(rows.end) +
                                 " (drop --fail-on-nonfinite to let them propagate)");
            }
            nonfinite += bad;
            t0 = Clock::now();
            network->forward(src.data(), rows.size(), dst.data());
            times.compute += seconds_since(t0);
        });
        const Clock::time_point t0 = Clock::now();
        agree(comm, [&] { writer->write(rows.begin, rows.size(), dst.data()); });
        times.write += seconds_since(t0);
        if (root) progress.update(plan.rows_done_after(step + 1), seconds_since(start));
    }
    progress.finish();

    const Clock::time_point finish_start = Clock::now();
    const std::int64_t total_nonfinite = comm.sum(nonfinite);
    double elapsed = seconds_since(start);
    comm.broadcast(elapsed, 0);
    agree(comm, [&] {
        write_provenance(*writer, prepared, config, comm, layout, total_nonfinite, elapsed);
        writer->close();
    });
    const bool collective = comm.min(writer->not_collective_cause().empty() ? 1 : 0) == 1;
    agree_on_root(comm, 0, [&] {
        io::commit_output(prepared.temporary, prepared.output.file, config.overwrite);
    });
    temporary.dismiss();
    times.finish = seconds_since(finish_start);
    trace(comm, times, chunks.size());

    RunReport report;
    report.rows = input.rows;
    report.outputs = outputs;
    report.nonfinite_rows = total_nonfinite;
    report.seconds = seconds_since(start);
    comm.broadcast(report.seconds, 0);
    report.ranks = comm.size();
    report.threads = threads;
    report.output_file = prepared.output.file;
    report.output_dataset = prepared.output.dataset;
    report.all_writes_collective = collective;
    return report;
}

}  // namespace h5infer
