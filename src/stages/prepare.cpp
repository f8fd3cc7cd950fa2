#include "stages/prepare.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>

#include "agree.hpp"
#include "byte_image.hpp"
#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"
#include "h5infer/plan.hpp"
#include "io/job_list.hpp"
#include "kernels/instruction_set.hpp"
#include "model/describe.hpp"
#include "stages/fingerprint.hpp"
#include "stages/report.hpp"

namespace h5infer::stages {
namespace {

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
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

void check_config(const RunConfig& config) {
    if (config.chunk_rows < 0) {
        throw ConfigError("--chunk-rows must be at least 1, got " +
                          std::to_string(config.chunk_rows));
    }
    if (config.threads < 0) {
        throw ConfigError("--threads must be positive, got " + std::to_string(config.threads));
    }
    if (config.align_bytes < 0) {
        throw ConfigError("--align must be a positive size, got " +
                          std::to_string(config.align_bytes));
    }
    const mpi::Info hints(config.io_hints);  // refuses a hint that is not KEY=VALUE
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

// The fingerprint recorded in the file `path` (io::read_fingerprint()), as the ranks read it
// together just before, or read now.
std::string fingerprint_in(const Prepared& prepared, const std::string& path) {
    const auto found = prepared.fingerprints_read.find(path);
    return found != prepared.fingerprints_read.end() ? found->second : io::read_fingerprint(path);
}

// On rank 0: the job's fingerprint, waiting for the model's hash if it is not known yet.
std::string fingerprint_of(const RunConfig& config, Prepared& prepared, const PreparedJob& job) {
    if (prepared.model_sha256.empty()) prepared.model_sha256 = prepared.model_hash.get();
    return fingerprint(config, prepared.model_sha256, prepared.model_files, prepared.chunk_rows,
                       prepared.instruction_set.name, job.input, job.output.dataset, job.copies);
}

// Why a partial file computed with instruction set `was` is not resumed, and how it could be.
std::string instruction_set_change(const std::string& was, const AgreedInstructionSet& now) {
    std::string text = "its chunks were computed with " +
                       (was.empty() ? "an unrecorded instruction set" : was) +
                       " and this run computes with " + now.name + ", which gives other bits";
    const auto found = kernels::parse_instruction_set(was);
    const auto common = kernels::parse_instruction_set(now.common);
    if (found && common && (*found & *common) == *found)
        return text + "; --isa " + was + " resumes it";
    return text + "; not every rank has " + (was.empty() ? "it" : was);
}

// Whether the partial file of `job` can be resumed: then its progress record is in job.done.
// Otherwise says why not and removes it.
void resume_or_discard(const RunConfig& config, Prepared& prepared, PreparedJob& job) {
    job.fingerprint = fingerprint_of(config, prepared, job);
    const std::int64_t chunks = ChunkPlan(job.input.rows, prepared.chunk_rows, 1).chunk_count();
    const std::string found = io::read_fingerprint(job.partial);
    std::string reason = found == job.fingerprint ? "" : first_difference(found, job.fingerprint);
    if (!reason.empty() && same_but_instruction_set(found, job.fingerprint)) {
        reason = instruction_set_change(fingerprint_value(found, "isa"), prepared.instruction_set);
    }
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
        say(config, "resume " + job.output.file + ": " + std::to_string(done) + " of " +
                        std::to_string(chunks) + " chunks already done in " + job.partial);
        return;
    }
    say(config, "discard the partial file " + job.partial + " (" + reason + "); start over");
    io::remove_file(job.partial);
}

// Decides, for one input, whether to skip it, resume its partial file or start afresh. The
// fingerprint is computed here only when there is a file to compare it with: otherwise later
// (share_fingerprints()), so that a fresh job does not wait for the model's hash.
void plan_job(const RunConfig& config, Prepared& prepared, PreparedJob& job, std::size_t outputs) {
    const std::string& final_path = job.output.file;
    if (!config.force && exists(final_path)) {
        job.fingerprint = fingerprint_of(config, prepared, job);
        const std::string found = fingerprint_in(prepared, final_path);
        if (same_but_instruction_set(found, job.fingerprint)) {
            job.skip = true;
            const std::string made_with = fingerprint_value(found, "isa");
            const std::string isa = made_with.empty() || made_with == prepared.instruction_set.name
                                        ? ""
                                        : " (computed with " + made_with + ")";
            say(config, "skip " + job.input.file + ": " + final_path + " is up to date" + isa +
                            " (--force recomputes it)");
            return;
        }
    }
    io::check_output_path(final_path, config.overwrite || config.force);
    prepared.locks.emplace_back(final_path, io::LockBudget{prepared.locks.size(), outputs});
    job.partial = io::partial_path(final_path);
    io::refuse_link(job.partial, "partial file", final_path);
    if (exists(job.partial)) resume_or_discard(config, prepared, job);
}

// Chunks narrower than a row make HDF5 move the values one at a time, several times slower
// than whole rows (docs/performance.md): says so once, with the h5repack line that rewrites
// the input.
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

// What rank 0 noticed about the inputs' columns (reordered, taken by name, no names): every note
// of the first few inputs that have some, then how many more have some, so that a directory of
// like files gives a few lines, not one per file.
void say_column_notes(const RunConfig& config, const Prepared& prepared) {
    constexpr std::int64_t inputs_shown = 3;
    std::int64_t noted = 0;
    for (const PreparedJob& job : prepared.jobs) {
        if (job.skip || job.input.notes.empty()) continue;
        if (noted++ < inputs_shown) {
            for (const std::string& note : job.input.notes) say(config, note);
        }
    }
    if (noted > inputs_shown) {
        say(config, "note: " + std::to_string(noted - inputs_shown) +
                        " more inputs have notes about their columns, like those above");
    }
}

// Rows never written read as the fill value, which would become predictions nobody asked for:
// refused, or (--unwritten-rows nan) read as NaN and said so.
void check_unwritten(const RunConfig& config, const io::InputInfo& input) {
    if (input.unwritten.empty()) return;
    const std::string where = "dataset '" + input.dataset + "' in '" + input.file + "'";
    if (config.unwritten_rows == UnwrittenRows::Refuse) {
        throw InputError(where +
                         " has rows that were never written, which HDF5 would read as "
                         "its fill value: " +
                         io::describe_unwritten(input) +
                         "; write them (or the missing files), or pass --unwritten-rows nan to "
                         "predict NaN for them");
    }
    say(config, "note: " + where +
                    " has rows that were never written, predicted as NaN "
                    "(--unwritten-rows nan): " +
                    io::describe_unwritten(input));
}

// The predictions still to write must fit where they go: an input declaring 2^40 rows would
// otherwise get a sparse partial file of terabytes, found out only when the disk fills.
void check_output_space(const Prepared& prepared) {
    constexpr std::int64_t value_bytes = sizeof(float);
    std::vector<io::PlannedOutput> outputs;
    for (const PreparedJob& job : prepared.jobs) {
        if (job.skip) continue;
        io::PlannedOutput output{job.output.file, job.resume ? job.partial : "", 0,
                                 job.input.file + ":" + job.input.dataset};
        if (__builtin_mul_overflow(job.input.rows, prepared.model.output_width() * value_bytes,
                                   &output.bytes)) {
            output.bytes = std::numeric_limits<std::int64_t>::max();
        }
        outputs.push_back(std::move(output));
    }
    io::check_output_space(outputs);
}

// One listed input validated and planned against `model`.
PreparedJob prepare_job(const RunConfig& config, Prepared& prepared, const io::Job& listed,
                        std::size_t outputs) {
    PreparedJob job;
    job.input = io::inspect_input(
        listed.input,
        {prepared.model.input_width, prepared.model.feature_names, config.column_names});
    check_unwritten(config, job.input);
    job.output = listed.output;
    for (const std::string& copy : config.copies) {
        job.copies.push_back(io::check_copy(job.input, copy));
    }
    check_output_names(config, prepared.model, job.output, job.copies);
    const std::string output_path = io::absolute_path(job.output.file);
    if (output_path == io::absolute_path(job.input.file) || output_path == prepared.model_path) {
        throw IoError("output '" + job.output.file +
                      "' is the input or the model file; choose another output name");
    }
    plan_job(config, prepared, job, outputs);
    return job;
}

// A pattern over a directory that also receives the predictions (--output-dir the input
// directory) would take the last run's prediction files, h5infer's partial and lock files, or
// the model as inputs: they are left out, in one line.
std::vector<io::Job> list_jobs(const RunConfig& config, const Prepared& prepared) {
    const std::string model_path = io::absolute_path(config.model_path);
    io::PatternFilter filter;
    filter.leaves_out = [&](const std::string& file) {
        const std::string name = std::filesystem::path(file).filename().string();
        const bool temporary = name.rfind('.', 0) == 0 &&
                               name.find(".h5infer-") != std::string::npos && name.size() > 4 &&
                               name.compare(name.size() - 4, 4, ".tmp") == 0;
        return temporary || io::absolute_path(file) == model_path ||
               !fingerprint_in(prepared, file).empty();
    };
    std::vector<io::Job> jobs =
        io::list_jobs(io::expand_inputs(config.inputs, config.input_list, &filter), config.output,
                      config.output_dir);
    if (!filter.left_out.empty()) {
        say(config,
            "note: the input patterns leave out " + std::to_string(filter.left_out.size()) +
                " files of h5infer's own (predictions, partial and lock files, the model), e.g. " +
                filter.left_out.front());
    }
    return jobs;
}

Prepared prepare(const RunConfig& config, int ranks, const AgreedInstructionSet& isa, Tally& tally,
                 std::map<std::string, std::string> fingerprints_read) {
    check_config(config);
    Prepared prepared;
    prepared.instruction_set = isa;
    prepared.start_time = utc_now();
    prepared.fingerprints_read = std::move(fingerprints_read);
    const std::vector<io::Job> jobs = list_jobs(config, prepared);
    check_report_paths(config, jobs);
    tally.metrics_path_checked = true;
    // Hashing a large model takes as long as reading it. Alone, rank 0 hashes on a second
    // thread while it reads; with other ranks, the last one hashes while rank 0 prepares, and
    // rank 0 only hashes itself if planning needs the hash first.
    prepared.model_hash = std::async(ranks > 1 ? std::launch::deferred : std::launch::async,
                                     file_sha256, config.model_path)
                              .share();
    prepared.model = read_model(config.model_path);
    for (const std::string& path : prepared.model.data_files) {
        const std::string absolute = io::absolute_path(path);
        prepared.model_files.push_back(
            io::file_version(absolute).value_or(io::FileVersion{absolute, -1, -1}));
    }
    prepared.chunk_rows =
        config.chunk_rows > 0 ? config.chunk_rows : auto_chunk_rows(flops_per_row(prepared.model));
    prepared.parameters = parameter_count(prepared.model);
    if (ranks > 1) prepared.model_image = serialize(prepared.model, ImageContent::Structure);
    prepared.model_path = io::absolute_path(config.model_path);
    for (const io::Job& listed : jobs) {
        prepared.jobs.push_back(prepare_job(config, prepared, listed, jobs.size()));
    }
    check_output_space(prepared);
    say_column_notes(config, prepared);
    note_slow_layouts(config, prepared);
    return prepared;
}

// What every rank needs of a prepared job, in the image rank 0 broadcasts: one broadcast for
// all jobs, since thousands of inputs would otherwise cost tens of thousands of collectives.
void write_job(ImageWriter& out, const PreparedJob& job) {
    for (const std::string* text : {&job.input.file, &job.input.dataset, &job.input.dtype,
                                    &job.output.file, &job.output.dataset, &job.partial}) {
        out.string(*text);
    }
    for (std::int64_t value :
         {job.input.rows, job.input.cols, job.input.file_bytes, job.input.file_mtime_ns}) {
        out.i64(value);
    }
    out.i64(static_cast<std::int64_t>(job.input.data_files.size()));
    for (const io::FileVersion& version : job.input.data_files) {
        out.string(version.path);
        out.i64(version.bytes);
        out.i64(version.mtime_ns);
    }
    out.i64(static_cast<std::int64_t>(job.input.unwritten.size()));
    for (const h5::UnwrittenRows& rows : job.input.unwritten) {
        out.i64(rows.row_begin);
        out.i64(rows.row_end);
    }
    out.i64(static_cast<std::int64_t>(job.input.sources.size()));
    for (const io::ColumnSource& source : job.input.sources) {
        out.string(source.dataset);
        out.string(source.field);
        out.i64(source.column);
    }
    out.i64(static_cast<std::int64_t>(job.copies.size()));
    for (const std::string& copy : job.copies) out.string(copy);
    out.i64(job.skip ? 1 : 0);
    out.i64(job.resume ? 1 : 0);
    out.string(std::string(job.done.begin(), job.done.end()));
}

using JobReader = ImageReader<MpiError>;

// A count of `what` read from the image, at most what it could hold.
std::size_t count_of(JobReader& in, const char* what) {
    const std::int64_t count = in.i64(what);
    if (count < 0) in.fail(std::string(what) + " is negative");
    return static_cast<std::size_t>(count);
}

PreparedJob read_job(JobReader& in) {
    PreparedJob job;
    for (std::string* text : {&job.input.file, &job.input.dataset, &job.input.dtype,
                              &job.output.file, &job.output.dataset, &job.partial}) {
        *text = in.string("a name");
    }
    for (std::int64_t* value :
         {&job.input.rows, &job.input.cols, &job.input.file_bytes, &job.input.file_mtime_ns}) {
        *value = in.i64("a size");
    }
    job.input.data_files.resize(count_of(in, "data files"));
    for (io::FileVersion& version : job.input.data_files) {
        version.path = in.string("a data file");
        version.bytes = in.i64("its size");
        version.mtime_ns = in.i64("its time");
    }
    job.input.unwritten.resize(count_of(in, "unwritten rows"));
    for (h5::UnwrittenRows& rows : job.input.unwritten) {
        rows.row_begin = in.i64("unwritten rows");
        rows.row_end = in.i64("unwritten rows");
    }
    job.input.sources.resize(count_of(in, "column sources"));
    for (io::ColumnSource& source : job.input.sources) {
        source.dataset = in.string("a column's dataset");
        source.field = in.string("a column's field");
        source.column = in.i64("a column");
    }
    job.copies.resize(count_of(in, "copies"));
    for (std::string& copy : job.copies) copy = in.string("a copy");
    job.skip = in.i64("skip") != 0;
    job.resume = in.i64("resume") != 0;
    const std::string done = in.string("done chunks");
    job.done.assign(done.begin(), done.end());
    return job;
}

void broadcast(const mpi::Comm& comm, Prepared& prepared) {
    comm.broadcast(prepared.model_image, 0);
    comm.broadcast(prepared.chunk_rows, 0);
    comm.broadcast(prepared.parameters, 0);
    for (std::string* text : {&prepared.model_path, &prepared.start_time}) {
        comm.broadcast(*text, 0);
    }
    std::vector<char> image;
    if (comm.rank() == 0) {
        ImageWriter out;
        out.i64(static_cast<std::int64_t>(prepared.jobs.size()));
        for (const PreparedJob& job : prepared.jobs) write_job(out, job);
        image = out.take();
    }
    comm.broadcast(image, 0);
    if (comm.rank() == 0) return;
    JobReader in(image, "image of the inputs from rank 0");
    prepared.jobs.resize(count_of(in, "inputs"));
    for (PreparedJob& job : prepared.jobs) job = read_job(in);
    if (!in.at_end()) in.fail("bytes remain after the last input");
}

// Rank 0 prepares alone, and opening thousands of small files is most of that time. So first
// every rank reads the fingerprints of its share of the files rank 0 will look for one in: the
// inputs the patterns match (h5infer's own files are left out) and the outputs (up to date when
// theirs matches). Only a head start: what fails here, rank 0 meets and reports itself, and a
// file missing here (one that appeared meanwhile) it reads itself.
std::map<std::string, std::string> read_fingerprints_together(const RunConfig& config,
                                                              const mpi::Comm& comm) {
    if (comm.size() == 1) return {};
    std::vector<std::string> paths;
    try {
        const std::vector<io::DatasetRef> inputs =
            io::expand_inputs(config.inputs, config.input_list);
        for (const io::DatasetRef& input : inputs) paths.push_back(input.file);
        if (!config.force) {
            for (const io::Job& job : io::list_jobs(inputs, config.output, config.output_dir)) {
                paths.push_back(job.output.file);
            }
        }
    } catch (const std::exception&) {
        paths.clear();  // rank 0 finds the same problem and reports it
    }
    ImageWriter out;
    for (auto i = static_cast<std::size_t>(comm.rank()); i < paths.size();
         i += static_cast<std::size_t>(comm.size())) {
        out.string(paths[i]);
        out.string(io::read_fingerprint(paths[i]));
    }
    std::map<std::string, std::string> found;
    for (const std::vector<char>& image : comm.gather(out.take(), 0)) {
        JobReader in(image, "image of fingerprints");
        while (!in.at_end()) {
            std::string path = in.string("a path");
            found[path] = in.string("a fingerprint");
        }
    }
    return found;
}

}  // namespace

Prepared prepare_run(const RunConfig& config, const mpi::Comm& comm, Tally& tally) {
    const AgreedInstructionSet isa = agree_on_instruction_set(config, comm);
    // An unreadable model is rank 0's to report: the last rank then just has no hash.
    std::string hashed;
    if (comm.size() > 1 && comm.rank() == comm.size() - 1) {
        try {
            hashed = file_sha256(config.model_path);
        } catch (const std::exception&) {
            hashed.clear();
        }
    }
    Prepared prepared;
    std::map<std::string, std::string> fingerprints = read_fingerprints_together(config, comm);
    agree_on_root(comm, 0, [&] {
        prepared = prepare(config, comm.size(), isa, tally, std::move(fingerprints));
    });
    broadcast(comm, prepared);
    prepared.instruction_set = isa;
    prepared.last_rank_sha256 = std::move(hashed);
    return prepared;
}

void share_fingerprints(const RunConfig& config, const mpi::Comm& comm, Prepared& prepared) {
    if (comm.size() > 1) comm.broadcast(prepared.last_rank_sha256, comm.size() - 1);
    agree_on_root(comm, 0, [&] {
        if (prepared.model_sha256.empty()) prepared.model_sha256 = prepared.last_rank_sha256;
        for (PreparedJob& job : prepared.jobs) {
            if (job.fingerprint.empty()) job.fingerprint = fingerprint_of(config, prepared, job);
        }
        if (prepared.model_sha256.empty()) prepared.model_sha256 = prepared.model_hash.get();
    });
    comm.broadcast(prepared.model_sha256, 0);
    for (PreparedJob& job : prepared.jobs) comm.broadcast(job.fingerprint, 0);
}

}  // namespace h5infer::stages
