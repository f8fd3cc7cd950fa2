#pragma once

// Internal to src/model/: the `tree_ensemble` layer kind of the native format
// (docs/model-format.md), read and written for native_format.cpp.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "h5infer/tree_ensemble.hpp"

namespace h5infer {

/// The kind's name in a layer group's `kind` attribute.
inline constexpr std::string_view tree_ensemble_kind = "tree_ensemble";

/// The attributes a `tree_ensemble` group may hold.
[[nodiscard]] std::vector<std::string_view> tree_ensemble_attributes();

/// The datasets a `tree_ensemble` group may hold.
[[nodiscard]] std::vector<std::string_view> tree_ensemble_datasets();

/// The values a `tree_ensemble` group declares, from its datasets' shapes alone, before any is
/// read; sets `width` to its output count. Throws ModelError (starting with `label`) when the
/// shapes disagree, so that no array of a hostile size is read or allocated.
[[nodiscard]] std::uint64_t check_tree_ensemble_shape(hid_t group, std::int64_t& width,
                                                      const std::string& label);

/// Reads a `tree_ensemble` group whose members check_layer_members() accepted. Checks types,
/// ranks and sizes; the trees themselves are checked by validate_tree_ensemble().
[[nodiscard]] TreeEnsembleLayer read_tree_ensemble(hid_t group, const std::string& label);

/// Writes `trees` into a new layer group, `kind` included.
void write_tree_ensemble(hid_t group, const TreeEnsembleLayer& trees);

}  // namespace h5infer
