#pragma once

#include <cstddef>
#include <string>
#include <vector>

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

/// True if `type` is or contains object or region references: addresses in the file they were
/// written in, meaningless in another file.
[[nodiscard]] bool has_references(hid_t type);

/// A type as h5infer names it: "float64", "int16", "uint8", "string", "compound", ...
[[nodiscard]] std::string describe_type(hid_t type);

/// One member of a compound type.
struct Member {
    std::string name;
    H5T_class_t type_class = H5T_NO_CLASS;
    std::string type_description;  ///< as describe_type() names it
};

/// The members of a compound type, in the type's order.
[[nodiscard]] std::vector<Member> compound_members(hid_t type);

/// A null-padded fixed-length UTF-8 string type of `size` bytes (at least 1). Parallel HDF5
/// writes datasets of fixed-length strings collectively, but never variable-length ones.
[[nodiscard]] Handle fixed_string_type(std::size_t size);

}  // namespace h5infer::h5
