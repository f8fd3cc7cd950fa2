#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5infer/h5/handle.hpp"

namespace h5infer::h5 {

/// Opens a dataset; throws IoError naming the path.
[[nodiscard]] Handle open_dataset(hid_t location, const std::string& path);

/// Shape and element type of a dataset.
struct DatasetInfo {
    std::vector<std::int64_t> dims;
    H5T_class_t type_class = H5T_NO_CLASS;
    std::string type_description;    ///< e.g. "float64", "int16", "string", "compound"
    std::string unavailable_filter;  ///< name of a filter this HDF5 cannot decode, or empty
};
/// The DatasetInfo of `dataset`.
[[nodiscard]] DatasetInfo dataset_info(hid_t dataset);

/// Where a dataset's bytes live and how they are compressed.
enum class Layout { Contiguous, Chunked, ChunkedGzip };

/// Creates a dataset of shape `dims` (chunk rows for chunked layouts), never filled; a
/// contiguous one gets its space at creation. An integer dataset may record `fill` as its fill
/// value (what h5py's Dataset.fillvalue reports), still without writing it.
[[nodiscard]] Handle create_dataset(hid_t location, const std::string& path,
                                    const std::vector<std::int64_t>& dims, hid_t file_type,
                                    Layout layout = Layout::Contiguous, std::int64_t chunk_rows = 0,
                                    std::optional<std::int64_t> fill = std::nullopt);

/// Creates a 2-D dataset of 0 rows x `cols` that grows along rows without limit (chunked by
/// `chunk_rows` rows, which must be at least 1); grow it with set_rows() before writing. Its
/// attributes are kept in dense storage, which holds any size in a file created with
/// Compatibility::Hdf5V18.
[[nodiscard]] Handle create_extensible_dataset(hid_t location, const std::string& path,
                                               std::int64_t cols, hid_t file_type,
                                               std::int64_t chunk_rows);

/// Sets the row count of a dataset made by create_extensible_dataset(). Throws IoError.
void set_rows(hid_t dataset, std::int64_t rows);

/// Names of the filters in a dataset's pipeline, in order (e.g. "shuffle", "deflate").
[[nodiscard]] std::vector<std::string> dataset_filters(hid_t dataset);

/// Which of generate's layouts an existing dataset has: ChunkedGzip when deflate is in its
/// filter pipeline, Chunked for other chunked datasets, Contiguous otherwise (also compact,
/// external and virtual ones: dataset_storage() tells every kind apart).
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

/// Bytes of one chunk once decoded (its elements times the stored element size) when the
/// dataset is chunked through filters (compression, shuffle, checksums): HDF5 then decodes a
/// whole chunk into memory for any read that touches it. 0 for an unfiltered chunked dataset,
/// whose reads take only the values asked for, and for a contiguous or compact one.
/// Saturates at INT64_MAX.
[[nodiscard]] std::int64_t filtered_chunk_bytes(hid_t dataset);

}  // namespace h5infer::h5
