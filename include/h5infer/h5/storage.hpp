#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace h5infer::h5 {

/// Where a dataset's values are kept.
enum class StorageKind {
    Contiguous,  ///< one run of bytes in the dataset's file
    Compact,     ///< inside the dataset's object header
    Chunked,     ///< chunks in the dataset's file, each allocated when first written
    External,    ///< one or more raw files outside HDF5 (H5Pset_external)
    Virtual,     ///< mapped from datasets in source files (a virtual dataset, VDS)
};

/// The word for a StorageKind in messages ("contiguous", "virtual", ...).
[[nodiscard]] std::string storage_kind_name(StorageKind kind);

/// Rows [row_begin, row_end) of a dataset that read as its fill value because nothing was
/// ever written there, and why.
struct UnwrittenRows {
    std::int64_t row_begin = 0;
    std::int64_t row_end = 0;
    std::string cause;  ///< e.g. "2 of its 5 chunks were never written"
};

/// What a dataset's values depend on and which of its rows (first dimension) hold nothing.
struct Storage {
    StorageKind kind = StorageKind::Contiguous;
    /// The file holding the dataset itself: through an external link, the link's target.
    std::string file;
    /// Other files holding its values, as HDF5 finds them: external storage files and the
    /// source files of a virtual dataset that exist (the dataset's own file left out).
    std::vector<std::string> data_files;
    /// Rows that were never written: storage or chunks never allocated, external files that
    /// are missing or end early, virtual mappings whose source file or dataset is missing and
    /// rows no mapping covers. In row order; empty when every row was written.
    std::vector<UnwrittenRows> unwritten;
};

/// The Storage of `dataset`. Reads only metadata (the chunk index, the virtual mappings,
/// the sizes of external and source files), never the values. Throws IoError.
[[nodiscard]] Storage dataset_storage(hid_t dataset);

}  // namespace h5infer::h5
