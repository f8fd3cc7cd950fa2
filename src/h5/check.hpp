#pragma once

#include <hdf5.h>

#include <string>

#include "h5infer/h5/handle.hpp"

// Internal to src/h5/: each wrapper passes HDF5's return code through one of these, so a
// failure becomes an IoError carrying HDF5's error stack.
namespace h5infer::h5 {

/// `id`, or throws IoError(<context> with HDF5's error stack) when HDF5 returned a failure.
inline hid_t check(hid_t id, const std::string& context) {
    if (id < 0) throw_error(context);
    return id;
}

/// Throws IoError(<context> with HDF5's error stack) when `status` is a failure.
inline void check_status(herr_t status, const std::string& context) {
    if (status < 0) throw_error(context);
}

}  // namespace h5infer::h5
