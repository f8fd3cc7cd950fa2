#pragma once

#include <string>

#include "h5infer/h5/handle.hpp"
#include "h5infer/mpi/comm.hpp"

namespace h5infer::h5 {

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

/// The name HDF5 opened the file of `object` (a file, group or dataset) by: for an object
/// reached through an external link, the link's target. Throws IoError.
[[nodiscard]] std::string file_name(hid_t object);

/// Collective on parallel files. Writes the file's cached data and metadata to storage (and,
/// through MPI-IO, syncs it), so a process killed afterwards leaves a readable file.
void flush(hid_t file);

}  // namespace h5infer::h5
