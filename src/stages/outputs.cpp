#include "stages/outputs.hpp"

#include <algorithm>

#include "agree.hpp"
#include "h5infer/version.hpp"
#include "stages/fingerprint.hpp"

namespace h5infer::stages {

OpenOutputs::PartialFiles::~PartialFiles() {
    if (!keep && root) {
        for (const std::string& path : paths) io::remove_file(path);
    }
}

OpenOutputs::OpenOutputs(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
                         const Engine& engine, std::vector<std::vector<char>> done,
                         std::chrono::steady_clock::time_point start)
    : config_(config),
      comm_(comm),
      prepared_(prepared),
      engine_(engine),
      start_(start),
      syncs_for_node_(comm.first_on_node()),
      writers_(prepared.jobs.size()),
      done_(std::move(done)),
      nonfinite_(prepared.jobs.size(), 0) {
    partial_files_.root = comm.rank() == 0;
    alone_files_.root = true;
}

io::OutputLayout OpenOutputs::layout(std::int64_t j) const {
    const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
    return {job.output.dataset, job.input.rows,
            engine_.outputs,    engine_.labels,
            config_.labels,     job.input.file,
            job.copies,         static_cast<std::int64_t>(done_[j].size()),
            job.fingerprint,    config_.align_bytes,
            config_.io_hints};
}

void OpenOutputs::open(std::int64_t j) {
    const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
    const io::OutputLayout layout = this->layout(j);
    partial_files_.paths.push_back(job.partial);
    if (!job.resume) agree_on_root(comm_, 0, [&] { io::create_output(job.partial, layout); });
    agree(comm_,
          [&] { writers_[j] = std::make_unique<io::OutputWriter>(job.partial, layout, comm_); });
}

void OpenOutputs::write(std::int64_t j, Range rows, const float* src) {
    agree(comm_, [&] { writers_[j]->write(rows.begin, rows.size(), src); });
}

void OpenOutputs::checkpoint() {
    for (std::size_t j = 0; j < writers_.size(); ++j) {
        if (writers_[j]) agree(comm_, [&] { writers_[j]->checkpoint(done_[j]); });
    }
}

void OpenOutputs::write_provenance(io::OutputWriter& writer, std::int64_t j, std::int64_t nonfinite,
                                   double elapsed) const {
    const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
    writer.set_attribute("h5infer_version", std::string(version));
    writer.set_attribute("model_path", prepared_.model_path);
    writer.set_attribute("model_sha256", prepared_.model_sha256);
    writer.set_attribute("input_file", io::absolute_path(job.input.file));
    writer.set_attribute("input_dataset", job.input.dataset);
    writer.set_attribute("input_dtype", job.input.dtype);
    writer.set_attribute("rows", job.input.rows);
    writer.set_attribute("ranks", static_cast<std::int64_t>(comm_.size()));
    writer.set_attribute("threads_per_rank", engine_.thread_layout);
    writer.set_attribute("chunk_rows", prepared_.chunk_rows);
    writer.set_attribute("backend", std::string(kernels::backend_name(config_.backend)));
    writer.set_attribute("precision", std::string(kernels::precision_name(config_.precision)));
    if (!prepared_.instruction_set.name.empty()) {
        writer.set_attribute("isa", prepared_.instruction_set.name);
    }
    writer.set_attribute("nonfinite_input_rows", nonfinite);
    writer.set_attribute("start_time", prepared_.start_time);
    writer.set_attribute("elapsed_seconds", elapsed);
    writer.set_attribute("resumed", static_cast<std::int64_t>(job.resume ? 1 : 0));
}

void OpenOutputs::finish(std::int64_t j) {
    const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
    const std::int64_t job_nonfinite = comm_.sum(nonfinite_[j]);
    total_nonfinite_ += job_nonfinite;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    comm_.broadcast(elapsed, 0);
    agree(comm_, [&] {
        write_provenance(*writers_[j], j, job_nonfinite, elapsed);
        if (not_collective_.empty()) not_collective_ = writers_[j]->not_collective_cause();
        writers_[j]->finish();
    });
    writers_[j].reset();
    // Every rank has closed the file (agree() waited for all): one rank per node writes what
    // its node's ranks wrote to storage, before rank 0 gives the file its name (commit_output()
    // syncs rank 0's node).
    agree(comm_, [&] {
        if (syncs_for_node_ && comm_.rank() != 0) io::sync_file(job.partial);
    });
    agree_on_root(comm_, 0, [&] {
        io::check_unchanged(job.input);
        io::commit_output(job.partial, job.output.file, config_.overwrite || config_.force);
    });
    std::vector<std::string>& paths = partial_files_.paths;
    paths.erase(std::find(paths.begin(), paths.end(), job.partial));
}

void OpenOutputs::write_alone(std::int64_t j, const float* predictions) {
    const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
    const io::OutputLayout layout = this->layout(j);
    alone_files_.paths.push_back(job.partial);
    alone_jobs_.push_back(j);
    io::OutputWriter writer(job.partial, layout);
    writer.write(0, job.input.rows, predictions);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    write_provenance(writer, j, nonfinite_[j], elapsed);
    writer.finish();
    alone_nonfinite_ += nonfinite_[j];
}

void OpenOutputs::commit_alone() {
    std::vector<io::Commit> commits;
    for (std::int64_t j : alone_jobs_) {
        const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
        io::check_unchanged(job.input);
        commits.push_back({job.partial, job.output.file});
    }
    io::commit_outputs(commits, config_.overwrite || config_.force);
    alone_files_.paths.clear();
    alone_jobs_.clear();
}

void OpenOutputs::count_alone() {
    total_nonfinite_ += comm_.sum(alone_nonfinite_);
    alone_nonfinite_ = 0;
}

bool OpenOutputs::all_writes_collective() const {
    return comm_.min(not_collective_.empty() ? 1 : 0) == 1;
}

}  // namespace h5infer::stages
