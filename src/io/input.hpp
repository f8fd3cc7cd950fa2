#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/column_layout.hpp"
#include "io/column_reader.hpp"
#include "io/columns.hpp"
#include "io/descriptor.hpp"

namespace h5infer::io {

/// A `FILE[:DATASET]` argument split in two; `dataset` is empty when it was omitted.
struct DatasetRef {
    std::string file;
    std::string dataset;
};

/// Splits an --input argument. A string naming an existing file is taken whole; otherwise it
/// is split at its last ':'.
[[nodiscard]] DatasetRef parse_input_ref(const std::string& argument);

/// Splits an --output argument at its last ':' when a dataset path starting with '/' follows;
/// otherwise the dataset is `default_dataset`.
[[nodiscard]] DatasetRef parse_output_ref(const std::string& argument,
                                          const std::string& default_dataset);

/// A file as it was when validated: a change of its size or modification time means its
/// contents may have changed.
struct FileVersion {
    std::string path;
    std::int64_t bytes = 0;     ///< the file's size
    std::int64_t mtime_ns = 0;  ///< its modification time, ns since the epoch
};

/// `path` with every symbolic link and relative part resolved, or `path` itself when it does
/// not exist.
[[nodiscard]] std::string absolute_path(const std::string& path);

/// The FileVersion of `path` now; nullopt when it cannot be stat'ed.
[[nodiscard]] std::optional<FileVersion> file_version(const std::string& path);

/// The most bytes one stored chunk of a dataset read row by row (the input, its columns, a
/// --copy dataset) may take once decoded, when its chunks pass through a filter such as gzip:
/// HDF5 decodes such a chunk whole for every read that touches it, whatever rows were asked
/// for, so this bounds each rank's memory beyond its chunk-rows buffers. Unfiltered chunks of
/// any size are read value by value as asked.
inline constexpr std::int64_t max_decoded_chunk_bytes = std::int64_t{64} << 20;

/// What rank 0 learned about the input while validating it.
struct InputInfo {
    std::string file;
    std::string dataset;  ///< absolute path, resolved when the argument omitted it; or a group
    std::int64_t rows = 0;
    std::int64_t cols = 0;            ///< the model's columns read per row
    std::string dtype;                ///< e.g. "float64"; of a group or table "float32,int64"
    std::int64_t file_bytes = 0;      ///< the file's size when validated
    std::int64_t file_mtime_ns = 0;   ///< the file's modification time, ns since the epoch
    std::vector<std::int64_t> chunk;  ///< the dataset's chunk shape; empty when not chunked
    /// Where each of the model's columns is read from, when the input is not the 2-D dataset
    /// `dataset` read in its own column order (a reordered 2-D dataset, a group of columns, a
    /// table); empty otherwise.
    std::vector<ColumnSource> sources;
    std::vector<std::string> notes;  ///< what rank 0 says about the columns (not broadcast)
    /// Other files the input's values are read from: the target of an
    /// external link on its path, the source files of a virtual dataset, external storage
    /// files (h5::dataset_storage() of the dataset or of each dataset its columns come from).
    std::vector<FileVersion> data_files;
    /// Rows whose values were never written (h5::dataset_storage()), in row order; a row is in
    /// them when any of its columns is.
    std::vector<h5::UnwrittenRows> unwritten;
};

/// Validates the input for a model: the file exists and is HDF5, and the dataset exists (or is
/// the file's only 2-D dataset). A 2-D numeric dataset is the model's rows: when both it
/// (import-csv's `columns` attribute, a pandas block's items) and the model name their columns,
/// the names are matched as `request.mode` says (sources then say how to reorder them);
/// otherwise its width must be the model's. A group (of 1-D datasets, or a pandas frame) or a
/// 1-D compound dataset gives the model's columns by name (sources). Every dataset read must
/// decode in chunks of at most max_decoded_chunk_bytes. Throws InputError naming file,
/// dataset, columns and fix.
[[nodiscard]] InputInfo inspect_input(const DatasetRef& ref, const ColumnRequest& request);

/// inspect_input() for a model of `model_width` columns without names.
[[nodiscard]] InputInfo inspect_input(const DatasetRef& ref, std::int64_t model_width);

/// A sentence naming the unwritten rows of an input (some of them when there are many), for
/// messages: "rows 4096..8192 (1 chunk of its 3 was never written)".
[[nodiscard]] std::string describe_unwritten(const InputInfo& info);

/// On one rank, when the input's predictions are complete: throws InputError if its file's
/// (or one of its data files') size or modification time is no longer what inspect_input()
/// found. Then the file was
/// written while the job read it, and the predictions may mix old and new rows.
void check_unchanged(const InputInfo& info);

/// Validates a dataset to copy row by row next to the predictions (--copy): it exists in the
/// input file, is 1-D or 2-D with one row per input row, has a fixed-size element type and
/// decodes in chunks of at most max_decoded_chunk_bytes.
/// Returns its absolute path. Throws InputError naming file, dataset and fix.
[[nodiscard]] std::string check_copy(const InputInfo& input, const std::string& path);

/// Reads row blocks of a validated input as float32 on this rank (independent I/O): the 2-D
/// dataset as it is, or, when the input has sources, the model's columns assembled from them
/// (ColumnReader).
class InputReader {
public:
    explicit InputReader(const InputInfo& info);
    ~InputReader();
    InputReader(const InputReader&) = delete;
    InputReader& operator=(const InputReader&) = delete;
    InputReader(InputReader&&) = delete;
    InputReader& operator=(InputReader&&) = delete;

    /// Reads rows [row_begin, row_begin + rows) into `dst` (rows x cols floats, in the model's
    /// column order). Rows in the input's `unwritten` rows read as NaN.
    void read(std::int64_t row_begin, std::int64_t rows, float* dst);

    /// Whether fetch() is available: the input is one 2-D dataset in the model's column order,
    /// whose values lie in the file as one run of this machine's floats or doubles (a
    /// contiguous float32 or float64 dataset, h5py's and h5infer's default layout).
    [[nodiscard]] bool can_fetch() const { return descriptor_.valid(); }

    /// read() without HDF5 for a dataset that can_fetch(): the bytes are read from the file
    /// with pread (doubles narrowed as read() narrows them), so several threads may fetch at
    /// once (HDF5 here is not thread-safe).
    /// Throws InputError when the file ends before the rows (truncated while the job ran).
    /// Rows in the input's `unwritten` rows read as NaN.
    void fetch(std::int64_t row_begin, std::int64_t rows, float* dst);

    /// Asks the system to start reading rows [row_begin, row_begin + rows) of a dataset that
    /// can_fetch() into the page cache and returns at once, so that a fetch() of them later
    /// finds them there: on a file not in memory (a parallel file system, a first run) the
    /// reading then overlaps the compute of the rows before. Does nothing for other datasets.
    void read_ahead(std::int64_t row_begin, std::int64_t rows) const;

    /// Bytes of one row in the file of a dataset that can_fetch().
    [[nodiscard]] std::int64_t row_bytes() const;

    /// Seconds spent in fetch() so far, summed over the threads that called it.
    [[nodiscard]] double fetch_seconds() const;

private:
    // NaN into the rows of [row_begin, row_begin + rows) (at `dst`) that were never written.
    void blank_unwritten(std::int64_t row_begin, std::int64_t rows, float* dst) const;

    // pread of rows [row_begin, row_begin + rows) as stored, into `into`.
    void read_bytes(std::int64_t row_begin, std::int64_t rows, void* into) const;

    InputInfo info_;
    h5::Handle file_;
    h5::Handle dataset_;
    BulkArray<double> doubles_;            ///< float64 inputs: the rows as stored, before narrowing
    std::optional<ColumnReader> columns_;  ///< when the input has sources
    Descriptor descriptor_;                ///< the file opened for fetch(), or none
    bool fetch_doubles_ = false;           ///< the dataset holds doubles, which fetch() narrows
    std::int64_t data_offset_ = 0;
    std::atomic<std::int64_t> fetch_ns_{0};
};

}  // namespace h5infer::io
