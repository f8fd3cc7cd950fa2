#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5infer/mpi/comm.hpp"

namespace h5infer::h5 {

/// Move-only owner of one HDF5 identifier; released with H5Idec_ref. Destructor never throws.
class Handle {
public:
    Handle() = default;
    explicit Handle(hid_t id) : id_(id) {}
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle();

    [[nodiscard]] hid_t get() const { return id_; }
    [[nodiscard]] bool valid() const { return id_ >= 0; }
    /// Closes now (for files whose close must be collective); throws IoError on failure.
    void close();

private:
    hid_t id_ = H5I_INVALID_HID;
};

/// Stops HDF5 from printing its error stack: h5infer puts the stack into its own messages.
void silence_errors();

/// HDF5's current error stack, innermost cause first, as one line; clears the stack.
[[nodiscard]] std::string error_stack();

/// Throws IoError("<context>: <HDF5 error stack>").
[[noreturn]] void throw_error(const std::string& context);

/// True if `path` is an HDF5 file (has an HDF5 signature). False for missing or other files.
[[nodiscard]] bool is_hdf5(const std::string& path);

/// Opens an existing file on this rank only (POSIX driver). Throws IoError.
[[nodiscard]] Handle open_file(const std::string& path, bool writable = false);

/// Creates (truncating) a file on this rank only. Throws IoError.
[[nodiscard]] Handle create_file(const std::string& path);

/// Collective. Creates (truncating) a file through MPI-IO, shared by every rank of `comm`.
[[nodiscard]] Handle create_file_parallel(const std::string& path, const mpi::Comm& comm);

/// Collective. Opens an existing file through MPI-IO, shared by every rank of `comm`.
[[nodiscard]] Handle open_file_parallel(const std::string& path, const mpi::Comm& comm);

/// Collective on parallel files. Writes the file's cached data and metadata to storage (and,
/// through MPI-IO, syncs it), so a process killed afterwards leaves a readable file.
void flush(hid_t file);

/// Removes a link (a dataset or group name); collective on parallel files.
void delete_link(hid_t location, const std::string& path);

/// What an HDF5 path names.
enum class ObjectType { Missing, Group, Dataset, Other };

/// What `path` (absolute or relative to `location`) is; Missing if any component is absent.
[[nodiscard]] ObjectType object_type(hid_t location, const std::string& path);

/// Opens a dataset or group; throws IoError naming the path.
[[nodiscard]] Handle open_dataset(hid_t location, const std::string& path);
[[nodiscard]] Handle open_group(hid_t location, const std::string& path);
/// Creates a group, and any missing parent groups.
[[nodiscard]] Handle create_group(hid_t location, const std::string& path);

/// Names of the links directly inside a group, in creation or name order.
[[nodiscard]] std::vector<std::string> children(hid_t group);

/// Absolute paths of every dataset in the file, depth first.
[[nodiscard]] std::vector<std::string> dataset_paths(hid_t file);

/// Shape and element type of a dataset.
struct DatasetInfo {
    std::vector<std::int64_t> dims;
    H5T_class_t type_class = H5T_NO_CLASS;
    std::string type_description;    ///< e.g. "float64", "int16", "string", "compound"
    std::string unavailable_filter;  ///< name of a filter this HDF5 cannot decode, or empty
};
[[nodiscard]] DatasetInfo dataset_info(hid_t dataset);

/// Reads rows [row_begin, row_begin + rows) of a 2-D dataset as float32 (HDF5 converts any
/// numeric type). Independent I/O. Throws IoError.
void read_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
               float* dst);

/// As above, as float64 (HDF5 converts any numeric type).
void read_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
               double* dst);

/// The element type of a dataset in memory order (H5Tget_native_type of its file type).
[[nodiscard]] Handle native_type(hid_t dataset);

/// The element type of a dataset as stored in the file.
[[nodiscard]] Handle file_type(hid_t dataset);

/// Bytes of one element of `type`.
[[nodiscard]] std::size_t type_size(hid_t type);

/// True if `type` is or contains variable-length data (which parallel HDF5 cannot write).
[[nodiscard]] bool is_variable_length(hid_t type);

/// Reads rows [row_begin, row_begin + rows) of a 1-D or 2-D dataset, every column, as
/// `memory_type` (independent I/O). Throws IoError.
void read_rows_raw(hid_t dataset, std::int64_t row_begin, std::int64_t rows, hid_t memory_type,
                   void* dst);

/// Collective when the file is parallel; a rank without rows passes rows = 0. Writes rows
/// [row_begin, row_begin + rows) of a 1-D or 2-D dataset, every column, from `memory_type`.
void write_rows_raw_collective(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                               hid_t memory_type, const void* src);

/// Reads a whole dataset of at most two dimensions as float32, returning its dims.
[[nodiscard]] std::vector<float> read_all(hid_t dataset, std::vector<std::int64_t>& dims);

/// Where a dataset's bytes live and how they are compressed.
enum class Layout { Contiguous, Chunked, ChunkedGzip };

/// Creates a dataset of shape `dims` (chunk rows for chunked layouts), never filled; a
/// contiguous one gets its space at creation.
[[nodiscard]] Handle create_dataset(hid_t location, const std::string& path,
                                    const std::vector<std::int64_t>& dims, hid_t file_type,
                                    Layout layout = Layout::Contiguous,
                                    std::int64_t chunk_rows = 0);

/// Creates a 2-D dataset of 0 rows x `cols` that grows along rows without limit (chunked by
/// `chunk_rows` rows, which must be at least 1); grow it with set_rows() before writing.
[[nodiscard]] Handle create_extensible_dataset(hid_t location, const std::string& path,
                                               std::int64_t cols, hid_t file_type,
                                               std::int64_t chunk_rows);

/// Sets the row count of a dataset made by create_extensible_dataset(). Throws IoError.
void set_rows(hid_t dataset, std::int64_t rows);

/// Names of the filters in a dataset's pipeline, in order (e.g. "shuffle", "deflate").
[[nodiscard]] std::vector<std::string> dataset_filters(hid_t dataset);

/// How an existing dataset is stored: ChunkedGzip when deflate is in its filter pipeline,
/// Chunked for other chunked datasets, Contiguous otherwise (compact included).
[[nodiscard]] Layout dataset_layout(hid_t dataset);

/// Where the values of a dataset lie as one run of bytes, in the order of its elements and
/// laid out as `memory_type` (H5T_NATIVE_FLOAT or H5T_NATIVE_DOUBLE) is in memory.
struct ContiguousData {
    std::string file;  ///< the file holding the dataset (through an external link: the target)
    std::int64_t offset = 0;  ///< bytes from the start of `file`, user block included
};

/// The ContiguousData of a dataset. Empty unless the dataset is contiguous (not chunked,
/// compact, external or virtual), its storage is allocated, its file uses the sec2 driver, and
/// its type is `memory_type`.
[[nodiscard]] std::optional<ContiguousData> contiguous_data(hid_t dataset, hid_t memory_type);

/// Chunk shape of a chunked dataset; empty for a contiguous or compact one.
[[nodiscard]] std::vector<std::int64_t> chunk_dims(hid_t dataset);

/// Writes a whole float32 dataset (independent I/O, serial files).
void write_all(hid_t dataset, const float* src);

/// Collective when the file is parallel: every rank calls it, a rank without rows passes
/// rows = 0. Writes rows [row_begin, row_begin + rows) of a 2-D float32 dataset.
void write_rows_collective(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                           std::int64_t cols, const float* src);

/// Writes rows of a 2-D dataset from float32 memory on this rank alone (serial files).
void write_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                const float* src);

/// Writes rows of a 2-D dataset from float64 memory on this rank alone (serial files).
void write_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                const double* src);

/// Why the last collective write on this rank was not collective, or "" when it was.
[[nodiscard]] std::string last_write_not_collective_cause();

/// Attribute helpers on a file, group or dataset. Writes are collective on parallel files
/// (every rank writes the same value).
void write_attribute(hid_t location, const std::string& name, const std::string& value);
void write_attribute(hid_t location, const std::string& name, std::int64_t value);
void write_attribute(hid_t location, const std::string& name, double value);
/// Writes a 1-D attribute of variable-length UTF-8 strings (serial files).
void write_attribute(hid_t location, const std::string& name,
                     const std::vector<std::string>& values);
[[nodiscard]] bool has_attribute(hid_t location, const std::string& name);
[[nodiscard]] std::vector<std::string> attribute_names(hid_t location);
/// Reads an attribute; throws IoError if it is missing or of another kind.
[[nodiscard]] std::string read_string_attribute(hid_t location, const std::string& name);
[[nodiscard]] std::int64_t read_int_attribute(hid_t location, const std::string& name);
[[nodiscard]] double read_double_attribute(hid_t location, const std::string& name);
/// Reads a 1-D (or scalar) string attribute as a list; throws IoError if it is not strings.
[[nodiscard]] std::vector<std::string> read_string_list_attribute(hid_t location,
                                                                  const std::string& name);

/// Writes a 1-D int64 attribute; collective on parallel files (every rank writes the same).
void write_attribute(hid_t location, const std::string& name,
                     const std::vector<std::int64_t>& values);

/// A null-padded fixed-length UTF-8 string type of `size` bytes (at least 1). Parallel HDF5
/// writes datasets of fixed-length strings collectively, but never variable-length ones.
[[nodiscard]] Handle fixed_string_type(std::size_t size);

}  // namespace h5infer::h5
