#pragma once

#include <cstddef>

#include "h5infer/h5/handle.hpp"

namespace h5infer::h5 {

/// The element type of a dataset in memory order (H5Tget_native_type of its file type).
[[nodiscard]] Handle native_type(hid_t dataset);

/// The element type of a dataset as stored in the file.
[[nodiscard]] Handle file_type(hid_t dataset);

/// Bytes of one element of `type`.
[[nodiscard]] std::size_t type_size(hid_t type);

/// True if `type` is or contains variable-length data (which parallel HDF5 cannot write).
[[nodiscard]] bool is_variable_length(hid_t type);

/// A null-padded fixed-length UTF-8 string type of `size` bytes (at least 1). Parallel HDF5
/// writes datasets of fixed-length strings collectively, but never variable-length ones.
[[nodiscard]] Handle fixed_string_type(std::size_t size);

}  // namespace h5infer::h5
