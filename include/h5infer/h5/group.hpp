#pragma once

#include <string>
#include <vector>

#include "h5infer/h5/handle.hpp"

namespace h5infer::h5 {

/// Removes a link (a dataset or group name); collective on parallel files.
void delete_link(hid_t location, const std::string& path);

/// What an HDF5 path names.
enum class ObjectType { Missing, Group, Dataset, Other };

/// What `path` (absolute or relative to `location`) is; Missing if any component is absent.
[[nodiscard]] ObjectType object_type(hid_t location, const std::string& path);

/// Opens a group; throws IoError naming the path.
[[nodiscard]] Handle open_group(hid_t location, const std::string& path);
/// Creates a group, and any missing parent groups.
[[nodiscard]] Handle create_group(hid_t location, const std::string& path);

/// Names of the links directly inside a group, in creation or name order.
[[nodiscard]] std::vector<std::string> children(hid_t group);

/// Absolute paths of every dataset in the file, depth first; an object that links reach by
/// several paths (hard links, even ones that make a group its own member) is listed once, at
/// the first.
[[nodiscard]] std::vector<std::string> dataset_paths(hid_t file);

}  // namespace h5infer::h5
