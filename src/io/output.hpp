#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5infer/h5/h5.hpp"
#include "h5infer/mpi/comm.hpp"
#include "io/descriptor.hpp"

namespace h5infer::io {

/// Checks on one rank that `path` can become the output: it is not a directory, it does not
/// exist unless `overwrite`, and its directory exists and accepts new files (tried for real,
/// so read-only mounts and permissions are caught). Throws IoError with the fix; the message
/// calls the path `what` ("output", "--report").
void check_output_path(const std::string& path, bool overwrite, const std::string& what = "output");

/// An output still to write and the bytes of its predictions (rows x outputs x 4).
struct PlannedOutput {
    std::string path;     ///< its final name
    std::string partial;  ///< its partial file, whose blocks already count, when resuming
    std::int64_t bytes = 0;
    std::string input;  ///< the input it is made from, for the message
};

/// Checks on one rank that the planned outputs fit: on each file system their directories lie
/// on, the sum of their bytes (less the blocks their partial files already hold) must not
/// exceed the space it has free for this user (statvfs f_bavail). Outputs are created with
/// their space allocated, so a dataset declaring 2^40 rows would otherwise get a sparse file
/// of terabytes that can never be filled. Throws IoError with the figures and the fix.
void check_output_space(const std::vector<PlannedOutput>& outputs);

/// The hidden temporary name the output is written under: "<dir>/.<name>.h5infer-<tag>.tmp",
/// in the same directory so the final rename stays on one filesystem.
[[nodiscard]] std::string temporary_path(const std::string& final_path, const std::string& tag);

/// Moves the finished temporary file to its final name in one atomic rename, after writing it
/// to storage (sync_file), and then the rename itself. Without `overwrite`, refuses (IoError)
/// if the final name appeared meanwhile.
void commit_output(const std::string& temporary, const std::string& final_path, bool overwrite);

/// A finished temporary file and the name it is to have.
struct Commit {
    std::string temporary;
    std::string final_path;
};

/// commit_output() of each of `commits`, in order, with fewer waits on storage: the writeback
/// of all the files starts before the first is waited for, and each directory is synced once,
/// after the last rename into it. On an error the files not yet renamed keep their names.
void commit_outputs(const std::vector<Commit>& commits, bool overwrite);

/// Writes the file's data to storage and waits for it (fdatasync). Until then the file may be
/// only in this node's page cache: a node that crashes after the job ended would leave it
/// empty or cut short. Throws IoError naming the file; on NFS and with quotas, a full disk can
/// first show here.
void sync_file(const std::string& path);

/// Refuses (IoError naming the path and the fix) a `path` that is a symbolic link or not a
/// regular file: h5infer's own files beside an output (`what`: "partial file", "lock file"),
/// which a link planted in a shared directory would otherwise turn into a write elsewhere.
/// A missing path is fine.
void refuse_link(const std::string& path, const std::string& what, const std::string& final_path);

/// Removes a file if it exists; never throws (used on failure paths).
void remove_file(const std::string& path) noexcept;

/// Open files a run keeps free beside its locks, for what it opens while it computes: the
/// inputs and prediction files of a round (several descriptors each through MPI-IO), HDF5's
/// and MPI's own. Running out of them midway fails with misleading errors or worse.
inline constexpr int descriptors_beside_locks = 32;

/// How many locks a run takes, for OutputLock to check that they fit the limit on open files.
struct LockBudget {
    std::size_t held = 0;     ///< locks this process holds already
    std::size_t outputs = 1;  ///< outputs the run writes in all (for the message)
};

/// Keeps other h5infer jobs from writing the same output while this one does: two jobs on
/// one output (a cron rerun that starts before the last run ends) would write one partial file
/// together, or one would discard the file the other is writing. An exclusive flock() on
/// temporary_path(output, "lock"), which records who holds it; the kernel drops the lock when
/// the process ends, however it ends, so a killed job blocks nothing. Where the file system
/// has no locks (Lustre mounted without -o flock), nothing is locked.
class OutputLock {
public:
    /// Locks `final_path`'s lock file, creating it. Throws IoError naming the holder when
    /// another job holds it, and, when `budget` says locks are held already, when this one
    /// would leave fewer than descriptors_beside_locks open files under the limit (ulimit -n,
    /// raised to the hard limit first), naming the limit to raise and to what.
    explicit OutputLock(const std::string& final_path, const LockBudget& budget = {});
    ~OutputLock();
    OutputLock(const OutputLock&) = delete;
    OutputLock& operator=(const OutputLock&) = delete;
    OutputLock(OutputLock&& other) noexcept = default;
    OutputLock& operator=(OutputLock&&) = delete;

    /// Whether the file system gave the lock (false: it has no locks).
    [[nodiscard]] bool held() const { return descriptor_.valid(); }

private:
    std::string path_;
    Descriptor descriptor_;
};

/// Where `h5infer run --labels` writes the predicted label of each row.
inline constexpr std::string_view labels_dataset = "/labels";

/// Where a partial prediction file records which chunks it holds (one uint8 flag per chunk of
/// the input's chunk grid); removed when the file is complete.
inline constexpr std::string_view progress_dataset = "/h5infer_progress";

/// The file attribute holding the fingerprint: what the predictions were computed from (see
/// src/run.cpp). A rerun compares it to decide whether a file is up to date or resumable.
inline constexpr std::string_view fingerprint_attribute = "h5infer_fingerprint";

/// The name a prediction file has until it is complete: "<dir>/.<name>.h5infer-partial.tmp".
/// A job stopped by a signal or killed leaves it there; the next run resumes from it.
[[nodiscard]] std::string partial_path(const std::string& final_path);

/// On one rank: the fingerprint recorded in a prediction file (final or partial), or "" when
/// the file is missing, unreadable or has none. Never throws.
[[nodiscard]] std::string read_fingerprint(const std::string& path) noexcept;

/// On one rank: the progress record of a partial file: `chunks` flags, 1 where the chunk's
/// predictions are in the file. Throws IoError when the record is missing or of another size.
[[nodiscard]] std::vector<char> read_progress(const std::string& path, std::int64_t chunks);

/// Everything a prediction file holds besides the prediction values.
struct OutputLayout {
    std::string dataset;  ///< the predictions: float32, rows x cols
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    std::vector<std::string> labels;  ///< the columns' class labels; may be empty
    bool write_labels = false;        ///< also write labels_dataset (needs labels)
    std::string input_file;           ///< the file the copies come from
    std::vector<std::string> copies;  ///< row-aligned input datasets copied under their path
    std::int64_t chunks = 0;          ///< length of the progress record
    std::string fingerprint;
    /// Where the file sits, not what it holds: its datasets start at multiples of `alignment`
    /// bytes (0: as HDF5 places them), and MPI-IO opens it with `io_hints` (KEY=VALUE each).
    std::int64_t alignment = 0;
    std::vector<std::string> io_hints{};
};

/// On one rank: creates the prediction file `path` (replacing a regular file, never writing
/// through a link: refuse_link()) with the predictions, the label and copy datasets (their
/// space allocated, no fill), the progress record and the fingerprint, and closes it: a job
/// killed later still leaves a readable file to resume.
void create_output(const std::string& path, const OutputLayout& layout);

/// A prediction file made by create_output(), opened and written by all ranks together through
/// parallel HDF5 (a fresh one or a partial one to resume), or by one rank alone. Every method
/// is collective over the ranks that opened it.
class OutputWriter {
public:
    /// Collective. Opens `path`, which create_output() made with the same layout.
    OutputWriter(const std::string& path, const OutputLayout& layout, const mpi::Comm& comm);

    /// Creates `path` as create_output() does but without a progress record (a file written
    /// whole by one rank is never resumed), and keeps it open on this rank alone (the POSIX
    /// driver: no MPI-IO, no other rank waits on it).
    OutputWriter(const std::string& path, const OutputLayout& layout);

    /// Collective. Writes rows [row_begin, row_begin + rows) of the predictions, their
    /// predicted labels and the copied input datasets (read from the input here); a rank with
    /// nothing to write in this round passes rows = 0.
    void write(std::int64_t row_begin, std::int64_t rows, const float* src);

    /// Collective. Records `done` (every rank passes the same flags) as the progress record
    /// and flushes the file to storage.
    void checkpoint(const std::vector<char>& done);

    /// Collective. File attributes; every rank must pass the same value.
    void set_attribute(const std::string& name, const std::string& value);
    void set_attribute(const std::string& name, std::int64_t value);
    void set_attribute(const std::string& name, double value);

    /// Collective. Removes the progress record and closes the complete file (which is then
    /// only in the page caches of the ranks' nodes: see sync_file()).
    void finish();

    /// Why some write on this rank was not collective, or "" when all were.
    [[nodiscard]] const std::string& not_collective_cause() const { return not_collective_; }

private:
    struct Copy {
        h5::Handle source;       ///< the input dataset, read on this rank
        h5::Handle target;       ///< the same path in the prediction file
        h5::Handle memory_type;  ///< the source's native type
        std::size_t row_bytes = 0;
    };

    void write_rows(std::int64_t row_begin, std::int64_t rows, const float* src);
    void open_members();
    void open_labels();
    void open_copies();
    void write_labels(std::int64_t row_begin, std::int64_t rows, const float* src);
    void note_collective();

    std::string path_;
    OutputLayout layout_;
    bool root_ = false;
    h5::Handle input_;
    h5::Handle file_;
    h5::Handle dataset_;
    h5::Handle progress_;
    std::string not_collective_;
    std::optional<std::vector<std::int64_t>> integer_labels_;  ///< the labels, if all integers
    h5::Handle labels_dataset_;                                ///< valid when writing labels
    h5::Handle label_type_;                                    ///< fixed-length string labels
    std::vector<Copy> copies_;
    std::vector<char> copy_buffer_;  ///< reused for every chunk's copied rows
};

/// Owns the temporary output path of a one-process writer (convert, import-csv) until it is
/// committed: removes the file on destruction unless dismissed, and on SIGTERM, SIGINT, SIGHUP
/// or SIGUSR1 before the signal takes its default course (remove_on_stop_signal() in
/// src/stop.hpp). One at a time. (`h5infer run` keeps its partial files instead, to resume: see
/// StopRequest there.)
class TemporaryOutput {
public:
    explicit TemporaryOutput(std::string path);
    ~TemporaryOutput();
    TemporaryOutput(const TemporaryOutput&) = delete;
    TemporaryOutput& operator=(const TemporaryOutput&) = delete;
    TemporaryOutput(TemporaryOutput&&) = delete;
    TemporaryOutput& operator=(TemporaryOutput&&) = delete;

    /// The file was committed (or belongs to someone else now): leave it alone.
    void dismiss() noexcept;

private:
    std::string path_;
    bool armed_ = true;
};

}  // namespace h5infer::io
