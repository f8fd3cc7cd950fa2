#pragma once

// The HDF5 wrappers, the only code that calls HDF5's C API. This header includes all of them;
// a file that needs one part may include that part's header instead.
#include "h5infer/h5/attribute.hpp"  // attributes of files, groups and datasets
#include "h5infer/h5/dataset.hpp"    // open, create, shape and type, layout, filters
#include "h5infer/h5/datatype.hpp"   // element types: native, file, sizes, strings
#include "h5infer/h5/file.hpp"       // files, serial and parallel (MPI-IO)
#include "h5infer/h5/group.hpp"      // groups, links, what a path names
#include "h5infer/h5/handle.hpp"     // Handle, HDF5's error stack in IoError
#include "h5infer/h5/rows.hpp"       // row reads and writes, collective or independent
#include "h5infer/h5/storage.hpp"  // where values are kept, what they depend on, rows never written
