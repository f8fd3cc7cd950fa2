#include "h5infer/run.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "agree.hpp"
#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"
#include "h5infer/version.hpp"
#include "io/input.hpp"
#include "io/job_list.hpp"
#include "io/output.hpp"
#include "model/describe.hpp"
#include "progress.hpp"
#include "stop.hpp"

namespace h5infer {
namespace {

using Clock = std::chrono::steady_clock;

// How far ahead of the rows it computes a rank asks the file system to read its share
// (io::InputReader::read_ahead()). On W2 (1 GB) with the page cache dropped before each run,
// 2 ranks took 0.55 s (medians of 6) against 0.84-1.06 s without; 8 and 32 MiB were within
// noise of 16, 128 MiB slower (the advice itself then waits for the device). From the page
// cache, no difference (0.294 against 0.302 s).
constexpr std::int64_t read_ahead_bytes = std::int64_t{16} << 20U;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Asks the file system to read the rows of pieces[current] and of the pieces after it, up to
// read_ahead_bytes of them, while they are of `job`, whose input `reader` reads. `advised`
// counts the pieces asked for before, which are not asked for again.
void read_ahead(const WorkPlan& plan, const std::vector<Piece>& pieces, std::size_t current,
                std::int64_t job, const io::InputReader& reader, std::size_t& advised) {
    if (!reader.can_fetch()) return;
    std::int64_t ahead = 0;
    for (std::size_t next = current; next < pieces.size() && ahead < read_ahead_bytes; ++next) {
        const Piece& piece = pieces[next];
        if (plan.items()[static_cast<std::size_t>(piece.item)].job != job) return;
        if (next >= advised) {
            reader.read_ahead(piece.rows.begin, piece.rows.size());
            advised = next + 1;
        }
        ahead += piece.rows.size() * reader.row_bytes();
    }
}

// One input as rank 0 found it: what to compute and where it goes.
struct PreparedJob {
    io::InputInfo input;
    io::DatasetRef output;
    std::string partial;      // the output's name until complete
    std::string fingerprint;  // what the predictions depend on
    std::vector<std::string> copies;
    bool skip = false;       // the output is up to date
    bool resume = false;     // continue the partial file
    std::vector<char> done;  // per chunk: already in the partial file
};

// What rank 0 decides while validating, then shares with every rank.
struct Prepared {
    Model model;                    // on rank 0 only
    std::vector<char> model_image;  // the model's structure for the other ranks (several ranks)
    std::string model_path;
    std::string model_sha256;  // "" until needed or the job starts (rank 0: see below)
    std::shared_future<std::string> model_hash;  // rank 0: the model file's SHA-256, computing
    std::string start_time;
    std::int64_t chunk_rows = 0;  // --chunk-rows, or chosen from the model
    std::int64_t parameters = 0;  // parameter_count() of the model
    std::vector<PreparedJob> jobs;
    std::vector<io::OutputLock> locks;  // rank 0: the outputs this run writes, until it ends
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
    if (config.chunk_rows < 0) {
        throw ConfigError("--chunk-rows must be at least 1, got " +
                          std::to_string(config.chunk_rows));
    }
    if (config.threads < 0) {
        throw ConfigError("--threads must be positive, got " + std::to_string(config.threads));
    }
}

bool same_or_inside(const std::string& path, const std::string& name) {
    return path == name || path.rfind(name + "/", 0) == 0 || name.rfind(path + "/", 0) == 0;
}

// --labels needs class labels in the model; /labels, the progress record and the copies must
// not clash with the predictions or each other in the output file.
void check_output_names(const RunConfig& config, const Model& model, const io::DatasetRef& output,
                        const std::vector<std::string>& copies) {
    if (config.labels && model.labels.empty()) {
        throw ConfigError("--labels: model '" + config.model_path +
                          "' has no class labels (only classifiers' models have them, e.g. "
                          "from tools/h5infer-export-sklearn); drop --labels");
    }
    std::vector<std::pair<std::string, std::string>> names{
        {output.dataset, "the output dataset"},
        {std::string(io::progress_dataset), "h5infer's progress record"}};
    if (config.labels) names.emplace_back(std::string(io::labels_dataset), "--labels");
    for (const std::string& copy : copies) names.emplace_back(copy, "--copy " + copy);
    for (std::size_t i = 0; i < names.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (same_or_inside(names[i].first, names[j].first)) {
                throw ConfigError(names[i].second + " writes '" + names[i].first + "', which " +
                                  names[j].second + " ('" + names[j].first +
                                  "') would clash with; choose another --output dataset or "
                                  "drop one");
            }
        }
    }
}

// The fingerprint of a prediction file: everything its values depend on. Equal fingerprints
// mean a rerun would compute the same file, so it can be skipped or resumed. On rank 0; waits
// for the model's hash.
std::string fingerprint(const RunConfig& config, Prepared& prepared, const PreparedJob& job) {
    if (prepared.model_sha256.empty()) prepared.model_sha256 = prepared.model_hash.get();
    std::string text;
    const auto field = [&text](const std::string& key, const std::string& value) {
        text += key + "=" + value + "\n";
    };
    field("h5infer_version", version);
    field("model_sha256", prepared.model_sha256);
    field("input_file", absolute_path(job.input.file));
    field("input_dataset", job.input.dataset);
    field("input_bytes", std::to_string(job.input.file_bytes));
    field("input_mtime_ns", std::to_string(job.input.file_mtime_ns));
    field("input_shape", std::to_string(job.input.rows) + "x" + std::to_string(job.input.cols));
    field("output_dataset", job.output.dataset);
    field("chunk_rows", std::to_string(prepared.chunk_rows));
    field("backend", std::string(kernels::backend_name(config.backend)));
    field("precision", std::string(kernels::precision_name(config.precision)));
    field("labels", config.labels ? "yes" : "no");
    std::string copies;
    for (const std::string& copy : job.copies) copies += (copies.empty() ? "" : ",") + copy;
    field("copies", copies);
    return text;
}

// The first line where two fingerprints differ, to say why a file is not reused.
std::string first_difference(const std::string& found, const std::string& wanted) {
    if (found.empty()) return "it records no h5infer fingerprint or cannot be read";
    std::size_t begin = 0;
    while (begin < wanted.size()) {
        const std::size_t end = wanted.find('\n', begin);
        const std::string line = wanted.substr(begin, end - begin);
        if (found.find(line + "\n") == std::string::npos) {
            return "its " + line.substr(0, line.find('=')) + " differs";
        }
        begin = end + 1;
    }
    return "its fingerprint differs";
}

void say(const RunConfig& config, const std::string& line) {
    if (config.quiet) return;
    std::printf("h5infer: %s\n", line.c_str());
    std::fflush(stdout);
}

bool exists(const std::string& path) {
    std::error_code error;
    return std::filesystem::exists(path, error);
}

// Decides, for one input, whether to skip it, resume its partial file or start afresh. The
// fingerprint is computed here only when there is a file to compare it with: otherwise later
// (complete_fingerprints), so that a fresh job does not wait for the model's hash.
void plan_job(const RunConfig& config, Prepared& prepared, PreparedJob& job) {
    const std::string& final_path = job.output.file;
    if (!config.force && exists(final_path)) {
        job.fingerprint = fingerprint(config, prepared, job);
        if (io::read_fingerprint(final_path) == job.fingerprint) {
            job.skip = true;
            say(config, "skip " + job.input.file + ": " + final_path +
                            " is up to date (--force recomputes it)");
            return;
        }
    }
    io::check_output_path(final_path, config.overwrite || config.force);
    prepared.locks.emplace_back(final_path);
    job.partial = io::partial_path(final_path);
    if (!exists(job.partial)) return;
    job.fingerprint = fingerprint(config, prepared, job);
    const std::int64_t chunks = ChunkPlan(job.input.rows, prepared.chunk_rows, 1).chunk_count();
    const std::string found = io::read_fingerprint(job.partial);
    std::string reason = found == job.fingerprint ? "" : first_difference(found, job.fingerprint);
    if (reason.empty()) {
        try {
            job.done = io::read_progress(job.partial, chunks);
            job.resume = true;
        } catch (const Error& error) {
            reason = error.what();
        }
    }
    if (job.resume) {
        const auto done = std::count(job.done.begin(), job.done.end(), 1);
        say(config, "resume " + final_path + ": " + std::to_string(done) + " of " +
                        std::to_string(chunks) + " chunks already done in " + job.partial);
        return;
    }
    say(config, "discard the partial file " + job.partial + " (" + reason + "); start over");
    io::remove_file(job.partial);
}

// Chunks narrower than a row make HDF5 move the values one at a time (about 4x slower on W2
// than whole rows, see README): says so once, with the h5repack line that rewrites the input.
void note_slow_layouts(const RunConfig& config, const Prepared& prepared) {
    const PreparedJob* first = nullptr;
    std::int64_t count = 0;
    for (const PreparedJob& job : prepared.jobs) {
        const std::vector<std::int64_t>& chunk = job.input.chunk;
        if (job.skip || chunk.size() != 2 || chunk[1] >= job.input.cols) continue;
        if (first == nullptr) first = &job;
        ++count;
    }
    if (first == nullptr) return;
    const io::InputInfo& input = first->input;
    const std::int64_t rows = std::min(prepared.chunk_rows, std::max<std::int64_t>(input.rows, 1));
    say(config, "note: " + input.file + ":" + input.dataset +
                    (count > 1 ? " (and " + std::to_string(count - 1) + " more inputs)" : "") +
                    " is stored in chunks of " + std::to_string(input.chunk[0]) + " x " +
                    std::to_string(input.chunk[1]) +
                    ", narrower than its rows, which HDF5 reads several times slower than whole "
                    "rows; rewriting it once speeds up every run: h5repack -l " +
                    input.dataset + ":CHUNK=" + std::to_string(rows) + "x" +
                    std::to_string(input.cols) + " " + input.file + " NEW.h5");
}

Prepared prepare(const RunConfig& config, int ranks) {
    check_config(config);
    Prepared prepared;
    prepared.start_time = utc_now();
    const std::vector<io::Job> jobs = io::list_jobs(
        io::expand_inputs(config.inputs, config.input_list), config.output, config.output_dir);
    // Hashing a large model takes as long as reading it. Alone, rank 0 hashes on a second
    // thread while it reads; with other ranks, the last one hashes while rank 0 prepares (see
    // run()), and rank 0 only hashes itself if planning needs the hash first.
    prepared.model_hash = std::async(ranks > 1 ? std::launch::deferred : std::launch::async,
                                     file_sha256, config.model_path)
                              .share();
    prepared.model = read_model(config.model_path);
    const Model& model = prepared.model;
    prepared.chunk_rows =
        config.chunk_rows > 0 ? config.chunk_rows : auto_chunk_rows(flops_per_row(model));
    prepared.parameters = parameter_count(model);
    if (ranks > 1) prepared.model_image = serialize(model, ImageContent::Structure);
    prepared.model_path = absolute_path(config.model_path);
    for (const io::Job& listed : jobs) {
        PreparedJob job;
        job.input = io::inspect_input(listed.input, model.input_width);
        job.output = listed.output;
        for (const std::string& copy : config.copies) {
            job.copies.push_back(io::check_copy(job.input, copy));
        }
        check_output_names(config, model, job.output, job.copies);
        const std::string output_path = absolute_path(job.output.file);
        if (output_path == absolute_path(job.input.file) || output_path == prepared.model_path) {
            throw IoError("output '" + job.output.file +
                          "' is the input or the model file; choose another output name");
        }
        plan_job(config, prepared, job);
        prepared.jobs.push_back(std::move(job));
    }
    note_slow_layouts(config, prepared);
    return prepared;
}

// On rank 0: the fingerprints plan_job() did not need, with the model's hash from the last
// rank (`hashed`, "" if it could not) or, failing that, its own.
void complete_fingerprints(const RunConfig& config, Prepared& prepared, const std::string& hashed) {
    if (prepared.model_sha256.empty()) prepared.model_sha256 = hashed;
    for (PreparedJob& job : prepared.jobs) {
        if (job.fingerprint.empty()) job.fingerprint = fingerprint(config, prepared, job);
    }
    if (prepared.model_sha256.empty()) prepared.model_sha256 = prepared.model_hash.get();
}

void broadcast_fingerprints(const mpi::Comm& comm, Prepared& prepared) {
    comm.broadcast(prepared.model_sha256, 0);
    for (PreparedJob& job : prepared.jobs) comm.broadcast(job.fingerprint, 0);
}

// Rank 0's packed weights to every rank: the descriptions, then each array straight into the
// memory its network will keep.
void broadcast(const mpi::Comm& comm, std::vector<kernels::PackedWeights>& packed) {
    std::uint64_t count = packed.size();
    comm.broadcast(count, 0);
    packed.resize(count);
    for (kernels::PackedWeights& weights : packed) {
        comm.broadcast(weights.layout, 0);
        std::uint64_t values = weights.bias.size();
        comm.broadcast(values, 0);
        weights.bias.resize(values);
        comm.broadcast_in_place(weights.bias, 0);
        std::uint64_t bytes = weights.bytes;
        comm.broadcast(bytes, 0);
        weights.bytes = bytes;
    }
    agree(comm, [&] {
        if (comm.rank() == 0) return;
        for (kernels::PackedWeights& weights : packed) {
            weights.storage = BulkBuffer(weights.bytes);
            weights.data = weights.storage.data();
        }
    });
    // Only read on rank 0, where `data` is the network's own memory.
    for (kernels::PackedWeights& weights : packed) {
        comm.broadcast_in_place(const_cast<void*>(weights.data), weights.bytes, 0);
    }
}

void broadcast(const mpi::Comm& comm, Prepared& prepared) {
    comm.broadcast(prepared.model_image, 0);
    comm.broadcast(prepared.chunk_rows, 0);
    comm.broadcast(prepared.parameters, 0);
    for (std::string* text : {&prepared.model_path, &prepared.start_time}) {
        comm.broadcast(*text, 0);
    }
    auto count = static_cast<std::int64_t>(prepared.jobs.size());
    comm.broadcast(count, 0);
    prepared.jobs.resize(static_cast<std::size_t>(count));
    for (PreparedJob& job : prepared.jobs) {
        for (std::string* text : {&job.input.file, &job.input.dataset, &job.input.dtype,
                                  &job.output.file, &job.output.dataset, &job.partial}) {
            comm.broadcast(*text, 0);
        }
        for (std::int64_t* value : {&job.input.rows, &job.input.cols}) comm.broadcast(*value, 0);
        auto copies = static_cast<std::int64_t>(job.copies.size());
        comm.broadcast(copies, 0);
        job.copies.resize(static_cast<std::size_t>(copies));
        for (std::string& copy : job.copies) comm.broadcast(copy, 0);
        comm.broadcast(job.skip, 0);
        comm.broadcast(job.resume, 0);
        comm.broadcast(job.done, 0);
    }
}

// --verify-rows: recomputes the sampled rows of a chunk with an f32 network and folds their
// deviation from the chunk's predictions into `deviation`. The samples are rows
// floor(k * rows / samples), k = 0 .. samples - 1, so they spread over the whole input.
class Verifier {
public:
    Verifier(const Model& model, std::int64_t samples, std::int64_t max_rows, int threads)
        : samples_(samples) {
        if (samples_ <= 0) return;
        network_ = kernels::make_network(model, kernels::Backend::Onednn, max_rows, threads);
        src_.resize(static_cast<std::size_t>(max_rows * model.input_width));
        want_.resize(static_cast<std::size_t>(max_rows * model.output_width()));
        got_.resize(want_.size());
    }

    void check(const float* src, const float* dst, Range rows, std::int64_t input_rows,
               std::int64_t cols, std::int64_t outputs) {
        if (samples_ <= 0 || rows.empty()) return;
        const std::int64_t samples = std::min(samples_, input_rows);
        std::int64_t count = 0;
        for (std::int64_t k = (rows.begin * samples + input_rows - 1) / input_rows; k < samples;
             ++k) {
            const std::int64_t row = k * input_rows / samples;
            if (row >= rows.end) break;
            const std::int64_t at = row - rows.begin;
            std::copy_n(src + at * cols, cols, src_.data() + count * cols);
            std::copy_n(dst + at * outputs, outputs, got_.data() + count * outputs);
            ++count;
        }
        if (count == 0) return;
        network_->forward(src_.data(), count, want_.data());
        const kernels::Deviation found =
            kernels::compare_outputs(got_.data(), want_.data(), count * outputs);
        deviation.absolute = std::max(deviation.absolute, found.absolute);
        deviation.relative = std::max(deviation.relative, found.relative);
        rows_checked += count;
    }

    kernels::Deviation deviation;
    std::int64_t rows_checked = 0;

private:
    std::int64_t samples_ = 0;
    std::unique_ptr<kernels::Network> network_;
    std::vector<float> src_;
    std::vector<float> want_;
    std::vector<float> got_;
};

// Per-rank time split: printed with H5INFER_VERBOSE=1 (modelled on ONEDNN_VERBOSE) and written
// by --report. `wait` is the rest of the streaming time: waiting for other ranks in collectives.
struct StageTimes {
    double setup = 0;
    double read = 0;
    double compute = 0;
    double write = 0;
    double wait = 0;
    double finish = 0;
    double rows = 0;
    double chunks = 0;
};

void trace(const mpi::Comm& comm, const StageTimes& times) {
    const char* verbose = std::getenv("H5INFER_VERBOSE");
    if (verbose == nullptr || std::string(verbose) == "0") return;
    std::fprintf(stderr,
                 "h5infer_verbose,rank=%d,chunks=%.0f,setup=%.4f,read=%.4f,compute=%.4f,"
                 "write=%.4f,wait=%.4f,finish=%.4f\n",
                 comm.rank(), times.chunks, times.setup, times.read, times.compute, times.write,
                 times.wait, times.finish);
}

std::string thread_layout(const mpi::Comm& comm, int threads) {
    const std::int64_t fewest = comm.min(static_cast<std::int64_t>(threads));
    const std::int64_t most = comm.max(static_cast<std::int64_t>(threads));
    return fewest == most ? std::to_string(most)
                          : std::to_string(fewest) + "-" + std::to_string(most);
}

void write_provenance(io::OutputWriter& writer, const Prepared& prepared, const PreparedJob& job,
                      const RunConfig& config, const mpi::Comm& comm, const std::string& threads,
                      std::int64_t nonfinite, double elapsed) {
    writer.set_attribute("h5infer_version", std::string(version));
    writer.set_attribute("model_path", prepared.model_path);
    writer.set_attribute("model_sha256", prepared.model_sha256);
    writer.set_attribute("input_file", absolute_path(job.input.file));
    writer.set_attribute("input_dataset", job.input.dataset);
    writer.set_attribute("input_dtype", job.input.dtype);
    writer.set_attribute("rows", job.input.rows);
    writer.set_attribute("ranks", static_cast<std::int64_t>(comm.size()));
    writer.set_attribute("threads_per_rank", threads);
    writer.set_attribute("chunk_rows", prepared.chunk_rows);
    writer.set_attribute("backend", std::string(kernels::backend_name(config.backend)));
    writer.set_attribute("precision", std::string(kernels::precision_name(config.precision)));
    writer.set_attribute("nonfinite_input_rows", nonfinite);
    writer.set_attribute("start_time", prepared.start_time);
    writer.set_attribute("elapsed_seconds", elapsed);
    writer.set_attribute("resumed", static_cast<std::int64_t>(job.resume ? 1 : 0));
}

// mpirun gives ranks a pseudo-terminal even when the job's output goes to a file, so under a
// launcher isatty() cannot be trusted: redraw in place only for a rank started by hand.
bool interactive_terminal() {
    for (const char* launcher : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_JOB_ID"}) {
        if (std::getenv(launcher) != nullptr) return false;
    }
    return isatty(1) != 0;
}

// Per-rank figures of --report, in the order StageTimes lists them.
std::vector<double> report_values(const StageTimes& times) {
    return {times.setup, times.read,   times.compute, times.write,
            times.wait,  times.finish, times.rows,    times.chunks};
}

void write_report_json(const std::string& path, const RunReport& report, const std::string& layout,
                       const std::vector<double>& per_rank) {
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr) {
        throw IoError("--report '" + path + "' cannot be written: " + std::strerror(errno));
    }
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
    if (std::fclose(out) != 0) throw IoError("--report '" + path + "' could not be written");
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
    const StopRequest stop;
    StageTimes times;

    // The last rank hashes the model while rank 0 prepares; an unreadable model is rank 0's
    // to report.
    std::string hashed;
    if (comm.size() > 1 && comm.rank() == comm.size() - 1) {
        try {
            hashed = file_sha256(config.model_path);
        } catch (const std::exception&) {
            hashed.clear();
        }
    }
    Prepared prepared;
    agree_on_root(comm, 0, [&] { prepared = prepare(config, comm.size()); });
    broadcast(comm, prepared);
    const auto job_count = static_cast<std::int64_t>(prepared.jobs.size());

    // Every chunk of every input still to compute, in input order: one plan for all ranks.
    std::vector<WorkItem> items;
    std::int64_t largest_input = 1;
    std::int64_t rows_to_do = 0;
    std::int64_t resumed_chunks = 0;
    std::int64_t skipped = 0;
    std::vector<std::vector<char>> done(prepared.jobs.size());
    for (std::int64_t j = 0; j < job_count; ++j) {
        PreparedJob& job = prepared.jobs[static_cast<std::size_t>(j)];
        if (job.skip) {
            ++skipped;
            continue;
        }
        const ChunkPlan grid(job.input.rows, prepared.chunk_rows, 1);
        done[j] = job.resume ? job.done : std::vector<char>(grid.chunk_count(), 0);
        for (std::int64_t c = 0; c < grid.chunk_count(); ++c) {
            if (done[j][c] != 0) {
                ++resumed_chunks;
                continue;
            }
            items.push_back({j, c, grid.chunk(c)});
            rows_to_do += grid.chunk(c).size();
        }
        largest_input = std::max(largest_input, job.input.rows);
    }
    const WorkPlan plan(std::move(items));
    // The first and last item of each job: its output is open from the round holding the first
    // to the one holding the last.
    const std::vector<std::pair<std::int64_t, std::int64_t>> job_items = plan.bounds(job_count);

    std::string thread_source;
    const int threads = resolve_threads(config.threads, thread_source);
    const std::string layout = thread_layout(comm, threads);
    const std::int64_t buffer_rows = std::min(prepared.chunk_rows, largest_input);
    std::int64_t input_cols = 0;
    for (const PreparedJob& job : prepared.jobs) input_cols = std::max(input_cols, job.input.cols);

    std::unique_ptr<kernels::Network> network;
    std::unique_ptr<Verifier> verifier;
    std::int64_t most_steps = 1;  // per round
    BulkArray<float> src;
    BulkArray<float> dst;
    std::int64_t outputs = 0;
    std::vector<std::string> labels;
    // Rank 0 keeps the model it read (copies of large models cost start-up time); the others
    // rebuild its structure, then receive each array where it stays (not via an image). With
    // oneDNN only rank 0 converts the dense weights to the kernels' layout, and the others
    // receive them so (packed). On the W1 benchmark (2 ranks, 29 MB of weights) each rank had
    // spent 35 ms zero-filling and receiving the model's weights, then converting them at the
    // same time took 25-90 ms where one rank takes 23: setup 0.162 -> 0.099 s (medians of 6).
    // Not for a model under packed_parameters, whose weights cost next to nothing to receive
    // and convert: the others would wait while rank 0 builds its kernels (about 4 ms, mostly
    // oneDNN generating code), then build theirs. Building them at the same time took setup
    // from 13.1 to 10.5 ms on W2 and from 18.1 to 14.3 ms on W3 (2 ranks, medians of 8 and 6).
    // Not with --verify-rows: its f32 check of sampled rows needs the model's own weights.
    const bool packed = comm.size() > 1 && rows_to_do > 0 &&
                        prepared.parameters >= packed_parameters &&
                        config.backend == kernels::Backend::Onednn && config.verify_rows <= 0;
    const DenseArrays shared_dense = packed ? DenseArrays::Absent : DenseArrays::Present;
    Model model;
    agree(comm, [&] {
        model = root ? std::move(prepared.model) : deserialize(prepared.model_image, shared_dense);
    });
    prepared.model_image = std::vector<char>();
    if (comm.size() > 1 && rows_to_do > 0) {
        for (std::vector<float>* values : float_arrays(model, shared_dense)) {
            comm.broadcast_in_place(*values, 0);
        }
    }
    const std::int64_t first_steps = first_round_steps(prepared.chunk_rows, flops_per_row(model));
    agree(comm, [&] {
        outputs = model.output_width();
        labels = model.labels;
        verifier = std::make_unique<Verifier>(model, rows_to_do > 0 ? config.verify_rows : 0,
                                              buffer_rows, threads);
        // A scheduled rerun often finds every output up to date: no kernels to build then
        // (for a wide model, a tenth of a second and the weights' memory). The model is handed
        // over: a job of a few rows keeps its weights where they are.
        if (rows_to_do > 0 && (root || !packed)) {
            network = kernels::make_network(std::move(model), config.backend, buffer_rows, threads,
                                            config.precision);
        }
        src = BulkArray<float>(static_cast<std::size_t>(buffer_rows * input_cols));
        most_steps = most_round_steps(buffer_rows, outputs, config.checkpoint_steps);
        // A share cut inside chunks may hold up to a chunk more than most_steps chunks' rows.
        dst = BulkArray<float>(static_cast<std::size_t>((most_steps + 1) * buffer_rows * outputs));
    });
    if (packed) {
        std::vector<kernels::PackedWeights> weights;
        if (root) weights = network->packed_weights();
        broadcast(comm, weights);
        agree(comm, [&] {
            if (!root) {
                network = kernels::make_network(std::move(model), std::move(weights), buffer_rows,
                                                threads, config.precision);
            }
        });
    }
    model = Model();  // the kernels hold the weights in their own layout
    if (comm.size() > 1) comm.broadcast(hashed, comm.size() - 1);
    agree_on_root(comm, 0, [&] { complete_fingerprints(config, prepared, hashed); });
    broadcast_fingerprints(comm, prepared);
    const bool syncs_for_node = comm.first_on_node();
    if (root && !config.quiet) {
        const std::string target =
            job_count == 1
                ? prepared.jobs[0].input.file + ":" + prepared.jobs[0].input.dataset + " -> " +
                      prepared.jobs[0].output.file + ":" + prepared.jobs[0].output.dataset
                : std::to_string(job_count) + " inputs -> " + config.output_dir;
        std::printf(
            "h5infer %s: %d rank%s x %s thread%s (%s), backend %s %s, %lld rows in %lld chunks "
            "of %lld, %s\n",
            version, comm.size(), comm.size() == 1 ? "" : "s", layout.c_str(),
            layout == "1" ? "" : "s", thread_source.c_str(),
            std::string(kernels::backend_name(config.backend)).c_str(),
            std::string(kernels::precision_name(config.precision)).c_str(),
            static_cast<long long>(rows_to_do), static_cast<long long>(plan.items().size()),
            static_cast<long long>(prepared.chunk_rows), target.c_str());
        std::fflush(stdout);
    }

    // Partial files removed if the run fails; kept when it stops on a signal, to resume.
    struct PartialFiles {
        std::vector<std::string> paths;
        bool keep = false;
        bool root = false;
        ~PartialFiles() {
            if (!keep && root) {
                for (const std::string& path : paths) io::remove_file(path);
            }
        }
    } partial_files{{}, false, root};
    std::vector<std::unique_ptr<io::OutputWriter>> writers(prepared.jobs.size());
    std::vector<std::int64_t> nonfinite(prepared.jobs.size(), 0);
    std::int64_t total_nonfinite = 0;
    std::int64_t rows_done = 0;
    std::string not_collective;
    const auto open_writer = [&](std::int64_t j) {
        const PreparedJob& job = prepared.jobs[static_cast<std::size_t>(j)];
        io::OutputLayout output_layout{job.output.dataset,
                                       job.input.rows,
                                       outputs,
                                       labels,
                                       config.labels,
                                       job.input.file,
                                       job.copies,
                                       static_cast<std::int64_t>(done[j].size()),
                                       job.fingerprint};
        partial_files.paths.push_back(job.partial);
        if (!job.resume)
            agree_on_root(comm, 0, [&] { io::create_output(job.partial, output_layout); });
        agree(comm, [&] {
            writers[j] = std::make_unique<io::OutputWriter>(job.partial, output_layout, comm);
        });
    };
    const auto finish_writer = [&](std::int64_t j) {
        const Clock::time_point finish_start = Clock::now();
        const PreparedJob& job = prepared.jobs[static_cast<std::size_t>(j)];
        const std::int64_t job_nonfinite = comm.sum(nonfinite[j]);
        total_nonfinite += job_nonfinite;
        double elapsed = seconds_since(start);
        comm.broadcast(elapsed, 0);
        agree(comm, [&] {
            write_provenance(*writers[j], prepared, job, config, comm, layout, job_nonfinite,
                             elapsed);
            if (not_collective.empty()) not_collective = writers[j]->not_collective_cause();
            writers[j]->finish();
        });
        writers[j].reset();
        // Every rank has closed the file (agree() waited for all): one rank per node writes
        // what its node's ranks wrote to storage, before rank 0 gives the file its name
        // (commit_output() syncs rank 0's node).
        agree(comm, [&] {
            if (syncs_for_node && !root) io::sync_file(job.partial);
        });
        agree_on_root(comm, 0, [&] {
            io::check_unchanged(job.input);
            io::commit_output(job.partial, job.output.file, config.overwrite || config.force);
        });
        partial_files.paths.erase(
            std::find(partial_files.paths.begin(), partial_files.paths.end(), job.partial));
        times.finish += seconds_since(finish_start);
    };
    const auto checkpoint = [&] {
        for (std::int64_t j = 0; j < job_count; ++j) {
            if (writers[j]) agree(comm, [&] { writers[j]->checkpoint(done[j]); });
        }
    };
    times.setup = seconds_since(start);

    const bool terminal = interactive_terminal();
    const double interval =
        config.progress_interval >= 0 ? config.progress_interval : (terminal ? 1.0 : 10.0);
    Progress progress(rows_to_do, interval, terminal, root && !config.quiet ? stdout : nullptr);
    const Clock::time_point stream_start = Clock::now();
    Clock::time_point last_checkpoint = stream_start;
    std::int64_t steps_since_checkpoint = 0;
    std::optional<io::InputReader> reader;
    std::int64_t reader_job = -1;
    // Rank 0 sizes each round from the pace of the last one (next_round_steps()); the round's
    // items are cut in proportion to each rank's pace in its recent rounds (PaceMeter,
    // pace_weights()), so a rank on a slower core or reading a slower part of the page cache
    // gets less. The cuts may fall inside a chunk where the kernels keep the bits.
    const std::int64_t split_rows = network ? network->split_rows() : prepared.chunk_rows;
    std::int64_t round_size = std::min(first_steps, most_steps);
    std::vector<double> weights(static_cast<std::size_t>(comm.size()), 1.0);
    PaceMeter pace;
    Range round{0, 0};
    do {
        const Clock::time_point round_start = Clock::now();
        comm.broadcast(round_size, 0);
        round = {round.end,
                 std::min(plan.size(), round.end + round_items(round_size, weights, most_steps))};
        const std::vector<std::vector<Piece>> shares = plan.shares(round, weights, split_rows);
        const std::vector<Piece>& mine = shares[static_cast<std::size_t>(comm.rank())];
        const bool first_round = round.begin == 0;
        // Does this round hold a job's first (or last) item? Jobs without items have their
        // output opened and finished in the first round.
        const auto holds = [&](std::int64_t j, bool last) {
            const std::int64_t item = last ? job_items[j].second : job_items[j].first;
            return item < 0 ? first_round : round.begin <= item && item < round.end;
        };
        // Rank 0's clock decides checkpoints; any rank's signal stops everyone.
        const bool checkpoint_due =
            root &&
            ((config.checkpoint_seconds > 0 &&
              seconds_since(last_checkpoint) >= config.checkpoint_seconds) ||
             (config.checkpoint_steps > 0 && steps_since_checkpoint >= config.checkpoint_steps));
        const std::int64_t action = comm.max(
            std::int64_t{StopRequest::signal_number() != 0 ? 2 : (checkpoint_due ? 1 : 0)});
        if (action > 0) {
            checkpoint();
            last_checkpoint = Clock::now();
            steps_since_checkpoint = 0;
        }
        if (action == 2) {
            progress.finish();
            partial_files.keep = true;
            const std::int64_t signal_number =
                comm.max(static_cast<std::int64_t>(StopRequest::signal_number()));
            if (!root) throw ReportedElsewhere(ExitCode::Interrupted, 0);
            throw InterruptedError("stopped by signal " + std::to_string(signal_number) +
                                   " after " + std::to_string(rows_done) + " of " +
                                   std::to_string(rows_to_do) +
                                   " rows; progress is saved: rerun the same command to resume");
        }
        for (std::int64_t j = 0; j < job_count; ++j) {
            if (!prepared.jobs[j].skip && holds(j, false)) open_writer(j);
        }
        // My chunks (or parts of chunks) of this round, their predictions one after another
        // in dst.
        double busy = 0;
        std::int64_t my_rows = 0;
        agree(comm, [&] {
            const Clock::time_point busy_start = Clock::now();
            std::size_t advised = 0;  // pieces of mine whose rows were asked for ahead
            for (std::size_t p = 0; p < mine.size(); ++p) {
                const Piece& piece = mine[p];
                const WorkItem* work = &plan.items()[static_cast<std::size_t>(piece.item)];
                const Range rows = piece.rows;
                H5INFER_ASSERT((my_rows + rows.size()) * outputs <=
                               static_cast<std::int64_t>(dst.size()));
                float* predictions = dst.data() + my_rows * outputs;
                my_rows += rows.size();
                const PreparedJob& job = prepared.jobs[static_cast<std::size_t>(work->job)];
                Clock::time_point t0 = Clock::now();
                if (reader_job != work->job) {
                    reader.reset();
                    reader.emplace(job.input);
                    reader_job = work->job;
                }
                read_ahead(plan, mine, p, reader_job, *reader, advised);
                times.read += seconds_since(t0);
                t0 = Clock::now();
                std::int64_t bad = 0;
                if (reader->can_fetch()) {
                    // The kernel's threads copy the rows from the file together (a page-cache
                    // copy is as costly per byte as a narrow model's compute); their time,
                    // shared out over the threads, counts as reading.
                    const double fetched = reader->fetch_seconds();
                    bad = network->forward_fetching(
                        [&](std::int64_t begin, std::int64_t count, float* into) {
                            reader->fetch(rows.begin + begin, count, into);
                        },
                        src.data(), rows.size(), predictions);
                    const double read = (reader->fetch_seconds() - fetched) / threads;
                    times.read += read;
                    times.compute += seconds_since(t0) - read;
                } else {
                    reader->read(rows.begin, rows.size(), src.data());
                    times.read += seconds_since(t0);
                    t0 = Clock::now();
                    bad = network->forward_counting_nonfinite(src.data(), rows.size(), predictions);
                    times.compute += seconds_since(t0);
                }
                if (bad > 0 && config.fail_on_nonfinite) {
                    throw InputError("dataset '" + job.input.dataset + "' in '" + job.input.file +
                                     "' has NaN or Inf values in rows " +
                                     std::to_string(rows.begin) + ".." + std::to_string(rows.end) +
                                     " (drop --fail-on-nonfinite to let them propagate)");
                }
                nonfinite[work->job] += bad;
                verifier->check(src.data(), predictions, rows, job.input.rows, job.input.cols,
                                outputs);
                times.rows += static_cast<double>(rows.size());
                times.chunks += 1;
            }
            busy = seconds_since(busy_start);
        });
        // One collective write per output and run of adjacent rows (a run breaks only at
        // chunks a resumed file already has); ranks with fewer runs take part with none. My
        // chunks are in job order, so the runs of each job follow each other in dst.
        const Clock::time_point t0 = Clock::now();
        std::int64_t offset = 0;
        for (std::int64_t j : plan.jobs_in(round)) {
            const std::vector<Range> runs = plan.row_runs(mine, j);
            std::int64_t writes = 0;
            for (const std::vector<Piece>& share : shares) {
                writes =
                    std::max(writes, static_cast<std::int64_t>(plan.row_runs(share, j).size()));
            }
            for (std::int64_t w = 0; w < writes; ++w) {
                const Range rows = w < static_cast<std::int64_t>(runs.size()) ? runs[w] : Range{};
                agree(comm, [&] {
                    writers[j]->write(rows.begin, rows.size(), dst.data() + offset * outputs);
                });
                offset += rows.size();
            }
        }
        times.write += seconds_since(t0);
        for (std::int64_t index = round.begin; index < round.end; ++index) {
            const WorkItem& work = plan.items()[static_cast<std::size_t>(index)];
            done[work.job][work.chunk] = 1;
            rows_done += work.rows.size();
        }
        const std::int64_t per_rank = (round.size() + comm.size() - 1) / comm.size();
        steps_since_checkpoint += per_rank;
        for (std::int64_t j = 0; j < job_count; ++j) {
            if (!prepared.jobs[j].skip && holds(j, true)) finish_writer(j);
        }
        pace.add(my_rows, busy);
        const std::vector<double> paces = comm.all_gather(pace.pace());
        weights = most_steps > 1 ? pace_weights(paces)
                                 : std::vector<double>(static_cast<std::size_t>(comm.size()), 1.0);
        if (root) {
            progress.update(rows_done, seconds_since(start));
            round_size = next_round_steps(per_rank, seconds_since(round_start), most_steps);
        }
    } while (round.end < plan.size());
    progress.finish();
    reader.reset();
    times.wait = std::max(
        0.0, seconds_since(stream_start) - times.read - times.compute - times.write - times.finish);

    const bool collective = comm.min(not_collective.empty() ? 1 : 0) == 1;
    RunReport report;
    report.rows = rows_to_do;
    report.outputs = outputs;
    report.nonfinite_rows = total_nonfinite;
    report.ranks = comm.size();
    report.threads = threads;
    report.jobs = job_count;
    report.skipped = skipped;
    report.resumed_chunks = resumed_chunks;
    report.output_file = job_count == 1 ? prepared.jobs[0].output.file : config.output_dir;
    report.output_dataset = job_count == 1 ? prepared.jobs[0].output.dataset : "/predictions";
    report.all_writes_collective = collective;
    report.verified_rows = comm.sum(verifier->rows_checked);
    report.verify_deviation.absolute = comm.max(verifier->deviation.absolute);
    report.verify_deviation.relative = comm.max(verifier->deviation.relative);
    report.seconds = seconds_since(start);
    comm.broadcast(report.seconds, 0);
    trace(comm, times);
    const std::vector<double> per_rank = comm.gather(report_values(times), 0);
    if (!config.report_path.empty()) {
        agree_on_root(comm, 0,
                      [&] { write_report_json(config.report_path, report, layout, per_rank); });
    }
    return report;
}

}  // namespace h5infer
