#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5infer/h5/h5.hpp"
#include "h5infer/mpi/comm.hpp"

namespace h5infer::io {

/// Checks on one rank that `path` can become the output: it is not a directory, it does not
/// exist unless `overwrite`, and its directory exists and accepts new files (tried for real,
/// so read-only mounts and permissions are caught). Throws IoError with the fix.
void check_output_path(const std::string& path, bool overwrite);

/// The hidden temporary name the output is written under: "<dir>/.<name>.h5infer-<tag>.tmp",
/// in the same directory so the final rename stays on one filesystem.
[[nodiscard]] std::string temporary_path(const std::string& final_path, const std::string& tag);

/// Moves the finished temporary file to its final name in one atomic rename. Without
/// `overwrite`, refuses (IoError) if the final name appeared meanwhile.
void commit_output(const std::string& temporary, const std::string& final_path, bool overwrite);

/// Removes a file if it exists; never throws (used on failure paths).
void remove_file(const std::string& path) noexcept;

/// Where `h5infer run --labels` writes the predicted label of each row.
inline constexpr std::string_view labels_dataset = "/labels";

/// The prediction file, created and written by all ranks together through parallel HDF5.
/// Every method is collective.
class OutputWriter {
public:
    /// Collective. Creates `path` (truncating) with a float32 `dataset` of rows x cols.
    OutputWriter(const std::string& path, const std::string& dataset, std::int64_t rows,
                 std::int64_t cols, const mpi::Comm& comm);

    /// Collective. Names the prediction columns with the model's class labels: the attribute
    /// `labels` of the predictions dataset, int64 when every label is an integer (see
    /// integer_labels()), else strings. With `write_predicted`, also creates the 1-D dataset
    /// labels_dataset (int64 or fixed-length strings), which every later write() fills with
    /// the label of each row's largest prediction (argmax_rows()).
    void set_labels(const std::vector<std::string>& labels, bool write_predicted);

    /// Collective. Writes rows [row_begin, row_begin + rows), and their predicted labels if
    /// set_labels() asked for them; a rank with nothing to write in this round passes rows = 0.
    void write(std::int64_t row_begin, std::int64_t rows, const float* src);

    /// Collective. File attributes; every rank must pass the same value.
    void set_attribute(const std::string& name, const std::string& value);
    void set_attribute(const std::string& name, std::int64_t value);
    void set_attribute(const std::string& name, double value);

    /// Collective. Flushes and closes the file.
    void close();

    /// Why some write on this rank was not collective, or "" when all were.
    [[nodiscard]] const std::string& not_collective_cause() const { return not_collective_; }

private:
    void write_labels(std::int64_t row_begin, std::int64_t rows, const float* src);
    void note_collective();

    std::int64_t rows_ = 0;
    std::int64_t cols_ = 0;
    h5::Handle file_;
    h5::Handle dataset_;
    std::string not_collective_;
    std::vector<std::string> labels_;
    std::optional<std::vector<std::int64_t>> integer_labels_;  ///< the labels, if all integers
    h5::Handle labels_dataset_;                                ///< valid when writing labels
    h5::Handle label_type_;                                    ///< fixed-length string labels
};

}  // namespace h5infer::io

namespace h5infer::io {

/// Owns the temporary output path on every rank until the run commits it: removes the file on
/// destruction unless dismissed, and on SIGTERM, SIGINT, SIGHUP or SIGUSR1 (what mpirun and
/// Slurm send when a job is killed or preempted) before the signal takes its default course. One at
/// a time.
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
