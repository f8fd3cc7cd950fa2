#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace h5infer::io {

/// One dataset of an HDF5 file, as `h5infer inspect DATA.h5` lists it.
struct DatasetEntry {
    std::string path;                ///< absolute path inside the file
    std::vector<std::int64_t> dims;  ///< empty for a scalar
    std::string dtype;               ///< e.g. "float32", "int16", "string"
    std::string storage;             ///< "contiguous", or "chunked 4096x13" plus its filters
    std::string unavailable_filter;  ///< a filter this HDF5 cannot decode, or empty
};

/// Every dataset in an HDF5 file, depth first through its groups. Throws InputError when the
/// file cannot be opened, IoError when a dataset cannot be described.
[[nodiscard]] std::vector<DatasetEntry> list_datasets(const std::string& file);

/// The listing as text: one line per dataset (path, shape, dtype, storage), then which
/// dataset `run --input FILE` reads when no dataset is named (the file's only 2-D dataset).
/// Every line ends with '\n'.
[[nodiscard]] std::string describe_datasets(const std::string& file,
                                            const std::vector<DatasetEntry>& datasets);

}  // namespace h5infer::io
