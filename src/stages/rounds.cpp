#include "stages/rounds.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "agree.hpp"
#include "h5infer/error.hpp"
#include "io/input.hpp"
#include "progress.hpp"
#include "stop.hpp"

namespace h5infer::stages {
namespace {

using Clock = std::chrono::steady_clock;

// How far ahead of the rows it computes a rank asks the file system to read its share
// (io::InputReader::read_ahead()): enough to keep a device busy while the rows before are
// computed, small enough that the advice returns at once (docs/performance.md).
constexpr std::int64_t read_ahead_bytes = std::int64_t{16} << 20U;

// Each rank works through its jobs done alone (RunPlan::alone) for about this long between the
// checks, collective, that let any rank's stop signal or failure end every rank.
constexpr double alone_slice_seconds = 0.5;

// What the kernels count as non-finite in an input of type `dtype`: they see float32, and a
// float64 value beyond its range becomes Inf when narrowed, as HDF5 narrows it.
std::string nonfinite_values(const std::string& dtype) {
    if (dtype.find("float64") == std::string::npos) return "NaN or Inf values";
    return "values that are not finite in float32 (NaN, Inf, or finite values beyond the float32 "
           "range, about +-3.4e38, which become Inf when narrowed to float32)";
}

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

Progress make_progress(const RunConfig& config, const mpi::Comm& comm, std::int64_t rows) {
    const bool terminal = interactive_terminal();
    const double interval =
        config.progress_interval >= 0 ? config.progress_interval : (terminal ? 1.0 : 10.0);
    return {rows, interval, terminal, comm.rank() == 0 && !config.quiet ? stdout : nullptr};
}

// The state of the rounds of one run on one rank; run() streams them all.
class RoundLoop {
public:
    RoundLoop(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
              const RunPlan& plan, Engine& engine, OpenOutputs& outputs, StageTimes& times,
              Tally& tally, Clock::time_point start)
        : config_(config),
          comm_(comm),
          prepared_(prepared),
          plan_(plan),
          engine_(engine),
          outputs_(outputs),
          times_(times),
          tally_(tally),
          start_(start),
          root_(comm.rank() == 0),
          progress_(make_progress(config, comm, plan.rows_to_do)),
          weights_(static_cast<std::size_t>(comm.size()), 1.0),
          round_size_(std::min(engine.first_steps, engine.most_steps)) {}

    void run();

private:
    std::vector<std::vector<Piece>> next_round();
    [[nodiscard]] bool shared(std::int64_t job) const;
    [[nodiscard]] bool holds(std::int64_t job, bool last) const;
    void checkpoint_or_stop();
    void stop_if_abandoned();
    [[noreturn]] void stop();
    double compute(const std::vector<Piece>& mine, std::int64_t& my_rows);
    void compute_piece(const std::vector<Piece>& mine, std::size_t p, float* predictions,
                       std::size_t& advised);
    io::InputReader& reader_for(std::int64_t job);
    void compute_rows(std::int64_t job, Range rows, float* predictions);
    std::int64_t forward(Range rows, float* predictions);
    void run_alone_jobs();
    std::int64_t run_alone_slice(const std::vector<std::int64_t>& jobs, std::size_t& next,
                                 std::int64_t& finished);
    void write(const std::vector<std::vector<Piece>>& shares, const std::vector<Piece>& mine);
    void end_round(Clock::time_point round_start, std::int64_t my_rows, double busy);

    const RunConfig& config_;
    const mpi::Comm& comm_;
    const Prepared& prepared_;
    const RunPlan& plan_;
    Engine& engine_;
    OpenOutputs& outputs_;
    StageTimes& times_;
    Tally& tally_;
    Clock::time_point start_;
    bool root_ = false;
    Progress progress_;
    std::optional<io::InputReader> reader_;
    std::int64_t reader_job_ = -1;
    PaceMeter pace_;
    std::vector<double> weights_;  // each rank's share of the next round
    std::int64_t round_size_ = 1;  // chunks per rank in the next round (rank 0's choice)
    Range round_{0, 0};            // the items of the current round
    std::int64_t rows_done_ = 0;
    Clock::time_point last_checkpoint_ = Clock::now();
    std::int64_t steps_since_checkpoint_ = 0;
    bool abandoned_ = false;  // this rank left pieces of the round undone for a stop signal
};

void RoundLoop::run() {
    const Clock::time_point stream_start = Clock::now();
    last_checkpoint_ = stream_start;
    do {
        const Clock::time_point round_start = Clock::now();
        const std::vector<std::vector<Piece>> shares = next_round();
        const std::vector<Piece>& mine = shares[static_cast<std::size_t>(comm_.rank())];
        checkpoint_or_stop();
        for (std::int64_t j = 0; j < static_cast<std::int64_t>(prepared_.jobs.size()); ++j) {
            if (shared(j) && holds(j, false)) outputs_.open(j);
        }
        std::int64_t my_rows = 0;
        const double busy = compute(mine, my_rows);
        stop_if_abandoned();
        write(shares, mine);
        end_round(round_start, my_rows, busy);
    } while (round_.end < plan_.work.size());
    run_alone_jobs();
    progress_.finish();
    reader_.reset();
    times_.wait = std::max(0.0, seconds_since(stream_start) - times_.read - times_.compute -
                                    times_.write - times_.finish);
}

// Rank 0's round size to every rank; the next items of the plan cut into one share per rank.
std::vector<std::vector<Piece>> RoundLoop::next_round() {
    comm_.broadcast(round_size_, 0);
    const std::int64_t items = round_items(round_size_, weights_, engine_.most_steps);
    round_ = {round_.end, std::min(plan_.work.size(), round_.end + items)};
    return plan_.work.shares(round_, weights_, engine_.split_rows);
}

// Is the job's output written by all ranks in the rounds (not skipped, not done alone)?
bool RoundLoop::shared(std::int64_t job) const {
    return !prepared_.jobs[static_cast<std::size_t>(job)].skip &&
           plan_.alone[static_cast<std::size_t>(job)] < 0;
}

// Does this round hold the job's first (or last) item? Jobs without items have their output
// opened and finished in the first round.
bool RoundLoop::holds(std::int64_t job, bool last) const {
    const auto& [first_item, last_item] = plan_.job_items[static_cast<std::size_t>(job)];
    const std::int64_t item = last ? last_item : first_item;
    return item < 0 ? round_.begin == 0 : round_.begin <= item && item < round_.end;
}

// Rank 0's clock decides checkpoints; any rank's signal stops everyone.
void RoundLoop::checkpoint_or_stop() {
    const bool checkpoint_due =
        root_ &&
        ((config_.checkpoint_seconds > 0 &&
          seconds_since(last_checkpoint_) >= config_.checkpoint_seconds) ||
         (config_.checkpoint_steps > 0 && steps_since_checkpoint_ >= config_.checkpoint_steps));
    const std::int64_t action =
        comm_.max(std::int64_t{StopRequest::signal_number() != 0 ? 2 : (checkpoint_due ? 1 : 0)});
    if (action > 0) {
        outputs_.checkpoint();
        last_checkpoint_ = Clock::now();
        steps_since_checkpoint_ = 0;
    }
    if (action == 2) stop();
}

// A launcher that stops a job gives it little time before SIGKILL (mpirun: a second after its
// SIGTERM), possibly less than a round takes: a rank that sees a signal mid-round leaves the
// rest of its share, and then every rank drops the round and saves the rounds before it.
void RoundLoop::stop_if_abandoned() {
    if (comm_.max(std::int64_t{abandoned_ ? 1 : 0}) == 0) return;
    outputs_.checkpoint();
    stop();
}

void RoundLoop::stop() {
    StopRequest::keep_until_exit();
    progress_.finish();
    outputs_.keep_partial_files();
    const std::int64_t signal_number =
        comm_.max(static_cast<std::int64_t>(StopRequest::signal_number()));
    if (!root_) throw ReportedElsewhere(ExitCode::Interrupted, 0);
    throw InterruptedError("stopped by signal " + std::to_string(signal_number) + " after " +
                           std::to_string(rows_done_) + " of " + std::to_string(plan_.rows_to_do) +
                           " rows; progress is saved: rerun the same command to resume");
}

// My pieces of this round, their predictions one after another in engine.dst. Returns the
// seconds it took.
double RoundLoop::compute(const std::vector<Piece>& mine, std::int64_t& my_rows) {
    double busy = 0;
    agree(comm_, [&] {
        const Clock::time_point busy_start = Clock::now();
        std::size_t advised = 0;  // pieces of mine whose rows were asked for ahead
        for (std::size_t p = 0; p < mine.size(); ++p) {
            if (StopRequest::signal_number() != 0) {
                abandoned_ = true;
                break;
            }
            const std::int64_t rows = mine[p].rows.size();
            H5INFER_ASSERT((my_rows + rows) * engine_.outputs <=
                           static_cast<std::int64_t>(engine_.dst.size()));
            compute_piece(mine, p, engine_.dst.data() + my_rows * engine_.outputs, advised);
            my_rows += rows;
        }
        busy = seconds_since(busy_start);
    });
    return busy;
}

void RoundLoop::compute_piece(const std::vector<Piece>& mine, std::size_t p, float* predictions,
                              std::size_t& advised) {
    const WorkItem& work = plan_.work.items()[static_cast<std::size_t>(mine[p].item)];
    const Clock::time_point t0 = Clock::now();
    read_ahead(plan_.work, mine, p, work.job, reader_for(work.job), advised);
    times_.read += seconds_since(t0);
    compute_rows(work.job, mine[p].rows, predictions);
}

// The reader of the input of `job`, opened when the last was of another.
io::InputReader& RoundLoop::reader_for(std::int64_t j) {
    if (reader_job_ != j) {
        reader_.reset();
        reader_.emplace(prepared_.jobs[static_cast<std::size_t>(j)].input);
        reader_job_ = j;
    }
    return *reader_;
}

// Rows `rows` of the input of `job` into predictions, with the checks every row gets.
void RoundLoop::compute_rows(std::int64_t j, Range rows, float* predictions) {
    const PreparedJob& job = prepared_.jobs[static_cast<std::size_t>(j)];
    const Clock::time_point t0 = Clock::now();
    (void)reader_for(j);
    times_.read += seconds_since(t0);
    const std::int64_t bad = forward(rows, predictions);
    if (bad > 0 && config_.fail_on_nonfinite) {
        throw InputError("dataset '" + job.input.dataset + "' in '" + job.input.file + "' has " +
                         std::to_string(bad) + (bad == 1 ? " row" : " rows") + " with " +
                         nonfinite_values(job.input.dtype) + " in rows " +
                         std::to_string(rows.begin) + ".." + std::to_string(rows.end) +
                         " (drop --fail-on-nonfinite to let them propagate)");
    }
    outputs_.count_nonfinite(j, bad);
    engine_.verifier->check(engine_.src.data(), predictions, rows, job.input.rows, job.input.cols,
                            engine_.outputs);
    times_.rows += static_cast<double>(rows.size());
    times_.chunks += 1;
}

// Input rows `rows` of the current reader's dataset into predictions; returns how many of them
// hold NaN or Inf.
std::int64_t RoundLoop::forward(Range rows, float* predictions) {
    kernels::Network& network = *engine_.network;
    Clock::time_point t0 = Clock::now();
    if (reader_->can_fetch()) {
        // The kernel's threads copy the rows from the file together (a page-cache copy is as
        // costly per byte as a narrow model's compute); their time, shared out over the
        // threads, counts as reading.
        const double fetched = reader_->fetch_seconds();
        const std::int64_t bad = network.forward_fetching(
            [&](std::int64_t begin, std::int64_t count, float* into) {
                reader_->fetch(rows.begin + begin, count, into);
            },
            engine_.src.data(), rows.size(), predictions);
        const double read = (reader_->fetch_seconds() - fetched) / engine_.threads;
        times_.read += read;
        times_.compute += seconds_since(t0) - read;
        return bad;
    }
    reader_->read(rows.begin, rows.size(), engine_.src.data());
    times_.read += seconds_since(t0);
    t0 = Clock::now();
    const std::int64_t bad =
        network.forward_counting_nonfinite(engine_.src.data(), rows.size(), predictions);
    times_.compute += seconds_since(t0);
    return bad;
}

// One collective write per output and run of adjacent rows (a run breaks only at chunks a
// resumed file already has); ranks with fewer runs take part with none. My pieces are in job
// order, so the runs of each job follow each other in engine.dst.
void RoundLoop::write(const std::vector<std::vector<Piece>>& shares,
                      const std::vector<Piece>& mine) {
    const Clock::time_point t0 = Clock::now();
    std::int64_t offset = 0;
    for (std::int64_t j : plan_.work.jobs_in(round_)) {
        const std::vector<Range> runs = plan_.work.row_runs(mine, j);
        std::size_t writes = 0;
        for (const std::vector<Piece>& share : shares) {
            writes = std::max(writes, plan_.work.row_runs(share, j).size());
        }
        for (std::size_t w = 0; w < writes; ++w) {
            const Range rows = w < runs.size() ? runs[w] : Range{};
            outputs_.write(j, rows, engine_.dst.data() + offset * engine_.outputs);
            offset += rows.size();
        }
    }
    times_.write += seconds_since(t0);
}

// The jobs done alone: each rank computes and commits its own, and between slices of them the
// ranks add up the progress and agree on a stop (any rank's signal), as between rounds.
void RoundLoop::run_alone_jobs() {
    std::vector<std::int64_t> mine;
    for (std::size_t j = 0; j < plan_.alone.size(); ++j) {
        if (plan_.alone[j] == comm_.rank()) mine.push_back(static_cast<std::int64_t>(j));
    }
    if (std::all_of(plan_.alone.begin(), plan_.alone.end(), [](int rank) { return rank < 0; })) {
        return;
    }
    std::size_t next = 0;
    for (;;) {
        std::int64_t rows = 0;
        std::int64_t finished = 0;
        agree(comm_, [&] { rows = run_alone_slice(mine, next, finished); });
        rows_done_ += comm_.sum(rows);
        tally_.rows = rows_done_;
        tally_.finished += comm_.sum(finished);
        if (root_) progress_.update(rows_done_, seconds_since(start_));
        if (comm_.max(std::int64_t{StopRequest::signal_number() != 0 ? 1 : 0}) != 0) stop();
        if (comm_.max(static_cast<std::int64_t>(mine.size() - next)) == 0) break;
    }
    outputs_.count_alone();
}

// Computes and commits my jobs done alone from `next` on, for about alone_slice_seconds or
// until a stop signal; returns their rows and adds them to `finished`.
std::int64_t RoundLoop::run_alone_slice(const std::vector<std::int64_t>& jobs, std::size_t& next,
                                        std::int64_t& finished) {
    const Clock::time_point slice_start = Clock::now();
    std::int64_t rows = 0;
    while (next < jobs.size() && StopRequest::signal_number() == 0 &&
           seconds_since(slice_start) < alone_slice_seconds) {
        const std::int64_t j = jobs[next++];
        const Range all{0, prepared_.jobs[static_cast<std::size_t>(j)].input.rows};
        H5INFER_ASSERT(all.size() * engine_.outputs <=
                       static_cast<std::int64_t>(engine_.dst.size()));
        compute_rows(j, all, engine_.dst.data());
        reader_.reset();  // the input is closed before its output is committed
        reader_job_ = -1;
        const Clock::time_point t0 = Clock::now();
        outputs_.write_alone(j, engine_.dst.data());
        times_.write += seconds_since(t0);
        rows += all.size();
        ++finished;
    }
    const Clock::time_point t0 = Clock::now();
    outputs_.commit_alone();
    times_.finish += seconds_since(t0);
    return rows;
}

// Marks the round's items done, commits the outputs it finished, and sizes the next round:
// each rank's share from the paces, and (rank 0) its length from this round's.
void RoundLoop::end_round(Clock::time_point round_start, std::int64_t my_rows, double busy) {
    for (std::int64_t index = round_.begin; index < round_.end; ++index) {
        const WorkItem& work = plan_.work.items()[static_cast<std::size_t>(index)];
        outputs_.mark_done(work.job, work.chunk);
        rows_done_ += work.rows.size();
    }
    tally_.rows = rows_done_;
    const std::int64_t per_rank = (round_.size() + comm_.size() - 1) / comm_.size();
    steps_since_checkpoint_ += per_rank;
    for (std::int64_t j = 0; j < static_cast<std::int64_t>(prepared_.jobs.size()); ++j) {
        if (!shared(j) || !holds(j, true)) continue;
        const Clock::time_point finish_start = Clock::now();
        outputs_.finish(j);
        ++tally_.finished;
        times_.finish += seconds_since(finish_start);
    }
    pace_.add(my_rows, busy);
    const std::vector<double> paces = comm_.all_gather(pace_.pace());
    weights_ = engine_.most_steps > 1
                   ? pace_weights(paces)
                   : std::vector<double>(static_cast<std::size_t>(comm_.size()), 1.0);
    if (root_) {
        progress_.update(rows_done_, seconds_since(start_));
        round_size_ = next_round_steps(per_rank, seconds_since(round_start), engine_.most_steps);
    }
}

}  // namespace

void stream_rounds(const RunConfig& config, const mpi::Comm& comm, const Prepared& prepared,
                   const RunPlan& plan, Engine& engine, OpenOutputs& outputs, StageTimes& times,
                   Tally& tally, std::chrono::steady_clock::time_point start) {
    RoundLoop(config, comm, prepared, plan, engine, outputs, times, tally, start).run();
}

}  // namespace h5infer::stages
